//! Issue 11, the input half: what a user, a preset or a hand-edited record
//! hands lvslab is checked before it can do harm. Each test performs the
//! attack and asserts the safe outcome. Needs no root: every refusal here
//! happens before anything privileged.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use lvslab::monitor::sample;
use lvslab::tui::app::App;
use lvslab::tui::theme::Theme;
use lvslab::tui::{Keymap, PresetInfo, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn lvslab(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvslab")).args(args).current_dir(dir).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every cell ratatui would send to the terminal, as text.
fn screen(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    terminal.draw(|f| view::render(f, app)).unwrap();
    terminal.backend().buffer().content().iter().map(|c| c.symbol()).collect()
}

const HOSTILE: &str = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J\r\nrm -rf /\u{9b}31m";

#[test]
fn control_characters_in_a_preset_or_record_never_reach_the_screen() {
    let picker = App::new(
        Theme::default(),
        Keymap::default(),
        vec![PresetInfo {
            name: HOSTILE.into(),
            description: HOSTILE.into(),
            file: HOSTILE.into(),
        }],
    );
    let mut dashboard = App::new(Theme::default(), Keymap::default(), Vec::new());
    let mut snap = sample::tutorial(0);
    snap.lab.name = HOSTILE.into();
    dashboard.on_snapshot(Arc::new(snap));
    for (what, app) in [("picker", &picker), ("dashboard", &dashboard)] {
        let text = screen(app);
        assert!(!text.chars().any(lvslab::lab::text::is_unsafe), "{what}: {text:?}");
        assert!(text.contains("evil\\u{1b}]0;pwned"), "{what} shows the escape, escaped: {text}");
    }
}
