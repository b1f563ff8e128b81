//! The UI's output and the backend's answers: plain data crossing the
//! channel between the dashboard and the task that changes the lab.

use std::path::PathBuf;

use lvslab_core::lab::edit::Edit;
use lvslab_core::lab::model::Dataplane;

/// What the user asked for. The backend task applies it and answers with
/// [`BackendEvent::Applied`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Build the lab described by this preset (from the picker).
    BringUp {
        /// The preset file to build.
        preset: PathBuf,
        /// What balances it, as chosen in the picker.
        dataplane: Dataplane,
    },
    /// Start the load generator.
    StartTraffic,
    /// Stop the load generator.
    StopTraffic,
    /// Set the load generator's target rate, in requests per second.
    SetRate(u32),
    /// Switch between short and long connections.
    ToggleConnMode,
    /// A live change to the lab (scheduler, weights, servers, directors,
    /// counters), applied by the session as `lvslab set` applies it.
    Edit(Edit),
    /// Add one more real server to the lab and the service.
    AddServer,
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
    pub steps: Result<Vec<lvslab_core::tutorial::Step>, String>,
    /// Each step's status, observed after the request.
    pub status: Vec<lvslab_core::tutorial::Status>,
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

/// A preset offered by the picker screen: enough to choose knowingly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PresetInfo {
    /// Short name, e.g. `tutorial-nat`.
    pub name: String,
    /// One or two sentences on what the preset shows.
    pub description: String,
    /// The preset file, sent back in [`Command::BringUp`].
    pub file: PathBuf,
    /// The hosts and their addresses, one short line each.
    pub topology: Vec<String>,
    /// Each virtual service with its scheduler and real servers' weights.
    pub services: Vec<String>,
    /// The preset's own explanation (its leading comment block): what it
    /// shows, what to do and what to watch. Paragraphs are separated by a
    /// blank line; indented lines (diagrams, commands) are kept as they are.
    pub explanation: String,
    /// The dataplane the preset asks for, if any (else the session's).
    pub dataplane: Option<Dataplane>,
}

/// What the picker may build with, decided by the session from the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildOptions {
    /// The dataplane a preset is built with unless it names one.
    pub dataplane: Dataplane,
    /// Why this kernel has no IPVS, when it has none: the picker says so
    /// before building and offers nft or none instead.
    pub ipvs_missing: Option<String>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        Self { dataplane: Dataplane::Ipvs, ipvs_missing: None }
    }
}

impl BuildOptions {
    /// The dataplanes the picker offers, in the order Tab cycles them.
    pub fn offered(&self) -> &'static [Dataplane] {
        if self.ipvs_missing.is_some() {
            &[Dataplane::Nft, Dataplane::None]
        } else {
            &[Dataplane::Ipvs, Dataplane::Nft, Dataplane::None]
        }
    }

    /// The dataplane a preset builds with before the user picks one: the
    /// preset's own, else the session's; never IPVS on a kernel without it.
    pub fn default_for(&self, preset: &PresetInfo) -> Dataplane {
        let wanted = preset.dataplane.unwrap_or(self.dataplane);
        if self.offered().contains(&wanted) { wanted } else { self.offered()[0] }
    }
}

/// Why the dashboard's event loop (the binary's `session::event::run`) returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The user quit (`q`, Ctrl-C); [`Command::Quit`] was sent.
    Quit,
    /// The cancellation token fired (SIGTERM, or the caller shut down).
    Cancelled,
}
