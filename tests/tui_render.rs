//! Every pane, the whole dashboard at 80×24 and 160×48, the picker, the
//! progress screen and the dialogs, drawn from fixed synthetic state (the
//! tutorial lab) on ratatui's `TestBackend` and compared with insta
//! snapshots.

use std::path::PathBuf;
use std::sync::Arc;

use lvslab::monitor::{Snapshot, sample};
use lvslab_tui::app::App;
use lvslab_tui::theme::Theme;
use lvslab_tui::{BackendEvent, Keymap, PresetInfo, view};
use ratatui::backend::TestBackend;
use ratatui::{Frame, Terminal};

/// The tutorial lab after 30 s of traffic, with rs2 having briefly stopped
/// answering (so the log has something to say).
fn tutorial_app() -> App {
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    app.on_snapshot(Arc::new(sample::tutorial(0)));
    app.on_backend(BackendEvent::Applied(Ok("lab tutorial is up".into())));
    for tick in 1..=300 {
        let mut snap = sample::tutorial(tick);
        if (250..260).contains(&tick) {
            snap.lab.real_servers[1].up = false;
        }
        app.on_snapshot(Arc::new(snap));
    }
    app
}

fn draw(width: u16, height: u16, render: impl FnOnce(&mut Frame)) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(render).unwrap();
    terminal
}

fn pane(
    width: u16,
    height: u16,
    app: &App,
    render: fn(&mut Frame, ratatui::layout::Rect, &App, &Theme),
) -> Terminal<TestBackend> {
    draw(width, height, |f| render(f, f.area(), app, app.theme()))
}

#[test]
fn dashboard_80x24() {
    let app = tutorial_app();
    insta::assert_snapshot!(draw(80, 24, |f| view::render(f, &app)).backend());
}

#[test]
fn dashboard_160x48() {
    let app = tutorial_app();
    insta::assert_snapshot!(draw(160, 48, |f| view::render(f, &app)).backend());
}

#[test]
fn dashboard_before_the_first_snapshot() {
    let app = App::new(Theme::default(), Keymap::default(), Vec::new());
    insta::assert_snapshot!(draw(80, 24, |f| view::render(f, &app)).backend());
}

#[test]
fn topology_pane() {
    insta::assert_snapshot!(pane(46, 9, &tutorial_app(), view::topology::render).backend());
}

#[test]
fn topology_marks_down_drained_and_wrong_gateway() {
    let mut app = tutorial_app();
    let mut snap: Snapshot = sample::with_servers(&[3, 0, 1], 301);
    snap.lab.real_servers[0].up = false;
    snap.lab.real_servers[2].gateway = Some("198.51.100.254".parse().unwrap());
    app.on_snapshot(Arc::new(snap));
    insta::assert_snapshot!(pane(46, 10, &app, view::topology::render).backend());
}

/// Under keepalived: rs1's process stops at 10.0 s under traffic, 12
/// requests fail, its check takes it out of the table at 11.4 s, it starts
/// again at 15.0 s and is back in the table at 16.2 s. The header says who
/// checks, the topology marks rs1 `out` while it is out, and the events log
/// carries the timeline with its figures.
fn failover_app(until: u32) -> App {
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    for tick in 0..=until {
        let mut snap = sample::tutorial(tick);
        snap.lab.control = lvslab_core::lab::model::Control::Keepalived;
        let errors = match tick {
            0..=100 => 0,
            101..=113 => u64::from(tick - 101),
            _ => 12,
        };
        if let Some(t) = &mut snap.traffic {
            t.errors = errors;
            t.requests += errors;
        }
        snap.lab.real_servers[0].up = !(100..150).contains(&tick);
        if (114..162).contains(&tick) {
            snap.services[0].real_servers.retain(|d| d.name != "rs1");
        }
        app.on_snapshot(Arc::new(snap));
    }
    app
}

#[test]
fn keepalived_failover_while_out_of_the_table_80x24() {
    let app = failover_app(130);
    insta::assert_snapshot!(draw(80, 24, |f| view::render(f, &app)).backend());
}

#[test]
fn keepalived_failover_timeline_160x48() {
    let app = failover_app(170);
    insta::assert_snapshot!(draw(160, 48, |f| view::render(f, &app)).backend());
}

/// An HA lab: the director line names the VRRP MASTER, and says so when
/// neither director holds the VIP (mid-failover).
#[test]
fn topology_names_the_vrrp_master() {
    use lvslab::monitor::snapshot::VrrpView;
    let mut app = tutorial_app();
    let mut snap = sample::tutorial(301);
    snap.lab.director.vrrp =
        Some(VrrpView { master: Some("director2".into()), failed: vec!["director1".into()] });
    app.on_snapshot(Arc::new(snap.clone()));
    insta::assert_snapshot!(pane(46, 9, &app, view::topology::render).backend());
    snap.lab.director.vrrp = Some(VrrpView { master: None, failed: Vec::new() });
    app.on_snapshot(Arc::new(snap));
    let text = format!("{:?}", pane(46, 9, &app, view::topology::render).backend());
    assert!(text.contains("no director holds the VIP"), "{text}");
}

/// The `ha` lab under traffic: director1 stops forwarding at 2.9 s and
/// gives the VIP up at 3.0 s, director2 holds it from 4.3 s; requests fail
/// until 7.0 s (the last ones time out). The events log carries the
/// failover's timeline: the loss, the new master with the gap, the sum.
#[test]
fn events_after_a_director_failover() {
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    for tick in 0..=120 {
        let master = match tick {
            0..30 => Some("director1"),
            30..43 => None,
            _ => Some("director2"),
        };
        let mut snap = sample::ha(tick, master);
        if let Some(t) = &mut snap.traffic {
            t.errors = u64::from(tick.clamp(29, 70) - 29);
            t.requests += t.errors;
        }
        app.on_snapshot(Arc::new(snap));
    }
    insta::assert_snapshot!(pane(100, 7, &app, view::events::render).backend());
}

#[test]
fn ipvs_table_narrow_and_wide() {
    let app = tutorial_app();
    insta::assert_snapshot!("ipvs_table_80", pane(80, 7, &app, view::ipvs_table::render).backend());
    insta::assert_snapshot!(
        "ipvs_table_120",
        pane(120, 7, &app, view::ipvs_table::render).backend()
    );
}

/// A UDP service someone added by hand in the director (with one of the
/// lab's real servers and a stranger), and a stranger added to the lab's
/// own service: both marked `*`, below the main table.
#[test]
fn ipvs_table_marks_what_was_added_outside_lvslab() {
    use lvslab::monitor::{Origin, ServiceView};
    let mut app = tutorial_app();
    let mut snap = sample::tutorial(301);
    let mut stranger = snap.services[0].real_servers[1].clone();
    stranger.name = "198.51.100.99".into();
    stranger.addr = "198.51.100.99".parse().unwrap();
    stranger.origin = Origin::Outside;
    snap.services[0].real_servers.push(stranger);
    let mut rs1 = snap.services[0].real_servers[0].clone();
    rs1.port = 53;
    rs1.origin = Origin::Outside;
    snap.services.push(ServiceView {
        proto: "UDP".into(),
        vip: "192.0.2.1".parse().unwrap(),
        port: 53,
        fwmark: None,
        scheduler: "sh".into(),
        persistent: Some(300),
        origin: Origin::Outside,
        programmed: true,
        real_servers: vec![rs1],
    });
    app.on_snapshot(Arc::new(snap));
    let screen = pane(100, 10, &app, view::ipvs_table::render);
    let text = format!("{:?}", screen.backend());
    assert!(text.contains("UDP 192.0.2.1:53* sh persistent 300"), "{text}");
    assert!(text.contains("*198.5"), "a stranger in the lab's service: {text}");
    assert!(text.contains("added in the director outside lvslab"), "{text}");
    insta::assert_snapshot!(screen.backend());
}

#[test]
fn conns_chart_pane() {
    insta::assert_snapshot!(pane(90, 16, &tutorial_app(), view::conns_chart::render).backend());
}

#[test]
fn share_pane() {
    insta::assert_snapshot!(pane(60, 9, &tutorial_app(), view::share::render).backend());
}

#[test]
fn traffic_and_host_panes() {
    let app = tutorial_app();
    insta::assert_snapshot!("traffic", pane(44, 8, &app, view::traffic::render).backend());
    insta::assert_snapshot!("host_two_lines", pane(44, 4, &app, view::host::render).backend());
    insta::assert_snapshot!("host_one_line", pane(36, 3, &app, view::host::render).backend());
}

#[test]
fn events_pane() {
    insta::assert_snapshot!(pane(80, 7, &tutorial_app(), view::events::render).backend());
}

#[test]
fn header_and_footer() {
    let app = tutorial_app();
    insta::assert_snapshot!("header", pane(120, 1, &app, view::header::render).backend());
    insta::assert_snapshot!("footer_160", pane(160, 1, &app, view::footer::render).backend());
    insta::assert_snapshot!("footer_80", pane(80, 1, &app, view::footer::render).backend());
}

fn press(app: &mut App, c: char) {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    let _ = app.on_terminal_event(Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)));
}

#[test]
fn help_overlay_fits_80x24() {
    let mut app = tutorial_app();
    press(&mut app, '?');
    insta::assert_snapshot!(draw(80, 24, |f| view::render(f, &app)).backend());
}

#[test]
fn scheduler_dialog() {
    let mut app = tutorial_app();
    press(&mut app, 'S');
    insta::assert_snapshot!(draw(80, 24, |f| view::render(f, &app)).backend());
}

fn presets() -> Vec<PresetInfo> {
    vec![
        PresetInfo {
            name: "tutorial-nat".into(),
            description: "LVS-NAT with two real servers, weights 3 and 2 under wrr: watch the \
                          3:2 split, drain one, stop one."
                .into(),
            file: PathBuf::from("labs/tutorial-nat.toml"),
            ..PresetInfo::default()
        },
        PresetInfo {
            name: "sh-sticky".into(),
            description: "Source hashing: every request of one client lands on one server.".into(),
            file: PathBuf::from("labs/sh-sticky.toml"),
            ..PresetInfo::default()
        },
    ]
}

/// The picker on the built-in presets, as the session builds them.
fn picker(ipvs_missing: Option<&str>) -> App {
    let mut app =
        App::new(Theme::default(), Keymap::default(), lvslab::session::dashboard::preset_list());
    app.set_build_options(lvslab_tui::BuildOptions {
        dataplane: lvslab_core::lab::model::Dataplane::Ipvs,
        ipvs_missing: ipvs_missing.map(str::to_string),
    });
    app
}

#[test]
fn preset_picker() {
    let app = picker(None);
    let screen = draw(80, 24, |f| view::render(f, &app));
    let text = screen.backend().to_string();
    for needle in ["Services", "TCP 192.0.2.1:80 wrr: rs1 weight 3 nat", "Topology", "DIP"] {
        assert!(text.contains(needle), "missing {needle:?}: {text}");
    }
    insta::assert_snapshot!(screen.backend());
}

#[test]
fn preset_picker_160x48() {
    let app = picker(None);
    let screen = draw(160, 48, |f| view::render(f, &app));
    assert!(screen.backend().to_string().contains("What to do and watch"));
    insta::assert_snapshot!(screen.backend());
}

/// Without IPVS the picker says so before building, starts on nft, Tab
/// moves to none, and Enter sends the choice.
#[test]
fn preset_picker_without_ipvs() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use lvslab_core::lab::model::Dataplane;
    use lvslab_tui::Command;
    let mut app = picker(Some("this kernel has no IPVS (CONFIG_IP_VS is not set)"));
    let text = draw(80, 24, |f| view::render(f, &app)).backend().to_string();
    assert!(text.contains("this kernel has no IPVS"), "{text}");
    insta::assert_snapshot!(
        "picker_without_ipvs_80x24",
        draw(80, 24, |f| view::render(f, &app)).backend()
    );
    insta::assert_snapshot!(
        "picker_without_ipvs_160x48",
        draw(160, 48, |f| view::render(f, &app)).backend()
    );
    assert_eq!(app.picker_dataplane(), Dataplane::Nft);
    let key = |code| Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
    assert_eq!(app.on_terminal_event(key(KeyCode::Tab)), None);
    assert_eq!(app.picker_dataplane(), Dataplane::None);
    assert_eq!(app.on_terminal_event(key(KeyCode::Tab)), None);
    assert_eq!(app.picker_dataplane(), Dataplane::Nft, "IPVS is never offered");
    let Some(Command::BringUp { dataplane, .. }) = app.on_terminal_event(key(KeyCode::Enter))
    else {
        panic!("Enter builds")
    };
    assert_eq!(dataplane, Dataplane::Nft);
}

#[test]
fn bring_up_progress_and_failure() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    let mut app = App::new(Theme::default(), Keymap::default(), presets());
    let enter = Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(app.on_terminal_event(enter).is_some());
    app.on_backend(BackendEvent::Step("netns lvs-tutorial-client".into()));
    app.on_backend(BackendEvent::Step("netns lvs-tutorial-director".into()));
    insta::assert_snapshot!("progress", draw(60, 8, |f| view::render(f, &app)).backend());
    app.on_backend(BackendEvent::BringUpFailed("IPVS is not available: CONFIG_IP_VS".into()));
    insta::assert_snapshot!("progress_failed", draw(60, 8, |f| view::render(f, &app)).backend());
}

#[test]
fn many_servers_scroll_and_collapse() {
    let weights: Vec<u32> = (0..256).map(|i| 1 + i % 5).collect();
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    app.on_snapshot(Arc::new(sample::with_servers(&weights, 100)));
    for _ in 0..40 {
        press(&mut app, 'j');
    }
    insta::assert_snapshot!(draw(80, 24, |f| view::render(f, &app)).backend());
}

#[test]
fn t_cycles_through_the_builtin_themes() {
    let mut app = tutorial_app();
    let header = |app: &App| pane(160, 1, app, view::header::render).backend().to_string();
    assert!(header(&app).contains("theme dark"));
    press(&mut app, 't');
    assert!(header(&app).contains("theme light"));
    assert_eq!(app.theme().palette.bg, ratatui::style::Color::Rgb(0xfa, 0xfa, 0xfa));
    press(&mut app, 't');
    press(&mut app, 't');
    assert!(header(&app).contains("theme dark"));
}

#[test]
fn no_color_draws_without_any_colour() {
    use ratatui::style::Color;
    let mut app = App::new(Theme::default().without_colors(), Keymap::default(), Vec::new());
    app.on_snapshot(Arc::new(sample::tutorial(30)));
    press(&mut app, 't'); // nothing to cycle to with colours off
    let terminal = draw(160, 48, |f| view::render(f, &app));
    let buffer = terminal.backend().buffer();
    assert!(buffer.content().iter().all(|c| c.fg == Color::Reset && c.bg == Color::Reset));
    assert!(terminal.backend().to_string().contains("theme dark (no colour)"));
}

/// The tutorial app with the guide open after the gateway step: steps 1–2
/// read, step 3 done (its effect shown), the rest to do.
fn guided_app() -> App {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use lvslab::tutorial::{Guide, Status};
    use lvslab_core::lab::model::Dataplane;
    use lvslab_tui::command::{GuideReport, GuideRequest};

    let mut app = tutorial_app();
    let g = Event::Key(KeyEvent::new(KeyCode::Char('g'), KeyModifiers::NONE));
    assert!(app.on_terminal_event(g).is_some());
    let spec = lvslab_core::lab::presets::load("tutorial").unwrap().spec;
    let steps = Guide::embedded().unwrap().render(&spec, Dataplane::Ipvs);
    let status = |done: bool| {
        steps
            .iter()
            .enumerate()
            .map(|(i, s)| match () {
                () if !s.action.changes_lab() => Status::NoChange,
                () if done && i == 2 => Status::Done,
                () => Status::Todo,
            })
            .collect::<Vec<_>>()
    };
    let open = Some((GuideRequest::Open, Ok(Vec::new())));
    app.on_backend(BackendEvent::Guide(GuideReport {
        steps: Ok(steps.clone()),
        status: status(false),
        effect: open,
    }));
    for request in [GuideRequest::Do(0), GuideRequest::Do(1)] {
        app.on_backend(BackendEvent::Guide(GuideReport {
            steps: Ok(steps.clone()),
            status: status(false),
            effect: Some((request, Ok(Vec::new()))),
        }));
    }
    let routes = vec![
        "rs1: default via 198.51.100.1 dev eth0".to_string(),
        "rs2: default via 198.51.100.1 dev eth0".to_string(),
    ];
    let done = status(true);
    app.on_backend(BackendEvent::Guide(GuideReport {
        steps: Ok(steps.clone()),
        status: done,
        effect: Some((GuideRequest::Do(2), Ok(routes))),
    }));
    app
}

#[test]
fn guide_80x24() {
    let app = guided_app();
    insta::assert_snapshot!(draw(80, 24, |f| view::render(f, &app)).backend());
}

#[test]
fn guide_160x48() {
    let app = guided_app();
    insta::assert_snapshot!(draw(160, 48, |f| view::render(f, &app)).backend());
}

#[test]
fn conns_overlay_at_80x24_and_160x48() {
    let mut app = tutorial_app();
    press(&mut app, 'c');
    assert!(matches!(app.dialog(), Some(lvslab_tui::app::Dialog::Conns { .. })));
    insta::assert_snapshot!("conns_80x24", draw(80, 24, |f| view::render(f, &app)).backend());
    insta::assert_snapshot!("conns_160x48", draw(160, 48, |f| view::render(f, &app)).backend());
    press(&mut app, 'c');
    assert_eq!(app.dialog(), None, "c closes it again");
}

#[test]
fn conns_overlay_says_why_a_lab_without_ipvs_has_no_table() {
    let mut app = tutorial_app();
    let mut snap = sample::tutorial(301);
    snap.lab.dataplane = lvslab_core::lab::model::Dataplane::None;
    snap.conns = None;
    app.on_snapshot(Arc::new(snap));
    press(&mut app, 'c');
    let text = format!("{:?}", draw(80, 24, |f| view::render(f, &app)).backend());
    assert!(text.contains("This lab runs without IPVS"), "{text}");
}

/// Events logged before the first snapshot (the bring-up's "lab is up")
/// carry the event loop's clock, not `--:--:--`.
#[test]
fn events_before_the_first_snapshot_show_a_time() {
    use std::time::{Duration, SystemTime};
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    let before = SystemTime::UNIX_EPOCH + Duration::from_secs(sample::EPOCH_SECS - 5);
    app.set_clock(before);
    app.on_backend(BackendEvent::LabReady);
    app.on_snapshot(Arc::new(sample::tutorial(0)));
    let text = pane(80, 5, &app, view::events::render).backend().to_string();
    assert!(text.contains("11:59:55 lab is up"), "{text}");
    assert!(!text.contains("--:--:--"), "{text}");
}

/// Long events wrap at a word instead of being cut.
#[test]
fn a_long_event_wraps_at_a_word() {
    let mut app = tutorial_app();
    app.log(
        lvslab_tui::changes::Level::Error,
        "✗ setting the weight of rs2 failed: the director's IPVS table has no such destination",
    );
    insta::assert_snapshot!(pane(60, 6, &app, view::events::render).backend());
}

/// With `dataplane none` the IPVS pane says there is no IPVS and what the
/// preset's service would be, instead of a table of zeros.
fn app_without_ipvs() -> App {
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    for tick in 0..3 {
        let mut snap = sample::tutorial(tick);
        snap.lab.dataplane = lvslab_core::lab::model::Dataplane::None;
        snap.conns = None;
        snap.prediction = None;
        for d in &mut snap.services[0].real_servers {
            (d.conns, d.active_conns, d.inactive_conns, d.cps, d.in_bps, d.out_bps) =
                (0, 0, 0, 0, 0, 0);
        }
        snap.services[0].programmed = false;
        app.on_snapshot(Arc::new(snap));
    }
    app
}

#[test]
fn without_ipvs_80x24() {
    let app = app_without_ipvs();
    let screen = draw(80, 24, |f| view::render(f, &app));
    let text = screen.backend().to_string();
    assert!(text.contains("No IPVS here (dataplane none)"), "{text}");
    assert!(!text.contains("Active InAct"), "no table of zeros: {text}");
    insta::assert_snapshot!(screen.backend());
}

#[test]
fn without_ipvs_160x48() {
    let app = app_without_ipvs();
    insta::assert_snapshot!(draw(160, 48, |f| view::render(f, &app)).backend());
}

/// A persistent service with one client: the prediction expects every
/// connection on the client's server, not the weights' 60/40, and the IPVS
/// pane shows the next servers and the hit rate.
fn persistent_app() -> App {
    use lvslab::monitor::forecast::PredictionView;
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    for tick in [299, 300] {
        let mut snap = sample::tutorial(tick);
        snap.services[0].persistent = Some(300);
        snap.prediction = Some(PredictionView {
            next: vec!["rs2".into(); 5],
            compared: 1500,
            agreed: 1497,
            expected: vec![("rs1".into(), 0.0), ("rs2".into(), 100.0)],
        });
        app.on_snapshot(Arc::new(snap));
    }
    app
}

#[test]
fn prediction_of_a_persistent_service_80x24() {
    let app = persistent_app();
    let text = draw(80, 24, |f| view::render(f, &app)).backend().to_string();
    assert!(text.contains("next rs2 rs2 rs2 rs2 rs2 · hits 99.8%"), "{text}");
    insta::assert_snapshot!(draw(80, 24, |f| view::render(f, &app)).backend());
}

#[test]
fn prediction_of_a_persistent_service_160x48() {
    let app = persistent_app();
    let text = draw(160, 48, |f| view::render(f, &app)).backend().to_string();
    assert!(text.contains("p 100.0%") && text.contains("p 0.0%"), "{text}");
    assert!(text.contains("predicted 99.8% of 1500"), "{text}");
    insta::assert_snapshot!(draw(160, 48, |f| view::render(f, &app)).backend());
}

/// On nftables the poller makes no prediction (numgen's slots are not
/// IPVS's wrr order): the service line says so instead of `next: …`.
#[test]
fn nftables_says_it_is_not_predicted_instead_of_ipvs_order() {
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    for tick in [299, 300] {
        let mut snap = sample::tutorial(tick);
        snap.lab.dataplane = lvslab_core::lab::model::Dataplane::Nft;
        snap.prediction = None;
        app.on_snapshot(Arc::new(snap));
    }
    let text = pane(120, 7, &app, view::ipvs_table::render).backend().to_string();
    assert!(
        text.contains("prediction: not predicted on nftables (it picks by numgen slot)"),
        "{text}"
    );
    assert!(!text.contains("next"), "no IPVS order on nftables: {text}");
    let narrow = pane(80, 7, &app, view::ipvs_table::render).backend().to_string();
    assert!(!narrow.contains("next"), "{narrow}");
}
