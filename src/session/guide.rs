//! The guide's requests, applied on a blocking thread: the steps rendered
//! for the lab, the step done or undone on the kernel, and every step's
//! status observed afterwards.

use crate::ops::state::LabState;
use crate::tutorial::Guide;
use crate::tutorial::live::{self, Direction};
use lvslab_tui::command::{GuideReport, GuideRequest};

/// Applies `request` to the lab and reports the steps, their status and
/// the effect.
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
    let step = |i: usize| steps.get(i).ok_or_else(|| format!("there is no step {}", i + 1));
    let result = match request {
        GuideRequest::Open => Ok(Vec::new()),
        GuideRequest::Do(i) => step(i).and_then(|s| live::perform(s, state, Direction::Do)),
        GuideRequest::Undo(i) => step(i).and_then(|s| live::perform(s, state, Direction::Undo)),
        GuideRequest::Redo(i) => step(i).and_then(|s| {
            if s.action.changes_lab() {
                live::perform(s, state, Direction::Undo)?;
            }
            live::perform(s, state, Direction::Do)
        }),
    };
    let status = live::statuses(&steps, state);
    GuideReport { steps: Ok(steps), status, effect: Some((request, result)) }
}
