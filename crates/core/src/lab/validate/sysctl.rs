//! `[director.sysctl]`: every key must be a knob of the sysctl facts table
//! ([`crate::lab::sysctl`], the one home of what each takes) and every value
//! one it takes; each error is at the value's file:line with the fix.

use std::collections::BTreeMap;

use toml::Spanned;

use super::Checker;
use crate::lab::sysctl::{self, fact};
use crate::lab::text::shown;

impl Checker<'_> {
    /// The settings, normalised as the kernel prints them (`3\t50`).
    pub(super) fn director_sysctl(
        &mut self,
        raw: &BTreeMap<String, Spanned<toml::Value>>,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        // In the file's order, as every other error is reported.
        let mut entries: Vec<_> = raw.iter().collect();
        entries.sort_by_key(|(_, v)| v.span().start);
        for (name, value) in entries {
            let Some(fact) = fact(name) else {
                self.error(
                    value.span(),
                    format!("[director.sysctl]: {}", sysctl::unknown(name)),
                    "use a name `lvslab sysctl LAB` lists, short (expire_nodest_conn = 1) or a \
                     timeout (tcp = 5)",
                );
                continue;
            };
            let text = match value.get_ref() {
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::String(s) => s.clone(),
                other => {
                    self.error(
                        value.span(),
                        format!(
                            "[director.sysctl] {}: a {} is no value",
                            shown(name),
                            other.type_str()
                        ),
                        format!(
                            "give a number or a string, e.g. {} = {}",
                            fact.name,
                            example(fact)
                        ),
                    );
                    continue;
                }
            };
            match fact.parse(&text) {
                Ok(v) => {
                    out.insert(fact.name.to_string(), v);
                }
                Err(why) => self.error(
                    value.span(),
                    format!("[director.sysctl] {why}"),
                    format!(
                        "e.g. {} = {} (the kernel's default), or leave it out",
                        fact.name,
                        example(fact)
                    ),
                ),
            }
        }
        out
    }
}

/// A value of `fact` as a preset writes it: its default, quoted when it is a pair.
fn example(fact: &sysctl::Fact) -> String {
    let default = fact.default.unwrap_or("1").replace('\t', " ");
    if default.contains(' ') { format!("\"{default}\"") } else { default }
}
