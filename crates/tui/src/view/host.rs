//! CPU and memory of the machine running the lab: a busy host explains slow
//! latencies better than any scheduler does.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::pane;
use crate::app::App;
use crate::format::{bytes, percent};
use crate::theme::Theme;

const GAUGE_CELLS: usize = 20;

/// Draws the host pane (one line when it is short, two otherwise).
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = pane("Host", theme, false);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(host) = app.snapshot().map(|s| s.host) else { return };
    let cpu = f64::from(host.cpu_percent);
    let style = if cpu >= 90.0 {
        theme.error()
    } else if cpu >= 70.0 {
        theme.warn()
    } else {
        theme.ok()
    };
    let mem = format!("{} / {}", bytes(host.mem_used), bytes(host.mem_total));
    let lines = if inner.height >= 2 {
        vec![
            Line::from(vec![
                Span::raw(format!("CPU {cpu:>5.1}% ")),
                Span::styled(gauge(cpu), style),
            ]),
            Line::raw(format!("Mem {mem} ({:.0}%)", percent(host.mem_used, host.mem_total))),
        ]
    } else {
        vec![Line::from(vec![
            Span::styled(format!("CPU {cpu:.1}%"), style),
            Span::raw(format!(" · mem {mem}")),
        ])]
    };
    frame.render_widget(Paragraph::new(lines), inner);
}

#[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "0–100 % of 20 cells")]
fn gauge(percent: f64) -> String {
    let full = ((percent.clamp(0.0, 100.0) / 100.0) * GAUGE_CELLS as f64).round() as usize;
    format!("{}{}", "█".repeat(full), "░".repeat(GAUGE_CELLS - full))
}
