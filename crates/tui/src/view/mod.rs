//! Drawing. One pure `render(frame, area, &App, &Theme)` per pane; this
//! module picks the screen, lays the dashboard out and stacks dialogs on
//! top. Nothing here does IO or changes state.

pub mod conns;
pub mod conns_chart;
pub mod events;
pub mod footer;
pub mod guide;
pub mod header;
pub mod help;
pub mod host;
pub mod ipvs_table;
pub mod layout;
pub mod picker;
pub mod progress;
pub mod scheduler;
pub mod share;
pub mod topology;
pub mod traffic;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Clear};

use super::app::{App, Dialog, Screen};
use super::theme::Theme;

/// Draws the whole UI for the current state.
pub fn render(frame: &mut Frame, app: &App) {
    let theme = app.theme();
    let area = frame.area();
    frame.render_widget(Block::new().style(theme.base()), area);
    match app.screen() {
        Screen::Picker => picker::render(frame, area, app, theme),
        Screen::Progress => progress::render(frame, area, app, theme),
        Screen::Dashboard => dashboard(frame, area, app, theme),
    }
}

/// Draws every dashboard pane that fits, then the open dialog. With the
/// guide showing, it takes the right part of a wide terminal, or everything
/// below the IPVS table of a narrow one.
pub fn dashboard(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let servers = app.server_names().len();
    match layout::with_guide(area, servers, app.guide_visible()) {
        layout::GuideSplit::None => panes(frame, area, app, theme),
        layout::GuideSplit::Beside { dashboard, guide: pane } => {
            panes(frame, dashboard, app, theme);
            guide::render(frame, pane, app, theme);
        }
        layout::GuideSplit::Below { header: top, table, guide: pane, footer: bottom } => {
            header::render(frame, top, app, theme);
            ipvs_table::render(frame, table, app, theme);
            guide::render(frame, pane, app, theme);
            footer::render(frame, bottom, app, theme);
        }
    }
    dialogs(frame, area, app, theme);
}

fn panes(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let areas = layout::dashboard(area, app.server_names().len());
    header::render(frame, areas.header, app, theme);
    topology::render(frame, areas.topology, app, theme);
    ipvs_table::render(frame, areas.table, app, theme);
    if let Some(chart) = areas.chart {
        conns_chart::render(frame, chart, app, theme);
    }
    if let Some(share) = areas.share {
        share::render(frame, share, app, theme);
    }
    traffic::render(frame, areas.traffic, app, theme);
    host::render(frame, areas.host, app, theme);
    events::render(frame, areas.events, app, theme);
    footer::render(frame, areas.footer, app, theme);
}

fn dialogs(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    match app.dialog() {
        Some(Dialog::Help) => help::render(frame, area, app, theme),
        Some(Dialog::Scheduler { highlighted }) => {
            scheduler::render(frame, area, app, theme, highlighted);
        }
        Some(Dialog::Conns { scroll }) => conns::render(frame, area, app, theme, scroll),
        None => {}
    }
}

/// A bordered pane with a title, brighter when focused.
pub fn pane<'a>(title: impl Into<String>, theme: &Theme, focused: bool) -> Block<'a> {
    Block::bordered()
        .border_style(theme.border(focused))
        .title(Span::styled(format!(" {} ", title.into()), theme.title()))
        .style(theme.base())
}

/// A dialog-sized rectangle centred in `area`, cleared, and its block drawn.
pub fn popup(frame: &mut Frame, area: Rect, width: u16, height: u16, block: Block<'_>) -> Rect {
    let rect = area.centered(
        Constraint::Length(width.min(area.width)),
        Constraint::Length(height.min(area.height)),
    );
    frame.render_widget(Clear, rect);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}
