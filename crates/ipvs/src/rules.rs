//! The `ipvsadm -S` rule format: writing it (`-Sn`, exactly as ipvsadm 1.31
//! does) and reading it back (`ipvsadm -R` input), so a lab can be exported
//! to and imported from the tool people already use.
//!
//! `-S` does not save thresholds or timeouts (ipvsadm's own limitation); the
//! parser accepts `-x`/`-y` anyway, plus the long option names.

use std::fmt::Write;
use std::net::IpAddr;

use super::error::Error;
use super::format::{Table, addr_port, netmask_text, sorted};
use crate::types::default_netmask;
use crate::{
    AddressFamily, Destination, Forward, Protocol, Service, ServiceKey, Tunnel, TunnelFlags,
    TunnelKind,
};

/// ipvsadm's default persistence timeout for a bare `-p`.
pub const DEFAULT_PERSISTENCE: u32 = 360;
/// ipvsadm's default scheduler.
pub const DEFAULT_SCHEDULER: &str = "wlc";

/// One line of `ipvsadm -R` input.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Rule {
    /// `-A`.
    AddService(Service),
    /// `-E`.
    EditService(Service),
    /// `-D`.
    DelService(ServiceKey),
    /// `-a`.
    AddDest(ServiceKey, Destination),
    /// `-e`.
    EditDest(ServiceKey, Destination),
    /// `-d`.
    DelDest(ServiceKey, IpAddr, u16),
    /// `-C`.
    Flush,
}

/// `-t 192.0.2.1:80`, `-f 43 -6`: how `-S` (and the command line) names a service.
pub fn service_switch(key: &ServiceKey) -> String {
    match *key {
        ServiceKey::Fwmark { af: AddressFamily::Inet, mark } => format!("-f {mark}"),
        ServiceKey::Fwmark { af: AddressFamily::Inet6, mark } => format!("-f {mark} -6"),
        ServiceKey::Addr { proto, addr, port } => {
            let switch = match proto {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
            };
            format!("{switch} {}", addr_port(addr, port))
        }
    }
}

fn tunnel_option(flags: TunnelFlags) -> &'static str {
    match flags {
        TunnelFlags::NoCsum => "--tun-nocsum",
        TunnelFlags::Csum => "--tun-csum",
        TunnelFlags::RemCsum => "--tun-remcsum",
    }
}

/// `ipvsadm -Sn`.
pub fn save(table: &Table) -> String {
    let mut out = String::new();
    for (svc, dests) in sorted(table) {
        let name = service_switch(&svc.key);
        let _ = write!(out, "-A {name} -s {}", svc.scheduler);
        if svc.flags.persistent {
            let _ = write!(out, " -p {}", svc.persistence_timeout);
            let af = svc.key.af();
            if svc.netmask != default_netmask(af) {
                let _ = write!(out, " -M {}", netmask_text(af, svc.netmask));
            }
        }
        if let Some(pe) = &svc.pe_name {
            let _ = write!(out, " --pe {pe}");
        }
        if svc.flags.one_packet {
            out.push_str(" -o");
        }
        let sched_flags = svc.flags.sched_flag_names(&svc.scheduler);
        if !sched_flags.is_empty() {
            let _ = write!(out, " -b {}", sched_flags.join(","));
        }
        out.push('\n');
        for d in dests {
            let switch = d.forward.switch();
            let _ = write!(
                out,
                "-a {name} -r {} {switch} -w {}",
                addr_port(d.addr, d.port),
                d.weight as i32
            );
            if let (Forward::Tunnel, Some(t)) = (d.forward, d.tunnel) {
                let _ = write!(out, " --tun-type {}", t.kind);
                match t.kind {
                    TunnelKind::Ipip => {}
                    TunnelKind::Gue => {
                        let _ = write!(out, " --tun-port {} {}", t.port, tunnel_option(t.flags));
                    }
                    TunnelKind::Gre => {
                        let _ = write!(out, " {}", tunnel_option(t.flags));
                    }
                }
            }
            out.push('\n');
        }
    }
    out
}

/// Parses `ipvsadm -R` input: one rule per line; blank lines and `#`
/// comments are skipped.
pub fn parse(text: &str) -> Result<Vec<Rule>, Error> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| {
            parse_line(l).map_err(|detail| Error::Rules {
                line: i + 1,
                text: l.to_string(),
                detail,
            })
        })
        .collect()
}

/// `addr:port`, `[v6]:port` or a bare address (port `None`).
pub fn parse_addr_port(s: &str) -> Result<(IpAddr, Option<u16>), String> {
    let bad = || format!("'{s}' is not an address[:port]");
    let (addr, port) = if let Some(rest) = s.strip_prefix('[') {
        let (a, p) = rest.split_once(']').ok_or_else(bad)?;
        (a, p.strip_prefix(':'))
    } else if s.matches(':').count() == 1 {
        let (a, p) = s.split_once(':').ok_or_else(bad)?;
        (a, Some(p))
    } else {
        (s, None)
    };
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    let port = port.map(|p| p.parse::<u16>().map_err(|_| bad())).transpose()?;
    Ok((addr, port))
}

#[derive(Default)]
struct Parsed {
    cmd: Option<char>,
    proto: Option<Protocol>,
    vip: Option<(IpAddr, Option<u16>)>,
    fwmark: Option<u32>,
    inet6: bool,
    scheduler: Option<String>,
    persistent: Option<u32>,
    netmask: Option<String>,
    pe: Option<String>,
    one_packet: bool,
    sched_flags: Vec<String>,
    real: Option<(IpAddr, Option<u16>)>,
    forward: Option<Forward>,
    weight: Option<u32>,
    upper: Option<u32>,
    lower: Option<u32>,
    tun_kind: Option<TunnelKind>,
    tun_port: Option<u16>,
    tun_flags: Option<TunnelFlags>,
}

fn parse_line(line: &str) -> Result<Rule, String> {
    let mut p = Parsed::default();
    let mut it = line.split_whitespace().peekable();
    let num = |v: Option<&str>, what: &str| -> Result<u32, String> {
        let v = v.ok_or_else(|| format!("{what} needs a value"))?;
        v.parse().map_err(|_| format!("'{v}' is not a valid {what}"))
    };
    while let Some(tok) = it.next() {
        match tok {
            "-A" | "--add-service" => p.cmd = Some('A'),
            "-E" | "--edit-service" => p.cmd = Some('E'),
            "-D" | "--delete-service" => p.cmd = Some('D'),
            "-a" | "--add-server" => p.cmd = Some('a'),
            "-e" | "--edit-server" => p.cmd = Some('e'),
            "-d" | "--delete-server" => p.cmd = Some('d'),
            "-C" | "--clear" => p.cmd = Some('C'),
            "-t" | "--tcp-service" | "-u" | "--udp-service" | "--sctp-service" => {
                p.proto = Some(match tok {
                    "-t" | "--tcp-service" => Protocol::Tcp,
                    "-u" | "--udp-service" => Protocol::Udp,
                    _ => Protocol::Sctp,
                });
                p.vip = Some(parse_addr_port(it.next().ok_or("service address missing")?)?);
            }
            "-f" | "--fwmark-service" => p.fwmark = Some(num(it.next(), "fwmark")?),
            "-6" | "--ipv6" => p.inet6 = true,
            "-s" | "--scheduler" => {
                p.scheduler = Some(it.next().ok_or("-s needs a scheduler")?.to_string())
            }
            "-p" | "--persistent" => {
                let timeout = match it.peek() {
                    Some(v) if v.parse::<u32>().is_ok() => num(it.next(), "timeout")?,
                    _ => DEFAULT_PERSISTENCE,
                };
                p.persistent = Some(timeout);
            }
            "-M" | "--netmask" => {
                p.netmask = Some(it.next().ok_or("-M needs a netmask")?.to_string())
            }
            "--pe" => p.pe = Some(it.next().ok_or("--pe needs an engine")?.to_string()),
            "-o" | "--ops" => p.one_packet = true,
            "-b" | "--sched-flags" => {
                p.sched_flags =
                    it.next().ok_or("-b needs flags")?.split(',').map(str::to_string).collect();
            }
            "-r" | "--real-server" => {
                p.real = Some(parse_addr_port(it.next().ok_or("-r needs an address")?)?)
            }
            "-m" | "--masquerading" => p.forward = Some(Forward::Masq),
            "-g" | "--gatewaying" => p.forward = Some(Forward::Route),
            "-i" | "--ipip" => p.forward = Some(Forward::Tunnel),
            "-w" | "--weight" => p.weight = Some(num(it.next(), "weight")?),
            "-x" | "--u-threshold" => p.upper = Some(num(it.next(), "upper threshold")?),
            "-y" | "--l-threshold" => p.lower = Some(num(it.next(), "lower threshold")?),
            "--tun-type" => {
                p.tun_kind = Some(match it.next() {
                    Some("ipip") => TunnelKind::Ipip,
                    Some("gue") => TunnelKind::Gue,
                    Some("gre") => TunnelKind::Gre,
                    other => {
                        return Err(format!(
                            "unknown tunnel type '{}': use ipip, gue or gre",
                            other.unwrap_or("")
                        ));
                    }
                })
            }
            "--tun-port" => {
                let port = num(it.next(), "tunnel port")?;
                p.tun_port = Some(
                    u16::try_from(port)
                        .map_err(|_| format!("tunnel port {port} is out of range"))?,
                );
            }
            "--tun-nocsum" => p.tun_flags = Some(TunnelFlags::NoCsum),
            "--tun-csum" => p.tun_flags = Some(TunnelFlags::Csum),
            "--tun-remcsum" => p.tun_flags = Some(TunnelFlags::RemCsum),
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    build(p)
}

fn build(p: Parsed) -> Result<Rule, String> {
    let cmd = p.cmd.ok_or("no command (-A, -E, -D, -a, -e, -d or -C)")?;
    if cmd == 'C' {
        return Ok(Rule::Flush);
    }
    let key = match (p.fwmark, p.proto, p.vip) {
        (Some(mark), _, _) => ServiceKey::Fwmark {
            af: if p.inet6 { AddressFamily::Inet6 } else { AddressFamily::Inet },
            mark,
        },
        (None, Some(proto), Some((addr, port))) => {
            ServiceKey::Addr { proto, addr, port: port.unwrap_or(0) }
        }
        _ => return Err("no service (-t, -u, --sctp-service or -f)".into()),
    };
    match cmd {
        'A' | 'E' => {
            let mut svc =
                Service::new(key, p.scheduler.unwrap_or_else(|| DEFAULT_SCHEDULER.into()));
            if let Some(timeout) = p.persistent {
                svc.flags.persistent = true;
                svc.persistence_timeout = timeout;
            }
            if let Some(mask) = p.netmask {
                svc.netmask = match key.af() {
                    AddressFamily::Inet => mask
                        .parse::<std::net::Ipv4Addr>()
                        .map(u32::from)
                        .map_err(|_| format!("'{mask}' is not an IPv4 netmask"))?,
                    AddressFamily::Inet6 => mask
                        .parse()
                        .ok()
                        .filter(|m| *m <= 128)
                        .ok_or(format!("'{mask}' is not a prefix length"))?,
                };
            }
            svc.pe_name = p.pe;
            svc.flags.one_packet = p.one_packet;
            for flag in &p.sched_flags {
                if !svc.flags.set_sched_flag(flag) {
                    return Err(format!("unknown scheduler flag '{flag}'"));
                }
            }
            Ok(if cmd == 'A' { Rule::AddService(svc) } else { Rule::EditService(svc) })
        }
        'D' => Ok(Rule::DelService(key)),
        _ => {
            let (addr, port) = p.real.ok_or("no real server (-r)")?;
            let svc_port = match key {
                ServiceKey::Addr { port, .. } => port,
                ServiceKey::Fwmark { .. } => 0,
            };
            let forward = p.forward.unwrap_or(Forward::Route);
            let port = match forward {
                Forward::Route | Forward::Tunnel if svc_port != 0 => svc_port,
                _ => port.unwrap_or(svc_port),
            };
            if cmd == 'd' {
                return Ok(Rule::DelDest(key, addr, port));
            }
            let mut d = Destination::new(addr, port, forward);
            d.weight = p.weight.unwrap_or(1);
            d.upper_threshold = p.upper.unwrap_or(0);
            d.lower_threshold = p.lower.unwrap_or(0);
            if forward == Forward::Tunnel {
                d.tunnel = Some(Tunnel {
                    kind: p.tun_kind.unwrap_or(TunnelKind::Ipip),
                    port: p.tun_port.unwrap_or(0),
                    flags: p.tun_flags.unwrap_or_default(),
                });
            } else if p.tun_kind.is_some() || p.tun_port.is_some() || p.tun_flags.is_some() {
                return Err("tunnel options need the tunnel method (-i)".into());
            }
            Ok(if cmd == 'a' { Rule::AddDest(key, d) } else { Rule::EditDest(key, d) })
        }
    }
}
