//! The UI's output and the backend's answers: plain data crossing the
//! channel between the dashboard and the task that changes the lab.

use std::path::PathBuf;

/// What the user asked for. The backend task applies it and answers with
/// [`BackendEvent::Applied`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Build the lab described by this preset (from the picker).
    BringUp {
        /// The preset file to build.
        preset: PathBuf,
    },
    /// Start the load generator.
    StartTraffic,
    /// Stop the load generator.
    StopTraffic,
    /// Set the load generator's target rate, in requests per second.
    SetRate(u32),
    /// Switch between short and long connections.
    ToggleConnMode,
    /// Change the main service's scheduler (e.g. `wlc`).
    SetScheduler(String),
    /// Change a real server's weight.
    SetWeight {
        /// Real-server name.
        server: String,
        /// New weight.
        weight: u32,
    },
    /// Quiesce a real server: weight 0, existing connections finish.
    Drain {
        /// Real-server name.
        server: String,
    },
    /// Stop a real server's HTTP process (IPVS keeps scheduling to it).
    StopServer {
        /// Real-server name.
        server: String,
    },
    /// Start a real server's HTTP process again.
    StartServer {
        /// Real-server name.
        server: String,
    },
    /// Add one more real server to the lab and the service.
    AddServer,
    /// Remove a real server from the service and the lab.
    RemoveServer {
        /// Real-server name.
        server: String,
    },
    /// Zero the IPVS counters.
    ZeroCounters,
    /// A tutorial guide request (open it, do or undo a step).
    Guide(GuideRequest),
    /// The user is leaving: tear down what the session built.
    Quit,
}

/// What the guide asks of the backend; steps are indices into the guide's
/// rendered steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuideRequest {
    /// Load the steps for this lab and observe their status.
    Open,
    /// Do a step on the live lab.
    Do(usize),
    /// Undo a step.
    Undo(usize),
    /// Undo a step, then do it again.
    Redo(usize),
}

/// The guide as the backend sees it: the steps for this lab, each one's
/// status on the live lab, and the outcome of the request just made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuideReport {
    /// The steps, rendered for this lab (or why they could not be loaded).
    pub steps: Result<Vec<crate::tutorial::Step>, String>,
    /// Each step's status, observed after the request.
    pub status: Vec<crate::tutorial::Status>,
    /// The request this answers and its effect: the lines to show, or why it failed.
    pub effect: Option<(GuideRequest, Result<Vec<String>, String>)>,
}

/// What the backend reports to the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendEvent {
    /// A command was applied (`Ok`, what was done) or refused (`Err`, why).
    Applied(Result<String, String>),
    /// One line of bring-up progress (e.g. `created netns lvs-tutorial-rs1`).
    Step(String),
    /// Bring-up failed; the UI shows why and waits for `q`.
    BringUpFailed(String),
    /// Bring-up finished: switch to the dashboard.
    LabReady,
    /// The guide's steps and statuses, after a [`Command::Guide`].
    Guide(GuideReport),
}

/// A preset offered by the picker screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresetInfo {
    /// Short name, e.g. `tutorial-nat`.
    pub name: String,
    /// One or two sentences on what the preset shows.
    pub description: String,
    /// The preset file, sent back in [`Command::BringUp`].
    pub file: PathBuf,
}

/// Why [`run`](super::run) returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The user quit (`q`, Ctrl-C); [`Command::Quit`] was sent.
    Quit,
    /// The cancellation token fired (SIGTERM, or the caller shut down).
    Cancelled,
}
