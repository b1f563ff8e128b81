//! IPVS against a real kernel (run inside the VM, as root): what lvslab
//! writes, ipvsadm reads identically, and the other way round; errors are
//! mapped and change nothing; counters follow real traffic.
//!
//! Each test works in its own fresh namespace, created with
//! `lvslab_sys::netns::create` and deleted after, and checks that the VM's
//! root namespace table stays empty. Without IPVS or root these tests fail;
//! they never skip.

use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use lvslab_ipvs::format;
use lvslab_ipvs::rules::{self, Rule};
use lvslab_ipvs::*;
use lvslab_sys::netns;

const SCHEDULERS: [&str; 13] =
    ["rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "dh", "lblc", "lblcr", "mh", "fo", "ovf"];

/// A namespace for one test, with links and addresses up (destinations
/// cannot be added in a namespace with nothing configured).
struct Ns(String);

impl Ns {
    /// Only `lo` up, for namespaces a test wires itself.
    fn bare(name: &str) -> Self {
        let name = format!("lvsipvs-{name}");
        let _ = netns::delete(&name);
        netns::create(&name).expect("create namespace");
        let ns = Ns(name);
        ns.ip("link set lo up");
        ns
    }

    fn new(name: &str) -> Self {
        let ns = Self::bare(name);
        for cmd in [
            "link add dummy0 type dummy",
            "link set dummy0 up",
            "addr add 198.51.100.1/24 dev dummy0",
            "addr add 192.0.2.1/24 dev dummy0",
            "addr add 2001:db8::1/64 dev dummy0 nodad",
        ] {
            ns.ip(cmd);
        }
        ns
    }

    fn ip(&self, args: &str) {
        let st = Command::new("ip")
            .args(["-n", &self.0])
            .args(args.split_whitespace())
            .status()
            .unwrap();
        assert!(st.success(), "ip -n {} {args}", self.0);
    }

    fn client(&self) -> IpvsClient {
        IpvsClient::open_in(&self.0).expect("IPVS must be available in the VM")
    }

    /// Runs ipvsadm in the namespace; (success, stdout, stderr).
    fn ipvsadm_in(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.0, "ipvsadm"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ipvsadm");
        if let Some(text) = stdin {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        )
    }

    fn ipvsadm(&self, args: &[&str]) -> String {
        let (ok, out, err) = self.ipvsadm_in(args, None);
        assert!(ok, "ipvsadm {args:?}: {err}");
        out
    }

    /// Asserts ipvsadm and lvslab render this namespace's table identically.
    fn assert_same_view(&self, c: &mut IpvsClient) {
        let info = c.info().unwrap();
        let table = c.table().unwrap();
        assert_text(&rules::save(&table), &self.ipvsadm(&["-Sn"]), "-Sn");
        assert_text(&format::list(&info, &table), &self.ipvsadm(&["-Ln"]), "-Ln");
        assert_text(
            &format::list_thresholds(&info, &table),
            &self.ipvsadm(&["-Ln", "--thresholds"]),
            "--thresholds",
        );
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = netns::delete(&self.0);
        if !std::thread::panicking() {
            assert_root_untouched();
        }
    }
}

fn assert_root_untouched() {
    let out = Command::new("ipvsadm").arg("-Ln").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 3, "the VM's root namespace table must stay empty:\n{text}");
}

fn assert_text(ours: &str, theirs: &str, what: &str) {
    for (i, (a, b)) in ours.lines().zip(theirs.lines()).enumerate() {
        assert_eq!(a, b, "{what} line {}:\nlvslab:  {a:?}\nipvsadm: {b:?}", i + 1);
    }
    assert_eq!(ours, theirs, "{what}");
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr { proto: Protocol::Tcp, addr: addr.parse().unwrap(), port }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Every rule of the kitchen-sink table, as `-R` text plus thresholds.
const KITCHEN: &str = "\
-A -t 192.0.2.1:80 -s wrr
-a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 3
-a -t 192.0.2.1:80 -r 198.51.100.12:8080 -m -w 2 -x 100 -y 50
-A -t 192.0.2.1:81 -s rr -b flag-1,flag-2,flag-3
-A -t 192.0.2.1:443 -s sh -p 300 -M 255.255.255.0 -b sh-fallback,sh-port
-a -t 192.0.2.1:443 -r 198.51.100.11:443 -g -w 1
-a -t 192.0.2.1:443 -r 198.51.100.12:443 -i -w 0 --tun-type ipip
-A -u 192.0.2.1:53 -s mh -o -b mh-fallback,mh-port
-a -u 192.0.2.1:53 -r 198.51.100.13:53 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
-a -u 192.0.2.1:53 -r 198.51.100.14:53 -i -w 1 --tun-type gre --tun-csum
-a -u 192.0.2.1:53 -r 198.51.100.15:53 -i -w 1 --tun-type gue --tun-port 6081 --tun-remcsum
-a -u 192.0.2.1:53 -r 198.51.100.16:53 -i -w 1 --tun-type gre --tun-nocsum
-A -u 192.0.2.1:5060 -s rr -p 60 --pe sip
-A --sctp-service 192.0.2.1:3868 -s lblcr
-a --sctp-service 192.0.2.1:3868 -r 198.51.100.11:3868 -g -w 1
-A -t [2001:db8::1]:80 -s nq -p 60 -M 64
-a -t [2001:db8::1]:80 -r [2001:db8::11]:8080 -m -w 5 -x 10 -y 5
-A -f 42 -s lc
-a -f 42 -r 198.51.100.11:0 -g -w 1
-A -f 43 -6 -s fo -p 360
-a -f 43 -6 -r [2001:db8::11]:0 -g -w 2
";

fn apply(c: &mut IpvsClient, text: &str) {
    for rule in rules::parse(text).unwrap() {
        match rule {
            Rule::AddService(s) => c.add_service(&s).unwrap(),
            Rule::AddDest(k, d) => c.add_destination(&k, &d).unwrap(),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn every_scheduler_round_trips_both_ways() {
    let ns = Ns::new("sched");
    let mut c = ns.client();
    for (i, sched) in SCHEDULERS.iter().enumerate() {
        let key = tcp("192.0.2.1", 1000 + i as u16);
        c.add_service(&Service::new(key, *sched)).unwrap();
        c.add_destination(
            &key,
            &Destination::new(ip("198.51.100.11"), 80, Forward::Masq).with_weight(i as u32),
        )
        .unwrap();
    }
    ns.assert_same_view(&mut c);
    let written = c.table().unwrap();
    // And back: ipvsadm restores our -Sn; lvslab must read the same table.
    c.flush().unwrap();
    assert!(c.services().unwrap().is_empty());
    let (ok, _, err) = ns.ipvsadm_in(&["-R"], Some(&rules::save(&written)));
    assert!(ok, "ipvsadm -R: {err}");
    ns.assert_same_view(&mut c);
    assert_eq!(c.table().unwrap(), written);
    // twos is newer than 6.1.
    let before = ns.ipvsadm(&["-Sn"]);
    let err = c.add_service(&Service::new(tcp("192.0.2.1", 2000), "twos")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "scheduler 'twos' is not available in this kernel (no ip_vs_twos module)"
    );
    assert_eq!(ns.ipvsadm(&["-Sn"]), before);
}

#[test]
fn methods_fwmark_ipv6_persistence_thresholds_round_trip() {
    let ns = Ns::new("kitchen");
    let mut c = ns.client();
    apply(&mut c, KITCHEN);
    ns.assert_same_view(&mut c);
    let ours = c.table().unwrap();
    // The other way: ipvsadm writes the same rules, lvslab reads them.
    c.flush().unwrap();
    for line in KITCHEN.lines() {
        ns.ipvsadm(&line.split_whitespace().collect::<Vec<_>>());
    }
    ns.assert_same_view(&mut c);
    assert_eq!(c.table().unwrap(), ours);
    // Edits: scheduler, weight, thresholds, method.
    let key = tcp("192.0.2.1", 80);
    let mut svc = c.service(&key).unwrap();
    svc.scheduler = "wlc".into();
    svc.flags.persistent = true;
    svc.persistence_timeout = 120;
    c.edit_service(&svc).unwrap();
    let mut d = Destination::new(ip("198.51.100.11"), 80, Forward::Masq).with_weight(9);
    d.upper_threshold = 7;
    c.edit_destination(&key, &d).unwrap();
    c.del_destination(&key, ip("198.51.100.12"), 8080).unwrap();
    ns.assert_same_view(&mut c);
    assert!(ns.ipvsadm(&["-Sn"]).contains(
        "-A -t 192.0.2.1:80 -s wlc -p 120\n-a -t 192.0.2.1:80 -r 198.51.100.11:80 -m -w 9\n"
    ));
    c.zero(Some(&key)).unwrap();
    c.zero(None).unwrap();
    c.del_service(&key).unwrap();
    ns.assert_same_view(&mut c);
}

#[test]
fn timeouts_round_trip() {
    let ns = Ns::new("timeouts");
    let mut c = ns.client();
    assert_eq!(c.timeouts().unwrap(), Timeouts { tcp: 900, tcp_fin: 120, udp: 300 });
    c.set_timeouts(&Timeouts { tcp: 1000, tcp_fin: 100, udp: 200 }).unwrap();
    assert_eq!(ns.ipvsadm(&["-Ln", "--timeout"]), "Timeout (tcp tcpfin udp): 1000 100 200\n");
    ns.ipvsadm(&["--set", "700", "70", "170"]);
    assert_eq!(c.timeouts().unwrap(), Timeouts { tcp: 700, tcp_fin: 70, udp: 170 });
    let info = c.info().unwrap();
    assert_eq!((info.version_string(), info.conn_tab_size), ("1.2.1".into(), 4096));
}

#[test]
fn errors_are_mapped_and_change_nothing() {
    let ns = Ns::new("errors");
    let mut c = ns.client();
    let key = tcp("192.0.2.1", 80);
    c.add_service(&Service::new(key, "rr")).unwrap();
    c.add_destination(&key, &Destination::new(ip("198.51.100.11"), 80, Forward::Masq)).unwrap();
    let before = ns.ipvsadm(&["-Sn"]);
    let missing = tcp("192.0.2.1", 99);
    let cases: Vec<(Result<(), Error>, &str)> = vec![
        (c.add_service(&Service::new(key, "wrr")), "service tcp 192.0.2.1:80 already exists"),
        (
            c.add_service(&Service::new(tcp("192.0.2.1", 81), "nosuch")),
            "scheduler 'nosuch' is not available in this kernel (no ip_vs_nosuch module)",
        ),
        (
            c.del_destination(&key, ip("198.51.100.99"), 80),
            "no such destination 198.51.100.99:80 in service tcp 192.0.2.1:80",
        ),
        (
            c.edit_destination(&key, &Destination::new(ip("198.51.100.99"), 80, Forward::Masq)),
            "no such destination 198.51.100.99:80 in service tcp 192.0.2.1:80",
        ),
        (
            c.add_destination(&key, &Destination::new(ip("198.51.100.11"), 80, Forward::Masq)),
            "destination 198.51.100.11:80 of service tcp 192.0.2.1:80 already exists",
        ),
        (c.edit_service(&Service::new(missing, "rr")), "no such service: tcp 192.0.2.1:99"),
        (c.del_service(&missing), "no such service: tcp 192.0.2.1:99"),
        (c.destinations(&missing).map(|_| ()), "no such service: tcp 192.0.2.1:99"),
        (c.service(&missing).map(|_| ()), "no such service: tcp 192.0.2.1:99"),
    ];
    for (result, message) in cases {
        assert_eq!(result.unwrap_err().to_string(), message);
    }
    assert_eq!(ns.ipvsadm(&["-Sn"]), before, "a failed request changed the table");
}

fn spawn_in(ns: &str, args: &[&str]) -> Child {
    Command::new("ip").args(["netns", "exec", ns]).args(args).spawn().unwrap()
}

#[test]
fn counters_follow_real_traffic() {
    let dir = Ns::bare("trafd");
    let cl = Ns::bare("trafc");
    let rs = Ns::bare("trafr");
    let run = |args: &str| {
        assert!(
            Command::new("ip").args(args.split_whitespace()).status().unwrap().success(),
            "{args}"
        )
    };
    run(&format!("link add c0 netns {} type veth peer name c1 netns {}", cl.0, dir.0));
    run(&format!("link add r0 netns {} type veth peer name r1 netns {}", rs.0, dir.0));
    cl.ip("addr add 203.0.113.2/24 dev c0");
    cl.ip("link set c0 up");
    dir.ip("addr add 203.0.113.1/24 dev c1");
    dir.ip("link set c1 up");
    dir.ip("addr add 198.51.100.254/24 dev r1");
    dir.ip("link set r1 up");
    rs.ip("addr add 198.51.100.21/24 dev r0");
    rs.ip("link set r0 up");
    rs.ip("route add default via 198.51.100.254");
    run(&format!("netns exec {} sysctl -qw net.ipv4.ip_forward=1", dir.0));
    std::fs::create_dir_all("/run/lvsipvs-www").unwrap();
    std::fs::write("/run/lvsipvs-www/index.html", "hello\n").unwrap();
    let mut httpd =
        spawn_in(&rs.0, &["busybox", "httpd", "-f", "-p", "80", "-h", "/run/lvsipvs-www"]);
    let mut c = dir.client();
    let key = tcp("203.0.113.1", 80);
    c.add_service(&Service::new(key, "rr")).unwrap();
    c.add_destination(&key, &Destination::new(ip("198.51.100.21"), 80, Forward::Masq)).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let mut ok = 0;
    for _ in 0..10 {
        let st = Command::new("ip")
            .args([
                "netns",
                "exec",
                &cl.0,
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-m",
                "5",
                "http://203.0.113.1/",
            ])
            .status()
            .unwrap();
        ok += usize::from(st.success());
    }
    assert_eq!(ok, 10, "requests through the VIP");
    let dests = c.destinations(&key).unwrap();
    assert_eq!(dests[0].active_conns + dests[0].inactive_conns, 10, "{dests:?}");
    dir.assert_same_view(&mut c);
    std::thread::sleep(Duration::from_secs(4)); // the estimator folds counters every 2 s
    let info = c.info().unwrap();
    let table = c.table().unwrap();
    assert_eq!(table[0].0.stats.conns, 10);
    assert!(table[0].1[0].stats.in_pkts > 0 && table[0].1[0].stats.out_bytes > 0);
    assert_text(
        &format::list_stats(&info, &table, false),
        &dir.ipvsadm(&["-Ln", "--stats"]),
        "--stats",
    );
    let _ = httpd.kill();
    let _ = httpd.wait();
}

#[test]
fn pipelined_adds_equal_single_adds() {
    let ns = Ns::new("pipeline");
    let mut c = ns.client();
    let key = tcp("192.0.2.1", 80);
    c.add_service(&Service::new(key, "wrr")).unwrap();
    let dests: Vec<Destination> = (0..100u32)
        .map(|i| {
            Destination::new(ip(&format!("198.51.100.{}", i + 2)), 80, Forward::Masq).with_weight(i)
        })
        .collect();
    c.add_destinations(&key, &dests).unwrap();
    assert_eq!(c.destinations(&key).unwrap().len(), 100);
    ns.assert_same_view(&mut c);
    let err = c.add_destinations(&key, &dests[..3]).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
}

#[test]
fn root_namespace_table_stays_empty() {
    assert_root_untouched();
}
