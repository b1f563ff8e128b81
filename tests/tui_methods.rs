//! The IPVS pane of a lab that mixes forwarding methods (like `nat-vs-dr`):
//! each real server's method as ipvsadm names it, where each service's
//! replies go, and the director's in/out bytes per service, so the NAT
//! bottleneck shows as a number beside DR's. Drawn on ratatui's TestBackend
//! from synthetic state; a NAT-only lab's pane is unchanged (tui_render).

use std::sync::Arc;

use lvslab::monitor::{Forward, sample};
use lvslab_tui::app::App;
use lvslab_tui::theme::Theme;
use lvslab_tui::{Keymap, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn screen_text(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| view::ipvs_table::render(f, f.area(), app, app.theme())).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..height {
        for x in 0..width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn a_nat_and_a_dr_service_show_their_methods_reply_paths_and_director_bytes() {
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    let mut snap = sample::tutorial(301);
    for d in &mut snap.services[0].real_servers {
        (d.in_bytes, d.out_bytes) = (40_000, 900_000);
    }
    let mut dr = snap.services[0].clone();
    dr.vip = "198.51.100.101".parse().unwrap();
    for d in &mut dr.real_servers {
        d.forward = Forward::Route;
        (d.in_bytes, d.out_bytes) = (40_000, 0);
    }
    snap.services.push(dr);
    app.on_snapshot(Arc::new(snap));
    let text = screen_text(&app, 130, 12);
    assert!(text.contains("Masq"), "the NAT servers' method (wide Fwd column):\n{text}");
    assert!(text.contains("Route"), "the DR servers' method:\n{text}");
    assert!(text.contains("replies: via director"), "NAT replies cross the director:\n{text}");
    assert!(text.contains("replies: server -> client"), "DR replies skip it:\n{text}");
    assert!(text.contains("director in 80.0KB out 1.8MB"), "NAT's bytes:\n{text}");
    assert!(text.contains("director in 80.0KB out 0B"), "DR's bytes:\n{text}");
}

#[test]
fn a_nat_only_lab_says_nothing_about_reply_paths() {
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    app.on_snapshot(Arc::new(sample::tutorial(301)));
    let text = screen_text(&app, 130, 12);
    assert!(!text.contains("replies:"), "{text}");
}

/// A DR-only real server's gateway is the router, not the DIP: the topology
/// pane says so plainly instead of flagging it as wrong.
#[test]
fn a_dr_server_routed_by_the_router_is_not_flagged() {
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    let mut snap = sample::tutorial(301);
    let router: std::net::IpAddr = "198.51.100.254".parse().unwrap();
    snap.lab.real_servers[0].expected_gateway = router;
    snap.lab.real_servers[0].gateway = Some(router);
    snap.lab.real_servers[1].expected_gateway = router;
    app.on_snapshot(Arc::new(snap));
    let mut terminal = Terminal::new(TestBackend::new(80, 10)).unwrap();
    terminal.draw(|f| view::topology::render(f, f.area(), &app, app.theme())).unwrap();
    let text = format!("{:?}", terminal.backend());
    assert!(text.contains("gw=rtr"), "rs1 uses the router as it should:\n{text}");
    assert!(text.contains("gw≠rtr"), "rs2 still uses the DIP:\n{text}");
}
