//! Parsers never panic: every input gives a value or an error. Property
//! tests (proptest) over the preset TOML, theme files, `ipvsadm -S` import,
//! the director's `/proc/net/ip_vs*` files (for `lvslab metrics`),
//! the command line's number parsers and the IPVS netlink decoder, fed
//! random, truncated and mutated input.
//!
//! Deterministic: a fixed seed, 2000 cases per target by default (a few
//! seconds); `LVSLAB_FUZZ_CASES=200000 cargo test --test fuzz_parsers`
//! runs longer, `LVSLAB_FUZZ_SEED=N` explores another sequence.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use lvslab_core::lab::model::LabName;
use lvslab_core::lab::{import, presets, ranges, validate};
use lvslab_core::metrics::procfs;
use lvslab_ipvs::AddressFamily;
use lvslab_ipvs::wire;

fn config() -> Config {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    Config {
        cases: env("LVSLAB_FUZZ_CASES").unwrap_or(2000) as u32,
        rng_seed: RngSeed::Fixed(env("LVSLAB_FUZZ_SEED").unwrap_or(20_261_127)),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text that parsers find interesting: TOML and rule syntax, numbers at and
/// past every limit, control characters, multi-byte characters.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\n".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("=".to_string()),
        Just("[[service]]\n".to_string()),
        Just("[[service.real-server]]\n".to_string()),
        Just("[[real-server]]\n".to_string()),
        Just("[traffic]\n".to_string()),
        Just("{}".to_string()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("65536".to_string()),
        Just("4294967296".to_string()),
        Just("9223372036854775807".to_string()),
        Just("99999999999999999999999".to_string()),
        Just("1e308".to_string()),
        Just("-1e308".to_string()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("0.0".to_string()),
        Just("\u{1b}[2J".to_string()),
        Just("\u{0}".to_string()),
        Just("é✓\u{202e}".to_string()),
        Just("255.255.255.255".to_string()),
        Just("0.0.0.0/0".to_string()),
        Just("198.51.100.0/31".to_string()),
        Just("[::1]:80".to_string()),
        Just(":".to_string()),
        Just(",".to_string()),
        "[ -~]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

/// `source` with a few random edits: a byte range replaced by a token.
fn mutated(sources: Vec<&'static str>) -> impl Strategy<Value = String> {
    let n = sources.len();
    (0..n, prop::collection::vec((any::<prop::sample::Index>(), 0usize..16, token()), 0..6))
        .prop_map(move |(i, edits)| {
            let mut text = sources[i].to_string();
            for (at, delete, insert) in edits {
                let mut start = at.index(text.len() + 1);
                while !text.is_char_boundary(start) {
                    start -= 1;
                }
                let mut end = (start + delete).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(start..end, &insert);
            }
            text
        })
}

fn preset_sources() -> Vec<&'static str> {
    presets::EMBEDDED.iter().map(|(_, source)| *source).collect()
}

fn theme_sources() -> Vec<&'static str> {
    vec![
        include_str!("../themes/dark.toml"),
        include_str!("../themes/light.toml"),
        include_str!("../themes/mono.toml"),
    ]
}

/// One `ipvsadm -R` line from the grammar, with random values and options.
fn rule_line() -> impl Strategy<Value = String> {
    let cmd = prop::sample::select(vec!["-A", "-a", "-E", "-e", "-D", "-d", "-C", "-Z", "-X", ""]);
    let kind = prop::sample::select(vec!["-t", "-u", "-f", "--sctp-service", "-6", ""]);
    let option = prop::sample::select(vec![
        "-s",
        "-p",
        "-M",
        "-r",
        "-m",
        "-g",
        "-i",
        "-w",
        "-x",
        "-y",
        "--pe",
        "-o",
        "-b",
        "-6",
        "--tun-type",
        "--tun-port",
        "",
    ]);
    let value = prop_oneof![
        prop::sample::select(vec![
            "192.0.2.1:80",
            "198.51.100.11:8080",
            "192.0.2.1",
            "198.51.100.11:0",
            "[2001:db8::1]:80",
            "wrr",
            "rr",
            "sh",
            "lblcr",
            "300",
            "2678401",
            "255.255.255.0",
            "1",
            "0",
            "65536",
            "4294967296",
            "sh-port,sh-fallback",
            "gue",
            "ipip",
        ])
        .prop_map(str::to_string),
        token(),
    ];
    (cmd, kind, value.clone(), prop::collection::vec((option, value), 0..6)).prop_map(
        |(cmd, kind, target, options)| {
            let mut line = format!("{cmd} {kind} {target}");
            for (o, v) in options {
                line.push_str(&format!(" {o} {v}"));
            }
            line
        },
    )
}

/// A netlink attribute: random type, a length field that may lie (short,
/// long, below the header), random payload, sometimes nested.
fn attribute(depth: u32) -> BoxedStrategy<Vec<u8>> {
    let leaf = (any::<u16>(), prop::collection::vec(any::<u8>(), 0..24), -6i32..6)
        .prop_map(|(ty, payload, lie)| tlv(ty, &payload, lie));
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        3 => leaf,
        1 => (any::<u16>(), prop::collection::vec(attribute(depth - 1), 0..5), -6i32..6)
            .prop_map(|(ty, children, lie)| tlv(ty | 0x8000, &children.concat(), lie)),
    ]
    .boxed()
}

/// Type-length-value with netlink's 4-byte header and padding; `lie` is
/// added to the length field.
fn tlv(ty: u16, payload: &[u8], lie: i32) -> Vec<u8> {
    let len = (4 + payload.len()) as i32 + lie;
    let mut out = Vec::new();
    out.extend_from_slice(&(len.clamp(0, u16::MAX as i32) as u16).to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(payload);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    out
}

/// Attributes whose types are the IPVS ones (1..=20), so the decoders reach
/// their per-attribute code, not only the unknown-attribute path.
fn ipvs_attributes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (1u16..=20, prop::collection::vec(any::<u8>(), 0..20), -4i32..4, any::<bool>()),
        0..14,
    )
    .prop_map(|attrs| {
        attrs
            .iter()
            .map(|(ty, p, lie, nested)| tlv(ty | if *nested { 0x8000 } else { 0 }, p, *lie))
            .collect::<Vec<_>>()
            .concat()
    })
}

/// A datagram of netlink messages (16-byte header: len, type, flags, seq,
/// pid) whose lengths may lie, holding a genl header and attributes.
fn datagram() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (
            prop::sample::select(vec![2u16, 3, 16, 0x20, 0]),
            any::<u8>(),
            ipvs_attributes(),
            -20i32..8,
        ),
        0..4,
    )
    .prop_map(|messages| {
        let mut out = Vec::new();
        for (ty, cmd, attrs, lie) in messages {
            let mut body = vec![cmd, 1, 0, 0];
            body.extend_from_slice(&attrs);
            let len = ((16 + body.len()) as i32 + lie).max(0) as u32;
            out.extend_from_slice(&len.to_ne_bytes());
            out.extend_from_slice(&ty.to_ne_bytes());
            out.extend_from_slice(&[2, 0]);
            out.extend_from_slice(&7u32.to_ne_bytes());
            out.extend_from_slice(&0u32.to_ne_bytes());
            out.extend_from_slice(&body);
        }
        out
    })
}

/// Runs every decoder the client runs on a reply (and the lower-level
/// walkers) over `bytes`; only a panic fails.
fn decode_all(bytes: &[u8]) {
    let _ = wire::parse_datagram(bytes);
    // The walker reports malformed framing as an error item; stop there,
    // as the client does.
    for msg in wire::messages(bytes) {
        let Ok(msg) = msg else { break };
        let _ = msg.status();
        if let Ok(reply) = wire::parse_reply(msg.payload) {
            decode_attrs(reply.attrs);
        }
    }
    decode_attrs(bytes);
}

fn decode_attrs(attrs: &[u8]) {
    let _ = wire::decode_service(attrs);
    let _ = wire::decode_dest(attrs, AddressFamily::Inet);
    let _ = wire::decode_dest(attrs, AddressFamily::Inet6);
    let _ = wire::decode_info(attrs);
    let _ = wire::decode_timeouts(attrs);
    let _ = wire::decode_stats(attrs);
    for (ty, payload) in wire::attributes(attrs).map_while(Result::ok) {
        let _ = wire::find(payload, ty);
        let _ = wire::decode_service(payload);
        let _ = wire::decode_dest(payload, AddressFamily::Inet);
        let _ = wire::decode_stats(payload);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn preset_toml_never_panics(text in mutated(preset_sources())) {
        let _ = validate::parse("fuzz.toml", &text);
    }

    #[test]
    fn preset_toml_from_arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = validate::parse("fuzz.toml", &text);
    }

    #[test]
    fn proc_ip_vs_files_never_panic(text in mutated(vec![
        include_str!("fixtures/proc/tutorial.ip_vs.txt"),
        include_str!("fixtures/proc/tutorial.ip_vs_stats.txt"),
    ])) {
        let _ = procfs::parse_services(&text);
        let _ = procfs::parse_stats(&text);
    }

    #[test]
    fn theme_files_never_panic(text in mutated(theme_sources())) {
        let _ = lvslab_tui::theme::parse(&text, "fuzz-theme.toml");
    }

    #[test]
    fn ipvsadm_import_never_panics(
        lines in prop::collection::vec(rule_line(), 0..8),
        noise in mutated(vec![
            include_str!("fixtures/ipvsadm/traffic.Sn.txt"),
            include_str!("fixtures/ipvsadm/kitchen.Sn.txt"),
        ]),
        name in "[a-z][a-z0-9-]{0,8}",
    ) {
        // A name that breaks the rule (ending in '-') is no LabName at all.
        let name = LabName::new(&name).unwrap_or_else(|_| LabName::new("fuzz").unwrap());
        let _ = import::import("fuzz.rules", &lines.join("\n"), &name);
        let _ = import::import("fuzz.rules", &noise, &name);
        let _ = import::name_from_file(&noise);
    }

    #[test]
    fn keepalived_import_never_panics(
        text in mutated(vec![include_str!("fixtures/keepalived/tutorial.conf")]),
        noise in "[a-z_{}# \n0-9.!]{0,200}",
    ) {
        let name = LabName::new("fuzz").unwrap();
        let _ = import::import("fuzz.conf", &text, &name);
        let _ = import::import("fuzz.conf", &format!("virtual_server {noise}"), &name);
    }

    #[test]
    fn number_parsers_never_panic(
        text in prop_oneof![token(), "[0-9.eE+-]{0,12}(ms|s|m|h|)", ".{0,16}"],
        n in any::<i64>(),
    ) {
        let _ = ranges::parse_duration(&text);
        for range in [ranges::WEIGHT, ranges::PORT, ranges::PERSISTENCE, ranges::FWMARK,
                      ranges::DELAY_MS, ranges::REQUESTS, ranges::CONCURRENCY, ranges::HOLD_MS] {
            let _ = range.parse::<u32>(&text);
            let _ = range.parse::<u16>(&text);
            let _ = range.checked::<u64>(n);
        }
        let _ = ranges::RATE.checked(n as f64);
        let _ = lvslab_core::lab::text::shell_word(&text);
        let _ = lvslab_core::lab::text::shown(&text);
    }

    #[test]
    fn netlink_decoder_never_panics_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        decode_all(&bytes);
    }

    #[test]
    fn netlink_decoder_never_panics_on_malformed_attributes(
        attrs in prop::collection::vec(attribute(2), 0..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes = attrs.concat();
        decode_all(&bytes);
        // The same, truncated anywhere.
        decode_all(&bytes[..cut.index(bytes.len() + 1)]);
    }

    #[test]
    fn netlink_decoder_never_panics_on_malformed_messages(
        bytes in datagram(),
        cut in any::<prop::sample::Index>(),
    ) {
        decode_all(&bytes);
        decode_all(&bytes[..cut.index(bytes.len() + 1)]);
    }
}

/// The datagrams the fuzzer found making neli subtract past zero (a panic in
/// a debug build): a header shorter than itself, an NLMSG_ERROR quoting a
/// short header, an NLMSG_DONE whose status word is cut. Each is an error.
#[test]
fn the_datagrams_that_made_neli_panic_are_errors() {
    let header = |len: u32, ty: u16| {
        let mut b = len.to_ne_bytes().to_vec();
        b.extend_from_slice(&ty.to_ne_bytes());
        b.extend_from_slice(&[2, 0, 7, 0, 0, 0, 0, 0, 0, 0]);
        b
    };
    let mut short = header(8, 16);
    short.extend_from_slice(&[0; 8]);
    let mut error = header(36, wire::NLMSG_ERROR);
    error.extend_from_slice(&(-1i32).to_ne_bytes());
    error.extend_from_slice(&header(4, 16));
    let mut done = header(16, wire::NLMSG_DONE);
    done.extend_from_slice(&[0, 1, 0, 0]);
    for bytes in [short, error, done] {
        assert!(wire::parse_datagram(&bytes).is_err(), "{bytes:?}");
    }
}
