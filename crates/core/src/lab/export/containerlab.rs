//! A lab as a containerlab topology: each host a `linux` node, each veth
//! pair a link, and everything else the plan does inside a namespace
//! (bridges, addresses, routes, sysctls), the IPVS table and the real
//! servers' `lvslab serve` as the nodes' `exec`, in the plan's order.
//!
//! The YAML is written by hand, block style, but every scalar is a JSON
//! string (serde_json's quoting), which YAML reads as a double-quoted
//! scalar: nothing from the lab can end a value, start a key or a comment.
//! Commands inside `exec` are further quoted as shell words, as containerlab
//! splits each one into words before running it in the node.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::lab::model::{Control, Forward, LabSpec};
use crate::lab::plan::Plan;
use crate::lab::step::{Step, bridge_mac};
use crate::lab::text::shell_word;

/// The image every node runs: Debian with iproute2, procps, ipvsadm and
/// lvslab (docs/containerlab.md has its Dockerfile).
pub const IMAGE: &str = "lvslab-node:latest";

/// Why a lab cannot be written as a topology.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// keepalived labs: lvslab writes and runs keepalived itself.
    #[error(
        "lab '{0}' is run by keepalived (two directors or --control keepalived): \
         the containerlab export writes the plain IPVS table only; \
         export a lab with control = \"lvslab\", or use --format keepalived for the directors"
    )]
    Keepalived(String),
    /// A host name containerlab would not take as a node name.
    #[error("host '{0}' is not a containerlab node name (letters, digits, '-', '.', '_')")]
    NodeName(String),
}

/// YAML's double-quoted scalar, as JSON quotes it.
fn q(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

/// One command as words, quoted for containerlab's split (and any shell).
fn words(parts: &[&str]) -> String {
    parts.iter().map(|p| shell_word(p).into_owned()).collect::<Vec<_>>().join(" ")
}

/// What one plan step runs inside its node, or None for what is no node's:
/// namespaces (the node is the namespace), veth pairs (the links), modules
/// (the machine's kernel, said in the header).
fn node_command(step: &Step) -> Option<(&str, String)> {
    let v4 = |a: &std::net::Ipv4Addr| a.to_string();
    match step {
        Step::AddNetns { .. } | Step::AddVeth { .. } | Step::Modprobe { .. } => None,
        Step::AddBridge { netns, name } => {
            let mac = bridge_mac(netns, name).map(|b| format!("{b:02x}")).join(":");
            Some((netns, words(&["ip", "link", "add", name, "address", &mac, "type", "bridge"])))
        }
        Step::SetMaster { netns, link, bridge } => {
            Some((netns, words(&["ip", "link", "set", link, "master", bridge])))
        }
        Step::AddAddress { netns, link, addr, prefix } => {
            Some((netns, words(&["ip", "addr", "add", &format!("{addr}/{prefix}"), "dev", link])))
        }
        Step::LinkUp { netns, link } => Some((netns, words(&["ip", "link", "set", link, "up"]))),
        Step::DefaultRoute { netns, via } => {
            Some((netns, words(&["ip", "route", "add", "default", "via", &v4(via)])))
        }
        Step::TableDefaultRoute { netns, via, table } => Some((
            netns,
            words(&["ip", "route", "add", "default", "via", &v4(via), "table", &table.to_string()]),
        )),
        Step::Rule { netns, from, table } => Some((
            netns,
            words(&["ip", "rule", "add", "from", &v4(from), "table", &table.to_string()]),
        )),
        Step::Sysctl { netns, key, value } => {
            Some((netns, words(&["sysctl", "-qw", &format!("{key}={value}")])))
        }
    }
}

/// The topology of `spec`.
pub fn to_containerlab(spec: &LabSpec, header: &[String]) -> Result<String, Refused> {
    if spec.ha.is_some() || spec.control == Control::Keepalived {
        return Err(Refused::Keepalived(spec.name.to_string()));
    }
    let host_of: BTreeMap<String, String> =
        spec.hosts().map(|(h, _)| (spec.netns(h), h.to_string())).collect();
    let node_name = |h: &str| {
        let ok = h.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
        if ok { Ok(()) } else { Err(Refused::NodeName(h.to_string())) }
    };
    let mut exec: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let order: Vec<&str> = spec.hosts().map(|(h, _)| h).collect();
    for host in &order {
        node_name(host)?;
        // Made by hand inside a namespace, by containerlab here: lo is up.
        exec.insert(host, Vec::new());
    }
    let plan = Plan::topology(spec);
    let mut links = Vec::new();
    let mut modules = Vec::new();
    for step in &plan.steps {
        match step {
            Step::AddVeth { netns, name, peer_netns, peer } => {
                links.push([
                    format!("{}:{name}", host_of[netns]),
                    format!("{}:{peer}", host_of[peer_netns]),
                ]);
            }
            Step::Modprobe { module } => modules.push(module.clone()),
            Step::LinkUp { link, .. } if link == "lo" => {}
            _ => {
                if let Some((netns, command)) = node_command(step) {
                    exec.get_mut(host_of[netns].as_str()).expect("a lab host").push(command);
                }
            }
        }
    }
    let director = crate::lab::model::hosts::DIRECTOR;
    for line in super::rules::from_spec(spec).lines() {
        let mut parts = vec!["ipvsadm"];
        parts.extend(line.split(' '));
        exec.get_mut(director).expect("a director").push(words(&parts));
    }
    let roles = spec.roles();
    for rs in &spec.real_servers {
        let holds_vip = [Forward::Dr, Forward::Tun]
            .into_iter()
            .any(|f| !roles.vips_held_by(&rs.name, f).is_empty());
        let bind = if holds_vip { "0.0.0.0".to_string() } else { rs.addr.to_string() };
        for &port in roles.listen_ports(&rs.name) {
            let log = format!("/tmp/lvslab-serve-{port}.log");
            let serve = words(&[
                "setsid",
                "lvslab",
                "serve",
                "--name",
                &rs.name,
                "--listen",
                &format!("{bind}:{port}"),
                "--delay-ms",
                &rs.delay_ms.to_string(),
            ]);
            // In the background (exec waits for each command), logging in the node.
            let script = format!("{serve} >{} 2>&1 </dev/null &", shell_word(&log));
            exec.get_mut(rs.name.as_str())
                .expect("a real server")
                .push(words(&["sh", "-c", &script]));
        }
    }
    let mut out = String::new();
    for line in header.iter().flat_map(|l| l.lines()) {
        let _ = writeln!(out, "# {line}");
    }
    out.push_str(
        "# containerlab deploy -t FILE; every node is privileged (ipvsadm, sysctls) and has\n\
         # no management network (network-mode none), so its interfaces are the lab's own.\n",
    );
    let _ = writeln!(
        out,
        "# Needs the image {IMAGE} (docs/containerlab.md) and, on each machine, IPVS:"
    );
    let _ = writeln!(
        out,
        "#   modprobe ip_vs{}",
        modules.iter().map(|m| format!(" {m}")).collect::<String>()
    );
    let _ = writeln!(out, "name: {}", q(spec.name.as_str()));
    out.push_str("topology:\n  nodes:\n");
    for host in &order {
        let _ = writeln!(out, "    {}:", q(host));
        let _ = writeln!(out, "      kind: {}", q("linux"));
        let _ = writeln!(out, "      image: {}", q(IMAGE));
        let _ = writeln!(out, "      network-mode: {}", q("none"));
        out.push_str("      privileged: true\n");
        let commands = &exec[host];
        if !commands.is_empty() {
            out.push_str("      exec:\n");
            for c in commands {
                let _ = writeln!(out, "        - {}", q(c));
            }
        }
    }
    out.push_str("  links:\n");
    for [a, b] in &links {
        let _ = writeln!(out, "    - endpoints: [{}, {}]", q(a), q(b));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::presets;

    #[test]
    fn the_tutorial_is_four_nodes_three_links_and_the_directors_table() {
        let spec = presets::load("tutorial").unwrap().spec;
        let out = to_containerlab(&spec, &["test".into()]).unwrap();
        for node in ["\"client\":", "\"director\":", "\"rs1\":", "\"rs2\":"] {
            assert!(out.contains(node), "{node}\n{out}");
        }
        assert_eq!(out.matches("- endpoints:").count(), 3, "{out}");
        assert!(out.contains("\"ipvsadm -A -t 192.0.2.1:80 -s wrr\""), "{out}");
        assert!(out.contains("ipvsadm -a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 3"), "{out}");
        assert!(out.contains("lvslab serve --name rs1 --listen 198.51.100.11:80"), "{out}");
        assert!(out.contains("ip route add default via 198.51.100.1"), "{out}");
        assert!(!out.contains(" -n lvs-"), "no namespace is named inside a node:\n{out}");
    }

    #[test]
    fn keepalived_labs_are_refused_with_the_way_out() {
        let spec = presets::load("ha").unwrap().spec;
        let err = to_containerlab(&spec, &[]).unwrap_err().to_string();
        assert!(err.contains("control = \"lvslab\""), "{err}");
    }

    #[test]
    fn a_hostile_header_stays_a_comment() {
        let spec = presets::load("tutorial").unwrap().spec;
        let out = to_containerlab(&spec, &["x\nname: evil\n\"quoted\"".into()]).unwrap();
        assert_eq!(out.lines().filter(|l| l.starts_with("name:")).count(), 1, "{out}");
    }
}
