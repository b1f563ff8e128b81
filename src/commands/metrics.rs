//! `lvslab metrics LAB [--listen ADDR:PORT] [--once]`: the lab's metrics
//! printed once, or served on GET /metrics for Prometheus. The reading is
//! the monitor's ([`lvslab::monitor::metrics`]), at every scrape.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use lvslab::monitor::metrics::{Scrape, scrape};
use lvslab::ops::state::{LabState, Stored};
use lvslab_core::lab::model::LabName;
use lvslab_core::metrics::exposition::CONTENT_TYPE as METRICS_TYPE;
use tokio::net::TcpListener;

use crate::cli::MetricsArgs;

pub fn run(args: &MetricsArgs) -> Result<ExitCode> {
    super::require_privilege("metrics")?;
    let lab = &args.lab;
    if args.once {
        let state = running(lab)?;
        let Scrape { text, failures } = scrape(&state);
        print!("{text}");
        std::io::stdout().flush()?;
        for why in &failures {
            eprintln!("lvslab metrics: {why}");
        }
        return Ok(if failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    check_listen(args.listen, args.allow_non_loopback)?;
    running(lab)?;
    super::runtime()?.block_on(serve(lab.clone(), args.listen))
}

fn running(lab: &LabName) -> Result<LabState> {
    match LabState::load(lab)? {
        Some(state) => Ok(state),
        None => bail!("no lab '{lab}' is running (lvslab up {lab} builds it)"),
    }
}

/// Refuses an address off loopback unless the user said so: the endpoint
/// has no authentication.
fn check_listen(addr: SocketAddr, allowed: bool) -> Result<()> {
    if addr.ip().is_loopback() || allowed {
        return Ok(());
    }
    bail!(
        "refusing to listen on {addr}: not a loopback address, and the metrics endpoint has no \
         authentication (anyone who reaches it reads the lab's figures); listen on 127.0.0.1:PORT \
         and let Prometheus scrape it there, or pass --allow-non-loopback to listen on {addr} anyway"
    )
}

async fn serve(lab: LabName, addr: SocketAddr) -> Result<ExitCode> {
    let listener =
        TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    println!("lvslab metrics: lab '{lab}' on http://{bound}/metrics (Ctrl-C stops)");
    std::io::stdout().flush()?;
    // One scrape at a time: two Prometheus servers scraping together wait
    // for each other rather than doubling the reads of the director.
    let one = Arc::new(tokio::sync::Mutex::new(()));
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("accept on {bound}: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
        };
        let (lab, one) = (lab.clone(), one.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(req, lab.clone(), one.clone()));
            if let Err(e) =
                http1::Builder::new().serve_connection(TokioIo::new(stream), service).await
            {
                tracing::debug!("metrics connection: {e}");
            }
        });
    }
}

async fn answer(
    req: Request<Incoming>,
    lab: LabName,
    one: Arc<tokio::sync::Mutex<()>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let text = |status, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
        r
    };
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(text(StatusCode::METHOD_NOT_ALLOWED, "GET /metrics\n".into()));
    }
    if req.uri().path() != "/metrics" {
        return Ok(text(
            StatusCode::NOT_FOUND,
            format!("lvslab metrics of lab '{lab}': GET /metrics\n"),
        ));
    }
    let _one = one.lock().await;
    // The reads enter namespaces and drive netlink on runtimes of their
    // own: a plain thread, never one of this runtime's.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = match LabState::load(&lab) {
            Ok(Some(state)) => Ok(scrape(&state)),
            Ok(None) => Err(format!("no lab '{lab}' is running (lvslab up {lab} builds it)\n")),
            Err(e) => Err(format!("cannot read lab '{lab}': {e}\n")),
        };
        let _ = tx.send(result);
    });
    Ok(match rx.await {
        Ok(Ok(Scrape { text: body, failures })) => {
            for why in failures {
                tracing::warn!("metrics: {why}");
            }
            let mut r = Response::new(Full::new(Bytes::from(body)));
            r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(METRICS_TYPE));
            r
        }
        Ok(Err(why)) => text(StatusCode::SERVICE_UNAVAILABLE, why),
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "the scrape failed\n".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::check_listen;

    #[test]
    fn only_loopback_is_served_unless_the_user_allows_more() {
        assert!(check_listen("127.0.0.1:9898".parse().unwrap(), false).is_ok());
        assert!(check_listen("[::1]:9898".parse().unwrap(), false).is_ok());
        let refused = check_listen("0.0.0.0:9898".parse().unwrap(), false).unwrap_err().to_string();
        assert!(
            refused.contains("refusing to listen on 0.0.0.0:9898")
                && refused.contains("--allow-non-loopback"),
            "{refused}"
        );
        assert!(check_listen("192.0.2.9:9898".parse().unwrap(), true).is_ok());
    }
}
