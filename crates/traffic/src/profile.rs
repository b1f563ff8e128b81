//! What load the generator makes: how fast, for how long, over which kind of
//! connection, and what each request asks the real server to do.
//!
//! The default opens a new TCP connection per request because IPVS
//! schedules connections, not requests: with keep-alive, every request on a
//! connection goes to the same real server.

use std::time::Duration;

use super::Error;

/// How load is offered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    /// Open loop: start this many requests per second, whether or not earlier
    /// ones have finished (up to [`Profile::max_in_flight`]).
    Rate(f64),
    /// Closed loop: keep this many requests in flight; 0 pauses.
    Concurrency(u32),
}

/// A linear ramp of the rate from `from` to the [`Load::Rate`] over `over`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ramp {
    /// Requests per second at the start.
    pub from: f64,
    /// How long the ramp lasts.
    pub over: Duration,
}

/// Whether each request gets its own connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionMode {
    /// A new TCP connection per request, closed by the server
    /// (`Connection: close`), so every request is a scheduling decision.
    #[default]
    NewPerRequest,
    /// Reuse connections (HTTP/1.1 keep-alive); at most one per request in flight.
    KeepAlive,
}

/// What each request asks of the real server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RequestKind {
    /// `GET /`: an immediate answer.
    #[default]
    Plain,
    /// `GET /hold?ms=N`: the connection stays open (streaming) for N ms.
    Hold(Duration),
    /// `GET /sleep?ms=N`: the answer comes after N ms.
    Sleep(Duration),
    /// `GET` of this path and query, e.g. `/health`.
    Path(String),
}

impl RequestKind {
    /// The request target (path and query) sent to the server.
    pub fn path(&self) -> String {
        match self {
            Self::Plain => "/".to_string(),
            Self::Hold(d) => format!("/hold?ms={}", d.as_millis()),
            Self::Sleep(d) => format!("/sleep?ms={}", d.as_millis()),
            Self::Path(p) => p.clone(),
        }
    }

    /// How long the server is asked to take, added to the request timeout.
    pub fn expected_duration(&self) -> Duration {
        match self {
            Self::Hold(d) | Self::Sleep(d) => *d,
            Self::Plain | Self::Path(_) => Duration::ZERO,
        }
    }
}

/// A complete description of a run. Start from [`Profile::default`] and set
/// fields; it stops at whichever of `requests` or `duration` comes first,
/// or only when told to if both are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Open-loop rate or closed-loop concurrency; changeable while running.
    pub load: Load,
    /// A ramp up (or down) to the [`Load::Rate`]; ignored for concurrency.
    pub ramp: Option<Ramp>,
    /// Stop after this many requests have been started.
    pub requests: Option<u64>,
    /// Stop starting requests after this long.
    pub duration: Option<Duration>,
    /// New connection per request, or keep-alive.
    pub connection: ConnectionMode,
    /// What each request asks for.
    pub request: RequestKind,
    /// A request (connect to last byte) that takes longer than this plus the
    /// request's own expected duration counts as a timeout.
    pub timeout: Duration,
    /// Open loop never has more than this many requests in flight; starts
    /// beyond it are counted as `missed` rather than queued.
    pub max_in_flight: u32,
    /// How often a [`crate::Progress`] snapshot is published.
    pub progress_every: Duration,
    /// `Host` header; the target address when `None`.
    pub host: Option<String>,
    /// Client source addresses: connection k is bound to `sources[k % len]`
    /// (many clients from one host); empty lets the kernel choose. Not used
    /// with keep-alive, whose pooled connections are not per client.
    pub sources: Vec<std::net::IpAddr>,
    /// The width of one bucket of the report's outcome timeline
    /// ([`crate::results::Report::timeline`]).
    pub bucket: Duration,
}

impl Default for Profile {
    /// 1000 requests, 10 in flight, a new connection each, `GET /`, 5 s timeout.
    fn default() -> Self {
        Self {
            load: Load::Concurrency(10),
            ramp: None,
            requests: Some(1000),
            duration: None,
            connection: ConnectionMode::NewPerRequest,
            request: RequestKind::Plain,
            timeout: Duration::from_secs(5),
            max_in_flight: 10_000,
            progress_every: Duration::from_millis(250),
            host: None,
            sources: Vec::new(),
            bucket: Duration::from_secs(1),
        }
    }
}

/// The narrowest timeline bucket (finer ones would only show scheduling noise).
pub const MIN_BUCKET: Duration = Duration::from_millis(100);

use lvslab_core::lab::ranges::{MAX_DURATION_S, MAX_HOLD_MS, MAX_RATE};

/// Checks a rate given at start or while running.
pub(crate) fn check_rate(field: &'static str, rate: f64) -> Result<(), Error> {
    if rate.is_finite() && (0.0..=MAX_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(Error::Profile {
            field,
            value: rate.to_string(),
            fix: "use requests per second from 0 to 1000000",
        })
    }
}

impl Profile {
    /// Checks every setting.
    ///
    /// # Errors
    /// [`Error::Profile`] naming the first bad setting, its value and the fix.
    pub fn validate(&self) -> Result<(), Error> {
        if let Load::Rate(rate) = self.load {
            check_rate("rate", rate)?;
        }
        if let Some(ramp) = self.ramp {
            check_rate("ramp.from", ramp.from)?;
        }
        let bad = |field, value: String, fix| Err(Error::Profile { field, value, fix });
        if self.timeout.is_zero() {
            return bad("timeout", format!("{:?}", self.timeout), "use a timeout above zero");
        }
        if self.progress_every < Duration::from_millis(10) {
            let value = format!("{:?}", self.progress_every);
            return bad("progress_every", value, "use 10 ms or more");
        }
        if let Some(d) = self.duration
            && !(d > Duration::ZERO && d.as_secs_f64() <= MAX_DURATION_S)
        {
            return bad("duration", format!("{d:?}"), "use a duration above 0 and at most one day");
        }
        if self.request.expected_duration() > Duration::from_millis(MAX_HOLD_MS) {
            let value = format!("{:?}", self.request.expected_duration());
            return bad("request", value, "hold or sleep at most one hour (3600000 ms)");
        }
        if self.timeout > Duration::from_secs(3600) {
            return bad(
                "timeout",
                format!("{:?}", self.timeout),
                "use a timeout of at most an hour",
            );
        }
        if self.bucket < MIN_BUCKET || self.bucket.as_secs_f64() > MAX_DURATION_S {
            let value = format!("{:?}", self.bucket);
            return bad("bucket", value, "use a bucket from 100ms to one day");
        }
        if self.max_in_flight == 0 {
            return bad("max_in_flight", "0".into(), "allow at least one request in flight");
        }
        let path = self.request.path();
        if !path.starts_with('/') || path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return bad("request", path, "use a path starting with '/' without spaces");
        }
        if let Some(host) = &self.host
            && (host.is_empty() || host.bytes().any(|b| b.is_ascii_control() || b == b' '))
        {
            return bad("host", host.clone(), "use a host name or address without spaces");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dashboard's failover timeline keeps watching past a failover for
    /// longer than one of its requests may take, so a request stalled by it
    /// ends inside the timeline.
    #[test]
    fn the_failover_tail_outlasts_the_dashboard_traffics_timeout() {
        assert!(lvslab_core::monitor::failover::FAILURE_TAIL > Profile::default().timeout);
    }

    #[test]
    fn validates_with_the_bad_value_named() {
        assert!(Profile::default().validate().is_ok());
        let p = Profile { load: Load::Rate(f64::NAN), ..Profile::default() };
        assert!(p.validate().unwrap_err().to_string().contains("rate = NaN"));
        let p = Profile { request: RequestKind::Path("x y".into()), ..Profile::default() };
        assert!(p.validate().unwrap_err().to_string().contains("request = x y"));
        let p = Profile { timeout: Duration::ZERO, ..Profile::default() };
        assert!(p.validate().is_err());
        let p = Profile { bucket: Duration::from_millis(10), ..Profile::default() };
        assert!(p.validate().unwrap_err().to_string().contains("bucket = 10ms"));
    }

    #[test]
    fn paths() {
        assert_eq!(RequestKind::Hold(Duration::from_secs(2)).path(), "/hold?ms=2000");
        assert_eq!(RequestKind::Sleep(Duration::from_millis(5)).path(), "/sleep?ms=5");
    }
}
