//! Where each value of the input is (line and column), so that a refusal,
//! the reader's or the validator's about the generated preset, points at the
//! value in the user's own file, never at the preset it never sees.

use super::Table;
use crate::lab::error::{SpecError, SpecErrors};

/// A place in the input: 1-based line and column.
pub(crate) type At = (usize, usize);

/// Which value of a rule (or keepalived block) a refusal is about, so that
/// the error points at it in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    /// The service: protocol and address, or fwmark.
    Service,
    Scheduler,
    Persistence,
    Netmask,
    /// --pe, -o: what a preset cannot express.
    Options,
    /// -b (keepalived's sh-port, mh-port, ... keywords).
    SchedFlags,
    /// A real server's address.
    RealServer,
    /// A real server's port.
    RealPort,
    /// Forwarding method (-m, -g, -i; lb_kind).
    Method,
    Weight,
    /// -x, -y.
    Thresholds,
}

/// Where a rule and its values are in the input.
#[derive(Debug, Clone, Default)]
pub(crate) struct Places {
    /// The rule (its line, its first column).
    pub(crate) rule: At,
    /// Each value the reader found, by what it is.
    pub(crate) values: Vec<(Field, At)>,
}

impl Places {
    /// Where `field` is, else where the rule is.
    pub(crate) fn of(&self, field: Field) -> At {
        self.values.iter().find(|(f, _)| *f == field).map_or(self.rule, |(_, at)| *at)
    }

    /// Records where `field` is; a later value replaces an earlier one, as
    /// it does in ipvsadm and keepalived.
    pub(crate) fn set(&mut self, field: Field, at: At) {
        self.values.retain(|(f, _)| *f != field);
        self.values.push((field, at));
    }
}

/// A refusal: what is wrong, how to fix it, and which value it is about.
pub(crate) struct Refused {
    pub(crate) field: Field,
    pub(crate) message: String,
    pub(crate) help: &'static str,
}

impl Refused {
    pub(super) fn about(field: Field, (message, help): Refusal) -> Self {
        Self { field, message, help }
    }

    /// The error, at its value's place in the input.
    pub(crate) fn at(self, file: &str, places: &Places) -> SpecError {
        let (line, col) = places.of(self.field);
        SpecError {
            file: file.to_string(),
            line,
            col,
            message: self.message,
            help: Some(self.help.to_string()),
        }
    }
}

/// A refusal's message and the fix.
pub(crate) type Refusal = (String, &'static str);

/// The validator's `errors` about the generated `toml` told at the places
/// of the input (`table`, read from `file`) that made the refused values.
pub(super) fn in_input(file: &str, errors: SpecErrors, toml: &str, table: &Table) -> SpecErrors {
    let lines: Vec<&str> = toml.lines().collect();
    let first = table.services.first().map_or((0, 0), |d| d.places.rule);
    SpecErrors(
        errors
            .0
            .into_iter()
            .map(|e| {
                let (line, col) = origin(&lines, e.line, table).unwrap_or(first);
                SpecError { file: file.to_string(), line, col, ..e }
            })
            .collect(),
    )
}

/// The place in the input that made line `n` (1-based) of the generated preset:
/// the service, real server or value its block and key stand for.
fn origin(lines: &[&str], n: usize, table: &Table) -> Option<At> {
    enum Block {
        Other,
        RealServer(usize),
        Service(usize),
        Member(usize, usize),
    }
    let mut block = Block::Other;
    let (mut rs, mut svc, mut member) = (0, 0, 0);
    for line in lines.iter().take(n.saturating_sub(1)) {
        block = match line.trim() {
            "[[real-server]]" => {
                rs += 1;
                Block::RealServer(rs - 1)
            }
            "[[service]]" => {
                (svc, member) = (svc + 1, 0);
                Block::Service(svc - 1)
            }
            "[[service.real-server]]" => {
                member += 1;
                Block::Member(svc.checked_sub(1)?, member - 1)
            }
            l if l.starts_with('[') => Block::Other,
            _ => continue,
        };
    }
    let key = lines.get(n.checked_sub(1)?)?.split_once('=').map_or("", |(k, _)| k.trim());
    match block {
        Block::Other => None,
        Block::RealServer(k) => table.rips.get(k).map(|(_, at)| *at),
        Block::Service(i) => {
            let field = match key {
                "scheduler" => Field::Scheduler,
                "persistence" => Field::Persistence,
                "persistence-netmask" => Field::Netmask,
                _ => Field::Service,
            };
            table.services.get(i).map(|d| d.places.of(field))
        }
        Block::Member(i, j) => {
            let field = match key {
                "port" => Field::RealPort,
                "weight" => Field::Weight,
                "forward" => Field::Method,
                _ => Field::RealServer,
            };
            table.services.get(i)?.members.get(j).map(|m| m.places.of(field))
        }
    }
}

/// The words of `text`, each with its 1-based column.
pub(super) fn words(text: &str) -> Vec<(usize, String)> {
    let mut words = Vec::new();
    let mut word: Option<(usize, String)> = None;
    for (col, c) in text.chars().enumerate() {
        if c.is_whitespace() {
            words.extend(word.take());
        } else {
            word.get_or_insert_with(|| (col + 1, String::new())).1.push(c);
        }
    }
    words.extend(word);
    words
}

/// Where each option's value is on rules line `n` (`text`): the token after
/// the option (the option itself for the ones without a value).
pub(super) fn rules_places(n: usize, text: &str) -> Places {
    let tokens = words(text);
    let mut places = Places { rule: (n, tokens.first().map_or(1, |t| t.0)), values: Vec::new() };
    for (k, (col, tok)) in tokens.iter().enumerate() {
        let value = tokens.get(k + 1).map_or(*col, |t| t.0);
        match tok.as_str() {
            "-t" | "--tcp-service" | "-u" | "--udp-service" | "--sctp-service" | "-f"
            | "--fwmark-service" => places.set(Field::Service, (n, value)),
            "-s" | "--scheduler" => places.set(Field::Scheduler, (n, value)),
            "-p" | "--persistent" => places.set(Field::Persistence, (n, value)),
            "-M" | "--netmask" => places.set(Field::Netmask, (n, value)),
            "--pe" | "-o" | "--ops" => places.set(Field::Options, (n, *col)),
            "-b" | "--sched-flags" => places.set(Field::SchedFlags, (n, value)),
            "-r" | "--real-server" => {
                places.set(Field::RealServer, (n, value));
                let addr = tokens.get(k + 1).map_or("", |t| t.1.as_str());
                let port = addr.rfind(':').map_or(0, |i| addr[..=i].chars().count());
                places.set(Field::RealPort, (n, value + port));
            }
            "-m" | "--masquerading" | "-g" | "--gatewaying" | "-i" | "--ipip" => {
                places.set(Field::Method, (n, *col));
            }
            "-w" | "--weight" => places.set(Field::Weight, (n, value)),
            "-x" | "--u-threshold" | "-y" | "--l-threshold" => {
                places.set(Field::Thresholds, (n, *col));
            }
            _ => {}
        }
    }
    places
}
