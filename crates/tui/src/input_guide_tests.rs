//! The guide's keys: which commands they send and where the guide stands.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

use crate::app::App;
use crate::command::{BackendEvent, Command, GuideReport, GuideRequest};
use crate::keymap::Keymap;
use crate::theme::Theme;
use lvslab_core::lab::model::Dataplane;
use lvslab_core::lab::presets;
use lvslab_core::tutorial::{Guide, Status};

fn key(app: &mut App, c: char) -> Option<Command> {
    let code = if c == '\n' { KeyCode::Enter } else { KeyCode::Char(c) };
    app.on_terminal_event(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn steps() -> Vec<lvslab_core::tutorial::Step> {
    let spec = presets::load("tutorial").unwrap().spec;
    Guide::embedded().unwrap().render(&spec, Dataplane::Ipvs)
}

fn report(
    status: Vec<Status>,
    effect: Option<(GuideRequest, Result<Vec<String>, String>)>,
) -> BackendEvent {
    BackendEvent::Guide(GuideReport { steps: Ok(steps()), status, effect })
}

fn bare() -> Vec<Status> {
    steps()
        .iter()
        .map(|s| if s.action.changes_lab() { Status::Todo } else { Status::NoChange })
        .collect()
}

/// A dashboard with the guide open on a bare lab.
fn guided() -> App {
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    assert_eq!(key(&mut app, 'g'), Some(Command::Guide(GuideRequest::Open)));
    app.on_backend(report(bare(), Some((GuideRequest::Open, Ok(Vec::new())))));
    app
}

#[test]
fn g_opens_the_guide_once_then_shows_and_hides_it() {
    let mut app = guided();
    assert!(app.guide_visible());
    assert_eq!(app.guide().unwrap().steps.len(), 11);
    assert_eq!(key(&mut app, 'g'), None);
    assert!(!app.guide_visible());
    // Hidden, s is the dashboard's scheduler key again.
    assert!(matches!(
        key(&mut app, 's'),
        Some(Command::Edit(lvslab_core::lab::edit::Edit::Scheduler(_)))
    ));
    assert_eq!(key(&mut app, 'g'), None);
    assert!(app.guide_visible());
}

#[test]
fn enter_does_the_step_and_moves_on_when_it_worked() {
    let mut app = guided();
    assert_eq!(key(&mut app, '\n'), Some(Command::Guide(GuideRequest::Do(0))));
    assert_eq!(key(&mut app, 'n'), None, "one request at a time");
    app.on_backend(report(bare(), Some((GuideRequest::Do(0), Ok(Vec::new())))));
    assert_eq!(app.guide().unwrap().current, 1);
    // A failed step stays put and shows why.
    assert_eq!(key(&mut app, 'n'), Some(Command::Guide(GuideRequest::Do(1))));
    app.on_backend(report(bare(), Some((GuideRequest::Do(1), Err("no".into())))));
    let guide = app.guide().unwrap();
    assert_eq!(guide.current, 1);
    assert_eq!(guide.effect.as_ref().unwrap().result, Err("no".into()));
}

#[test]
fn skip_and_back_move_without_touching_the_lab() {
    let mut app = guided();
    assert_eq!(key(&mut app, 's'), None, "s skips while the guide shows");
    assert_eq!(key(&mut app, 's'), None);
    assert_eq!(app.guide().unwrap().current, 2);
    assert_eq!(key(&mut app, 'p'), None);
    assert_eq!(app.guide().unwrap().current, 1);
    for _ in 0..20 {
        key(&mut app, 's');
    }
    assert_eq!(app.guide().unwrap().current, 10, "the last step is as far as it goes");
}

#[test]
fn undo_and_redo_act_on_the_last_change() {
    let mut app = guided();
    key(&mut app, 's');
    key(&mut app, 's');
    assert_eq!(key(&mut app, '\n'), Some(Command::Guide(GuideRequest::Do(2))));
    let mut done = bare();
    done[2] = Status::Done;
    app.on_backend(report(done.clone(), Some((GuideRequest::Do(2), Ok(vec!["rs1: …".into()])))));
    assert_eq!(app.guide().unwrap().current, 3);
    assert_eq!(key(&mut app, 'u'), Some(Command::Guide(GuideRequest::Undo(2))));
    assert_eq!(app.guide().unwrap().current, 2, "undo goes back to the step it undoes");
    app.on_backend(report(bare(), Some((GuideRequest::Undo(2), Ok(Vec::new())))));
    assert_eq!(key(&mut app, 'u'), None, "nothing is in place any more");
    assert_eq!(key(&mut app, 'r'), Some(Command::Guide(GuideRequest::Redo(2))));
    app.on_backend(report(done, Some((GuideRequest::Redo(2), Ok(Vec::new())))));
    assert_eq!(key(&mut app, 'u'), Some(Command::Guide(GuideRequest::Undo(2))));
}

#[test]
fn on_a_fully_built_lab_u_finds_the_nearest_step_in_place() {
    let mut app = guided();
    let all: Vec<Status> = steps()
        .iter()
        .map(|s| if s.action.changes_lab() { Status::Done } else { Status::NoChange })
        .collect();
    app.on_backend(report(all, None));
    for _ in 0..10 {
        key(&mut app, 's');
    }
    // From the last step back: rs2's destination is the latest change.
    assert_eq!(key(&mut app, 'u'), Some(Command::Guide(GuideRequest::Undo(6))));
}
