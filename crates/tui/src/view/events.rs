//! The events log, newest first: the user's actions, the backend's answers
//! and every change seen between snapshots, stamped with the lab's clock.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::pane;
use crate::app::{App, LogEntry, Panel};
use crate::changes::Level;
use crate::format::clock;
use crate::theme::Theme;

/// Draws the events pane.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let log = app.log_entries();
    let title = match app.log_scroll() {
        0 => format!("Events ({})", log.len()),
        back => format!("Events ({}, {back} back)", log.len()),
    };
    let block = pane(title, theme, app.focus() == Panel::Events);
    let height = usize::from(block.inner(area).height);
    let lines: Vec<Line> =
        log.iter().rev().skip(app.log_scroll()).take(height).map(|e| line(e, theme)).collect();
    let body = if lines.is_empty() {
        vec![Line::styled("nothing yet: changes and actions appear here", theme.muted())]
    } else {
        lines
    };
    // A long line wraps at a word rather than being cut mid-word; the
    // oldest lines then fall off the bottom.
    frame.render_widget(Paragraph::new(body).wrap(Wrap { trim: false }).block(block), area);
}

fn line<'a>(entry: &LogEntry, theme: &Theme) -> Line<'a> {
    let style = match entry.level {
        Level::Info => theme.base(),
        Level::Ok => theme.ok(),
        Level::Warn => theme.warn(),
        Level::Error => theme.error(),
    };
    Line::from(vec![
        Span::styled(format!("{} ", clock(entry.at)), theme.muted()),
        Span::styled(entry.text.clone(), style),
    ])
}
