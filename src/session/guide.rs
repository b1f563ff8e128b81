//! The guide's requests, applied on a blocking thread: the steps rendered
//! for the lab, the step done or undone on the kernel, and every step's
//! status observed afterwards.

use crate::ops::state::LabState;
use crate::tutorial::Guide;
use crate::tutorial::live::{self, Direction};
use lvslab_tui::command::{GuideReport, GuideRequest};

/// Why a guide request had no effect.
#[derive(Debug, thiserror::Error)]
enum Failure {
    /// The request names a step the walk does not have (0-based).
    #[error("there is no step {}", .0 + 1)]
    NoStep(usize),
    /// Doing or undoing the step failed.
    #[error(transparent)]
    Step(#[from] live::Error),
}

/// Applies `request` to the lab and reports the steps, their status and
/// the effect; a failure becomes text here, where the dashboard shows it.
pub fn report(request: GuideRequest, state: &LabState) -> GuideReport {
    let steps = match Guide::for_lab(&state.spec) {
        Ok(guide) => guide.render(&state.spec, state.dataplane),
        Err(e) => {
            let why = format!("the tutorial's steps cannot be read: {e}");
            return GuideReport {
                steps: Err(why.clone()),
                status: Vec::new(),
                effect: Some((request, Err(why))),
            };
        }
    };
    let step = |i: usize| steps.get(i).ok_or(Failure::NoStep(i));
    let perform = |i: usize, direction| -> Result<Vec<String>, Failure> {
        Ok(live::perform(step(i)?, state, direction)?)
    };
    let result = match request {
        GuideRequest::Open => Ok(Vec::new()),
        GuideRequest::Do(i) => perform(i, Direction::Do),
        GuideRequest::Undo(i) => perform(i, Direction::Undo),
        GuideRequest::Redo(i) => step(i).and_then(|s| {
            if s.action.changes_lab() {
                live::perform(s, state, Direction::Undo)?;
            }
            Ok(live::perform(s, state, Direction::Do)?)
        }),
    };
    let status = live::statuses(&steps, state);
    let effect = result.map_err(|e| e.to_string());
    GuideReport { steps: Ok(steps), status, effect: Some((request, effect)) }
}
