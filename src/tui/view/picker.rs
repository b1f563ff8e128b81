//! The first screen of a bare `lvslab`: pick a preset, read what it shows,
//! press Enter to build it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{footer, pane};
use crate::lab::text::shown;
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// Draws the preset picker.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let [title, body, foot] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1)])
            .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" lvslab ", theme.title()),
            Span::raw("choose a lab to build"),
        ])),
        title,
    );
    let (presets, index) = app.presets();
    let list_width = presets.iter().map(|p| p.name.chars().count()).max().unwrap_or(0) + 6;
    let [list_area, detail_area] = Layout::horizontal([
        Constraint::Length(u16::try_from(list_width).unwrap_or(30).clamp(16, 32)),
        Constraint::Fill(1),
    ])
    .areas(body);
    let items: Vec<Line> = presets
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i == index {
                Line::styled(format!("▶ {}", shown(&p.name)), theme.selected())
            } else {
                Line::raw(format!("  {}", shown(&p.name)))
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(items).block(pane("Presets", theme, true)), list_area);
    let detail = presets.get(index).map_or_else(Vec::new, |p| {
        vec![
            Line::styled(shown(&p.name).into_owned(), theme.title()),
            Line::raw(""),
            Line::raw(shown(&p.description).into_owned()),
            Line::raw(""),
            Line::styled(shown(&p.file.display().to_string()).into_owned(), theme.muted()),
        ]
    });
    frame.render_widget(
        Paragraph::new(detail).wrap(Wrap { trim: true }).block(pane("What it shows", theme, false)),
        detail_area,
    );
    footer::render(frame, foot, app, theme);
}
