//! The load generator: running or not, rate, connections in flight, short or long
//! connections, results and latency, and who answered.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::pane;
use crate::app::App;
use crate::format::{millis, percent};
use crate::input::mode_name;
use crate::theme::Theme;

/// Servers named in the "who answered" line, busiest first.
const BY_SERVER_SHOWN: usize = 3;

/// Draws the traffic pane.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = pane("Traffic", theme, false);
    let Some(t) = app.snapshot().and_then(|s| s.traffic.as_ref()) else {
        let hint = Span::styled("not started: press space", theme.muted());
        frame.render_widget(Paragraph::new(hint).block(block), area);
        return;
    };
    let state = if t.running {
        Span::styled("▶ running", theme.ok())
    } else {
        Span::styled("■ stopped", theme.warn())
    };
    let errors = if t.errors > 0 { theme.error() } else { theme.base() };
    let mut busiest: Vec<(&String, &u64)> = t.by_server.iter().collect();
    busiest.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let mut by_server: Vec<String> = busiest
        .iter()
        .take(BY_SERVER_SHOWN)
        .map(|(name, n)| format!("{name} {n} ({:.0}%)", percent(**n, t.ok)))
        .collect();
    if busiest.len() > BY_SERVER_SHOWN {
        by_server.push(format!("+{} more", busiest.len() - BY_SERVER_SHOWN));
    }
    let lines = vec![
        Line::from(vec![state, Span::raw(format!("  {} connections", mode_name(t.mode)))]),
        Line::raw(format!("{} req/s fixed · {} in flight", t.rate, t.in_flight)),
        Line::from(vec![
            Span::raw(format!("requests {} · ok {} · ", t.requests, t.ok)),
            Span::styled(format!("errors {}", t.errors), errors),
        ]),
        Line::raw(format!("latency p50 {} · p99 {}", millis(t.p50_ms), millis(t.p99_ms))),
        Line::styled(by_server.join(" · "), theme.muted()),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }).block(block), area);
}
