//! How fast is the generator, next to wrk, against the same real server?
//!
//! `cargo bench --bench traffic` starts the real server in a child process
//! (this binary again, with `LVSLAB_BENCH_ROLE=server`) on 127.0.0.1, runs
//! `wrk -H 'Connection: close' -t2 -c50 -d5s` and then the generator with 50
//! in flight and a new connection per request for 5 s, and prints both
//! connection rates, their ratio (the aim is >= 0.8), and the generator's
//! memory after 10k connections and with 10k held open. It prints figures
//! and asserts nothing about time: the machine is shared.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lvslab_traffic::{Generator, Load, Profile, Report, RequestKind, ServerConfig};

const ROLE: &str = "LVSLAB_BENCH_ROLE";
const SECONDS: u64 = 5;
const CONCURRENCY: u32 = 50;

fn main() {
    if std::env::var(ROLE).as_deref() == Ok("server") {
        return serve();
    }
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --all-targets` runs benches as tests: nothing to test.
        println!("traffic bench: run it with `cargo bench --bench traffic`");
        return;
    }
    let (mut child, addr) = spawn_server();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("real server: child process {} on {addr}", child.id());

    let wrk = run_wrk(addr);
    let wrk_cpu = cpu_seconds(Whose::WaitedChildren);
    if let Some(rate) = wrk {
        let per = wrk_cpu / (rate * SECONDS as f64) * 1e6;
        println!("  wrk CPU: {wrk_cpu:.2} s user+sys, about {per:.0} us per connection");
    }
    let before = cpu_seconds(Whose::Myself);
    let ours = runtime.block_on(closed_loop(addr));
    let ours_cpu = cpu_seconds(Whose::Myself) - before;
    println!(
        "lvslab generator, c{CONCURRENCY}, new connection per request, {SECONDS} s: \
         {:.0} conn/s ({} requests, {} errors, p50 {:.2} ms, p99 {:.2} ms)",
        connection_rate(&ours),
        ours.requests,
        ours.errors.total(),
        ours.latency_ms.p50,
        ours.latency_ms.p99
    );
    println!(
        "  generator CPU: {ours_cpu:.2} s user+sys, about {:.0} us per connection",
        ours_cpu / ours.connections.max(1) as f64 * 1e6
    );
    match wrk {
        Some(wrk) => {
            println!("ratio generator / wrk: {:.2} (target >= 0.8)", connection_rate(&ours) / wrk)
        }
        None => println!("ratio generator / wrk: n/a (wrk did not run)"),
    }

    let sequential = runtime.block_on(ten_thousand(addr));
    println!("after {} connections ({} ok): {}", sequential.connections, sequential.ok, memory());
    runtime.block_on(held(addr));
    let _ = child.kill();
    let _ = child.wait();
}

/// The real server role: print the address, serve until killed.
fn serve() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("server runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("{}", listener.local_addr().expect("addr"));
        let server = lvslab_traffic::Server::new(ServerConfig::new("bench"));
        let never = tokio_util::sync::CancellationToken::new();
        server.run(listener, never).await.expect("serve");
    });
}

fn spawn_server() -> (Child, SocketAddr) {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe)
        .env(ROLE, "server")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server process");
    let stdout = child.stdout.take().expect("server stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("server address");
    (child, line.trim().parse().expect("a socket address"))
}

/// wrk's requests per second (= connections per second with close).
fn run_wrk(addr: SocketAddr) -> Option<f64> {
    let url = format!("http://{addr}/");
    let output = Command::new("wrk")
        .args(["-H", "Connection: close", "-t2", "-c50", &format!("-d{SECONDS}s"), &url])
        .output();
    let output = match output {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            println!("wrk failed: {}", String::from_utf8_lossy(&o.stderr));
            return None;
        }
        Err(e) => {
            println!("wrk not run ({e}); install it with apt-get install wrk");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let rate = text.lines().find_map(|l| l.strip_prefix("Requests/sec:")?.trim().parse().ok());
    let errors = text.lines().find(|l| l.contains("Socket errors") || l.contains("Non-2xx"));
    println!(
        "wrk -H 'Connection: close' -t2 -c50 -d{SECONDS}s: {:.0} conn/s{}",
        rate.unwrap_or(f64::NAN),
        errors.map(|e| format!(" ({})", e.trim())).unwrap_or_default()
    );
    rate
}

fn connection_rate(report: &Report) -> f64 {
    report.connections as f64 / report.duration_s.max(1e-9)
}

async fn closed_loop(addr: SocketAddr) -> Report {
    let profile = Profile {
        load: Load::Concurrency(CONCURRENCY),
        requests: None,
        duration: Some(Duration::from_secs(SECONDS)),
        ..Profile::default()
    };
    Generator::start(addr, profile).expect("start").finish().await.expect("run")
}

async fn ten_thousand(addr: SocketAddr) -> Report {
    let profile = Profile {
        load: Load::Concurrency(CONCURRENCY),
        requests: Some(10_000),
        ..Profile::default()
    };
    Generator::start(addr, profile).expect("start").finish().await.expect("run")
}

/// 10k connections held open at once (`/hold`), memory at the peak.
async fn held(addr: SocketAddr) {
    let profile = Profile {
        load: Load::Rate(5_000.0),
        requests: Some(10_000),
        request: RequestKind::Hold(Duration::from_secs(4)),
        max_in_flight: 20_000,
        progress_every: Duration::from_millis(20),
        ..Profile::default()
    };
    let run = Generator::start(addr, profile).expect("start");
    let mut progress = run.progress();
    let mut peak = (0, String::new());
    while progress.changed().await.is_ok() {
        let in_flight = progress.borrow().in_flight;
        if in_flight > peak.0 {
            peak = (in_flight, memory());
        }
        if progress.borrow().finished {
            break;
        }
    }
    let report = run.finish().await.expect("run");
    println!(
        "with {} connections held open at once: {} (run: {} ok, {} errors)",
        peak.0,
        peak.1,
        report.ok,
        report.errors.total()
    );
}

/// Whose CPU time to read from /proc/self/stat.
enum Whose {
    /// This process (the generator; the server is a child process).
    Myself,
    /// Children already waited for (wrk; the server is still running).
    WaitedChildren,
}

/// User plus system CPU seconds, from /proc/self/stat (clock ticks of 10 ms).
fn cpu_seconds(whose: Whose) -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime is field 14.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<f64> = rest.split_whitespace().map(|f| f.parse().unwrap_or(0.0)).collect();
    let (first, second) = match whose {
        Whose::Myself => (11, 12),
        Whose::WaitedChildren => (13, 14),
    };
    let ticks = fields.get(first).unwrap_or(&0.0) + fields.get(second).unwrap_or(&0.0);
    ticks / 100.0
}

/// VmRSS and VmHWM of this process.
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| "?".into())
    };
    format!("VmRSS {}, VmHWM {}", field("VmRSS:"), field("VmHWM:"))
}
