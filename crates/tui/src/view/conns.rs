//! The `c` overlay: the director's connection table, live (what `lvslab
//! conns` prints): the counts per state and per real server, then one row
//! per entry. The VIP column goes when the terminal is narrow.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{pane, popup};
use crate::app::App;
use crate::theme::Theme;
use lvslab_core::lab::text::shown;
use lvslab_core::monitor::conns::{ConnTable, expiry};

const LEGEND: &str = "ESTABLISHED counts as ActiveConn, every other state (handshake, closing, \
    TIME_WAIT) as InActConn; a template pins a client to its server while persistence lasts. \
    ↑/↓ scroll.";

/// Width of a row with the VIP column.
const WIDE: u16 = 95;

/// Draws the connection table over `area`, scrolled past `scroll` entries.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, scroll: usize) {
    let block = pane("Connections · c or Esc closes", theme, true);
    let height = area.height.saturating_sub(2).max(8);
    let inner = popup(frame, area, WIDE + 2, height, block);
    let table = app.snapshot().and_then(|s| s.conns.as_ref());
    let Some(table) = table else {
        let why = match app.snapshot().map(|s| s.lab.dataplane) {
            Some(lvslab_core::lab::model::Dataplane::Ipvs) => {
                "The connection table could not be read yet (see the events log)."
            }
            Some(_) => "This lab runs without IPVS: there is no IPVS connection table.",
            None => "No lab yet.",
        };
        frame.render_widget(
            Paragraph::new(Span::styled(why, theme.muted())).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    };
    let summary = summary(table, theme);
    let summary_rows = wrapped_height(&summary, inner.width);
    let legend_rows = u16::try_from(LEGEND.len()).unwrap_or(u16::MAX) / inner.width.max(1) + 2;
    let [top, rows, bottom] = Layout::vertical([
        Constraint::Length(summary_rows + 1),
        Constraint::Fill(1),
        Constraint::Length(legend_rows),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(summary).wrap(Wrap { trim: true }), top);
    let wide = inner.width >= WIDE;
    let mut lines = vec![Line::styled(
        row_text(wide, ["PRO", "CLIENT", "VIRTUAL", "REAL SERVER", "STATE", "EXPIRY"]),
        theme.header(),
    )];
    let shown_rows = usize::from(rows.height.saturating_sub(1));
    for c in table.connections.iter().skip(scroll).take(shown_rows) {
        let server = format!("{} {}", shown(&c.server), c.server_addr);
        let state = if c.template { "template".into() } else { shown(&c.state).into_owned() };
        let cells = [
            shown(&c.proto).into_owned(),
            c.client.clone(),
            c.virtual_service.clone(),
            server,
            state,
            expiry(c.expires_s),
        ];
        let style = if c.template {
            theme.accent()
        } else if c.active {
            theme.ok()
        } else {
            theme.base()
        };
        lines.push(Line::styled(row_text(wide, cells.each_ref().map(String::as_str)), style));
    }
    if table.connections.is_empty() {
        lines.push(Line::styled("no connections: start traffic with space", theme.muted()));
    }
    frame.render_widget(Paragraph::new(lines), rows);
    frame.render_widget(
        Paragraph::new(Span::styled(LEGEND, theme.muted())).wrap(Wrap { trim: true }),
        bottom,
    );
}

fn row_text(wide: bool, cells: [&str; 6]) -> String {
    let [proto, client, vip, server, state, expiry] = cells;
    if wide {
        format!("{proto:<4} {client:<21} {vip:<21} {server:<27} {state:<11} {expiry:>6}")
    } else {
        format!("{proto:<4} {client:<21} {server:<27} {state:<11} {expiry:>6}")
    }
}

/// One paragraph: the totals, the counts per state, then per real server.
fn summary<'a>(t: &ConnTable, theme: &Theme) -> Vec<Line<'a>> {
    let mut head = vec![Span::styled(
        format!("{} connections, {} templates", t.total, t.templates),
        theme.title(),
    )];
    for (state, n) in &t.by_state {
        head.push(Span::raw(format!(" · {} {n}", shown(state))));
    }
    let mut servers = vec![Span::styled("active/inactive/templates:", theme.muted())];
    for s in &t.by_server {
        servers.push(Span::raw(format!(
            " {} {}/{}/{}",
            shown(&s.name),
            s.active,
            s.inactive,
            s.templates
        )));
    }
    let mut lines = vec![Line::from(head), Line::from(servers)];
    if t.skipped_lines > 0 {
        let s = if t.skipped_lines == 1 { "" } else { "s" };
        lines.push(Line::styled(
            format!("skipped {} malformed line{s} of /proc/net/ip_vs_conn", t.skipped_lines),
            theme.warn(),
        ));
    }
    lines
}

fn wrapped_height(lines: &[Line], width: u16) -> u16 {
    let width = usize::from(width.max(1));
    lines.iter().map(|l| u16::try_from(l.width().div_ceil(width).max(1)).unwrap_or(1)).sum()
}
