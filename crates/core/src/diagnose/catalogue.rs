//! The catalogue: every pitfall `diagnose` knows, as data, in one place.
//! The checks build their findings from these entries, `diagnose --list`
//! prints them, and docs/diagnose.md's catalogue is generated from them
//! (a test fails when the two drift). Sysctl defaults and meanings are not
//! repeated here: they live in [`crate::lab::sysctl`].

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is broken (exit status 0).
    Info,
    /// Works today, breaks on a day something else happens (exit status 1).
    Warning,
    /// Broken now: traffic is lost or bypasses the director (exit status 1).
    Error,
}

impl Severity {
    /// Its name, as printed.
    pub fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// What a check needs to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reach {
    /// The director alone: runs in a lab and with `--host`.
    Director,
    /// The real servers too: a lab only (`--host` says it cannot run).
    RealServers,
    /// A keepalived.conf: a lab under keepalived, or `--keepalived FILE`.
    Keepalived,
    /// What only `--host` reports: what it did not or could not look at.
    Host,
}

impl Reach {
    /// As the catalogue shows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Director => "lab, --host",
            Self::RealServers => "lab",
            Self::Keepalived => "lab, --keepalived",
            Self::Host => "--host",
        }
    }
}

/// One pitfall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Stable id (`dr-arp-ignore`), for scripts and `--json`.
    pub id: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// What it needs to see.
    pub reach: Reach,
    /// One line: what is wrong.
    pub title: &'static str,
    /// One paragraph: why it breaks things.
    pub why: &'static str,
    /// The fix, as commands (`NS` is the namespace or host it applies to).
    pub fix: &'static [&'static str],
    /// Where lvslab shows it live.
    pub see: Option<&'static str>,
}

/// `ip_vs` is not loaded where `--host` looked.
pub const IPVS_NOT_LOADED: Entry = Entry {
    id: "ipvs-not-loaded",
    severity: Severity::Info,
    reach: Reach::Host,
    title: "IPVS is not loaded here: the table checks did not run",
    why: "Asking the kernel for IPVS's netlink family loads the ip_vs module where it is not \
          loaded, which would change the machine being diagnosed; diagnose --host reads only, so \
          it looked at /proc/modules and /sys/module/ip_vs first and left IPVS alone.",
    fix: &["modprobe ip_vs   # only if this machine should balance with IPVS"],
    see: Some("lvslab doctor"),
};

/// `--host` cannot see the real servers.
pub const REAL_SERVERS_NOT_VISIBLE: Entry = Entry {
    id: "real-servers-not-visible",
    severity: Severity::Info,
    reach: Reach::Host,
    title: "the real servers' side cannot be checked from here",
    why: "The default gateway of NAT real servers, the VIP on a DR/TUN real server's loopback or \
          tunnel, its arp_ignore/arp_announce and rp_filter are settings of the real servers, \
          which one machine cannot read. Run these on each real server instead.",
    fix: &[
        "ip route show default            # NAT: via the director's DIP",
        "ip -4 addr show lo; ip -4 addr show tunl0   # DR/TUN: the VIP, /32",
        "sysctl net.ipv4.conf.all.arp_ignore net.ipv4.conf.all.arp_announce   # DR/TUN: 1 and 2",
        "sysctl net.ipv4.conf.all.rp_filter net.ipv4.conf.tunl0.rp_filter     # TUN: not 1",
    ],
    see: Some("lvslab tutorial --method dr"),
};

/// NAT without forwarding.
pub const NAT_FORWARDING_OFF: Entry = Entry {
    id: "nat-forwarding-off",
    severity: Severity::Error,
    reach: Reach::Director,
    title: "NAT destinations, but the director does not forward (net.ipv4.ip_forward=0)",
    why: "In LVS-NAT both directions cross the director: requests are rewritten to the real \
          server and sent on, replies come back through it to be rewritten to the VIP. Without \
          IP forwarding the kernel drops the replies (and, in nftables labs, the requests), so \
          clients time out although the table looks right.",
    fix: &["NS sysctl -w net.ipv4.ip_forward=1"],
    see: Some("lvslab tutorial"),
};

/// A NAT real server's replies bypass the director.
pub const NAT_GATEWAY_NOT_DIP: Entry = Entry {
    id: "nat-gateway-not-dip",
    severity: Severity::Error,
    reach: Reach::RealServers,
    title: "a NAT real server's default gateway is not the director's DIP",
    why: "A NAT real server answers the client's own address; the reply must go back through \
          the director, which rewrites its source from the real server to the VIP. A reply \
          that leaves by another gateway reaches the client from an address it never called \
          (or nowhere), and the client drops it.",
    fix: &["NS ip route replace default via DIP"],
    see: Some("lvslab tutorial"),
};

/// A DR real server without the VIP.
pub const DR_VIP_MISSING: Entry = Entry {
    id: "dr-vip-missing",
    severity: Severity::Error,
    reach: Reach::RealServers,
    title: "a DR real server does not hold the VIP on lo (or another non-ARP device)",
    why: "Direct routing hands the client's packet on unchanged, to the real server's MAC: its \
          destination is still the VIP. A real server that does not hold the VIP drops it (or \
          forwards it back), so the director's connections are never answered.",
    fix: &["NS ip addr add VIP/32 dev lo"],
    see: Some("lvslab tutorial --method dr"),
};

/// The ARP problem.
pub const DR_ARP_IGNORE: Entry = Entry {
    id: "dr-arp-ignore",
    severity: Severity::Error,
    reach: Reach::RealServers,
    title: "a real server holds the VIP but answers ARP for it (arp_ignore < 1 or arp_announce < 2)",
    why: "The ARP problem: every DR/TUN real server on the director's segment holds the VIP. \
          With the kernel's defaults (arp_ignore=0, arp_announce=0) it answers the router's \
          \"who has VIP?\" from any interface and announces the VIP in its own requests, so the \
          router may send the clients to that real server, bypassing the director: no \
          balancing, and a failover that moves nothing. The kernel applies the larger of \
          `all` and the interface's value.",
    fix: &[
        "NS sysctl -w net.ipv4.conf.all.arp_ignore=1",
        "NS sysctl -w net.ipv4.conf.all.arp_announce=2",
    ],
    see: Some("lvslab tutorial --method dr"),
};

/// DR/TUN without conn_reuse_mode bit 2.
pub const CONN_REUSE_MODE: Entry = Entry {
    id: "conn-reuse-mode",
    severity: Severity::Warning,
    reach: Reach::Director,
    title: "DR/TUN destinations with conn_reuse_mode lacking bit 2 (value 2)",
    why: "A DR/TUN director sees only the client's half of each connection, so its entries \
          stay in FIN_WAIT, never TIME_WAIT. Without bit 2 a SYN from a reused client port \
          finds that old entry and goes to the old server, whatever the weights now say: in \
          lvslab's VM, 23 of 1,000 reused ports went back, a wrr 3:2 split of 596/404 instead \
          of 600/400, and a drained server keeps getting new connections.",
    fix: &["NS sysctl -w net.ipv4.vs.conn_reuse_mode=3"],
    see: Some("lvslab up dr"),
};

/// TUN with a strict reverse-path filter.
pub const TUN_RP_FILTER: Entry = Entry {
    id: "tun-rp-filter",
    severity: Severity::Error,
    reach: Reach::RealServers,
    title: "a TUN real server filters tunl0 strictly (rp_filter=1 on tunl0 or all)",
    why: "tunl0 unwraps requests whose source is the client, but the route back to the client \
          leaves by another interface: a strict reverse-path filter (1; the kernel uses the \
          larger of `all` and tunl0's) drops every unwrapped request, silently, and the client \
          times out. The kernel counts them in IPReversePathFilter (nstat).",
    fix: &[
        "NS sysctl -w net.ipv4.conf.tunl0.rp_filter=0",
        "NS sysctl -w net.ipv4.conf.all.rp_filter=0",
    ],
    see: Some("lvslab tutorial --method tun"),
};

/// TUN without the tunnel device (or the VIP on it).
pub const TUN_DEVICE_MISSING: Entry = Entry {
    id: "tun-device-missing",
    severity: Severity::Error,
    reach: Reach::RealServers,
    title: "a TUN real server has no up tunl0 holding the VIP",
    why: "LVS-TUN wraps the client's packet in IP-in-IP to the real server; only an ipip \
          device (tunl0 appears in every namespace once the ipip module is loaded) unwraps it, \
          and the inner packet is for the VIP, which the server must hold. Without them the \
          kernel answers the tunnelled packets with ICMP protocol unreachable or drops them.",
    fix: &["modprobe ipip", "NS ip addr add VIP/32 dev tunl0", "NS ip link set tunl0 up"],
    see: Some("lvslab tutorial --method tun"),
};

/// A service that cannot schedule.
pub const SERVICE_NO_DESTINATION: Entry = Entry {
    id: "service-no-destination",
    severity: Severity::Error,
    reach: Reach::Director,
    title: "a service has no destination, or every destination at weight 0",
    why: "IPVS schedules a new connection only to a destination of weight above 0. With none, \
          each SYN to the service is dropped (or, with cache_bypass, sent on to the VIP itself), \
          so new clients time out while the service still exists and accepts packets.",
    fix: &["ipvsadm -a -t VIP:PORT -r RIP:PORT -w 1   # or: ipvsadm -e ... -w 1"],
    see: Some("lvslab tutorial"),
};

/// A quiesced destination still carrying persistence templates.
pub const QUIESCENT_TEMPLATE: Entry = Entry {
    id: "quiescent-template",
    severity: Severity::Warning,
    reach: Reach::Director,
    title: "a weight-0 destination still holds persistence templates (expire_quiescent_template=0)",
    why: "Setting a weight to 0 is meant to drain a server. In a persistent service each \
          client's template keeps sending its new connections to the server it had, and each \
          connection restarts the template's timer: with expire_quiescent_template=0 a busy \
          client never leaves the drained server, and the drain never ends.",
    fix: &["NS sysctl -w net.ipv4.vs.expire_quiescent_template=1"],
    see: Some("lvslab sysctl LAB"),
};

/// Removed destinations with hanging connections.
pub const NODEST_CONN: Entry = Entry {
    id: "nodest-conn",
    severity: Severity::Warning,
    reach: Reach::Keepalived,
    title: "health checks remove destinations while expire_nodest_conn=0",
    why: "When keepalived removes a failed real server, its connections stay in the table \
          pointing nowhere: with expire_nodest_conn=0 their packets are dropped silently (no \
          reset) until the entry times out (900 s for an established TCP connection by \
          default), so clients hang instead of reconnecting to a live server.",
    fix: &["NS sysctl -w net.ipv4.vs.expire_nodest_conn=1"],
    see: Some("lvslab up tutorial --control keepalived"),
};

/// How long a dead server stays in the table.
pub const REMOVAL_TIME: Entry = Entry {
    id: "keepalived-removal-time",
    severity: Severity::Info,
    reach: Reach::Keepalived,
    title: "the time a dead real server stays in the table, from the health check's timing",
    why: "keepalived checks each real server every delay_loop seconds; a failed check is tried \
          again retry (nb_get_retry) times, delay_before_retry apart, each try waiting up to \
          connect_timeout. A server that dies just after a passed check stays in the table, \
          still scheduled, for up to delay_loop + connect_timeout + retry x (delay_before_retry \
          + connect_timeout); with keepalived's defaults (60 s, 5 s, 1, 3 s for HTTP_GET) that \
          is 73 s.",
    fix: &["lower delay_loop (and connect_timeout) in the virtual_server: delay_loop 2"],
    see: Some("lvslab up tutorial --control keepalived"),
};

/// Two VRRP instances with one router id on one interface.
pub const VRRP_ID_CLASH: Entry = Entry {
    id: "vrrp-id-clash",
    severity: Severity::Error,
    reach: Reach::Keepalived,
    title: "two VRRP instances of one configuration share a virtual_router_id on one interface",
    why: "A VRRP router is known on its link by its virtual_router_id (its MAC is \
          00:00:5e:00:01:VRID). Two instances with one id on one interface read each other's \
          adverts as their own group's: they fight over the master role, keepalived logs \
          adverts with the wrong addresses, and the VIPs flap.",
    fix: &["give each vrrp_instance on an interface its own virtual_router_id (1-255)"],
    see: Some("lvslab up ha"),
};

/// Two MASTERs of equal priority.
pub const VRRP_EQUAL_MASTERS: Entry = Entry {
    id: "vrrp-equal-masters",
    severity: Severity::Warning,
    reach: Reach::Keepalived,
    title: "two MASTERs of one VRRP group have the same priority",
    why: "Two instances of one group both start as MASTER with equal priority: VRRP then \
          breaks the tie by the higher primary IP address, so which director holds the VIP \
          depends on addressing, not on the configuration, and each restart of either makes \
          the VIP move (and the connections not synced go with it).",
    fix: &["state BACKUP and a lower priority on the standby director (e.g. 150 and 100)"],
    see: Some("lvslab up ha"),
};

/// nopreempt that cannot work.
pub const VRRP_NOPREEMPT_MASTER: Entry = Entry {
    id: "vrrp-nopreempt-master",
    severity: Severity::Warning,
    reach: Reach::Keepalived,
    title: "nopreempt with state MASTER (keepalived ignores nopreempt then)",
    why: "nopreempt keeps a recovered higher-priority director from taking the VIP back, \
          which avoids a second failover; keepalived honours it only when the instance starts \
          as BACKUP (keepalived.conf(5): \"the initial state must not be MASTER\"). With state \
          MASTER the recovered director preempts anyway.",
    fix: &["state BACKUP on every instance that has nopreempt"],
    see: Some("lvslab up ha"),
};

/// Every entry, in the order they are listed and documented.
pub const CATALOGUE: &[&Entry] = &[
    &NAT_FORWARDING_OFF,
    &NAT_GATEWAY_NOT_DIP,
    &DR_VIP_MISSING,
    &DR_ARP_IGNORE,
    &CONN_REUSE_MODE,
    &TUN_RP_FILTER,
    &TUN_DEVICE_MISSING,
    &SERVICE_NO_DESTINATION,
    &QUIESCENT_TEMPLATE,
    &NODEST_CONN,
    &REMOVAL_TIME,
    &VRRP_ID_CLASH,
    &VRRP_EQUAL_MASTERS,
    &VRRP_NOPREEMPT_MASTER,
    &IPVS_NOT_LOADED,
    &REAL_SERVERS_NOT_VISIBLE,
];

/// The entry of `id`.
pub fn entry(id: &str) -> Option<&'static Entry> {
    CATALOGUE.iter().copied().find(|e| e.id == id)
}

/// The catalogue as docs/diagnose.md holds it: a table, one line per
/// check, then each check's why and fix.
pub fn markdown() -> String {
    let mut out =
        String::from("| id | severity | runs in | what it finds | see |\n|---|---|---|---|---|\n");
    for e in CATALOGUE {
        let see = e.see.map_or(String::new(), |s| format!("`{s}`"));
        out.push_str(&format!(
            "| [`{}`](#{}) | {} | {} | {} | {see} |\n",
            e.id,
            e.id,
            e.severity.name(),
            e.reach.name(),
            e.title.replace('|', "\\|"),
        ));
    }
    for e in CATALOGUE {
        out.push_str(&format!("\n### {}\n\n{}\n\nFix:\n\n```sh\n", e.id, e.why));
        for line in e.fix {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("```\n");
    }
    out
}

/// The catalogue as `diagnose --list` prints it.
pub fn listing() -> String {
    let width = CATALOGUE.iter().map(|e| e.id.len()).max().unwrap_or(0);
    let mut out = String::new();
    for e in CATALOGUE {
        out.push_str(&format!(
            "{:width$}  {:7}  {:17}  {}\n",
            e.id,
            e.severity.name(),
            e.reach.name(),
            e.title
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_kebab_case_and_every_entry_is_complete() {
        for e in CATALOGUE {
            assert_eq!(CATALOGUE.iter().filter(|f| f.id == e.id).count(), 1, "{}", e.id);
            assert!(e.id.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{}", e.id);
            assert!(!e.title.is_empty() && e.why.len() > 80 && !e.fix.is_empty(), "{}", e.id);
            assert!(e.see.is_none_or(|s| s.starts_with("lvslab ")), "{}", e.id);
            assert_eq!(entry(e.id), Some(*e));
        }
    }

    /// docs/diagnose.md's catalogue is this module's data: regenerate it
    /// with `LVSLAB_BLESS=1 cargo test -p lvslab-core diagnose` after a change.
    #[test]
    fn the_documented_catalogue_is_generated_from_this_data() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/diagnose.md");
        let doc = std::fs::read_to_string(path).expect("docs/diagnose.md");
        let (start, end) = ("<!-- catalogue: begin -->\n", "<!-- catalogue: end -->");
        let a = doc.find(start).expect("begin marker") + start.len();
        let b = doc.find(end).expect("end marker");
        let fresh = markdown();
        if doc[a..b] != fresh && std::env::var_os("LVSLAB_BLESS").is_some() {
            std::fs::write(path, format!("{}{fresh}{}", &doc[..a], &doc[b..])).unwrap();
            return;
        }
        assert!(
            doc[a..b] == fresh,
            "docs/diagnose.md drifted from the catalogue: run \
                 LVSLAB_BLESS=1 cargo test -p lvslab-core diagnose"
        );
    }
}
