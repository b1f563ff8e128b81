//! The `?` overlay: every binding from the keymap, plus what the numbers
//! mean (which columns are live and which refresh every ~2 s).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{pane, popup};
use crate::tui::app::App;
use crate::tui::theme::Theme;

const NOTES: &[&str] = &[
    "ActiveConn/InActConn are live. Conns, CPS and byte rates come from the kernel's estimator and refresh about every 2 s; Δ is the last refresh's change.",
    "Short connections through NAT wait in TIME_WAIT after closing and count as InActConn for up to 2 minutes.",
];

/// Draws the help overlay over `area`.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let bindings = app.keymap().bindings();
    let key_width = bindings.iter().map(|b| b.keys_label().chars().count()).max().unwrap_or(0) + 2;
    let mut lines: Vec<Line> = bindings
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!(" {:<key_width$}", b.keys_label()), theme.key()),
                Span::raw(b.help),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.extend(NOTES.iter().map(|n| Line::styled(format!(" {n}"), theme.muted())));
    let height = u16::try_from(lines.len() + 6).unwrap_or(u16::MAX);
    let block = pane("Help · Esc or ? closes", theme, true);
    let inner = popup(frame, area, 72, height, block);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
