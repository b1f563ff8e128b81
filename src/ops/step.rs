//! Single changes to a running lab's hosts, as the guided walk makes them
//! one step at a time: plan [`Step`]s (a route, an address, a link up, a
//! sysctl) run by [`Builder`], and what no plan step does: taking a route,
//! an address or a link back down, flushing a neighbour entry, one datagram
//! or one HTTP request sent from inside a host.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::Command;
use std::time::Duration;

use super::build::Builder;
use super::error::LabError;
use crate::net::rtnl::{self, Rtnl};
use lvslab_core::lab::step::Step;
use lvslab_sys::netns;
use lvslab_traffic::{self as traffic, ErrorKind};

/// Runs `steps` in order over netlink (and sysctl), stopping at the first
/// failure. Blocking: drives rtnetlink on a runtime of its own.
pub fn apply(steps: &[Step]) -> Result<(), LabError> {
    rtnl::block_on(async {
        let mut builder = Builder::new();
        for step in steps {
            builder.apply(step).await?;
        }
        Ok(())
    })
    .map_err(LabError::from)
}

/// `ip -n NETNS route del default via GATEWAY`.
pub fn del_default_route(netns: &str, gateway: Ipv4Addr) -> Result<(), LabError> {
    rtnl::block_on(async { Rtnl::connect(netns)?.del_default_route(gateway).await })
        .map_err(LabError::from)
}

/// `ip -n NETNS link set LINK down`.
pub fn link_down(netns: &str, link: &str) -> Result<(), LabError> {
    rtnl::block_on(async { Rtnl::connect(netns)?.set_down(link).await }).map_err(LabError::from)
}

/// `ip -n NETNS addr del ADDR/PREFIX dev LINK`.
pub fn del_address(netns: &str, link: &str, addr: Ipv4Addr, prefix: u8) -> Result<(), LabError> {
    ip(&["-n", netns, "addr", "del", &format!("{addr}/{prefix}"), "dev", link])
}

/// `ip -n NETNS neigh flush to ADDR`: the host forgets `addr`'s MAC and
/// asks again (ARP) the next time it sends there.
pub fn flush_neighbour(netns: &str, addr: Ipv4Addr) -> Result<(), LabError> {
    ip(&["-n", netns, "neigh", "flush", "to", &addr.to_string()])
}

/// One UDP datagram from `from` to `to`'s discard port (9), sent inside
/// namespace `netns`: nothing needs to answer, the ARP request the kernel
/// sends first (with `from` as its sender address) is the point.
pub fn announce(netns: &str, from: Ipv4Addr, to: Ipv4Addr) -> Result<(), LabError> {
    netns::run_in(netns, || {
        let socket = UdpSocket::bind((from, 0))?;
        socket.send_to(b"lvslab tutorial: who answers for the VIP?", (to, 9)).map(|_| ())
    })?
    .map_err(|source| LabError::Io { what: format!("send from {from} in {netns}"), source })
}

/// One HTTP request to `target` from inside namespace `netns`, on a new
/// connection, given `timeout`: the name of the real server that answered,
/// or how the request failed ([`ErrorKind::Timeout`] when out of time).
pub fn request(
    netns: &str,
    target: SocketAddr,
    timeout: Duration,
) -> Result<Result<String, ErrorKind>, LabError> {
    netns::run_in(netns, || {
        // The timer must be made inside the runtime: build the future in block_on.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(runtime
            .block_on(async { tokio::time::timeout(timeout, traffic::one_request(target)).await })
            .unwrap_or(Err(ErrorKind::Timeout)))
    })?
    .map_err(|source| LabError::Io { what: format!("start a runtime in {netns}"), source })
}

/// `ip ARGS`, for what lvslab's netlink layer does not do (deleting an
/// address, flushing neighbour entries); fails with ip's own words.
fn ip(args: &[&str]) -> Result<(), LabError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| LabError::Command { command: "ip".into(), why: e.to_string() })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(LabError::Command {
            command: format!("ip {}", args.join(" ")),
            why: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}
