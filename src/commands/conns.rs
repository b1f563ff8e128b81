//! `lvslab conns LAB [--json] [--watch] [--server NAME]`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};
use lvslab::monitor::conns::{self, ConnTable};
use lvslab::monitor::{ConnsRead, KernelObserver};
use lvslab::ops::state::{LabState, Stored};
use lvslab_core::lab::model::LabName;
use lvslab_core::lab::text::shown;

/// How many skipped lines the text names (the rest it counts).
const SKIPPED_SHOWN: usize = 3;

/// How often `--watch` reads the table again.
const WATCH_PERIOD: Duration = Duration::from_secs(1);

pub fn run(lab: &LabName, json: bool, watch: bool, server: Option<&str>) -> Result<ExitCode> {
    super::require_privilege("conns")?;
    let Some(state) = LabState::load(lab)? else {
        bail!(
            "no lab '{lab}' is running (lvslab ls lists the running labs; lvslab up {lab} builds it)"
        );
    };
    if let Some(name) = server
        && !state.spec.real_servers.iter().any(|rs| rs.name == name)
    {
        let names: Vec<&str> = state.spec.real_servers.iter().map(|rs| rs.name.as_str()).collect();
        bail!(
            "lab '{lab}' has no real server '{}'; its real servers: {}",
            shown(name),
            shown(&names.join(", "))
        );
    }
    loop {
        let read = KernelObserver::read_conns_of(&state);
        let table = match read {
            ConnsRead::Table(read) => conns::table_read(&state.spec, &read, server),
            ConnsRead::NotUsed => bail!(
                "lab '{lab}' balances nothing (dataplane {}): there is no connection table",
                state.dataplane
            ),
            ConnsRead::Failed(e) => bail!("cannot read the connection table of lab '{lab}': {e}"),
            ConnsRead::NotRead => unreachable!("read_conns_of always reads"),
        };
        let out = if json {
            if watch {
                serde_json::to_string(&table)? + "\n"
            } else {
                serde_json::to_string_pretty(&table)? + "\n"
            }
        } else if watch {
            // Clear the screen and go home, then the table, as `watch` does.
            format!("\x1b[H\x1b[2J{}", text(&table))
        } else {
            text(&table)
        };
        let mut stdout = std::io::stdout().lock();
        if stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush()).is_err() {
            // The reader went away (a closed pipe): nothing more to say.
            return Ok(ExitCode::SUCCESS);
        }
        if !watch {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(WATCH_PERIOD);
    }
}

/// The text form, in the spirit of `ipvsadm -Lnc`. Names from the lab's
/// record go through [`shown`].
fn text(t: &ConnTable) -> String {
    let mut s = String::new();
    let only = t.server.as_deref().map(|n| format!(" on {}", shown(n))).unwrap_or_default();
    let _ = writeln!(
        s,
        "lab '{}': {} connection{}{only}, {} persistence template{}",
        shown(&t.lab),
        t.total,
        if t.total == 1 { "" } else { "s" },
        t.templates,
        if t.templates == 1 { "" } else { "s" },
    );
    if t.skipped_lines > 0 {
        let _ = writeln!(
            s,
            "skipped {} malformed line{} of /proc/net/ip_vs_conn; the table is every other entry",
            t.skipped_lines,
            if t.skipped_lines == 1 { "" } else { "s" },
        );
        // The reasons quote the bad field escaped (and `shown` again here).
        for e in t.skipped_first.iter().take(SKIPPED_SHOWN) {
            let _ = writeln!(s, "  line {}: {}", e.line, shown(&e.reason));
        }
        let more = t.skipped_lines.saturating_sub(SKIPPED_SHOWN.min(t.skipped_first.len()) as u64);
        if more > 0 {
            let _ = writeln!(s, "  and {more} more");
        }
    }
    let _ = writeln!(
        s,
        "\n{:<4} {:<21} {:<21} {:<30} {:<11} {:>7}",
        "PRO", "CLIENT", "VIRTUAL", "REAL SERVER", "STATE", "EXPIRES"
    );
    for c in &t.connections {
        let state = if c.template { "template" } else { c.state.as_str() };
        let _ = writeln!(
            s,
            "{:<4} {:<21} {:<21} {:<30} {:<11} {:>7}",
            shown(&c.proto),
            c.client,
            c.virtual_service,
            format!("{} {}", shown(&c.server), c.server_addr),
            shown(state),
            conns::expiry(c.expires_s),
        );
    }
    let states: Vec<String> =
        t.by_state.iter().map(|(state, n)| format!("{} {n}", shown(state))).collect();
    let _ = writeln!(
        s,
        "\nBY STATE   {}",
        if states.is_empty() { "(no connections)".into() } else { states.join("  ") }
    );
    let _ =
        writeln!(s, "BY SERVER  {:<14} {:>6} {:>8} {:>9}", "", "active", "inactive", "templates");
    for rs in &t.by_server {
        let _ = writeln!(
            s,
            "           {:<14} {:>6} {:>8} {:>9}",
            shown(&rs.name),
            rs.active,
            rs.inactive,
            rs.templates
        );
    }
    s.push_str(
        "\nactive = ESTABLISHED (ipvsadm's ActiveConn); inactive = handshake, closing or TIME_WAIT \
(InActConn);\na template (client port 0) pins a client to its real server while persistence lasts.\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use lvslab_core::lab::presets;

    #[test]
    fn malformed_lines_are_said_skipped_with_their_line_and_never_echoed_raw() {
        let spec = presets::load("tutorial").unwrap().spec;
        let text = format!(
            "{}\nTCP C0000202 D6F2 C0000201 0050 C633640B 0050 ESTABLISHED     899\n\
             TCP C0000202 \u{1b}]0;owned\u{7}\u{1b}[2J C0000201 0050 C633640B 0050 ESTABLISHED 9\n\
             TCP C0000202 D6F3 C0000201 0050 C633640C 0050 ESTABLISHED     899\n\
             a line the kernel never wrote\n",
            lvslab_ipvs::conns::HEADER
        );
        let out = super::text(&conns::table_read(&spec, &lvslab_ipvs::conns::parse(&text), None));
        assert!(
            out.starts_with("lab 'tutorial': 2 connections, 0 persistence templates\n"),
            "{out}"
        );
        assert!(out.contains("\nskipped 2 malformed lines of /proc/net/ip_vs_conn;"), "{out}");
        assert!(
            out.contains("\n  line 3: '\\u{1b}]0;owned\\u{7}\\u{1b}[2J' is no port\n"),
            "{out}"
        );
        assert!(out.contains("\n  line 5: 6 fields, expected 9"), "{out}");
        assert!(!out.contains(['\u{1b}', '\u{7}']), "nothing raw reaches the terminal: {out:?}");

        // Many: the first few named, the rest counted.
        let many = format!("{text}{}", "x\n".repeat(20));
        let out = super::text(&conns::table_read(&spec, &lvslab_ipvs::conns::parse(&many), None));
        assert!(
            out.contains("skipped 22 malformed lines") && out.contains("  and 19 more\n"),
            "{out}"
        );
        // None: no such line.
        let out = super::text(&conns::table_read(&spec, &lvslab_ipvs::conns::parse(""), None));
        assert!(!out.contains("skipped"), "{out}");
    }
}
