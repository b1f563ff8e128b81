//! The dashboard's load generator: a small tokio runtime whose threads live
//! in the client's namespace (so every socket it opens is the client's), and
//! the generator it runs, steered by the user's keys.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use crate::monitor::{ConnMode, TrafficView};
use lvslab_sys::netns;
use lvslab_traffic::{ConnectionMode, Generator, GeneratorHandle, Load, Profile, RequestKind};

/// How long a "long" connection is held open.
pub const LONG_HOLD: Duration = Duration::from_secs(5);
/// The dashboard's generator runs until stopped; this only bounds a
/// forgotten one.
const RUN_FOR: Duration = Duration::from_secs(24 * 3600);

/// The generator of one lab, started and stopped at will.
pub struct Traffic {
    runtime: Option<tokio::runtime::Runtime>,
    target: SocketAddr,
    handle: Option<GeneratorHandle>,
    mode: ConnMode,
    rate: u32,
}

impl Traffic {
    /// A stopped generator aimed at `target`, from inside namespace `client_ns`.
    pub fn new(client_ns: &str, target: SocketAddr, rate: u32) -> Result<Self, String> {
        let (tx, rx) = mpsc::channel();
        let ns = client_ns.to_string();
        // The runtime's worker threads are spawned by this thread, after it
        // entered the namespace, and so inherit it.
        std::thread::spawn(move || {
            let built = netns::enter(&ns).map_err(|e| e.to_string()).and_then(|()| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("lvslab-traffic")
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())
            });
            let _ = tx.send(built);
        });
        let runtime = rx.recv().map_err(|e| e.to_string())??;
        Ok(Self { runtime: Some(runtime), target, handle: None, mode: ConnMode::Short, rate })
    }

    /// Starts (or restarts, with the current settings) the generator.
    pub fn start(&mut self) -> Result<String, String> {
        self.stop();
        let mut profile = Profile {
            load: Load::Rate(f64::from(self.rate)),
            requests: None,
            duration: Some(RUN_FOR),
            ..Profile::default()
        };
        if let ConnMode::Long { hold_ms } = self.mode {
            profile.request = RequestKind::Hold(Duration::from_millis(u64::from(hold_ms)));
        }
        profile.connection = ConnectionMode::NewPerRequest;
        let runtime = self.runtime.as_ref().expect("runtime lives as long as self");
        let _inside = runtime.enter();
        let handle = Generator::start(self.target, profile).map_err(|e| e.to_string())?;
        self.handle = Some(handle);
        Ok(format!(
            "traffic started: {} conn/s to {} ({})",
            self.rate,
            self.target,
            self.mode_name()
        ))
    }

    /// Stops the generator; in-flight requests finish.
    pub fn stop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop();
        }
    }

    /// Whether it is running.
    pub fn running(&self) -> bool {
        self.handle.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Changes the rate, live.
    pub fn set_rate(&mut self, rate: u32) -> Result<String, String> {
        self.rate = rate.max(1);
        if let Some(handle) = &self.handle {
            handle.set_rate(f64::from(self.rate)).map_err(|e| e.to_string())?;
        }
        Ok(format!("rate {} conn/s", self.rate))
    }

    /// Short (one request, then close) or long (held open) connections.
    pub fn toggle_mode(&mut self) -> Result<String, String> {
        self.mode = match self.mode {
            ConnMode::Short => ConnMode::Long { hold_ms: LONG_HOLD.as_millis() as u32 },
            ConnMode::Long { .. } => ConnMode::Short,
        };
        if self.running() {
            self.start()?;
        }
        Ok(format!("{} connections", self.mode_name()))
    }

    fn mode_name(&self) -> String {
        match self.mode {
            ConnMode::Short => "short".into(),
            ConnMode::Long { hold_ms } => format!("long, held {hold_ms} ms"),
        }
    }

    /// What the traffic pane shows.
    pub fn view(&self) -> TrafficView {
        let progress = self.handle.as_ref().map(|h| h.progress().borrow().clone());
        TrafficView {
            running: self.running(),
            mode: self.mode,
            rate: self.rate,
            in_flight: progress.as_ref().map_or(0, |p| p.in_flight as u32),
            ended: self.handle.as_ref().is_some_and(|h| h.is_finished()),
            requests: progress.as_ref().map_or(0, |p| p.requests),
            ok: progress.as_ref().map_or(0, |p| p.ok),
            errors: progress.as_ref().map_or(0, |p| p.requests.saturating_sub(p.ok)),
            by_server: progress.as_ref().map(|p| p.by_server.clone()).unwrap_or_default(),
            p50_ms: progress.as_ref().filter(|p| p.ok > 0).map(|p| p.latency_ms.p50),
            p99_ms: progress.as_ref().filter(|p| p.ok > 0).map(|p| p.latency_ms.p99),
            answered: progress.as_ref().map_or(0, |p| p.answered),
            recent: progress.map(|p| p.recent).unwrap_or_default(),
        }
    }
}

impl Drop for Traffic {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
        // Dropped from async code: a runtime may not block there.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
