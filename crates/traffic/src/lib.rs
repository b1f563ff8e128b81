//! Real traffic for the lab: the real-server HTTP process and the load
//! generator that drives it through the director, and the report they make.
//!
//! IPVS schedules *connections*, not requests, so the generator opens a new
//! TCP connection per request by default and the server names itself in every
//! answer (`X-Real-Server`): counting names is counting scheduling decisions.
//! Long-held connections (`/hold`) are what make the least-connection family
//! (lc, wlc, sed, nq) behave differently from round robin.
//!
//! Nothing here touches a namespace: sockets belong to the namespace of the
//! thread that creates them, so the caller enters the namespace (or builds
//! its runtime on threads that have) and then calls [`server::Server::run`]
//! or [`client::Generator::start`]. There is no global state.
//!
//! - [`server`]: the HTTP/1.1 real server and its counters.
//! - [`client`]: the load generator, controllable while it runs.
//! - [`profile`]: what load to generate.
//! - [`process`]: the body of an `lvslab serve` real-server process.
//! - [`results`]: the [`results::Report`] JSON schema and the human table.

pub mod client;
pub mod histogram;
pub mod process;
pub mod profile;
pub mod results;
pub mod server;

mod body;
mod drive;
mod error;
mod exchange;
mod pool;
mod run;
mod server_stats;
mod tally;
mod watch;

pub use client::{Generator, GeneratorHandle, Progress};
pub use error::Error;
pub use exchange::one_request;
pub use process::run_server_process;
pub use profile::{ConnectionMode, Load, Profile, Ramp, RequestKind};
pub use results::{ErrorKind, Report};
pub use run::BeforeConnect;
pub use server::{Server, ServerConfig, ServerStats, serve};
