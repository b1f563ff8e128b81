//! Writes screenshots of the dashboard to `assets/screenshots/`, drawn from
//! the tutorial lab's sample state: `.txt` (plain), `.ans` (ANSI colours,
//! view with `cat`) and `.svg` (for the README and browsers).
//! Run: `cargo run --example tui_screenshots [DIR]`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use lvslab::monitor::sample;
use lvslab::tui::app::App;
use lvslab::tui::{Keymap, Theme, theme, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

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
        named => {
            let names = [
                Color::Black,
                Color::Red,
                Color::Green,
                Color::Yellow,
                Color::Blue,
                Color::Magenta,
                Color::Cyan,
                Color::Gray,
                Color::DarkGray,
                Color::LightRed,
                Color::LightGreen,
                Color::LightYellow,
                Color::LightBlue,
                Color::LightMagenta,
                Color::LightCyan,
                Color::White,
            ];
            let i = names.iter().position(|c| *c == named).unwrap_or(7);
            format!("{base};5;{i}")
        }
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

/// Cell size of the SVG rendering, in pixels (a 14 px monospace font).
const CELL_W: f32 = 8.4;
const CELL_H: f32 = 17.0;

/// xterm's 16 colours.
const PALETTE: [&str; 16] = [
    "#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
    "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff",
];

fn css(color: Color, default: &str) -> String {
    match color {
        Color::Reset => default.to_string(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) if i < 16 => PALETTE[i as usize].to_string(),
        Color::Indexed(i) if i >= 232 => {
            let v = 8 + 10 * (i - 232);
            format!("#{v:02x}{v:02x}{v:02x}")
        }
        Color::Indexed(i) => {
            let i = i - 16;
            let level = |n: u8| if n == 0 { 0 } else { 55 + 40 * n };
            format!("#{:02x}{:02x}{:02x}", level(i / 36), level((i / 6) % 6), level(i % 6))
        }
        named => {
            // The same order as `sgr`: the 16 named colours.
            let index = sgr(named, true)
                .rsplit(';')
                .next()
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(7);
            PALETTE[index.min(15)].to_string()
        }
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The buffer as an SVG: a rectangle per background run, a text per
/// foreground run, on the terminal's default colours for the theme.
fn svg(buffer: &Buffer, light: bool) -> String {
    let (default_bg, default_fg) =
        if light { ("#ffffff", "#1c1c1c") } else { ("#1c1c1c", "#d0d0d0") };
    let (w, h) = (f32::from(buffer.area.width) * CELL_W, f32::from(buffer.area.height) * CELL_H);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"{default_bg}\"/>\n\
         <g font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"14\" xml:space=\"preserve\">\n"
    );
    for y in 0..buffer.area.height {
        let mut x = 0;
        while x < buffer.area.width {
            let start = &buffer[(x, y)];
            let (fg, bg, bold) =
                (start.fg, start.bg, start.modifier.contains(ratatui::style::Modifier::BOLD));
            let mut text = String::new();
            let mut end = x;
            while end < buffer.area.width {
                let cell = &buffer[(end, y)];
                if cell.fg != fg
                    || cell.bg != bg
                    || cell.modifier.contains(ratatui::style::Modifier::BOLD) != bold
                {
                    break;
                }
                text.push_str(cell.symbol());
                end += 1;
            }
            let (px, py) = (f32::from(x) * CELL_W, f32::from(y) * CELL_H);
            if bg != Color::Reset {
                let width = f32::from(end - x) * CELL_W;
                let _ = writeln!(
                    out,
                    "<rect x=\"{px}\" y=\"{py}\" width=\"{width}\" height=\"{CELL_H}\" fill=\"{}\"/>",
                    css(bg, default_bg)
                );
            }
            if !text.trim().is_empty() {
                let weight = if bold { " font-weight=\"bold\"" } else { "" };
                let _ = writeln!(
                    out,
                    "<text x=\"{px}\" y=\"{}\" fill=\"{}\"{weight}>{}</text>",
                    py + CELL_H * 0.8,
                    css(fg, default_fg),
                    escape(&text)
                );
            }
            x = end;
        }
    }
    out.push_str("</g>\n</svg>\n");
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
            std::fs::write(stem.with_extension("svg"), svg(buffer, theme_name == "light"))?;
            println!("wrote {}.{{txt,ans,svg}}", stem.display());
        }
    }
    Ok(())
}
