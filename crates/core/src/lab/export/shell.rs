//! A lab as a bash script a person can read, run and undo: the tutorial's
//! commands, generalised to any preset. The topology comes from the same
//! [`Plan`](crate::lab::plan::Plan) `lvslab up` executes, the IPVS lines from the same spec, so the
//! script builds what lvslab builds, with the same namespace names.
//!
//! The script refuses to start when any of its namespaces exists (a second
//! run, lvslab's own lab of that name, or a half-built first run): mixing
//! with what is there would half-succeed silently. `down` removes all of it.

mod narration;

use crate::lab::model::hosts;
use std::fmt::Write;

use crate::lab::export::keepalived::{Purpose, to_keepalived};
use crate::lab::model::{Forward, HA_DIRECTORS, LabSpec};
use crate::lab::table;
use crate::lab::text::{clip, shell_dq, shell_word};
use lvslab_ipvs::rules::{save, service_switch};
use std::collections::HashSet;

/// Bytes of free text (a name, the description) in one comment line.
pub(super) const MAX_COMMENT: usize = 400;

/// Where the script keeps the real servers' web roots and logs.
pub const SCRATCH_DIR: &str = "/run/lvslab-sh";

/// The script for `spec`, balanced by IPVS (`ipvsadm`).
pub fn to_shell(spec: &LabSpec) -> String {
    script(spec, None)
}

/// The script for `spec` balanced by nftables, as `--dataplane nft` runs
/// it: the director's ruleset written as it is applied (`nft -f`), the rest
/// as [`to_shell`]. Refused as `up --dataplane nft` refuses what nftables
/// cannot balance.
pub fn to_shell_nft(spec: &LabSpec) -> Result<String, String> {
    let ruleset = crate::lab::nftables::ruleset(spec)?.create();
    Ok(script(spec, Some(&ruleset)))
}

/// The script; `nft` is the director's ruleset when nftables balances.
fn script(spec: &LabSpec, nft: Option<&str>) -> String {
    let mut out = String::new();
    preamble(&mut out, spec, nft.is_some());
    out.push_str("up() {\n    preflight\n");
    narration::topology(&mut out, spec);
    if let Some(ruleset) = nft {
        nftables(&mut out, spec, ruleset);
        servers(&mut out, spec);
    } else if spec.ha.is_some() {
        // keepalived checks the real servers as soon as it starts: start
        // them first, so none begins the lab marked down.
        servers(&mut out, spec);
        keepalived(&mut out, spec);
    } else {
        ipvs(&mut out, spec);
        servers(&mut out, spec);
    }
    finish(&mut out, spec, nft.is_some());
    out.push_str("}\n\n");
    out.push_str(
        "case \"${1:-up}\" in\n    up) up ;;\n    down) down ;;\n    \
         *) echo \"usage: $0 [up|down]\" >&2; exit 2 ;;\nesac\n",
    );
    out
}

fn preamble(out: &mut String, spec: &LabSpec, nft: bool) {
    let namespaces: Vec<String> =
        spec.hosts().map(|(h, _)| shell_word(&spec.netns(h)).into_owned()).collect();
    let _ = write!(
        out,
        r#"#!/usr/bin/env bash
# The lvslab lab '{shown_name}' as plain commands: {description}
#
# Run it as root where {needs} are installed:
#     bash THIS_FILE          build the lab
#     bash THIS_FILE down     remove everything it made
# It builds the same hosts `lvslab up` does (one network namespace each,
# named lvs-{shown_name}-<host>), so the two cannot run at the same time.

# Stop at the first failing command instead of building half a lab
# (-E: the ERR trap below also fires inside functions).
set -Eeuo pipefail

NAMESPACES=({namespaces})
SCRATCH={scratch}/{word_name}

die() {{ echo "$0: $*" >&2; exit 1; }}

# Stop what runs in each namespace (web servers; keepalived too with two directors),
# then delete the namespace: its links, addresses, routes and IPVS table go with it.
down() {{
    for ns in "${{NAMESPACES[@]}}"; do
        if [ -e "/run/netns/$ns" ]; then
            ip netns pids "$ns" | xargs -r kill 2>/dev/null || true
            # Let them finish (keepalived first removes what it added), then insist.
            for _ in $(seq 50); do
                [ -z "$(ip netns pids "$ns")" ] && break
                sleep 0.1
            done
            ip netns pids "$ns" | xargs -r kill -9 2>/dev/null || true
            ip netns del "$ns"
            echo "removed $ns"
        fi
    done
    rm -rf "$SCRATCH"
}}

# Check everything before the first change, so a refusal changes nothing.
preflight() {{
    [ "$(id -u)" -eq 0 ] || die "run me as root (namespaces and {balancer} need it)"
    for tool in {tools}; do
        command -v "$tool" >/dev/null || die "'$tool' is missing; install it first"
    done
{probe}    for ns in "${{NAMESPACES[@]}}"; do
        [ ! -e "/run/netns/$ns" ] ||
            die "namespace $ns exists already (this script or lvslab built the lab before); remove it with: bash $0 down  (or lvslab down {dq_name})"
    done
    # From here on, a failure leaves a partial lab: say how to remove it.
    trap 'echo "$0: failed at line $LINENO; remove what was built with: bash $0 down" >&2' ERR
}}

"#,
        shown_name = clip(&spec.name, MAX_COMMENT),
        word_name = shell_word(&spec.name),
        dq_name = shell_dq(&spec.name),
        description = clip(&spec.description, MAX_COMMENT),
        namespaces = namespaces.join(" "),
        scratch = SCRATCH_DIR,
        balancer = if nft { "nftables" } else { "IPVS" },
        probe = if nft {
            ""
        } else {
            "    [ -e /proc/net/ip_vs ] || modprobe ip_vs 2>/dev/null ||\n        \
             die \"this kernel has no IPVS (CONFIG_IP_VS), so nothing could balance; nothing was changed\"\n"
        },
        needs = if nft {
            "iproute2, nftables and python3"
        } else if spec.ha.is_some() {
            "iproute2, ipvsadm, python3 and keepalived"
        } else {
            "iproute2, ipvsadm and python3"
        },
        tools = if nft {
            "ip nft python3 sysctl setsid"
        } else if spec.ha.is_some() {
            "ip ipvsadm python3 sysctl setsid keepalived"
        } else {
            "ip ipvsadm python3 sysctl setsid"
        },
    );
}

fn ipvs(out: &mut String, spec: &LabSpec) {
    let roles = spec.roles();
    let director = shell_word(&spec.netns(hosts::DIRECTOR)).into_owned();
    out.push_str(
        "\n    # 4. The load balancer. IPVS tables belong to a namespace, so ipvsadm\n    \
         # runs inside the director: -A adds a virtual service with its scheduler,\n    \
         # -a adds a real server to it; -m is masquerading (LVS-NAT), -w the weight.\n",
    );
    if spec.has_direct_reply() {
        out.push_str(
            "    # -g is direct routing (LVS-DR) and -i IP tunnelling (LVS-TUN): the real\n    \
             # servers hold the VIP themselves and answer the client through the router.\n",
        );
    }
    for svc in &spec.services {
        if svc.fwmark.is_some() {
            let _ = writeln!(
                out,
                "    # {}: IPVS only sees packets netfilter marked; nothing here marks any.",
                svc.label()
            );
        }
        // The -A line exactly as `ipvsadm -Sn` writes it (persistence, -M).
        let add = save(&[(table::service(svc), Vec::new())]);
        let words: Vec<_> = add.trim_end().split(' ').map(shell_word).collect();
        let _ = writeln!(out, "    ip netns exec {director} ipvsadm {}", words.join(" "));
        let switch = service_switch(&table::key(svc));
        for m in &svc.members {
            let Some(rs) = roles.real_server(&m.name) else { continue };
            let _ = writeln!(
                out,
                "    ip netns exec {director} ipvsadm -a {switch} -r {}:{} {} -w {}",
                rs.addr,
                m.port,
                m.forward.ipvsadm_switch(),
                m.weight
            );
        }
    }
}

/// The director's nftables table, as `lvslab up --dataplane nft` applies it.
fn nftables(out: &mut String, spec: &LabSpec, ruleset: &str) {
    let director = shell_word(&spec.netns(hosts::DIRECTOR)).into_owned();
    out.push_str(
        "\n    # 4. The load balancer: nftables DNAT, as kube-proxy's nftables mode builds\n    \
         # it. numgen (rr, wrr) or jhash (sh, dh) picks a slot of a verdict map, each\n    \
         # real server's chain DNATs to it; conntrack keeps a connection on its server.\n    \
         # One `nft -f` transaction in the director's namespace: all of it, or none.\n    \
         mkdir -p \"$SCRATCH\"\n",
    );
    heredoc(out, "$SCRATCH/director.nft", ruleset);
    let _ = writeln!(out, "    ip netns exec {director} nft -f \"$SCRATCH/director.nft\"");
}

/// Two directors: keepalived in each, from the same files `lvslab up` writes.
fn keepalived(out: &mut String, spec: &LabSpec) {
    out.push_str(
        "\n    # 5. The load balancers: keepalived in each director programs its IPVS\n    \
         # table from virtual_server blocks, checks every real server (GET /health)\n    \
         # and runs VRRP with the other director: the MASTER, the higher priority,\n    \
         # holds the VIP and the DIP; when its adverts stop, the BACKUP takes them.\n",
    );
    for (index, host) in HA_DIRECTORS.into_iter().enumerate() {
        let conf = to_keepalived(
            spec,
            Purpose::Ha { director: index, balance: true },
            &[format!(
                "{host} of the lab, written by the script `lvslab export --format shell` made"
            )],
        );
        let file = format!("$SCRATCH/{host}-keepalived");
        let ns = shell_word(&spec.netns(host)).into_owned();
        heredoc(out, &format!("{file}.conf"), &conf);
        let _ = writeln!(
            out,
            "    setsid ip netns exec {ns} keepalived --dont-fork --log-console --no-syslog \\\n        \
             --use-file \"{file}.conf\" --pid \"{file}.pid\" --checkers_pid \"{file}-checkers.pid\" \\\n        \
             --vrrp_pid \"{file}-vrrp.pid\" --bfd_pid \"{file}-bfd.pid\" \\\n        \
             >\"{file}.log\" 2>&1 </dev/null &"
        );
    }
    let vip = spec.director.vip;
    let holds = |host: &str| {
        format!(
            "ip netns exec {} ip -4 -o addr show | grep -qF ' {vip}/'",
            shell_word(&spec.netns(host))
        )
    };
    let _ = writeln!(
        out,
        "    # VRRP elects the MASTER within a few adverts (a second each).\n    \
         for _ in $(seq 60); do\n        \
         {{ {} || {}; }} && break\n        \
         sleep 0.5\n    \
         done\n    \
         {{ {} || {}; }} || die \"no director took the VIP {vip} (VRRP); see $SCRATCH/director1-keepalived.log\"",
        holds(HA_DIRECTORS[0]),
        holds(HA_DIRECTORS[1]),
        holds(HA_DIRECTORS[0]),
        holds(HA_DIRECTORS[1]),
    );
}

/// Ends the here-documents holding keepalived's files. No line the
/// keepalived writer makes is this (each is a keyword, a brace or a `#`
/// comment), and [`heredoc`] makes sure of it whatever the content.
const HEREDOC_END: &str = "LVSLAB_KEEPALIVED_CONF";

/// `cat >TARGET <<'END'`, `content`, `END`: the file written as it stands
/// (a quoted delimiter: nothing in it is expanded). A line of `content`
/// equal to the delimiter would end the document early and run the rest as
/// commands, so the delimiter is one no line of it is: [`HEREDOC_END`],
/// else with a number added.
fn heredoc(out: &mut String, target: &str, content: &str) {
    let taken: HashSet<&str> = content.lines().collect();
    let end = std::iter::once(HEREDOC_END.to_string())
        .chain((1..).map(|n| format!("{HEREDOC_END}_{n}")))
        .find(|end| !taken.contains(end.as_str()))
        .expect("some delimiter is free: the content has finitely many lines");
    let newline = if content.ends_with('\n') || content.is_empty() { "" } else { "\n" };
    let _ = write!(out, "    cat >\"{target}\" <<'{end}'\n{content}{newline}{end}\n");
}

fn servers(out: &mut String, spec: &LabSpec) {
    // Fourth where keepalived programs IPVS after them (two directors).
    let step = if spec.ha.is_some() { 4 } else { 5 };
    let _ = write!(
        out,
        "\n    # {step}. A web server on each real server that answers with the server's name,\n    \
         # so every answer shows where IPVS sent the connection. python3's http.server\n    \
         # is on almost every machine; it serves a file holding the name. (lvslab runs\n    \
         # its own server instead, `lvslab serve`, which also sets X-Real-Server.)\n    \
         # UDP and fwmark-only ports get no server: http.server speaks TCP on one port.\n",
    );
    let roles = spec.roles();
    for rs in &spec.real_servers {
        let host = rs.name.as_str();
        let ns = shell_word(&spec.netns(host)).into_owned();
        let (word, host) = (shell_word(host), shell_dq(host));
        let _ = writeln!(out, "    mkdir -p \"$SCRATCH/{host}\"");
        let _ = writeln!(out, "    echo {word} > \"$SCRATCH/{host}/index.html\"");
        if spec.ha.is_some() {
            // keepalived's check: GET /health must answer 200.
            let _ = writeln!(out, "    echo ok > \"$SCRATCH/{host}/health\"");
        }
        // A DR/TUN real server also answers on the VIPs it holds: any address.
        let holds_vip = [Forward::Dr, Forward::Tun]
            .into_iter()
            .any(|f| !roles.vips_held_by(&rs.name, f).is_empty());
        let bind = if holds_vip { "0.0.0.0".to_string() } else { rs.addr.to_string() };
        for &port in roles.listen_ports(&rs.name) {
            let _ = writeln!(
                out,
                "    setsid ip netns exec {ns} python3 -m http.server {port} --bind {bind} \
                 --directory \"$SCRATCH/{host}\" >\"$SCRATCH/{host}-{port}.log\" 2>&1 </dev/null &",
            );
        }
    }
    // Poll gently: each try forks, and on a slow machine the forks would
    // steal the CPU python needs to start.
    out.push_str("    # Wait until each one accepts connections (python takes a moment).\n");
    for rs in &spec.real_servers {
        for &port in roles.listen_ports(&rs.name) {
            let _ = writeln!(
                out,
                "    ip netns exec {} bash -c 'for _ in $(seq 120); do (exec 3<>/dev/tcp/{}/{port}) 2>/dev/null && exit 0; sleep 0.5; done; exit 1' ||\n        \
                 die \"the web server of {} (port {port}) did not start; see $SCRATCH/{}-{port}.log\"",
                shell_word(&spec.netns(spec.directors()[0])),
                rs.addr,
                shell_dq(&rs.name),
                shell_dq(&rs.name)
            );
        }
    }
}

fn finish(out: &mut String, spec: &LabSpec, nft: bool) {
    let client = shell_dq(&spec.netns(hosts::CLIENT)).into_owned();
    let _ =
        writeln!(out, "\n    trap - ERR\n    echo \"lab '{}' is up. Try:\"", shell_dq(&spec.name));
    if let Some(svc) = spec.services.iter().find(|s| s.addressable()) {
        let _ = writeln!(
            out,
            "    echo \"  ip netns exec {client} curl http://{}:{}/\"",
            svc.vip, svc.port
        );
    }
    let show = if nft { "nft list table ip lvslab" } else { "ipvsadm -Ln" };
    for director in spec.directors() {
        let _ = writeln!(
            out,
            "    echo \"  ip netns exec {} {show}\"",
            shell_dq(&spec.netns(director))
        );
    }
    let _ = writeln!(out, "    echo \"remove it with: bash $0 down\"");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::presets;

    #[test]
    fn the_tutorial_as_a_script() {
        let spec = presets::load("tutorial").unwrap().spec;
        insta::assert_snapshot!(to_shell(&spec));
    }

    /// Every exported script of every built-in preset is clean by
    /// shellcheck's standard (warnings and errors). shellcheck is installed
    /// by tests/vm/setup, which the README's test command runs first.
    #[test]
    fn every_preset_script_passes_shellcheck() {
        let dir = tempfile::tempdir().unwrap();
        let nft = presets::embedded().into_iter().filter_map(|p| {
            let script = to_shell_nft(&p.spec).ok()?;
            Some((format!("{}-nft", p.spec.name), p.origin.clone(), script))
        });
        let ipvs = presets::embedded()
            .into_iter()
            .map(|p| (p.spec.name.to_string(), p.origin.clone(), to_shell(&p.spec)));
        for (name, origin, script) in ipvs.collect::<Vec<_>>().into_iter().chain(nft) {
            let path = dir.path().join(format!("{name}.sh"));
            std::fs::write(&path, script).unwrap();
            let out = std::process::Command::new("shellcheck")
                .args(["-S", "warning", "-s", "bash"])
                .arg(&path)
                .output()
                .expect("shellcheck runs (tests/vm/setup installs it)");
            assert!(out.status.success(), "{origin}: {}", String::from_utf8_lossy(&out.stdout));
        }
    }

    #[test]
    fn the_tutorial_on_nftables_applies_the_ruleset_up_applies_and_no_ipvsadm() {
        let spec = presets::load("tutorial").unwrap().spec;
        let script = to_shell_nft(&spec).unwrap();
        let ruleset = crate::lab::nftables::ruleset(&spec).unwrap().create();
        assert!(script.contains(&ruleset), "the table as `up --dataplane nft` applies it");
        assert!(script.contains("nft -f \"$SCRATCH/director.nft\""), "{script}");
        assert!(!script.contains("ipvsadm") && !script.contains("ip_vs"), "{script}");
        assert!(script.contains("for tool in ip nft python3"), "{script}");
        let wlc = presets::load("tutorial").unwrap().spec;
        let mut wlc = wlc;
        wlc.services[0].scheduler = crate::lab::schedulers::Scheduler::Wlc;
        assert!(to_shell_nft(&wlc).is_err(), "what nftables cannot balance is refused");
    }

    /// A spec whose strings bypassed the validator (a hand-edited record)
    /// still gives a script in which they are data, never commands: bash
    /// runs the script's `down` with the hostile names and nothing they
    /// hold is executed.
    #[test]
    fn hostile_strings_in_a_spec_stay_inert_in_the_script() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("INJECTED");
        let m = marker.display();
        let mut spec = presets::load("tutorial").unwrap().spec;
        spec.description = format!("x\ntouch {m}\n\r\u{1b}[2J");
        // (A lab's name is a LabName, and no hostile text is one.)
        let hostile_name = format!("x'; touch {m}; echo '$(touch {m})`touch {m}`\ntouch {m}");
        assert!(crate::lab::model::LabName::new(&hostile_name).is_err());
        spec.real_servers[0].name = format!("rs\"$(touch {m})\"\ntouch {m}");
        spec.services[0].members[0].name = spec.real_servers[0].name.clone();
        // (A scheduler is a Scheduler: no text reaches the script through it.)
        let script = to_shell(&spec);
        // No line of the script starts a command with the hostile text.
        for line in script.lines() {
            assert!(!line.trim_start().starts_with("touch"), "{line}\n{script}");
        }
        let bash_n = std::process::Command::new("bash").args(["-n", "-c", &script]).status();
        assert!(bash_n.unwrap().success(), "{script}");
        // `down` (as a non-existent lab) runs through every namespace name
        // and the scratch path; with PATH emptied of `ip`, only bash runs.
        let path = dir.path().join("lab.sh");
        std::fs::write(&path, &script).unwrap();
        let out = std::process::Command::new("bash")
            .arg(&path)
            .arg("down")
            .env("PATH", "/usr/bin:/bin")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(!marker.exists(), "a hostile string ran as a command:\n{script}");
        // The description is one comment line, its control characters shown.
        let first = script.lines().nth(1).unwrap();
        assert!(first.starts_with("# The lvslab lab") && first.contains("\\ntouch"), "{first}");
        assert!(!script.contains('\u{1b}') && !script.contains('\r'), "{script}");
    }

    /// A content line equal to the delimiter would end the document and
    /// run what follows as commands: the delimiter is then another, and
    /// bash writes the content back exactly.
    #[test]
    fn no_content_line_ends_a_here_document_early() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("INJECTED");
        let target = dir.path().join("out.conf");
        let content = format!(
            "# first\n{HEREDOC_END}\ntouch {m}\n{HEREDOC_END}_1\ntouch {m}\nlast\n",
            m = marker.display()
        );
        let mut script = String::new();
        heredoc(&mut script, &target.display().to_string(), &content);
        assert!(script.contains(&format!("<<'{HEREDOC_END}_2'")), "{script}");
        let out = std::process::Command::new("bash").args(["-c", &script]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(!marker.exists(), "a content line ran as a command:\n{script}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), content);
    }

    #[test]
    fn every_preset_gives_a_script_bash_can_parse() {
        for preset in presets::embedded() {
            let script = to_shell(&preset.spec);
            let status = std::process::Command::new("bash")
                .args(["-n", "-c", &script])
                .status()
                .expect("bash runs");
            assert!(status.success(), "{}:\n{script}", preset.origin);
        }
    }
}
