//! The Prometheus text exposition format, version 0.0.4: what node_exporter
//! serves and `promtool check metrics` reads.
//!
//! A family is one metric name with its `# HELP` and `# TYPE` lines and its
//! samples, written together (the format allows each name once). Names are
//! checked when a family is made, label names when a sample is added, and
//! label values are escaped (`\`, `"` and newline), so no value read from
//! the kernel or a preset can break the text a scraper parses.

use std::collections::BTreeMap;
use std::fmt::Write;

/// The `Content-Type` of this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a family's samples are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (it restarts at zero when its source does).
    Counter,
    /// Goes up and down.
    Gauge,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
        }
    }
}

/// A name or sample the format cannot carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    #[error(
        "'{0}' is not a metric name: use letters, digits, '_' and ':', not starting with a digit"
    )]
    MetricName(String),
    /// Not `[a-zA-Z_][a-zA-Z0-9_]*`, or reserved (`__` prefix).
    #[error(
        "'{0}' is not a label name: use letters, digits and '_', not starting with a digit or '__'"
    )]
    LabelName(String),
    /// The same label twice in one sample.
    #[error("label '{label}' is given twice in a sample of {family}")]
    RepeatedLabel {
        /// The family.
        family: String,
        /// The label.
        label: String,
    },
    /// Two samples of one family with the same labels.
    #[error("{family} already has a sample with labels {{{labels}}}")]
    RepeatedSample {
        /// The family.
        family: String,
        /// The labels, as written.
        labels: String,
    },
    /// The name was made before with another type or help.
    #[error("{0} is already a family of another type or help")]
    Redefined(String),
}

/// One line of a family: its labels (in the order given) and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Label names and values.
    pub labels: Vec<(String, String)>,
    /// The value.
    pub value: f64,
}

/// One metric name: help, type and samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The metric name.
    pub name: String,
    /// What it measures, in one line.
    pub help: String,
    /// Counter or gauge.
    pub kind: Kind,
    /// Its samples, in the order added.
    pub samples: Vec<Sample>,
}

impl Family {
    /// The sample whose labels are exactly `labels` (in any order).
    pub fn get(&self, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| {
                s.labels.len() == labels.len()
                    && labels.iter().all(|(k, v)| s.labels.iter().any(|(n, w)| n == k && w == v))
            })
            .map(|s| s.value)
    }
}

/// A whole scrape: families by name, written sorted by name as
/// node_exporter writes them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exposition {
    families: BTreeMap<String, Family>,
}

impl Exposition {
    /// An empty scrape.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sample to family `name`, making the family on first use.
    ///
    /// # Errors
    /// A bad metric or label name, a label given twice, a second sample
    /// with the same labels, or `name` already made with another type or help.
    pub fn add(
        &mut self,
        name: &str,
        help: &str,
        kind: Kind,
        labels: &[(&str, String)],
        value: f64,
    ) -> Result<(), Error> {
        self.declare(name, help, kind)?;
        for (i, (label, _)) in labels.iter().enumerate() {
            if !is_label_name(label) {
                return Err(Error::LabelName((*label).to_string()));
            }
            if labels[..i].iter().any(|(l, _)| l == label) {
                return Err(Error::RepeatedLabel {
                    family: name.to_string(),
                    label: (*label).to_string(),
                });
            }
        }
        let family = self.families.get_mut(name).expect("declared above");
        let refs: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if family.get(&refs).is_some() {
            return Err(Error::RepeatedSample {
                family: name.to_string(),
                labels: label_text(labels.iter().map(|(k, v)| (*k, v.as_str()))),
            });
        }
        family.samples.push(Sample {
            labels: labels.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect(),
            value,
        });
        Ok(())
    }

    /// Makes family `name` with no sample yet (a family may be empty).
    ///
    /// # Errors
    /// As [`Exposition::add`].
    pub fn declare(&mut self, name: &str, help: &str, kind: Kind) -> Result<(), Error> {
        if !is_metric_name(name) {
            return Err(Error::MetricName(name.to_string()));
        }
        match self.families.get(name) {
            Some(f) if f.kind != kind || f.help != help => Err(Error::Redefined(name.to_string())),
            Some(_) => Ok(()),
            None => {
                let family =
                    Family { name: name.into(), help: help.into(), kind, samples: Vec::new() };
                self.families.insert(name.to_string(), family);
                Ok(())
            }
        }
    }

    /// The family `name`, if made.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.families.get(name)
    }

    /// Every family, sorted by name.
    pub fn families(&self) -> impl Iterator<Item = &Family> {
        self.families.values()
    }

    /// The text a scraper reads. Families without samples are left out
    /// (promtool flags a HELP/TYPE with nothing under it as no metric).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in self.families.values().filter(|f| !f.samples.is_empty()) {
            let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(&f.help));
            let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind.word());
            for s in &f.samples {
                out.push_str(&f.name);
                if !s.labels.is_empty() {
                    let _ = write!(
                        out,
                        "{{{}}}",
                        label_text(s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    );
                }
                let _ = writeln!(out, " {}", number(s.value));
            }
        }
        out
    }
}

fn label_text<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    labels.map(|(k, v)| format!("{k}=\"{}\"", escape_value(v))).collect::<Vec<_>>().join(",")
}

/// A value as the format writes it: integers exactly (a counter of bytes
/// stays exact up to 2^53), others as Rust's shortest round-trip form.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else if v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// A label value: backslash, double quote and newline escaped.
pub fn escape_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Help text: backslash and newline escaped (quotes are allowed there).
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    !s.starts_with("__")
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_written_once_sorted_with_help_type_and_escaped_labels() {
        let mut e = Exposition::new();
        let l = |v: &str| vec![("server", v.to_string())];
        e.add("b_total", "Second.", Kind::Counter, &l("rs1"), 600.0).unwrap();
        e.add("a", "First, with a \\ and\na newline.", Kind::Gauge, &[], 0.5).unwrap();
        e.add("b_total", "Second.", Kind::Counter, &l("a\"b\\c\nd"), 400.0).unwrap();
        assert_eq!(
            e.render(),
            "# HELP a First, with a \\\\ and\\na newline.\n# TYPE a gauge\na 0.5\n\
             # HELP b_total Second.\n# TYPE b_total counter\nb_total{server=\"rs1\"} 600\n\
             b_total{server=\"a\\\"b\\\\c\\nd\"} 400\n"
        );
        assert_eq!(e.family("b_total").unwrap().get(&[("server", "rs1")]), Some(600.0));
    }

    #[test]
    fn bad_names_repeated_labels_samples_and_redefinitions_are_refused() {
        let mut e = Exposition::new();
        let none: &[(&str, String)] = &[];
        assert_eq!(e.add("1x", "h", Kind::Gauge, none, 1.0), Err(Error::MetricName("1x".into())));
        assert_eq!(
            e.add("x", "h", Kind::Gauge, &[("__name", String::new())], 1.0),
            Err(Error::LabelName("__name".into()))
        );
        assert_eq!(
            e.add("x", "h", Kind::Gauge, &[("a-b", String::new())], 1.0),
            Err(Error::LabelName("a-b".into()))
        );
        let twice = [("a", "1".to_string()), ("a", "2".to_string())];
        assert!(matches!(
            e.add("x", "h", Kind::Gauge, &twice, 1.0),
            Err(Error::RepeatedLabel { .. })
        ));
        e.add("x", "h", Kind::Gauge, &[("a", "1".into())], 1.0).unwrap();
        let again = e.add("x", "h", Kind::Gauge, &[("a", "1".into())], 2.0).unwrap_err();
        assert_eq!(again.to_string(), "x already has a sample with labels {a=\"1\"}");
        assert_eq!(e.add("x", "h", Kind::Counter, none, 1.0), Err(Error::Redefined("x".into())));
    }

    #[test]
    fn numbers_are_exact_integers_or_shortest_floats_and_empty_families_are_left_out() {
        let mut e = Exposition::new();
        e.declare("empty", "Nothing yet.", Kind::Gauge).unwrap();
        e.add("n", "h", Kind::Gauge, &[("k", "big".into())], 2_400_650.0).unwrap();
        e.add("n", "h", Kind::Gauge, &[("k", "nan".into())], f64::NAN).unwrap();
        e.add("n", "h", Kind::Gauge, &[("k", "inf".into())], f64::INFINITY).unwrap();
        e.add("n", "h", Kind::Gauge, &[("k", "third".into())], 1.0 / 3.0).unwrap();
        let text = e.render();
        assert!(!text.contains("empty"), "{text}");
        assert!(text.contains("n{k=\"big\"} 2400650\n"), "{text}");
        assert!(text.contains("n{k=\"nan\"} NaN\nn{k=\"inf\"} +Inf\n"), "{text}");
        assert!(text.contains("n{k=\"third\"} 0.3333333333333333\n"), "{text}");
    }
}
