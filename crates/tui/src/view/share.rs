//! Who got the connections, against what the weights predict: weighted
//! schedulers should converge on `weight / total weight`; a drained or
//! stopped server shows up as a gap between the two bars.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, BarGroup, Paragraph};

use super::pane;
use crate::app::App;
use crate::format::percent;
use crate::theme::Theme;
use lvslab_core::monitor::Snapshot;

/// One real server's measured and predicted share, in percent.
#[derive(Clone, Debug, PartialEq)]
pub struct Share {
    /// Real-server name.
    pub name: String,
    /// Its part of all connections since the counters were zeroed.
    pub actual: f64,
    /// What the prediction expects (the scheduler simulated on the live
    /// table, so persistence and hashing count), else `weight / total weight`.
    pub expected: f64,
}

/// Shares of the main service's connections; empty without a service.
pub fn shares(snap: &Snapshot) -> Vec<Share> {
    let Some(service) = snap.main_service() else { return Vec::new() };
    let total: u64 = service.real_servers.iter().map(|d| d.conns).sum();
    let weights = service.total_weight();
    let predicted = |name: &str| {
        snap.prediction.as_ref()?.expected.iter().find(|(n, _)| n == name).map(|(_, pct)| *pct)
    };
    service
        .real_servers
        .iter()
        .map(|d| Share {
            name: d.name.clone(),
            actual: percent(d.conns, total),
            expected: predicted(&d.name).unwrap_or_else(|| percent(u64::from(d.weight), weights)),
        })
        .collect()
}

/// Draws the share bar chart.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let predicted = app.snapshot().is_some_and(|s| s.prediction.is_some());
    let title = if predicted {
        "Share of connections vs prediction"
    } else {
        "Share of connections vs weights"
    };
    let block = pane(title, theme, false);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(snap) = app.snapshot() else { return };
    let [legend, chart] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("█ measured", theme.bar_actual()),
            Span::raw("  "),
            Span::styled(expected_label(predicted, legend.width), theme.bar_expected()),
        ])),
        legend,
    );
    // Each server takes two bar rows plus a gap row.
    let fits = usize::from(chart.height).div_ceil(3);
    let mark = if predicted { "p" } else { "w" };
    let groups: Vec<BarGroup> =
        shares(snap).iter().take(fits).map(|s| group(s, mark, theme)).collect();
    let bars = groups.into_iter().fold(
        BarChart::default()
            .direction(Direction::Horizontal)
            .bar_width(1)
            .bar_gap(0)
            .group_gap(1)
            .max(1000),
        BarChart::data,
    );
    frame.render_widget(bars, chart);
}

/// The legend of the second bar, the longest that fits whole after
/// "█ measured  " (12 columns).
fn expected_label(predicted: bool, width: u16) -> &'static str {
    let room = usize::from(width).saturating_sub(12);
    let variants: &[&'static str] = if predicted {
        &["█ the scheduler's prediction", "█ predicted"]
    } else {
        &["█ weights predict", "█ weights"]
    };
    variants
        .iter()
        .find(|v| v.chars().count() <= room)
        .copied()
        .unwrap_or(variants[variants.len() - 1])
}

#[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "0–100 % in tenths")]
fn group<'a>(share: &Share, mark: &str, theme: &Theme) -> BarGroup<'a> {
    let tenths = |pct: f64| (pct * 10.0).round() as u64;
    BarGroup::new([
        Bar::default()
            .label(Line::from(share.name.clone()))
            .value(tenths(share.actual))
            .text_value(format!("{:.1}%", share.actual))
            .style(theme.bar_actual())
            .value_style(theme.base()),
        Bar::default()
            .label(Line::from(""))
            .value(tenths(share.expected))
            .text_value(format!("{mark} {:.1}%", share.expected))
            .style(theme.bar_expected())
            .value_style(theme.muted()),
    ])
}
