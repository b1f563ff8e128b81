//! lvslab's rendering of tables decoded from the kernel's own bytes, against
//! what ipvsadm printed for the same bytes.

use crate::capture::{assert_text, load, table, text};
use crate::format;
use crate::rules::{self, Rule};

#[test]
fn kitchen_sink_list_matches_ipvsadm() {
    let (info, t) = table(&load("kitchen-list"));
    assert_eq!(t.len(), 11, "services in the capture");
    assert_text(&format::list(&info, &t), &text("kitchen.Ln.txt"));
}

#[test]
fn kitchen_sink_stats_rate_thresholds_match_ipvsadm() {
    let (info, t) = table(&load("kitchen-list"));
    assert_text(&format::list_stats(&info, &t, false), &text("kitchen.Ln-stats.txt"));
    assert_text(&format::list_rate(&info, &t, false), &text("kitchen.Ln-rate.txt"));
    assert_text(&format::list_thresholds(&info, &t), &text("kitchen.Ln-thresholds.txt"));
}

#[test]
fn kitchen_sink_save_matches_ipvsadm() {
    let (_, t) = table(&load("kitchen-list"));
    assert_text(&rules::save(&t), &text("kitchen.Sn.txt"));
}

#[test]
fn traffic_counters_match_ipvsadm() {
    let (info, t) = table(&load("traffic-list-stats"));
    let (svc, dests) = &t[0];
    assert_eq!((svc.stats.conns, svc.stats.in_pkts, svc.stats.out_bytes), (20, 127, 10660));
    let mut inact: Vec<_> = dests.iter().map(|d| (d.addr.to_string(), d.inactive_conns)).collect();
    inact.sort();
    assert_eq!(inact, [("198.51.100.11".into(), 12), ("198.51.100.12".into(), 8)]);
    assert_text(&format::list_stats(&info, &t, false), &text("traffic.Ln-stats.txt"));
    assert_text(&format::list_stats(&info, &t, true), &text("traffic.Ln-stats-exact.txt"));
    assert_text(&format::list(&info, &t), &text("traffic.Ln.txt"));
    assert_text(&rules::save(&t), &text("traffic.Sn.txt"));
}

#[test]
fn saved_rules_parse_back_to_the_same_table() {
    let (_, t) = table(&load("kitchen-list"));
    let mut rebuilt: Vec<(crate::Service, Vec<crate::Destination>)> = Vec::new();
    for rule in rules::parse(&text("kitchen.Sn.txt")).unwrap() {
        match rule {
            Rule::AddService(s) => rebuilt.push((s, vec![])),
            Rule::AddDest(key, d) => {
                rebuilt.iter_mut().find(|(s, _)| s.key == key).unwrap().1.push(d)
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // -S carries neither counters nor thresholds: compare what it does carry.
    assert_text(&rules::save(&rebuilt), &text("kitchen.Sn.txt"));
    let strip = |t: &[(crate::Service, Vec<crate::Destination>)]| {
        let mut t = t.to_vec();
        for (s, ds) in &mut t {
            s.stats = Default::default();
            for d in ds {
                *d = crate::Destination { upper_threshold: 0, lower_threshold: 0, ..d.clone() };
            }
        }
        t
    };
    let ours = strip(&rebuilt);
    for (svc, dests) in strip(&t) {
        let (s, ds) = ours.iter().find(|(s, _)| s.key == svc.key).unwrap();
        assert_eq!(s, &svc);
        for d in &dests {
            assert!(ds.contains(d), "{d:?} lost in -S/-R");
        }
    }
}

#[test]
fn rules_parser_reports_line_and_fix() {
    let err =
        rules::parse("-A -t 192.0.2.1:80 -s rr\n-a -t 192.0.2.1:80 -r nowhere -m\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2: 'nowhere' is not an address[:port]: '-a -t 192.0.2.1:80 -r nowhere -m'"
    );
    let err = rules::parse("-a -t 192.0.2.1:80 -r 198.51.100.1 -m --tun-type gue").unwrap_err();
    assert!(err.to_string().contains("tunnel options need the tunnel method (-i)"), "{err}");
}

#[test]
fn largenum_scales_like_ipvsadm() {
    assert_eq!(format::largenum(99_999_999, false), " 99999999");
    assert_eq!(format::largenum(123_456_789, false), "  123456K");
    assert_eq!(format::largenum(12_345_678_901, false), "   12345M");
    assert_eq!(format::largenum(123_456_789, true), " 123456789");
}
