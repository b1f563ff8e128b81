//! The lab as a diagram: client → VIP → director → DIP → real servers, each
//! real server coloured by health (answering, drained, down), with its
//! gateway checked against the DIP (NAT needs replies to come back through
//! the director) and its live share of connections, or, when the table
//! does not serve it, why: `out` (not in the table: keepalived's check took
//! it out) or `w0` (weight 0 while down: failed-check = weight-0).

use lvslab_core::lab::model::hosts;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{pane, share};
use crate::app::App;
use crate::theme::Theme;
use lvslab_core::lab::model::Dataplane;
use lvslab_core::monitor::outage::{Health, InTable};
use lvslab_core::monitor::{RealServerView, Snapshot};

/// Draws the topology pane.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let block = pane("Topology", theme, false);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(snap) = app.snapshot() else { return };
    let mut lines = head(snap, theme);
    let room = usize::from(inner.height).saturating_sub(lines.len());
    let servers = &snap.lab.real_servers;
    let shown = if servers.len() > room { room.saturating_sub(1) } else { servers.len() };
    let shares = share::shares(snap);
    for (i, rs) in servers.iter().take(shown).enumerate() {
        let last = i + 1 == servers.len();
        let pct = shares.iter().find(|s| s.name == rs.name).map(|s| s.actual);
        let mut line = server_line(snap, rs, last, pct, theme);
        // A server out of the table has no row there to show the selection.
        let out = Health::of(snap, &rs.name).is_some_and(|h| h.table == InTable::Out);
        if out && app.selected_name() == Some(rs.name.as_str()) {
            line = line.style(theme.selected());
        }
        lines.push(line);
    }
    if shown < servers.len() && room > 0 {
        let more = format!(" └ … {} more", servers.len() - shown);
        lines.push(Line::styled(more, theme.muted()));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn head(snap: &Snapshot, theme: &Theme) -> Vec<Line<'static>> {
    let lab = &snap.lab;
    let forwarding = if lab.director.forwarding {
        Span::styled("ip_forward on", theme.ok())
    } else {
        Span::styled("ip_forward OFF", theme.error())
    };
    let plane = match lab.dataplane {
        Dataplane::Ipvs => "ipvs",
        Dataplane::Nft => "nftables",
        Dataplane::None => "no IPVS",
    };
    vec![
        Line::from(vec![
            Span::styled(lab.client.name.clone(), theme.title()),
            Span::raw(format!(" {}", lab.client.addr)),
        ]),
        Line::styled(" │", theme.muted()),
        Line::from(vec![
            Span::styled(" ▼ ", theme.muted()),
            Span::styled(format!("VIP {}", lab.director.vip), theme.accent()),
        ]),
        Line::from(vec![
            director_name(lab, theme),
            Span::raw("  "),
            forwarding,
            Span::styled(format!(" · {plane}"), theme.muted()),
        ]),
        Line::from(
            [Span::styled(" │ ", theme.muted()), Span::raw(format!("DIP {}", lab.director.dip))]
                .into_iter()
                .chain(failed_directors(lab, theme))
                .collect::<Vec<_>>(),
        ),
    ]
}

/// "director", or in an HA lab the VRRP MASTER holding the VIP (or that
/// neither does, during a failover).
fn director_name(lab: &lvslab_core::monitor::snapshot::LabView, theme: &Theme) -> Span<'static> {
    match &lab.director.vrrp {
        None => Span::styled(hosts::DIRECTOR, theme.title()),
        Some(vrrp) => match &vrrp.master {
            Some(master) => Span::styled(format!("{master} MASTER"), theme.title()),
            None => Span::styled("no director holds the VIP", theme.error()),
        },
    }
}

/// In an HA lab, the directors failed (`F` recovers them), e.g.
/// ` · director1 failed`.
fn failed_directors(
    lab: &lvslab_core::monitor::snapshot::LabView,
    theme: &Theme,
) -> Option<Span<'static>> {
    let failed = &lab.director.vrrp.as_ref()?.failed;
    (!failed.is_empty())
        .then(|| Span::styled(format!(" · {} failed", failed.join(", ")), theme.error()))
}

fn server_line(
    snap: &Snapshot,
    rs: &RealServerView,
    last: bool,
    share: Option<f64>,
    theme: &Theme,
) -> Line<'static> {
    let weight = snap.main_service().and_then(|s| s.dest(&rs.name)).map(|d| d.weight);
    let (state, style): (&str, Style) = match (rs.up, weight) {
        (false, _) => ("down", theme.error()),
        (true, Some(0)) => ("drained", theme.warn()),
        (true, _) => ("up", theme.ok()),
    };
    // NAT servers need the DIP; DR/TUN-only servers the router ("rtr").
    let via_dip = rs.expected_gateway == snap.lab.director.dip;
    let gateway = match rs.gateway {
        Some(gw) if gw == rs.expected_gateway && via_dip => Span::styled("gw=DIP", theme.muted()),
        Some(gw) if gw == rs.expected_gateway => Span::styled("gw=rtr", theme.muted()),
        Some(_) if via_dip => Span::styled("gw≠DIP", theme.error()),
        Some(_) => Span::styled("gw≠rtr", theme.error()),
        None => Span::styled("no gw ", theme.error()),
    };
    let branch = if last { " └─" } else { " ├─" };
    let mut spans = vec![
        Span::styled(branch, theme.muted()),
        Span::styled("● ", style),
        Span::styled(format!("{:<4}", rs.name), style),
        Span::raw(format!(" {:<13} ", rs.addr.to_string())),
        gateway,
        Span::styled(format!(" {state:<7}"), style),
    ];
    match Health::of(snap, &rs.name).and_then(|h| h.mark()) {
        Some(mark) => spans.push(Span::styled(format!("{mark:>4}"), theme.error())),
        None => {
            if let Some(pct) = share {
                spans.push(Span::raw(format!("{pct:>3.0}%")));
            }
        }
    }
    Line::from(spans)
}
