//! Renders a terminal capture with colours (`tmux capture-pane -e -p`, an
//! `.ans` file) as an SVG beside it, through the same SVG writer as the
//! sample-data screenshots. tests/tools/capture-dashboard runs it on what
//! it captured from a live lab.
//!
//! Run: `cargo run --example ans_to_svg -- FILE.ans WIDTHxHEIGHT [--light]`
//! (writes FILE.svg; `--light` draws on a light terminal's default colours).

use ansi_to_tui::IntoText as _;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Paragraph, Widget as _};

#[path = "terminal_svg.rs"]
mod terminal_svg;

fn size(arg: &str) -> Option<(u16, u16)> {
    let (w, h) = arg.split_once('x')?;
    Some((w.parse().ok()?, h.parse().ok()?))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: ans_to_svg FILE.ans WIDTHxHEIGHT [--light]";
    let (Some(file), Some((width, height))) = (args.first(), args.get(1).and_then(|s| size(s)))
    else {
        return Err(usage.into());
    };
    let light = args.iter().any(|a| a == "--light");
    let bytes = std::fs::read(file)?;
    // The ANSI text to styled lines, then drawn into a screen-sized buffer
    // as the terminal showed it (no wrapping: a capture has one line per row).
    let text = bytes.into_text()?;
    let area = Rect::new(0, 0, width, height);
    let mut buffer = Buffer::empty(area);
    Paragraph::new(text).render(area, &mut buffer);
    let out = std::path::Path::new(file).with_extension("svg");
    std::fs::write(&out, terminal_svg::svg(&buffer, light))?;
    println!("wrote {}", out.display());
    Ok(())
}
