//! The IPVS table, like `ipvsadm -Ln --stats --rate`: the service line and
//! one row per real server. ActiveConn/InActConn are live; the counters and
//! rates come from the kernel's estimator, so the Δ column shows how much
//! the connection counter moved at its last refresh (about every 2 s).
//!
//! The lab's first service (the one the keys edit) comes first; every other
//! service the director has follows with its rows, so what someone added by
//! hand shows too: entries added outside lvslab are marked `*`, and a lab
//! service missing from the kernel says it is not programmed.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use super::layout::{table_first_row, table_visible_rows};
use super::pane;
use crate::app::{App, Panel};
use crate::changes::service_label;
use crate::format::{delta, fitting, si};
use crate::theme::Theme;
use lvslab_core::lab::model::Dataplane;
use lvslab_core::monitor::forecast::PredictionView;
use lvslab_core::monitor::predict;
use lvslab_core::monitor::{DestView, Forward, Origin, ServiceView, Snapshot};

/// Inner width from which the Forward column is shown.
const FORWARD_FROM: u16 = 90;

/// Draws the IPVS table pane.
pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let focused = app.focus() == Panel::Servers;
    let nft = app.snapshot().is_some_and(|s| s.lab.dataplane == Dataplane::Nft);
    let title = if nft { "nftables (DNAT maps · counters · conntrack)" } else { "IPVS" };
    let block = pane(title, theme, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(snap) = app.snapshot() else { return };
    if snap.lab.dataplane == Dataplane::None {
        frame.render_widget(
            Paragraph::new(without_ipvs(snap, theme)).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    let [service_row, table_area, note] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1), Constraint::Length(1)])
            .areas(inner);
    let Some(service) = snap.main_service() else {
        let text = "no virtual service: the director's table is empty";
        frame.render_widget(Paragraph::new(Span::styled(text, theme.warn())), service_row);
        return;
    };
    let methods = mixes_methods(snap);
    let mut line = service_line(service, theme, methods);
    let used: usize = line.spans.iter().map(|s| s.content.chars().count()).sum();
    let room = u16::try_from(usize::from(inner.width).saturating_sub(used)).unwrap_or(0);
    if let Some(p) = &snap.prediction {
        line.spans.push(Span::styled(prediction_text(p, room), theme.accent()));
    } else if let Err(why) = predict::on_dataplane(snap.lab.dataplane)
        && snap.lab.dataplane.balances()
    {
        // Said, so no one reads the weights' share as nftables' order.
        let variants = [format!("  prediction: {why}"), "  not predicted".into(), String::new()];
        let variants: Vec<&str> = variants.iter().map(String::as_str).collect();
        line.spans.push(Span::styled(fitting(&variants, room), theme.muted()));
    }
    frame.render_widget(Paragraph::new(line), service_row);
    let visible = table_visible_rows(area);
    let first = table_first_row(app.selected(), visible, service.real_servers.len());
    let wide = inner.width >= FORWARD_FROM;
    let rows = service.real_servers.iter().enumerate().skip(first).take(visible).map(|(i, d)| {
        let row = dest_row(d, snap, app, theme, wide);
        if i == app.selected() && focused { row.style(theme.selected()) } else { row }
    });
    // The other services below the main table, one line each and one per
    // real server, as far as there is room.
    let shown = u16::try_from(service.real_servers.len().min(visible)).unwrap_or(u16::MAX);
    let [table_area, others_area] =
        Layout::vertical([Constraint::Length(shown.saturating_add(1)), Constraint::Fill(1)])
            .areas(table_area);
    let table = Table::new(rows, widths(wide)).header(header(theme, wide)).column_spacing(1);
    frame.render_widget(table, table_area);
    let others: Vec<Line> = snap
        .services
        .iter()
        .skip(1)
        .flat_map(|svc| {
            std::iter::once(service_line(svc, theme, methods))
                .chain(svc.real_servers.iter().map(|d| other_dest_line(d, theme)))
        })
        .collect();
    frame.render_widget(Paragraph::new(others), others_area);
    let outside = snap.services.iter().any(|s| {
        s.origin == Origin::Outside || s.real_servers.iter().any(|d| d.origin == Origin::Outside)
    });
    let text = match (outside, nft) {
        (true, _) => fitting(&[OUTSIDE_NOTE, OUTSIDE_NOTE_SHORT], inner.width),
        (false, true) => fitting(NFT_NOTES, inner.width),
        (false, false) => fitting(IPVS_NOTES, inner.width),
    };
    frame.render_widget(Paragraph::new(Span::styled(text, theme.muted())), note);
}

/// A lab built with `dataplane none` has no IPVS table: say so, and what
/// the preset's service would be, instead of a table of zeros.
fn without_ipvs<'a>(snap: &Snapshot, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = vec![Line::styled(
        "No IPVS here (dataplane none): the director only routes; nothing balances.",
        theme.warn(),
    )];
    for service in &snap.services {
        lines.push(Line::from(vec![
            Span::raw("The preset's service, not programmed: "),
            Span::styled(
                format!("{} {}", service_label(service), service.scheduler),
                theme.accent(),
            ),
        ]));
        let servers: Vec<String> = service
            .real_servers
            .iter()
            .map(|d| format!("{} {}:{} weight {}", d.name, d.addr, d.port, d.weight))
            .collect();
        lines.push(Line::raw(format!("  {}", servers.join(" · "))));
    }
    lines.push(Line::styled(
        "Traffic goes straight to the first real server; --dataplane ipvs or nft balances it.",
        theme.muted(),
    ));
    lines
}

/// The prediction after the service line, as much as fits whole: the next
/// servers the scheduler will pick, and how often the prediction named
/// the server that answered.
fn prediction_text(p: &PredictionView, room: u16) -> String {
    if p.next.is_empty() {
        let variants = [
            "  prediction: finding the scheduler's position from the first answers",
            "  prediction: syncing",
            "",
        ];
        return fitting(&variants, room);
    }
    let next = p.next.join(" ");
    let hits = p.hit_rate().map_or_else(
        || "hits: waiting for answers".to_string(),
        |rate| format!("predicted {rate:.1}% of {}", p.compared),
    );
    let short_hits = p.hit_rate().map_or_else(String::new, |rate| format!(" · hits {rate:.1}%"));
    let first = p.next.first().cloned().unwrap_or_default();
    let variants = [
        format!("  next: {next} · {hits}"),
        format!("  next {next}{short_hits}"),
        format!("  next {first}{short_hits}"),
        String::new(),
    ];
    let variants: Vec<&str> = variants.iter().map(String::as_str).collect();
    fitting(&variants, room)
}

/// The note when something in the table was added outside lvslab.
const OUTSIDE_NOTE: &str = "* added in the director outside lvslab (not in the preset)";
const OUTSIDE_NOTE_SHORT: &str = "* added outside lvslab";

/// Whether some real server answers the client itself (DR, TUN): then every
/// service line says where its replies go and what the director carried,
/// so NAT's cost shows as a number beside DR's.
fn mixes_methods(snap: &Snapshot) -> bool {
    snap.services
        .iter()
        .flat_map(|s| &s.real_servers)
        .any(|d| matches!(d.forward, Forward::Route | Forward::Tunnel))
}

/// Where a service's replies go, from its real servers' methods.
pub fn reply_path(service: &ServiceView) -> &'static str {
    let direct = |d: &DestView| matches!(d.forward, Forward::Route | Forward::Tunnel);
    if service.real_servers.is_empty() {
        ""
    } else if service.real_servers.iter().all(direct) {
        "replies: server -> client"
    } else if service.real_servers.iter().any(direct) {
        "replies: some direct"
    } else {
        "replies: via director"
    }
}

fn service_line<'a>(service: &ServiceView, theme: &Theme, methods: bool) -> Line<'a> {
    let outside = service.origin == Origin::Outside;
    let mut spans = vec![
        Span::styled(
            format!("{}{}", service_label(service), if outside { "*" } else { "" }),
            if outside { theme.warn() } else { theme.accent() },
        ),
        Span::raw(format!(" {}", service.scheduler)),
    ];
    if let Some(timeout) = service.persistent {
        spans.push(Span::raw(format!(" persistent {timeout}")));
    }
    if !service.programmed && service.origin == Origin::Lab {
        spans.push(Span::styled("  not programmed: not in the kernel's table", theme.warn()));
    }
    if methods {
        // The director's own bytes for this service (estimator, ~2 s late).
        let (inb, outb) =
            service.real_servers.iter().fold((0, 0), |(i, o), d| (i + d.in_bytes, o + d.out_bytes));
        spans.push(Span::styled(format!("  {}", reply_path(service)), theme.muted()));
        spans.push(Span::raw(format!("  director in {}B out {}B", si(inb), si(outb))));
    }
    Line::from(spans)
}

fn widths(wide: bool) -> Vec<Constraint> {
    let mut w = vec![Constraint::Length(6), Constraint::Length(16)];
    if wide {
        w.push(Constraint::Length(6));
    }
    w.extend([3, 6, 6, 7, 5, 5, 6, 6].map(Constraint::Length));
    w
}

fn header<'a>(theme: &Theme, wide: bool) -> Row<'a> {
    let mut names = vec!["Server", "RIP:Port"];
    if wide {
        names.push("Fwd");
    }
    names.extend(["Wt", "Active", "InAct", "Conns", "Δ", "CPS", "InB/s", "OutB/s"]);
    Row::new(names).style(theme.header())
}

fn dest_row<'a>(d: &DestView, snap: &Snapshot, app: &App, theme: &Theme, wide: bool) -> Row<'a> {
    let up = snap.real_server(&d.name).is_none_or(|rs| rs.up);
    let outside = d.origin == Origin::Outside;
    let name_style: Style = match (up, d.weight) {
        _ if outside => theme.warn(),
        (false, _) => theme.error(),
        (true, 0) => theme.warn(),
        _ => theme.ok(),
    };
    let right = |text: String| Cell::from(Line::from(text).right_aligned());
    // The mark goes first: a stranger's name is its address, cut to the column.
    let name = if outside { format!("*{}", d.name) } else { d.name.clone() };
    let mut cells = vec![
        Cell::from(Span::styled(name, name_style)),
        Cell::from(format!("{}:{}", d.addr, d.port)),
    ];
    if wide {
        cells.push(Cell::from(d.forward.to_string()));
    }
    let change = Line::from(Span::styled(delta(app.deltas(&d.name).conns), theme.accent()));
    cells.extend([
        right(d.weight.to_string()),
        right(d.active_conns.to_string()),
        right(d.inactive_conns.to_string()),
        right(si(d.conns)),
        Cell::from(change),
        right(si(d.cps)),
        right(si(d.in_bps)),
        right(si(d.out_bps)),
    ]);
    Row::new(cells)
}

/// A real server of a service other than the main one, in one line.
fn other_dest_line<'a>(d: &DestView, theme: &Theme) -> Line<'a> {
    let outside = d.origin == Origin::Outside;
    // The mark goes first: a stranger's name is its address, cut to the column.
    let name = if outside { format!("*{}", d.name) } else { d.name.clone() };
    Line::from(vec![
        Span::styled(format!("  {name:<7}"), if outside { theme.warn() } else { theme.ok() }),
        Span::raw(format!(
            "{}:{} {} w {} active {} inact {} conns {}",
            d.addr,
            d.port,
            d.forward,
            d.weight,
            d.active_conns,
            d.inactive_conns,
            si(d.conns)
        )),
    ])
}

/// On the nft dataplane: where the figures come from, longest first.
const NFT_NOTES: &[&str] = &[
    "Active/InAct: conntrack (established / other) · Conns: nft counters, live · rates over ~2 s",
    "Active/InAct: conntrack · Conns: nft counters · rates over ~2 s",
    "Active/InAct: conntrack · rates over ~2 s",
];

/// On IPVS: which figures are live and which come from the estimator,
/// longest first; the pane shows the first that fits whole.
const IPVS_NOTES: &[&str] = &[
    "Active/InAct: live · Conns, Δ, CPS, B/s: estimator, refresh ~2 s · \
     short NAT connections linger in TIME_WAIT as InAct",
    "Active/InAct: live · Conns, Δ, CPS, B/s: estimator, refresh ~2 s · InAct = TIME_WAIT",
    "Active/InAct live · Conns/Δ/rates refresh ~2 s · InAct = TIME_WAIT",
    "Active/InAct live · Conns/rates refresh ~2 s",
];
