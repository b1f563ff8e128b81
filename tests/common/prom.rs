//! What the metrics tests read of Prometheus text: every sample (name,
//! labels, value), `promtool check metrics` on it, and `lvslab metrics`
//! serving a lab on a free loopback port.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

/// One sample line: its metric name, labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    /// `name{a="1",b="2"}` with the labels sorted, as a table's first column.
    pub fn key(&self) -> String {
        let labels: Vec<String> = self.labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        format!("{}{{{}}}", self.name, labels.join(","))
    }
}

/// Every sample of `text` (comments skipped); panics on a line that is not
/// `name{labels} value` with the format's escapes.
pub fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (head, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
            let value = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
            };
            let (name, labels) = match head.split_once('{') {
                Some((name, rest)) => {
                    (name, labels(rest.strip_suffix('}').expect("labels end with }")))
                }
                None => (head, BTreeMap::new()),
            };
            Sample { name: name.to_string(), labels, value }
        })
        .collect()
}

fn labels(mut s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    while !s.is_empty() {
        let (name, rest) = s.split_once("=\"").expect("label=\"value\"");
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next().expect("closing quote") {
                (_, '\\') => match chars.next().expect("escaped char").1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        out.insert(name.to_string(), value);
        s = rest[end + 1..].trim_start_matches(',');
    }
    out
}

/// The samples of `name` with label `label` = `value`.
pub fn value_where(all: &[Sample], name: &str, label: &str, value: &str) -> Vec<f64> {
    all.iter()
        .filter(|s| s.name == name && s.labels.get(label).is_some_and(|v| v == value))
        .map(|s| s.value)
        .collect()
}

/// `lvslab_backend_connections_total` per lab host (joined through
/// `lvslab_backend_info`'s `server` label), sorted by host.
pub fn connections_by_server(all: &[Sample]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for info in all.iter().filter(|s| s.name == "lvslab_backend_info") {
        let mut backend = info.labels.clone();
        let server = backend.remove("server").unwrap();
        backend.remove("origin");
        backend.remove("programmed");
        let conns = all
            .iter()
            .find(|s| s.name == "lvslab_backend_connections_total" && s.labels == backend)
            .unwrap_or_else(|| panic!("no connections counter for {server}"));
        out.insert(server, conns.value as u64);
    }
    out
}

/// Runs `promtool check metrics` on `text`; panics with its words when it
/// finds anything (it exits 0 only on text it has nothing to say about).
pub fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (Debian package prometheus; tests/vm/setup installs it)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}\n--- text ---\n{text}",
        super::output_text(&out)
    );
}

/// `lvslab metrics LAB --listen 127.0.0.1:0`, stopped when dropped.
pub struct Endpoint {
    child: Child,
    /// The address it printed.
    pub addr: String,
}

impl Endpoint {
    /// Starts it and waits for the line that names its address.
    pub fn start(lab: &str) -> Self {
        let mut child = super::lvslab()
            .args(["metrics", lab, "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("lvslab metrics starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("lvslab metrics names its address: {line:?}"))
            .to_string();
        Self { child, addr }
    }

    /// GET `path`: the status line and the body.
    pub fn get(&self, path: &str) -> (String, String) {
        http_get(&self.addr, path)
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.0 GET (the answer ends when the server closes).
pub fn http_get(addr: &str, path: &str) -> (String, String) {
    let mut stream =
        std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (head.lines().next().unwrap_or_default().to_string(), body.to_string())
}
