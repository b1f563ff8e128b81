//! A lab as a bash script a person can read, run and undo: the tutorial's
//! commands, generalised to any preset. The topology comes from the same
//! [`Plan`] `lvslab up` executes, the IPVS lines from the same spec, so the
//! script builds what lvslab builds, with the same namespace names.
//!
//! The script refuses to start when any of its namespaces exists (a second
//! run, lvslab's own lab of that name, or a half-built first run): mixing
//! with what is there would half-succeed silently. `down` removes all of it.

use std::fmt::Write;

use crate::ipvs::rules::{save, service_switch};
use crate::lab::model::{HostRole, LabSpec};
use crate::lab::plan::{Plan, Step};
use crate::lab::table;

/// Where the script keeps the real servers' web roots and logs.
pub const SCRATCH_DIR: &str = "/run/lvslab-sh";

/// The script for `spec`.
pub fn to_shell(spec: &LabSpec) -> String {
    let mut out = String::new();
    preamble(&mut out, spec);
    out.push_str("up() {\n    preflight\n");
    topology(&mut out, spec);
    ipvs(&mut out, spec);
    servers(&mut out, spec);
    finish(&mut out, spec);
    out.push_str("}\n\n");
    out.push_str(
        "case \"${1:-up}\" in\n    up) up ;;\n    down) down ;;\n    \
         *) echo \"usage: $0 [up|down]\" >&2; exit 2 ;;\nesac\n",
    );
    out
}

fn preamble(out: &mut String, spec: &LabSpec) {
    let namespaces: Vec<String> = spec.hosts().map(|(h, _)| spec.netns(h)).collect();
    let _ = write!(
        out,
        r#"#!/usr/bin/env bash
# The lvslab lab '{name}' as plain commands: {description}
#
# Run it as root where iproute2, ipvsadm and python3 are installed:
#     bash THIS_FILE          build the lab
#     bash THIS_FILE down     remove everything it made
# It builds the same hosts `lvslab up` does (one network namespace each,
# named lvs-{name}-<host>), so the two cannot run at the same time.

# Stop at the first failing command instead of building half a lab
# (-E: the ERR trap below also fires inside functions).
set -Eeuo pipefail

NAMESPACES=({namespaces})
SCRATCH={scratch}/{name}

die() {{ echo "$0: $*" >&2; exit 1; }}

# Kill what runs in each namespace (the web servers), then delete the
# namespace: its links, addresses, routes and IPVS table go with it.
down() {{
    for ns in "${{NAMESPACES[@]}}"; do
        if [ -e "/run/netns/$ns" ]; then
            ip netns pids "$ns" | xargs -r kill 2>/dev/null || true
            ip netns del "$ns"
            echo "removed $ns"
        fi
    done
    rm -rf "$SCRATCH"
}}

# Check everything before the first change, so a refusal changes nothing.
preflight() {{
    [ "$(id -u)" -eq 0 ] || die "run me as root (namespaces and IPVS need it)"
    for tool in ip ipvsadm python3 sysctl setsid; do
        command -v "$tool" >/dev/null || die "'$tool' is missing; install it first"
    done
    [ -e /proc/net/ip_vs ] || modprobe ip_vs 2>/dev/null ||
        die "this kernel has no IPVS (CONFIG_IP_VS), so nothing could balance; nothing was changed"
    for ns in "${{NAMESPACES[@]}}"; do
        [ ! -e "/run/netns/$ns" ] ||
            die "namespace $ns exists already (this script or lvslab built the lab before); remove it with: bash $0 down  (or lvslab down {name})"
    done
    # From here on, a failure leaves a partial lab: say how to remove it.
    trap 'echo "$0: failed at line $LINENO; remove what was built with: bash $0 down" >&2' ERR
}}

"#,
        name = spec.name,
        description = spec.description,
        namespaces = namespaces.join(" "),
        scratch = SCRATCH_DIR,
    );
}

fn topology(out: &mut String, spec: &LabSpec) {
    let mut said_lo = false;
    for step in Plan::topology(spec).steps {
        if let Some(comment) = comment(spec, &step, &mut said_lo) {
            out.push('\n');
            for line in comment.lines() {
                let _ = writeln!(out, "    # {line}");
            }
        }
        let _ = writeln!(out, "    {step}");
    }
}

/// What a step teaches, said before it (only for the first of a kind).
fn comment(spec: &LabSpec, step: &Step, said_lo: &mut bool) -> Option<String> {
    let director = spec.netns("director");
    let client = spec.netns("client");
    match step {
        Step::AddNetns { netns } if *netns == client => Some(
            "1. One network namespace per host: each has its own links, addresses,\n\
             routes and IPVS table, like a separate machine."
                .into(),
        ),
        Step::LinkUp { link, .. } if link == "lo" && !*said_lo => {
            *said_lo = true;
            Some("Every host needs its loopback up (local sockets use it).".into())
        }
        Step::AddVeth { netns, .. } if *netns == client => Some(
            "2. The client side. A veth pair is a virtual cable: eth0 in the client,\n\
             eth0 in the director. The director's end holds the VIP."
                .into(),
        ),
        Step::DefaultRoute { netns, .. } if *netns == client => {
            Some("The client reaches everything through the director.".into())
        }
        Step::AddBridge { .. } => Some(
            "3. The servers' side. A bridge in the director is the switch the real\n\
             servers plug into; the DIP sits on it."
                .into(),
        ),
        Step::AddVeth { netns, peer, .. } if *netns != director => Some(format!(
            "Real server {peer}: a cable from its eth0 to a bridge port named {peer}.\n\
             Its default gateway is the DIP: in LVS-NAT the replies must cross the\n\
             director, which rewrites their source back to the VIP."
        )),
        Step::Sysctl { .. } => Some(
            "The director routes between its two networks (the kernel's default is off).".into(),
        ),
        _ => None,
    }
}

fn ipvs(out: &mut String, spec: &LabSpec) {
    let director = spec.netns("director");
    out.push_str(
        "\n    # 4. The load balancer. IPVS tables belong to a namespace, so ipvsadm\n    \
         # runs inside the director: -A adds a virtual service with its scheduler,\n    \
         # -a adds a real server to it; -m is masquerading (LVS-NAT), -w the weight.\n",
    );
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
        let _ = writeln!(out, "    ip netns exec {director} ipvsadm {}", add.trim_end());
        let switch = service_switch(&table::key(svc));
        for m in &svc.members {
            let Some(rs) = spec.real_server(&m.name) else { continue };
            let _ = writeln!(
                out,
                "    ip netns exec {director} ipvsadm -a {switch} -r {}:{} -m -w {}",
                rs.addr, m.port, m.weight
            );
        }
    }
}

fn servers(out: &mut String, spec: &LabSpec) {
    out.push_str(
        "\n    # 5. A web server on each real server that answers with the server's name,\n    \
         # so every answer shows where IPVS sent the connection. python3's http.server\n    \
         # is on almost every machine; it serves a file holding the name. (lvslab runs\n    \
         # its own server instead, `lvslab serve`, which also sets X-Real-Server.)\n    \
         # UDP and fwmark-only ports get no server: http.server speaks TCP on one port.\n",
    );
    for (host, role) in spec.hosts() {
        if role != HostRole::RealServer {
            continue;
        }
        let Some(rs) = spec.real_server(host) else { continue };
        let ns = spec.netns(host);
        let _ = writeln!(out, "    mkdir -p \"$SCRATCH/{host}\"");
        let _ = writeln!(out, "    echo {host} > \"$SCRATCH/{host}/index.html\"");
        for port in spec.listen_ports(host) {
            let _ = writeln!(
                out,
                "    setsid ip netns exec {ns} python3 -m http.server {port} --bind {} \
                 --directory \"$SCRATCH/{host}\" >\"$SCRATCH/{host}-{port}.log\" 2>&1 </dev/null &",
                rs.addr
            );
        }
    }
    // Poll gently: each try forks, and on a slow machine the forks would
    // steal the CPU python needs to start.
    out.push_str("    # Wait until each one accepts connections (python takes a moment).\n");
    for rs in &spec.real_servers {
        for port in spec.listen_ports(&rs.name) {
            let _ = writeln!(
                out,
                "    ip netns exec {} bash -c 'for _ in $(seq 120); do (exec 3<>/dev/tcp/{}/{port}) 2>/dev/null && exit 0; sleep 0.5; done; exit 1' ||\n        \
                 die \"the web server of {} (port {port}) did not start; see $SCRATCH/{}-{port}.log\"",
                spec.netns("director"),
                rs.addr,
                rs.name,
                rs.name
            );
        }
    }
}

fn finish(out: &mut String, spec: &LabSpec) {
    let client = spec.netns("client");
    let _ = writeln!(out, "\n    trap - ERR\n    echo \"lab '{}' is up. Try:\"", spec.name);
    if let Some(svc) = spec.services.iter().find(|s| s.addressable()) {
        let _ = writeln!(
            out,
            "    echo \"  ip netns exec {client} curl http://{}:{}/\"",
            svc.vip, svc.port
        );
    }
    let _ = writeln!(out, "    echo \"  ip netns exec {} ipvsadm -Ln\"", spec.netns("director"));
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
