//! A lab's name ([`LabName`]), made only by the lab-name rule: the one way
//! to name a lab wherever a path, a namespace or a process is chosen.
//!
//! A name read back from the system (a namespace under /run/netns, a
//! record, a mark) that breaks the rule never becomes a `LabName`: it is
//! someone else's, listed as foreign and never joined to a path. So no
//! `..`, `.`, `/` or lvslab folder name can reach `/run/lvslab` through a
//! lab's name.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

use super::text;

/// The longest lab name: `lvs-<lab>-<host>` must fit namespaces, links and
/// keepalived's names with room for the host.
pub const MAX_LAB_NAME: usize = 32;

/// The namespaces of lab `lab` are `lvs-<lab>-<host>`.
pub const NETNS_PREFIX: &str = "lvs-";

/// A valid lab name: 1 to [`MAX_LAB_NAME`] lowercase letters, digits and
/// '-', starting with a letter and not ending with '-'.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LabName(String);

impl LabName {
    /// `name` as a lab name, or the rule it breaks and how to fix it.
    ///
    /// # Errors
    /// When `name` breaks the rule; the message says the rule (and never
    /// repeats `name` unescaped).
    pub fn new(name: &str) -> Result<Self, String> {
        let valid_chars =
            name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let starts_ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        if valid_chars && starts_ok && !name.ends_with('-') && name.len() <= MAX_LAB_NAME {
            return Ok(Self(name.to_string()));
        }
        Err(format!(
            "use 1 to {MAX_LAB_NAME} characters: lowercase letters, digits and '-', starting with \
             a letter and not ending with '-' (it names the namespaces lvs-<lab>-<host>)"
        ))
    }

    /// The name, for the command line and the CLI parser: the error names
    /// the bad value (escaped) and the rule.
    ///
    /// # Errors
    /// When `name` breaks the rule.
    pub fn parse(name: &str) -> Result<Self, String> {
        Self::new(name).map_err(|rule| format!("'{}' is not a lab name: {rule}", text::shown(name)))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lab and host of a namespace named `lvs-<lab>-<host>`, split at
    /// the last '-'; `None` when it is not one, or when the lab part breaks
    /// the rule (such a namespace is not lvslab's, whatever its name says).
    pub fn of_netns(netns: &str) -> Option<(Self, &str)> {
        let rest = netns.strip_prefix(NETNS_PREFIX)?;
        let (lab, host) = rest.rsplit_once('-')?;
        if host.is_empty() {
            return None;
        }
        Self::new(lab).ok().map(|lab| (lab, host))
    }
}

impl TryFrom<String> for LabName {
    type Error = String;
    fn try_from(name: String) -> Result<Self, String> {
        Self::parse(&name)
    }
}

impl From<LabName> for String {
    fn from(name: LabName) -> Self {
        name.0
    }
}

impl std::str::FromStr for LabName {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        Self::parse(name)
    }
}

impl Deref for LabName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

// Hash and Eq are the string's, so a LabName may stand for its text in maps.
impl std::borrow::Borrow<str> for LabName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for LabName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for LabName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for LabName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for LabName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // pad, not write_str: `{lab:<12}` lines up the columns of `ls`.
        f.pad(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_admits_lab_names_and_nothing_that_walks_a_path() {
        for good in ["tutorial", "a", "ha-2", "nat-vs-dr"] {
            assert_eq!(LabName::new(good).unwrap().as_str(), good);
        }
        for bad in ["", ".", "..", "a/b", "A", "1a", "a-", "a b", "a\u{1b}]0;x", &"a".repeat(33)] {
            assert!(LabName::new(bad).is_err(), "{bad:?} passed");
        }
        assert!(LabName::parse("a\u{1b}[2J").unwrap_err().contains("\\u{1b}[2J"));
    }

    #[test]
    fn namespaces_whose_lab_part_breaks_the_rule_are_nobodys_lab() {
        assert_eq!(
            LabName::of_netns("lvs-tutorial-rs1"),
            Some((LabName::new("tutorial").unwrap(), "rs1"))
        );
        assert_eq!(
            LabName::of_netns("lvs-a-b-client").map(|(l, h)| (l.to_string(), h)),
            Some(("a-b".into(), "client"))
        );
        for foreign in ["lvs-..-x", "lvs-.-x", "lvs-x", "other-a-b", "lvs-a-", "lvs-UP-x", "lvs--x"]
        {
            assert_eq!(LabName::of_netns(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn a_record_with_a_bad_name_does_not_deserialize() {
        assert!(serde_json::from_str::<LabName>("\"tutorial\"").is_ok());
        let err = serde_json::from_str::<LabName>("\"..\"").unwrap_err().to_string();
        assert!(err.contains("is not a lab name"), "{err}");
    }
}
