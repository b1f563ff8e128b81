//! ActiveConn per real server over the last minute: one line per server
//! (the busiest few when there are many), so a drain, a stopped server or a
//! weight change shows as a bend.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::symbols::Marker;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, LegendPosition};

use super::pane;
use crate::app::{App, HISTORY_POINTS};
use crate::theme::Theme;

/// Most servers drawn at once (one colour each).
pub const MAX_LINES: usize = 6;

/// Draws the active-connections chart.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = pane("Active connections (last 60 s)", theme, false);
    let Some(now) = app.series().values().filter_map(|h| h.latest().map(|p| p.0)).reduce(f64::max)
    else {
        frame.render_widget(block, area);
        return;
    };
    let mut busiest: Vec<(&String, f64)> =
        app.series().iter().map(|(name, h)| (name, h.latest().map_or(0.0, |p| p.1))).collect();
    busiest.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    busiest.truncate(MAX_LINES);
    busiest.sort_by(|a, b| a.0.cmp(b.0));
    // Braille gives two dots per column: more points than that only cost time.
    let dots = usize::from(area.width.saturating_sub(8)).max(1) * 2;
    let points: Vec<(&String, Vec<(f64, f64)>)> = busiest
        .iter()
        .map(|(name, _)| {
            let history = &app.series()[*name];
            let step = history.len().div_ceil(dots).max(1);
            let mut data: Vec<(f64, f64)> =
                history.iter().step_by(step).map(|&(t, v)| (t - now, v)).collect();
            if let Some(&(t, v)) = history.latest()
                && data.last().is_none_or(|last| last.0 != t - now)
            {
                data.push((t - now, v));
            }
            (*name, data)
        })
        .collect();
    let top = points.iter().flat_map(|(_, p)| p.iter().map(|q| q.1)).fold(4.0, f64::max);
    let datasets = points
        .iter()
        .enumerate()
        .map(|(i, (name, data))| {
            Dataset::default()
                .name((*name).clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(theme.series(i))
                .data(data)
        })
        .collect();
    #[expect(clippy::cast_precision_loss, reason = "600 points")]
    let window = HISTORY_POINTS as f64 / 10.0;
    let ceiling = (top * 1.25).ceil();
    let chart = Chart::new(datasets)
        .block(block)
        .style(theme.base())
        .x_axis(
            Axis::default()
                .bounds([-window, 0.0])
                .labels([format!("-{window:.0}s"), "-30s".into(), "now".into()].map(Span::from))
                .style(theme.muted()),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, ceiling])
                .labels(["0".to_string(), format!("{ceiling:.0}")].map(Span::from))
                .style(theme.muted()),
        )
        .legend_position(Some(LegendPosition::TopLeft))
        .hidden_legend_constraints((Constraint::Percentage(50), Constraint::Percentage(80)));
    frame.render_widget(chart, area);
}
