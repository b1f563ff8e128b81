//! A terminal screen (a ratatui [`Buffer`]) as an SVG picture, and the
//! index of ratatui's named colours among the terminal's 16. Shared by the
//! screenshot tools (`tui_screenshots` draws from sample data, `ans_to_svg`
//! renders what tmux captured from a live lab); included with `#[path]`.

use std::fmt::Write as _;

use ratatui::buffer::Buffer;
use ratatui::style::Color;

/// The terminal's 16 colours, in their SGR order (30–37, then 90–97).
const NAMED: [Color; 16] = [
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

/// The position of a named colour among the 16 (7, light grey, for any
/// other colour).
pub fn named_index(color: Color) -> u8 {
    NAMED.iter().position(|c| *c == color).and_then(|i| u8::try_from(i).ok()).unwrap_or(7)
}

/// Cell size of the SVG rendering, in pixels (a 14 px monospace font).
const CELL_W: f32 = 8.4;
const CELL_H: f32 = 17.0;

/// xterm's 16 colours.
const PALETTE: [&str; 16] = [
    "#000000", "#cd0000", "#00cd00", "#cdcd00", "#0000ee", "#cd00cd", "#00cdcd", "#e5e5e5",
    "#7f7f7f", "#ff0000", "#00ff00", "#ffff00", "#5c5cff", "#ff00ff", "#00ffff", "#ffffff",
];

pub fn css(color: Color, default: &str) -> String {
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
        named => PALETTE[usize::from(named_index(named))].to_string(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The buffer as an SVG: a rectangle per background run, a text per
/// foreground run, on the terminal's default colours for the theme.
pub fn svg(buffer: &Buffer, light: bool) -> String {
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
