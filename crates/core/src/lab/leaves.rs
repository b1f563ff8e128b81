//! Servers' networks past one Linux bridge: a trunk and leaf bridges.
//!
//! ```text
//!  br0 (trunk: the DIP, the lab's own ports) ─┬─ br0-t1 ═ br0-l1-up ─ br0-l1 ── rs1 … rs1022
//!                                             └─ br0-t2 ═ br0-l2-up ─ br0-l2 ── rs1023 …
//! ```
//! A bridge takes at most [`MAX_BRIDGE_PORTS`] ports. When a topology puts
//! more on one, the real servers move to leaf bridges in the same namespace,
//! each joined to the original bridge (now the trunk) by a veth pair, so the
//! servers' network stays one L2 segment and one subnet: the DIP, the
//! router's or the directors' ports stay on the trunk, and a server reaches
//! them (and every other server) through at most two bridges. Each leaf gets
//! a fixed MAC like every bridge (see [`super::step::bridge_mac`]). A lab
//! within one bridge's ports is planned exactly as without this module.
//!
//! Leaf and link names carry a `-`, which a real server's name never does,
//! so they cannot clash with a server's port.

use std::collections::HashSet;

use super::model::LabSpec;
use super::step::Step;

/// The most ports one Linux bridge takes: the kernel's `BR_MAX_PORTS` is
/// 1,024 and port number 0 is reserved, so attaching a 1,024th port fails
/// with `EXFULL` ("Exchange full"). Every lab's real servers on one network
/// hang off one bridge (the director's br0, an HA switch's brs, a DR/TUN
/// router's remote br0); past it that bridge becomes a trunk of leaf
/// bridges (this module), and the validator checks every bridge.
pub const MAX_BRIDGE_PORTS: usize = 1_023;

/// One bridge of a plan and the ports attached to it, in plan order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgePorts {
    /// The namespace holding the bridge.
    pub netns: String,
    /// The bridge's name there.
    pub bridge: String,
    /// Its ports' link names, in the order they are attached.
    pub ports: Vec<String>,
}

/// Every bridge `steps` attach ports to, with those ports
/// ([`Plan::bridge_ports`](super::plan::Plan::bridge_ports) of a plan).
pub(crate) fn bridge_ports_of(steps: &[Step]) -> Vec<BridgePorts> {
    let mut out: Vec<BridgePorts> = Vec::new();
    for step in steps {
        let Step::SetMaster { netns, link, bridge } = step else { continue };
        match out.iter_mut().find(|b| b.netns == *netns && b.bridge == *bridge) {
            Some(b) => b.ports.push(link.clone()),
            None => out.push(BridgePorts {
                netns: netns.clone(),
                bridge: bridge.clone(),
                ports: vec![link.clone()],
            }),
        }
    }
    out
}

/// The real servers one leaf holds: all its ports but its uplink.
pub const SERVERS_PER_LEAF: usize = MAX_BRIDGE_PORTS - 1;

/// Leaf `n` (from 1) of bridge `trunk`.
pub fn leaf(trunk: &str, n: usize) -> String {
    format!("{trunk}-l{n}")
}

/// The leaf's end of its link to the trunk (a port of the leaf).
pub fn leaf_uplink(trunk: &str, n: usize) -> String {
    format!("{trunk}-l{n}-up")
}

/// The trunk's end of its link to leaf `n` (a port of the trunk).
pub fn trunk_port(trunk: &str, n: usize) -> String {
    format!("{trunk}-t{n}")
}

/// `steps` with every bridge that would hold more than [`MAX_BRIDGE_PORTS`]
/// ports split into a trunk and leaves; unchanged when none would.
pub fn split(spec: &LabSpec, mut steps: Vec<Step>) -> Vec<Step> {
    let servers: HashSet<&str> = spec.real_servers.iter().map(|r| r.name.as_str()).collect();
    let full: Vec<BridgePorts> =
        bridge_ports_of(&steps).into_iter().filter(|b| b.ports.len() > MAX_BRIDGE_PORTS).collect();
    for bridge in full {
        let moved: Vec<&String> =
            bridge.ports.iter().filter(|p| servers.contains(p.as_str())).collect();
        let leaves = moved.len().div_ceil(SERVERS_PER_LEAF);
        let (ns, trunk) = (&bridge.netns, &bridge.bridge);
        // The k-th server port (in plan order) goes to leaf k / SERVERS_PER_LEAF + 1.
        let mut k = 0;
        for step in &mut steps {
            if let Step::SetMaster { netns, link, bridge: to } = step
                && netns == ns
                && to == trunk
                && servers.contains(link.as_str())
            {
                *to = leaf(trunk, k / SERVERS_PER_LEAF + 1);
                k += 1;
            }
        }
        // The leaves, right after the trunk is up (before any server attaches).
        let at = steps
            .iter()
            .position(|s| matches!(s, Step::LinkUp { netns, link } if netns == ns && link == trunk))
            .map_or(0, |i| i + 1);
        let mut wiring = Vec::new();
        for n in 1..=leaves {
            let (l, up, port) = (leaf(trunk, n), leaf_uplink(trunk, n), trunk_port(trunk, n));
            wiring.extend([
                Step::AddBridge { netns: ns.clone(), name: l.clone() },
                Step::LinkUp { netns: ns.clone(), link: l.clone() },
                Step::AddVeth {
                    netns: ns.clone(),
                    name: up.clone(),
                    peer_netns: ns.clone(),
                    peer: port.clone(),
                },
                Step::SetMaster { netns: ns.clone(), link: port.clone(), bridge: trunk.clone() },
                Step::SetMaster { netns: ns.clone(), link: up.clone(), bridge: l },
                Step::LinkUp { netns: ns.clone(), link: up },
                Step::LinkUp { netns: ns.clone(), link: port },
            ]);
        }
        steps.splice(at..at, wiring);
    }
    steps
}

/// Whether a plan's servers' network has leaves (bridges named with a `-`,
/// which only [`leaf`] makes): a real server added live to such a lab is
/// refused, since which leaf has room depends on the servers removed since.
pub fn in_use(steps: &[Step]) -> bool {
    steps.iter().any(|s| matches!(s, Step::AddBridge { name, .. } if name.contains('-')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::plan::Plan;
    use crate::lab::presets;
    use std::net::Ipv4Addr;

    /// Preset `name` with its real servers replaced by `n` on the servers' network.
    fn grown(name: &str, n: usize) -> LabSpec {
        let mut spec = presets::load(name).unwrap().spec;
        let template = spec.real_servers[0].clone();
        let base = u32::from(spec.servers_net.network());
        spec.real_servers = (0..n)
            .map(|i| {
                let mut rs = template.clone();
                rs.name = format!("rs{}", i + 1);
                rs.addr = Ipv4Addr::from(base + 1024 + i as u32);
                rs
            })
            .collect();
        spec.servers_net = "198.51.96.0/20".parse().unwrap();
        spec
    }

    fn bridges(spec: &LabSpec) -> Vec<(String, String, usize)> {
        let plan = Plan::topology(spec);
        plan.bridge_ports().into_iter().map(|b| (b.netns, b.bridge, b.ports.len())).collect()
    }

    #[test]
    fn a_full_bridge_is_planned_as_one_bridge() {
        let spec = grown("tutorial", MAX_BRIDGE_PORTS);
        assert_eq!(bridges(&spec), [("lvs-tutorial-director".into(), "br0".into(), 1023)]);
        assert!(!in_use(&Plan::topology(&spec).steps));
    }

    #[test]
    fn past_one_bridge_the_servers_hang_off_leaves_of_the_trunk() {
        let spec = grown("tutorial", 1100);
        let d = |br: &str, n| ("lvs-tutorial-director".to_string(), br.to_string(), n);
        assert_eq!(bridges(&spec), [d("br0", 2), d("br0-l1", 1023), d("br0-l2", 79)]);
        let steps = Plan::topology(&spec).steps;
        assert!(in_use(&steps));
        // Each leaf (with its fixed MAC) is made and up before a port joins it.
        for leaf in ["br0-l1", "br0-l2"] {
            let made = steps
                .iter()
                .position(|s| matches!(s, Step::AddBridge { name, .. } if name == leaf));
            let joined = steps
                .iter()
                .position(|s| matches!(s, Step::SetMaster { bridge, .. } if bridge == leaf));
            assert!(made.unwrap() < joined.unwrap(), "{leaf}");
        }
        let shell = Plan::topology(&spec).to_shell();
        assert!(
            shell.contains("ip -n lvs-tutorial-director link add br0-l2 address 02:"),
            "{shell}"
        );
        assert!(shell.contains(
            "ip -n lvs-tutorial-director link add br0-l1-up type veth peer name br0-t1 netns \
             lvs-tutorial-director"
        ));
        assert!(shell.contains("ip -n lvs-tutorial-director link set rs1023 master br0-l2"));
        // One subnet still: every server's gateway is the DIP on the trunk.
        assert!(shell.contains("ip -n lvs-tutorial-rs1100 route add default via 198.51.100.1"));
        assert!(shell.contains("ip -n lvs-tutorial-director addr add 198.51.100.1/20 dev br0"));
    }

    #[test]
    fn an_ha_switch_and_a_dr_segment_keep_their_own_ports_on_the_trunk() {
        let ha = grown("ha", 1100);
        let sw = |br: &str, n| ("lvs-ha-switch".to_string(), br.to_string(), n);
        // (the leaves are wired as soon as brs is up, before the client's port)
        assert_eq!(
            bridges(&ha),
            [sw("brs", 4), sw("brs-l1", 1023), sw("brs-l2", 79), sw("brc", 3)]
        );
        let dr = grown("dr", 1023);
        let d = |br: &str, n| ("lvs-dr-director".to_string(), br.to_string(), n);
        // The router's port makes 1,024: one more than a bridge takes.
        assert_eq!(bridges(&dr), [d("br0", 3), d("br0-l1", 1023), d("br0-l2", 2)]);
    }
}
