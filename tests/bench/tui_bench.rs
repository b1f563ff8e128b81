//! Render cost of the full dashboard (TestBackend, 160×48) with 4 and 256
//! real servers, and the CPU an idle `run` loop uses while snapshots arrive
//! at 10 Hz, as a share of one core. Prints figures; asserts nothing, since
//! timings depend on the machine (targets: < 2 ms/frame at 256, < 2 %).

use std::sync::Arc;
use std::time::{Duration, Instant};

use lvslab::monitor::sample;
use lvslab::session::event::{UiIo, run};
use lvslab_tui::app::App;
use lvslab_tui::{Keymap, Theme, view};
use nix::sys::resource::{UsageWho, getrusage};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const FRAMES: u32 = 300;
const IDLE_RUN: Duration = Duration::from_secs(5);
const SNAPSHOT_PERIOD: Duration = Duration::from_millis(100);

fn weights(servers: usize) -> Vec<u32> {
    (0..servers).map(|i| 1 + u32::try_from(i % 5).unwrap_or(0)).collect()
}

/// Mean and worst time of `terminal.draw` for the whole dashboard, with a
/// new snapshot (outside the timing) before each frame.
fn frame_time(servers: usize) -> (Duration, Duration) {
    let weights = weights(servers);
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    for tick in 0..600 {
        app.on_snapshot(Arc::new(sample::with_servers(&weights, tick)));
    }
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("test backend");
    let (mut total, mut worst) = (Duration::ZERO, Duration::ZERO);
    for tick in 600..600 + FRAMES {
        app.on_snapshot(Arc::new(sample::with_servers(&weights, tick)));
        let start = Instant::now();
        terminal.draw(|frame| view::render(frame, &app)).expect("draw");
        let took = start.elapsed();
        total += took;
        worst = worst.max(took);
    }
    (total / FRAMES, worst)
}

type PaneRender = fn(&mut ratatui::Frame, ratatui::layout::Rect, &App, &Theme);

/// Mean time of each pane alone at its 160×48 size, to see where a frame goes.
fn pane_times(servers: usize) -> Vec<(&'static str, Duration)> {
    let weights = weights(servers);
    let mut app = App::new(Theme::default(), Keymap::default(), Vec::new());
    for tick in 0..600 {
        app.on_snapshot(Arc::new(sample::with_servers(&weights, tick)));
    }
    let areas = view::layout::dashboard(ratatui::layout::Rect::new(0, 0, 160, 48), servers);
    let panes: [(&str, ratatui::layout::Rect, PaneRender); 6] = [
        ("topology", areas.topology, view::topology::render),
        ("ipvs table", areas.table, view::ipvs_table::render),
        ("conns chart", areas.chart.unwrap_or_default(), view::conns_chart::render),
        ("share", areas.share.unwrap_or_default(), view::share::render),
        ("events", areas.events, view::events::render),
        ("traffic", areas.traffic, view::traffic::render),
    ];
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("test backend");
    panes
        .iter()
        .map(|&(name, area, render)| {
            let start = Instant::now();
            for _ in 0..FRAMES {
                terminal.draw(|frame| render(frame, area, &app, app.theme())).expect("draw");
            }
            (name, start.elapsed() / FRAMES)
        })
        .collect()
}

fn cpu_time() -> Duration {
    let usage = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let tv = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(u64::try_from(t.tv_sec()).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec()).unwrap_or(0))
    };
    tv(usage.user_time()) + tv(usage.system_time())
}

/// CPU used by `run` over [`IDLE_RUN`] with snapshots at 10 Hz and no keys,
/// as a percentage of one core.
/// `live`: every snapshot has new counters (traffic flowing); otherwise the
/// lab is idle and only the poll time moves.
fn idle_cpu_percent(servers: usize, live: bool) -> f64 {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let weights = weights(servers);
        let (io, backend) = UiIo::new(Box::pin(futures::stream::pending()));
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("test backend");
        let publisher = async {
            let mut interval = tokio::time::interval(SNAPSHOT_PERIOD);
            for tick in 0.. {
                interval.tick().await;
                let mut snap = sample::with_servers(&weights, if live { tick } else { 0 });
                snap.at = std::time::SystemTime::now();
                backend.snapshots.send_replace(Some(Arc::new(snap)));
                if tick * SNAPSHOT_PERIOD >= IDLE_RUN {
                    break;
                }
            }
            backend.cancel.cancel();
        };
        let (cpu_before, wall) = (cpu_time(), Instant::now());
        let (result, ()) =
            tokio::join!(run(&mut terminal, io, Theme::default(), Keymap::default()), publisher);
        result.expect("run");
        let (cpu, wall) = (cpu_time() - cpu_before, wall.elapsed());
        cpu.as_secs_f64() * 100.0 / wall.as_secs_f64()
    })
}

fn main() {
    println!("tui render benchmark (TestBackend 160x48, full dashboard, {FRAMES} frames)");
    for servers in [4, 256] {
        let (mean, worst) = frame_time(servers);
        println!(
            "  {servers:>3} real servers: {:.3} ms/frame mean, {:.3} ms worst",
            mean.as_secs_f64() * 1e3,
            worst.as_secs_f64() * 1e3
        );
        let panes: Vec<String> = pane_times(servers)
            .iter()
            .map(|(name, t)| format!("{name} {:.3}", t.as_secs_f64() * 1e3))
            .collect();
        println!("      by pane (ms, incl. terminal diff): {}", panes.join(", "));
    }
    println!(
        "idle run loop, snapshots at 10 Hz for {} s (getrusage, % of one core)",
        IDLE_RUN.as_secs()
    );
    for servers in [4, 256] {
        println!(
            "  {servers:>3} real servers: idle lab {:.2} % CPU, traffic flowing (new numbers every snapshot) {:.2} % CPU",
            idle_cpu_percent(servers, false),
            idle_cpu_percent(servers, true)
        );
    }
}
