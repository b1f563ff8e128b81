//! Writes screenshots of the dashboard to `assets/screenshots/`, drawn from
//! the tutorial lab's sample state: `.txt` (plain), `.ans` (ANSI colours,
//! view with `cat`) and `.svg` (for the README and browsers).
//! Run: `cargo run --example tui_screenshots [DIR]`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use lvslab::monitor::sample;
use lvslab_tui::app::App;
use lvslab_tui::{Keymap, Theme, theme, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

#[path = "terminal_svg.rs"]
mod terminal_svg;

fn tutorial_app(theme: Theme) -> App {
    let mut app = App::new(theme, Keymap::default(), Vec::new());
    for tick in 0..=300 {
        let mut snap = sample::tutorial(tick);
        if (250..260).contains(&tick) {
            snap.lab.real_servers[1].up = false;
        }
        app.on_snapshot(Arc::new(snap));
    }
    app
}

fn sgr(color: Color, foreground: bool) -> String {
    let base = if foreground { 38 } else { 48 };
    match color {
        Color::Reset => format!("{}", base + 1),
        Color::Rgb(r, g, b) => format!("{base};2;{r};{g};{b}"),
        Color::Indexed(i) => format!("{base};5;{i}"),
        named => format!("{base};5;{}", terminal_svg::named_index(named)),
    }
}

fn ansi(buffer: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut current = None;
        for x in 0..buffer.area.width {
            let cell = &buffer[(x, y)];
            // Only emit colours when they change, so files stay small.
            if current != Some((cell.fg, cell.bg)) {
                current = Some((cell.fg, cell.bg));
                let _ = write!(out, "\x1b[0;{};{}m", sgr(cell.fg, true), sgr(cell.bg, false));
            }
            out.push_str(cell.symbol());
        }
        out.push_str("\x1b[0m\n");
    }
    out
}

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "assets/screenshots".into()));
    std::fs::create_dir_all(&dir)?;
    let help = Event::Key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE));
    for theme_name in ["dark", "light", "mono"] {
        let theme = theme::builtin(theme_name).expect("built-in theme");
        for (width, height, with_help) in [(160, 48, false), (80, 24, false), (80, 24, true)] {
            let mut app = tutorial_app(theme.clone());
            if with_help {
                let _ = app.on_terminal_event(help.clone());
            }
            // TestBackend cannot fail (its error type is Infallible).
            let Ok(mut terminal) = Terminal::new(TestBackend::new(width, height));
            let Ok(_) = terminal.draw(|f| view::render(f, &app));
            let what = if with_help { "help" } else { "dashboard" };
            let stem = dir.join(format!("{what}-{width}x{height}-{theme_name}"));
            let buffer = terminal.backend().buffer();
            std::fs::write(stem.with_extension("ans"), ansi(buffer))?;
            std::fs::write(stem.with_extension("txt"), terminal.backend().to_string())?;
            std::fs::write(
                stem.with_extension("svg"),
                terminal_svg::svg(buffer, theme_name == "light"),
            )?;
            println!("wrote {}.{{txt,ans,svg}}", stem.display());
        }
    }
    Ok(())
}
