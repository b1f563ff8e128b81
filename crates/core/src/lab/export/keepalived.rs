//! A [`LabSpec`] as a commented `keepalived.conf`: a `virtual_server` per
//! service, a `real_server` per member with its weight and a health check,
//! and (for real machines) a VRRP instance holding the VIP and the DIP.
//!
//! The same writer serves two readers:
//! - `lvslab export LAB --format keepalived` ([`Purpose::Export`]): the
//!   cluster for real machines, with a VRRP instance and production check
//!   intervals;
//! - `lvslab up LAB --control keepalived` ([`Purpose::Lab`]): the
//!   configuration keepalived runs inside the director's namespace, without
//!   VRRP (the lab already put its addresses on the links) and with short
//!   check intervals, so a dead server leaves the table within seconds.
//!
//! Pure: no files, no processes. Every number comes from the validated
//! spec; the only free text (the lab's name and description) is written in
//! comments, shown escaped and quoted so a comment never ends in `\` (which
//! keepalived reads as a line continuation), and the router id is reduced
//! to characters keepalived takes as one word.

use std::fmt::Write;

use crate::lab::ha;
use crate::lab::model::{FailedCheck, Forward, HA_DIRECTORS, LabSpec, Member, Service, links};
use crate::lab::roles::Roles;
use crate::lab::text;
use lvslab_ipvs::Protocol;

/// What the file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Real machines: VRRP instance for the VIP and DIP, production intervals.
    Export,
    /// The lab's director: health checks and the IPVS table only, lab intervals.
    Lab,
    /// One director of an HA lab (`[ha]`): VRRP for the VIP and DIP (and the
    /// connection sync when the lab has it), plus, when `balance`, the IPVS
    /// table and checks (false: a lab without IPVS, VRRP only).
    Ha {
        /// Index in `HA_DIRECTORS`: 0 is the MASTER.
        director: usize,
        /// Whether to write the virtual servers.
        balance: bool,
    },
}

/// How often and how patiently keepalived checks each real server (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    /// Seconds between two checks of one real server (`delay_loop`).
    pub delay_loop: u32,
    /// Seconds a check may take to connect and answer (`connect_timeout`).
    pub connect_timeout: u32,
    /// Failed checks retried before the server is taken out (`retry`).
    pub retry: u32,
    /// Seconds between those retries (`delay_before_retry`).
    pub delay_before_retry: u32,
}

impl Checks {
    /// In the lab: a stopped server is noticed within about two seconds.
    pub const LAB: Self =
        Self { delay_loop: 1, connect_timeout: 1, retry: 1, delay_before_retry: 1 };
    /// On real machines: keepalived's usual pace, tolerant of a slow answer.
    pub const PRODUCTION: Self =
        Self { delay_loop: 6, connect_timeout: 3, retry: 3, delay_before_retry: 3 };

    /// The longest time, in seconds, from a stopped server (its port refuses
    /// connections, so each attempt fails at once) to its removal: one wait
    /// for the next check, then every retry after its delay.
    pub fn refused_within_s(&self) -> u32 {
        self.delay_loop + self.retry * self.delay_before_retry
    }

    /// The same for a server that hangs: each attempt also waits its timeout.
    pub fn hung_within_s(&self) -> u32 {
        self.refused_within_s() + (self.retry + 1) * self.connect_timeout
    }

    fn for_purpose(purpose: Purpose) -> Self {
        match purpose {
            Purpose::Export => Self::PRODUCTION,
            Purpose::Lab | Purpose::Ha { .. } => Self::LAB,
        }
    }
}

/// The health check keepalived runs against one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    /// `HTTP_GET` of [`HEALTH_PATH`] on the member's port, expecting 200.
    Http {
        /// The real server's port.
        port: u16,
    },
    /// No check, and why: the member stays in the table whatever happens.
    None(&'static str),
}

/// The path every lvslab real server answers `ok` on (`lvslab serve`).
pub const HEALTH_PATH: &str = "/health";

/// The check for `member` of `svc`.
pub fn health_check(svc: &Service, member: &Member) -> HealthCheck {
    if svc.protocol != Protocol::Tcp {
        return HealthCheck::None("not TCP: the real server's HTTP check cannot reach it");
    }
    if member.port == 0 {
        return HealthCheck::None(
            "a firewall-mark member keeps each packet's port, so there is no one port to check",
        );
    }
    HealthCheck::Http { port: member.port }
}

/// keepalived's `lb_kind` for a forwarding method.
fn lb_kind(forward: Forward) -> &'static str {
    match forward {
        Forward::Nat => "NAT",
        Forward::Dr => "DR",
        Forward::Tun => "TUN",
    }
}

/// keepalived's `protocol` word.
fn protocol(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "TCP",
        Protocol::Udp => "UDP",
        Protocol::Sctp => "SCTP",
    }
}

/// A word keepalived reads as one token: letters, digits, `-`, `_` and `.`
/// kept, anything else (space, `#`, `!`, `{`, quotes, control characters)
/// replaced by `_`. Lab names are validated to need no change.
/// At most [`MAX_WORD`] characters (a lab's name is at most 32; one read
/// back from a hand-edited record may be anything).
pub fn word(text: &str) -> String {
    let w: String = text
        .chars()
        .take(MAX_WORD)
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    if w.is_empty() { "_".into() } else { w }
}

/// Longest [`word`]: its lines (`router_id lvslab_NAME_director1`) stay short.
pub const MAX_WORD: usize = 64;

/// keepalived reads a line into a 1,024-byte buffer: the rest of a longer
/// line is read as the next line, and parsed as statements (a preset path
/// holding `virtual_server ...` in the header became one). Every line this
/// writer makes is shorter; free text is clipped to leave room for the
/// rest of its line.
pub const MAX_LINE_BYTES: usize = 1023;
/// Bytes of free text in one comment line (two of them share the lab's
/// title line, with room to spare).
const MAX_COMMENT: usize = 400;

/// One comment line for free text: shown escaped (no line breaks or
/// terminal controls), at most [`MAX_COMMENT`] bytes, and never ending in
/// `\`, which keepalived would read as "continue on the next line" and so
/// swallow the line after the comment.
fn comment_text(text: &str) -> String {
    let shown = text::clip(text, MAX_COMMENT);
    if shown.ends_with('\\') { format!("\"{shown}\"") } else { shown.into_owned() }
}

/// The `keepalived.conf` of `spec`. `header` lines go on top as comments
/// (where the file came from).
pub fn to_keepalived(spec: &LabSpec, purpose: Purpose, header: &[String]) -> String {
    let checks = Checks::for_purpose(purpose);
    let mut out = String::new();
    for line in header {
        let _ = writeln!(out, "{}", format!("# {}", comment_text(line)).trim_end());
    }
    let _ =
        writeln!(out, "# Lab '{}': {}", comment_text(&spec.name), comment_text(&spec.description));
    out.push_str(match purpose {
        Purpose::Export => {
            "#\n\
             # keepalived programs the director's IPVS table from the virtual_server\n\
             # blocks below, checks every real server and takes a dead one out of the\n\
             # table (back in when it answers again), and holds the VIP (and the DIP,\n\
             # the real servers' gateway) with VRRP so a backup director can take over.\n\
             # Check it:   keepalived --config-test -f keepalived.conf\n\
             # Watch it:   ipvsadm -Ln   (the table)   journalctl -u keepalived   (the checks)\n"
        }
        Purpose::Lab => {
            "#\n\
             # Written by lvslab for `lvslab up --control keepalived`: keepalived runs in\n\
             # the director's namespace and owns its IPVS table. No VRRP here: the lab\n\
             # put the VIP and DIP on the director's links already. Edits (lvslab set,\n\
             # the dashboard) rewrite this file and reload keepalived (SIGHUP).\n"
        }
        Purpose::Ha { .. } => {
            "#\n\
             # Written by lvslab for one director of an HA lab: keepalived runs in this\n\
             # director's namespace, owns its IPVS table, and its VRRP instance decides\n\
             # with the other director's which one holds the VIP and the DIP.\n"
        }
    });

    // An HA lab's export is director1's file (the MASTER's); a comment
    // says what director2's changes.
    let ha_export = purpose == Purpose::Export && spec.ha.is_some();
    let router_id = match purpose {
        Purpose::Ha { director, .. } => {
            format!("lvslab_{}_{}", spec.name, HA_DIRECTORS[director % 2])
        }
        _ if ha_export => format!("lvslab_{}_{}", spec.name, HA_DIRECTORS[0]),
        _ => format!("lvslab_{}", spec.name),
    };
    let _ = write!(
        out,
        "\nglobal_defs {{\n    # Names this director in keepalived's logs (and its VRRP adverts).\n    \
         router_id {}\n",
        word(&router_id)
    );
    // The sync daemon is IPVS's own: a lab without IPVS has none (keepalived's
    // VRRP child would fail to start it).
    if let (Purpose::Ha { balance: true, .. } | Purpose::Export, Some(ha)) = (purpose, spec.ha)
        && ha.sync
    {
        let _ = write!(
            out,
            "    # Connection sync: the MASTER's IPVS sends every connection to the\n    \
             # BACKUP over {link}, so the BACKUP can go on forwarding them after a takeover.\n    \
             lvs_sync_daemon {link} {inst} id {id}\n",
            link = ha::SERVERS_LINK,
            inst = instance_name(spec),
            id = ha::VIRTUAL_ROUTER_ID,
        );
    }
    out.push_str("}\n");
    match purpose {
        Purpose::Export if ha_export => {
            ha_vrrp(&mut out, spec, 0);
            backup_note(&mut out, spec);
        }
        Purpose::Export => vrrp(&mut out, spec),
        Purpose::Ha { director, .. } => ha_vrrp(&mut out, spec, director % 2),
        Purpose::Lab => {}
    }
    if matches!(purpose, Purpose::Ha { balance: false, .. }) {
        out.push_str("\n# No virtual_server: this lab runs without IPVS (VRRP only).\n");
        return out;
    }
    let roles = spec.roles();
    for svc in &spec.services {
        service(&mut out, spec, &roles, svc, &checks);
    }
    out
}

/// The VRRP instance's name.
fn instance_name(spec: &LabSpec) -> String {
    format!("VI_{}", word(&spec.name))
}

/// The VRRP instance of director `index` of an HA lab: one instance holds
/// the VIPs on eth0 and the DIP on eth1, so they always move together, and
/// it tracks eth1 so a director cut from the servers gives the VIP up.
fn ha_vrrp(out: &mut String, spec: &LabSpec, index: usize) {
    let master = index == 0;
    let _ = write!(
        out,
        "\n# VRRP: {role}. Both directors run this instance with the same id;\n\
         # the higher priority holds the addresses below, the other takes them\n\
         # over when the adverts stop (a stopped keepalived says so at once with\n\
         # a priority-0 advert; a silent one is noticed after 3 adverts).\n\
         vrrp_instance {inst} {{\n    state {state}\n    interface {up}\n    \
         track_interface {{\n        {servers}\n    }}\n    virtual_router_id {id}\n    \
         priority {prio}\n    advert_int {advert}\n    virtual_ipaddress {{\n",
        role = if master { "director1 is MASTER" } else { "director2 is BACKUP" },
        inst = instance_name(spec),
        state = if master { "MASTER" } else { "BACKUP" },
        up = links::UPLINK,
        servers = ha::SERVERS_LINK,
        id = ha::VIRTUAL_ROUTER_ID,
        prio = ha::PRIORITIES[index],
        advert = ha::ADVERT_INT_S,
    );
    let vips = std::iter::once(spec.director.vip).chain(spec.extra_vips());
    for vip in vips {
        let _ = writeln!(out, "        {vip}/{} dev {}", spec.client_prefix(), links::UPLINK);
    }
    let _ = writeln!(
        out,
        "        {}/{} dev {}",
        spec.director.dip,
        spec.servers_prefix(),
        ha::SERVERS_LINK
    );
    out.push_str("    }\n}\n");
}

/// What director2's file changes from director1's, for an HA export.
fn backup_note(out: &mut String, spec: &LabSpec) {
    let backup = HA_DIRECTORS[1];
    let _ = write!(
        out,
        "\n# This is {master}'s file (the MASTER). {backup}'s (the BACKUP) is the same\n\
         # with three changes:\n\
         #     router_id {rid}\n\
         #     state BACKUP\n\
         #     priority {prio}\n\
         # Interfaces are the lab's ({up}: client side, {servers}: servers' side);\n\
         # rename them to your directors'.\n",
        master = HA_DIRECTORS[0],
        rid = word(&format!("lvslab_{}_{backup}", spec.name)),
        prio = ha::PRIORITIES[1],
        up = links::UPLINK,
        servers = ha::SERVERS_LINK,
    );
}

fn vrrp(out: &mut String, spec: &LabSpec) {
    let mut addrs = vec![(spec.director.vip, spec.client_prefix(), links::UPLINK)];
    addrs.extend(spec.extra_vips().into_iter().map(|v| (v, spec.client_prefix(), links::UPLINK)));
    addrs.push((spec.director.dip, spec.servers_prefix(), links::BRIDGE));
    let _ = write!(
        out,
        "\n# VRRP: the director that is MASTER holds these addresses; a BACKUP\n\
         # (same block, state BACKUP, a lower priority) takes them over when the\n\
         # master's adverts stop. In NAT mode the DIP must move too: it is every\n\
         # real server's default gateway, so replies follow the new master.\n\
         # Interfaces are the lab's ({up}: client side, {br}: servers' side);\n\
         # rename them to your directors'.\n\
         vrrp_instance VI_{name} {{\n    state MASTER\n    interface {up}\n    \
         # Unique per VRRP group on the network segment (1-255).\n    virtual_router_id 51\n    \
         priority 100\n    advert_int 1\n    virtual_ipaddress {{\n",
        up = links::UPLINK,
        br = links::BRIDGE,
        name = word(&spec.name),
    );
    for (addr, prefix, dev) in addrs {
        let _ = writeln!(out, "        {addr}/{prefix} dev {dev}");
    }
    out.push_str("    }\n}\n");
}

fn service(out: &mut String, spec: &LabSpec, roles: &Roles<'_>, svc: &Service, checks: &Checks) {
    let _ = writeln!(out, "\n# {} ({} scheduler)", svc.label(), svc.scheduler);
    if !svc.members.iter().any(|m| roles.real_server(&m.name).is_some()) {
        // keepalived refuses the whole file's test (and ignores the block)
        // for a virtual server without a real server.
        out.push_str(
            "# No real server, so no block here: keepalived ignores (and its config\n\
             # test refuses) a virtual server without one. Add a real server to the\n\
             # lab and export again.\n",
        );
        return;
    }
    match svc.fwmark {
        Some(mark) => {
            let _ = writeln!(out, "virtual_server fwmark {mark} {{");
        }
        None => {
            let _ = writeln!(out, "virtual_server {} {} {{", svc.vip, svc.port);
        }
    }
    let _ = writeln!(
        out,
        "    # Check every real server each {} s; a check gets {} s to answer and is\n    \
         # retried {} time(s), {} s apart, before the server {}.\n    \
         delay_loop {}",
        checks.delay_loop,
        checks.connect_timeout,
        checks.retry,
        checks.delay_before_retry,
        match spec.failed_check {
            FailedCheck::Remove => "leaves the table",
            FailedCheck::WeightZero => "gets weight 0",
        },
        checks.delay_loop
    );
    if spec.failed_check == FailedCheck::WeightZero {
        let _ = writeln!(
            out,
            "    # A server whose check fails keeps its place with weight 0 (no new\n    \
             # connections; open ones finish) instead of leaving the table.\n    \
             inhibit_on_failure"
        );
    }
    let _ = writeln!(out, "    lb_algo {}", svc.scheduler);
    // keepalived reads a flag only after its scheduler's lb_algo.
    for flag in &svc.scheduler_flags {
        let _ = writeln!(out, "    {flag}");
    }
    // The virtual server's method is its first member's; a member with
    // another says so in its own block (`lvs_method`).
    let kind = svc.members.first().map_or(Forward::Nat, |m| m.forward);
    let _ = writeln!(out, "    lb_kind {}", lb_kind(kind));
    if svc.fwmark.is_none() {
        let _ = writeln!(out, "    protocol {}", protocol(svc.protocol));
    }
    if let Some(timeout) = svc.persistence {
        let _ = writeln!(out, "    # A client sticks to its real server for {timeout} s.");
        let _ = writeln!(out, "    persistence_timeout {timeout}");
        if let Some(mask) = svc.persistence_netmask {
            let _ = writeln!(out, "    persistence_granularity {mask}");
        }
    }
    let mut written = std::collections::HashSet::new();
    for member in &svc.members {
        let Some(rs) = roles.real_server(&member.name) else { continue };
        let _ = writeln!(out, "\n    # {}", comment_text(&member.name));
        // A firewall-mark service forwarded by DR or TUN leaves the packet's
        // port as it is: keepalived warns of (and clears) a port there.
        let port =
            if svc.fwmark.is_some() && member.forward != Forward::Nat { 0 } else { member.port };
        if !written.insert((rs.addr, port)) {
            // keepalived keeps one real server per address and port, and
            // warns of the second.
            let _ = writeln!(
                out,
                "    # (again, on port {}: the same real server {} {port} to keepalived)",
                member.port, rs.addr
            );
            continue;
        }
        let _ = writeln!(out, "    real_server {} {port} {{", rs.addr);
        if member.forward != kind {
            let _ = writeln!(out, "        lvs_method {}", lb_kind(member.forward));
        }
        if member.weight == 0 {
            let _ = writeln!(out, "        # Weight 0: drained, no new connections.");
        }
        let _ = writeln!(out, "        weight {}", member.weight);
        match health_check(svc, member) {
            HealthCheck::Http { port } => {
                let _ = write!(
                    out,
                    "        HTTP_GET {{\n            url {{\n                path {HEALTH_PATH}\n                \
                     status_code 200\n            }}\n            connect_port {port}\n            \
                     connect_timeout {}\n            retry {}\n            delay_before_retry {}\n        }}\n",
                    checks.connect_timeout, checks.retry, checks.delay_before_retry
                );
            }
            HealthCheck::None(why) => {
                let _ = writeln!(out, "        # No health check: {why}.");
            }
        }
        out.push_str("    }\n");
    }
    out.push_str("}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::presets;

    #[test]
    fn the_tutorial_has_its_service_weights_and_checks() {
        let spec = presets::load("tutorial").unwrap().spec;
        let text = to_keepalived(&spec, Purpose::Export, &["from labs/tutorial-nat.toml".into()]);
        assert!(text.starts_with("# from labs/tutorial-nat.toml\n"), "{text}");
        assert!(text.contains("virtual_server 192.0.2.1 80 {"), "{text}");
        assert!(text.contains("    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n"), "{text}");
        assert!(text.contains("real_server 198.51.100.11 80 {\n        weight 3\n"), "{text}");
        assert!(text.contains("real_server 198.51.100.12 80 {\n        weight 2\n"), "{text}");
        assert!(text.contains("path /health"), "{text}");
        assert!(text.contains("192.0.2.1/24 dev eth0"), "{text}");
        assert!(text.contains("198.51.100.1/24 dev br0"), "{text}");
        let lab = to_keepalived(&spec, Purpose::Lab, &[]);
        assert!(!lab.contains("vrrp_instance"), "{lab}");
        assert!(lab.contains("delay_loop 1\n"), "{lab}");
    }

    #[test]
    fn weight_0_on_failure_is_keepalived_inhibit_on_failure() {
        let mut spec = presets::load("tutorial").unwrap().spec;
        let plain = to_keepalived(&spec, Purpose::Lab, &[]);
        assert!(!plain.contains("inhibit_on_failure"), "{plain}");
        spec.failed_check = FailedCheck::WeightZero;
        for purpose in [Purpose::Lab, Purpose::Export] {
            let text = to_keepalived(&spec, purpose, &[]);
            let block = text.split("virtual_server 192.0.2.1 80 {").nth(1).expect("the service");
            assert!(block.contains("\n    inhibit_on_failure\n"), "{text}");
            assert!(text.contains("before the server gets weight 0"), "{text}");
        }
    }

    #[test]
    fn free_text_stays_in_its_comment() {
        let mut spec = presets::load("tutorial").unwrap().spec;
        spec.description = "evil\n}\nvirtual_server 1.2.3.4 1 { \\".into();
        let text = to_keepalived(&spec, Purpose::Lab, &["ends in \\".into()]);
        for line in text.lines() {
            let code = line.trim_start();
            assert!(!code.ends_with('\\'), "continuation: {line}");
            if code.contains("1.2.3.4") {
                assert!(code.starts_with('#'), "{line}");
            }
        }
        assert_eq!(word("a b{#!\"\n"), "a_b_____");
    }

    #[test]
    fn fwmark_udp_persistence_and_drained_members() {
        let mut spec = presets::load("tutorial").unwrap().spec;
        spec.services[0].members[1].weight = 0;
        let mut fwm = spec.services[0].clone();
        fwm.fwmark = Some(42);
        fwm.port = 0;
        fwm.persistence = Some(300);
        fwm.persistence_netmask = Some("255.255.255.0".parse().unwrap());
        for m in &mut fwm.members {
            m.port = 0;
        }
        let mut udp = spec.services[0].clone();
        udp.protocol = Protocol::Udp;
        udp.port = 53;
        spec.services.push(fwm);
        spec.services.push(udp);
        let text = to_keepalived(&spec, Purpose::Export, &[]);
        assert!(text.contains("virtual_server fwmark 42 {"), "{text}");
        assert!(
            text.contains("persistence_timeout 300\n    persistence_granularity 255.255.255.0")
        );
        assert!(text.contains("real_server 198.51.100.11 0 {"), "{text}");
        assert!(text.contains("protocol UDP"), "{text}");
        assert_eq!(text.matches("HTTP_GET").count(), 2, "{text}");
        assert!(text.contains("        weight 0\n"), "{text}");
    }

    /// An HA lab exports director1's file: its VRRP instance on eth0 and
    /// eth1 (not the one-director lab's br0), its priority, the sync
    /// daemon, and what director2's file changes.
    #[test]
    fn an_ha_lab_exports_the_masters_file_and_says_what_the_backups_changes() {
        let mut spec = presets::load("ha").unwrap().spec;
        let text = to_keepalived(&spec, Purpose::Export, &[]);
        assert!(text.contains("router_id lvslab_ha_director1\n"), "{text}");
        assert!(text.contains("lvs_sync_daemon eth1 VI_ha id 51\n"), "{text}");
        assert!(text.contains("    state MASTER\n    interface eth0\n"), "{text}");
        assert!(text.contains("    priority 150\n"), "{text}");
        assert!(text.contains("        192.0.2.1/24 dev eth0\n"), "{text}");
        assert!(text.contains("        198.51.100.1/24 dev eth1\n"), "{text}");
        assert!(!text.contains("br0"), "{text}");
        for change in ["router_id lvslab_ha_director2", "state BACKUP", "priority 100"] {
            assert!(text.contains(&format!("#     {change}\n")), "{change}: {text}");
        }
        assert!(text.contains("delay_loop 6\n"), "production check intervals: {text}");
        spec.ha.as_mut().unwrap().sync = false;
        let text = to_keepalived(&spec, Purpose::Export, &[]);
        assert!(!text.contains("lvs_sync_daemon"), "{text}");
    }

    #[test]
    fn the_lab_notices_a_dead_server_within_three_check_intervals() {
        assert!(Checks::LAB.refused_within_s() <= 3 * Checks::LAB.delay_loop);
        assert!(Checks::PRODUCTION.hung_within_s() > Checks::PRODUCTION.refused_within_s());
    }
}
