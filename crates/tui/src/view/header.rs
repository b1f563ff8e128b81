//! The title line: which lab, which data plane (or `keepalived` when it owns
//! the IPVS table and health-checks the servers), the service and scheduler,
//! whether traffic flows, and the lab's clock.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::App;
use crate::changes::service_label;
use crate::format;
use crate::theme::Theme;

/// Draws the header line.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let sep = || Span::styled(" · ", theme.muted());
    let mut left = vec![Span::styled(" lvslab ", theme.title())];
    match app.snapshot() {
        None => left.push(Span::styled("waiting for the first snapshot…", theme.muted())),
        Some(snap) => {
            left.extend([
                Span::raw(lvslab_core::lab::text::shown(&snap.lab.name).into_owned()),
                sep(),
                // keepalived implies IPVS: its name says who owns the table.
                if snap.lab.control == lvslab_core::lab::model::Control::Keepalived {
                    Span::styled("keepalived", theme.ok())
                } else {
                    Span::raw(snap.lab.dataplane.to_string())
                },
            ]);
            if let Some(service) = snap.main_service() {
                left.extend([
                    sep(),
                    Span::styled(
                        format!("{} {}", service_label(service), service.scheduler),
                        theme.accent(),
                    ),
                ]);
            }
            left.push(sep());
            left.push(match &snap.traffic {
                Some(t) if t.running => Span::styled(format!("▶ {} req/s", t.rate), theme.ok()),
                _ => Span::styled("■ traffic stopped", theme.warn()),
            });
        }
    }
    let mut right = vec![Span::raw(" ")];
    if app.pending() > 0 {
        right.push(Span::styled(format!("applying {}… ", app.pending()), theme.warn()));
    }
    right.push(Span::styled(format::clock(app.snapshot().map(|s| s.at)), theme.muted()));
    if area.width >= 100 {
        right.push(Span::styled(format!("  theme {} ", theme_label(theme)), theme.muted()));
    }
    let right = Line::from(right);
    let width = u16::try_from(right.width()).unwrap_or(u16::MAX);
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(width)]).areas(area);
    frame.render_widget(Paragraph::new(Line::from(left)), left_area);
    frame.render_widget(Paragraph::new(right).right_aligned(), right_area);
}

fn theme_label(theme: &Theme) -> String {
    let name = std::path::Path::new(&theme.name)
        .file_stem()
        .map_or_else(|| theme.name.clone(), |s| s.to_string_lossy().into_owned());
    if theme.colored { name } else { format!("{name} (no colour)") }
}
