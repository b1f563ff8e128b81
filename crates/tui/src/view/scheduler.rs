//! The `S` dialog: every IPVS scheduler with what it does, the current one
//! marked, so trying `sh` or `lc` is a choice rather than a guess.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{pane, popup};
use lvslab_core::lab::model::Scheduler;

use crate::app::App;
use crate::theme::Theme;

/// Draws the scheduler list with `highlighted` selected.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, highlighted: usize) {
    let current = app.snapshot().and_then(|s| s.main_service()).map(|s| s.scheduler.as_str());
    let lines: Vec<Line> = Scheduler::ALL
        .into_iter()
        .enumerate()
        .map(|(i, scheduler)| {
            let mark = if Some(scheduler.name()) == current { "● " } else { "  " };
            let line = Line::from(vec![
                Span::styled(format!("{mark}{:<6}", scheduler.name()), theme.key()),
                Span::raw(scheduler.summary()),
            ]);
            if i == highlighted { line.style(theme.selected()) } else { line }
        })
        .collect();
    let height = u16::try_from(Scheduler::ALL.len() + 2).unwrap_or(u16::MAX);
    let block = pane("Scheduler · Enter applies · Esc closes", theme, true);
    let inner = popup(frame, area, 66, height, block);
    frame.render_widget(Paragraph::new(lines), inner);
}
