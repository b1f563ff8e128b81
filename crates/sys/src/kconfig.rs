//! The running kernel's build options, from /proc/config.gz (when the kernel
//! exposes it), so `doctor` can say *why* something is missing.

use std::io::Read;

/// How an option was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Built {
    /// Built in (`=y`).
    Yes,
    /// A loadable module (`=m`).
    Module,
    /// Not set.
    No,
}

/// Reads option `name` (e.g. `CONFIG_IP_VS`); `None` if the kernel does not
/// expose its configuration.
pub fn option(name: &str) -> Option<Built> {
    let file = std::fs::File::open("/proc/config.gz").ok()?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(file).read_to_string(&mut text).ok()?;
    Some(lookup(&text, name))
}

fn lookup(config: &str, name: &str) -> Built {
    config
        .lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
        .map_or(Built::No, |value| match value {
            "y" => Built::Yes,
            "m" => Built::Module,
            _ => Built::No,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_by_exact_name() {
        let config = "CONFIG_IP_VS_RR=m\nCONFIG_IP_VS=m\n# CONFIG_IP_VS_TWOS is not set\nCONFIG_NF_TABLES=y\n";
        assert_eq!(lookup(config, "CONFIG_IP_VS"), Built::Module);
        assert_eq!(lookup(config, "CONFIG_NF_TABLES"), Built::Yes);
        assert_eq!(lookup(config, "CONFIG_IP_VS_TWOS"), Built::No);
    }
}
