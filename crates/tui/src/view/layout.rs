//! Where each pane goes, as a pure function of the terminal size and the
//! number of real servers, so drawing and mouse hit-testing agree.
//!
//! Wide (≥ 120 columns):
//! ```text
//! ┌ header ─────────────────────────────────────────────────────────┐
//! │ topology (46)        │ IPVS table                               │
//! │ active conns chart (60%)            │ share vs weights          │  ← hidden below 36 rows
//! │ traffic / host (44)  │ events log                               │
//! └ footer ─────────────────────────────────────────────────────────┘
//! ```
//! Narrow (80–119 columns): the table spans the width, topology sits beside
//! traffic and host, charts show only from 40 rows, the log takes the rest.

use ratatui::layout::{Constraint, Layout, Rect};

/// Width from which topology and table sit side by side.
pub const WIDE_FROM: u16 = 120;
/// Height from which charts are shown in the wide layout.
pub const CHARTS_FROM_WIDE: u16 = 36;
/// Height from which charts are shown in the narrow layout.
pub const CHARTS_FROM_NARROW: u16 = 40;
/// Table rows that are not real servers: borders, header, service line, note.
pub const TABLE_CHROME: u16 = 5;

/// The rectangle of every dashboard pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DashboardAreas {
    /// Title line.
    pub header: Rect,
    /// Client → director → real servers diagram.
    pub topology: Rect,
    /// The IPVS table.
    pub table: Rect,
    /// Active connections over time, when there is room.
    pub chart: Option<Rect>,
    /// Cumulative share vs weights, when there is room.
    pub share: Option<Rect>,
    /// Load generator.
    pub traffic: Rect,
    /// Host CPU and memory.
    pub host: Rect,
    /// Events log.
    pub events: Rect,
    /// Key hints.
    pub footer: Rect,
}

fn rows(servers: usize) -> u16 {
    u16::try_from(servers).unwrap_or(u16::MAX)
}

/// Splits the terminal into the dashboard panes.
pub fn dashboard(area: Rect, servers: usize) -> DashboardAreas {
    if area.width >= WIDE_FROM { wide(area, servers) } else { narrow(area, servers) }
}

fn wide(area: Rect, servers: usize) -> DashboardAreas {
    let top = (rows(servers).saturating_add(TABLE_CHROME + 2)).clamp(10, area.height * 2 / 5);
    let charts = area.height >= CHARTS_FROM_WIDE;
    let [header, top_row, chart_row, bottom, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(top),
        if charts { Constraint::Fill(1) } else { Constraint::Length(0) },
        if charts { Constraint::Length(12) } else { Constraint::Fill(1) },
        Constraint::Length(1),
    ])
    .areas(area);
    let [topology, table] =
        Layout::horizontal([Constraint::Length(46), Constraint::Fill(1)]).areas(top_row);
    let [chart, share] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Fill(1)]).areas(chart_row);
    let [side, events] =
        Layout::horizontal([Constraint::Length(44), Constraint::Fill(1)]).areas(bottom);
    let [traffic, host] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(4)]).areas(side);
    DashboardAreas {
        header,
        topology,
        table,
        chart: charts.then_some(chart),
        share: charts.then_some(share),
        traffic,
        host,
        events,
        footer,
    }
}

fn narrow(area: Rect, servers: usize) -> DashboardAreas {
    let table = (rows(servers).saturating_add(TABLE_CHROME)).clamp(6, (area.height / 3).max(6));
    let middle = (rows(servers).saturating_add(7)).clamp(9, 11);
    let charts = area.height >= CHARTS_FROM_NARROW;
    let [header, table_row, mid_row, chart_row, events, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(table),
        Constraint::Length(middle),
        if charts { Constraint::Fill(1) } else { Constraint::Length(0) },
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    let [topology, side] =
        Layout::horizontal([Constraint::Length(44), Constraint::Fill(1)]).areas(mid_row);
    let [traffic, host] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(3)]).areas(side);
    let [chart, share] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Fill(1)]).areas(chart_row);
    DashboardAreas {
        header,
        topology,
        table: table_row,
        chart: charts.then_some(chart),
        share: charts.then_some(share),
        traffic,
        host,
        events,
        footer,
    }
}

/// Where the tutorial guide goes, if it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuideSplit {
    /// No guide: the whole dashboard.
    None,
    /// Wide terminals: the dashboard on the left, the guide on the right.
    Beside {
        /// The dashboard's part (laid out by [`dashboard`]).
        dashboard: Rect,
        /// The guide pane.
        guide: Rect,
    },
    /// Narrow terminals: header, IPVS table, the guide, footer.
    Below {
        /// Title line.
        header: Rect,
        /// The IPVS table.
        table: Rect,
        /// The guide pane.
        guide: Rect,
        /// Key hints.
        footer: Rect,
    },
}

/// Splits the terminal between the dashboard and the guide.
pub fn with_guide(area: Rect, servers: usize, guide: bool) -> GuideSplit {
    if !guide {
        return GuideSplit::None;
    }
    if area.width >= WIDE_FROM {
        let [dashboard, guide] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Percentage(48)]).areas(area);
        return GuideSplit::Beside { dashboard, guide };
    }
    let table = (rows(servers).saturating_add(TABLE_CHROME)).clamp(6, (area.height / 3).max(6));
    let [header, table, guide, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(table),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    GuideSplit::Below { header, table, guide, footer }
}

/// The dashboard panes as drawn now: beside the guide, or the whole area.
pub fn dashboard_with_guide(area: Rect, servers: usize, guide: bool) -> DashboardAreas {
    match with_guide(area, servers, guide) {
        GuideSplit::Beside { dashboard: left, .. } => dashboard(left, servers),
        _ => dashboard(area, servers),
    }
}

/// How many real-server rows fit in a table of this height.
pub fn table_visible_rows(table: Rect) -> usize {
    usize::from(table.height.saturating_sub(TABLE_CHROME))
}

/// The first real-server row shown, so that `selected` stays in view.
pub fn table_first_row(selected: usize, visible: usize, total: usize) -> usize {
    if visible == 0 || total <= visible {
        0
    } else {
        selected.saturating_sub(visible - 1).min(total - visible)
    }
}

/// The real-server index drawn at screen row `y`, if any.
pub fn table_row_at(
    areas: &DashboardAreas,
    total: usize,
    selected: usize,
    y: u16,
) -> Option<usize> {
    let visible = table_visible_rows(areas.table);
    // Rows start below the top border, the column header and the service line.
    let first_y = areas.table.y + 3;
    let offset = usize::from(y.checked_sub(first_y)?);
    let index = table_first_row(selected, visible, total) + offset;
    (offset < visible && index < total).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_terminal_hides_charts_and_keeps_every_pane() {
        let a = dashboard(Rect::new(0, 0, 80, 24), 2);
        assert!(a.chart.is_none() && a.share.is_none());
        assert_eq!(a.table.height, 7);
        assert!(a.events.height >= 3, "{a:?}");
        assert_eq!(a.footer.y, 23);
    }

    #[test]
    fn big_terminal_shows_charts_beside_each_other() {
        let a = dashboard(Rect::new(0, 0, 160, 48), 2);
        let (chart, share) = (a.chart.unwrap(), a.share.unwrap());
        assert_eq!(chart.y, share.y);
        assert_eq!(a.topology.y, a.table.y);
    }

    #[test]
    fn selection_scrolls_into_view() {
        assert_eq!(table_first_row(0, 5, 256), 0);
        assert_eq!(table_first_row(4, 5, 256), 0);
        assert_eq!(table_first_row(5, 5, 256), 1);
        assert_eq!(table_first_row(255, 5, 256), 251);
        assert_eq!(table_first_row(3, 5, 2), 0);
    }

    #[test]
    fn clicks_map_to_rows() {
        let a = dashboard(Rect::new(0, 0, 80, 24), 2);
        let first = a.table.y + 3;
        assert_eq!(table_row_at(&a, 2, 0, first), Some(0));
        assert_eq!(table_row_at(&a, 2, 0, first + 1), Some(1));
        assert_eq!(table_row_at(&a, 2, 0, first + 2), None);
        assert_eq!(table_row_at(&a, 2, 0, a.table.y), None);
    }
}
