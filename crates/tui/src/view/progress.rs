//! Bring-up progress: each step the backend reports, then either the
//! dashboard (on the first snapshot) or the reason it failed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{footer, pane};
use crate::app::App;
use crate::theme::Theme;

/// Draws the progress screen (the latest steps that fit).
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let [body, foot] = Layout::vertical([Constraint::Fill(1), Constraint::Length(1)]).areas(area);
    let (steps, failed) = app.progress();
    let block = pane("Bringing the lab up", theme, true);
    let height = usize::from(block.inner(body).height);
    let mut lines: Vec<Line> = steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let last = i + 1 == steps.len();
            let mark = match (last, failed) {
                (true, None) => Span::styled("… ", theme.accent()),
                _ => Span::styled("✓ ", theme.ok()),
            };
            Line::from(vec![mark, Span::raw(step.clone())])
        })
        .collect();
    if let Some(why) = failed {
        lines.push(Line::from(vec![
            Span::styled("✗ ", theme.error()),
            Span::styled(why.to_string(), theme.error()),
        ]));
        lines.push(Line::styled("press q to leave", theme.muted()));
    }
    let skip = lines.len().saturating_sub(height);
    let shown: Vec<Line> = lines.into_iter().skip(skip).collect();
    frame.render_widget(Paragraph::new(shown).wrap(Wrap { trim: false }).block(block), body);
    footer::render(frame, foot, app, theme);
}
