//! The presets shipped in `labs/`, embedded in the binary so that
//! `lvslab up tutorial` works from any directory, and loading from a path.

use std::path::Path;

use super::error::{SpecError, SpecErrors};
use super::model::LabSpec;
use super::validate;

/// (file name, contents) of every preset in `labs/`.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("tutorial-nat.toml", include_str!("../../../../labs/tutorial-nat.toml")),
    ("nat-rr-4rs.toml", include_str!("../../../../labs/nat-rr-4rs.toml")),
    ("tour-wlc.toml", include_str!("../../../../labs/tour-wlc.toml")),
    ("tour-rr.toml", include_str!("../../../../labs/tour-rr.toml")),
    ("tour-wrr.toml", include_str!("../../../../labs/tour-wrr.toml")),
    ("tour-sh.toml", include_str!("../../../../labs/tour-sh.toml")),
    ("tour-dh.toml", include_str!("../../../../labs/tour-dh.toml")),
    ("tour-lc.toml", include_str!("../../../../labs/tour-lc.toml")),
    ("tour-sed.toml", include_str!("../../../../labs/tour-sed.toml")),
    ("tour-nq.toml", include_str!("../../../../labs/tour-nq.toml")),
    ("tour-lblc.toml", include_str!("../../../../labs/tour-lblc.toml")),
    ("tour-lblcr.toml", include_str!("../../../../labs/tour-lblcr.toml")),
    ("tour-mh.toml", include_str!("../../../../labs/tour-mh.toml")),
    ("tour-fo.toml", include_str!("../../../../labs/tour-fo.toml")),
    ("tour-ovf.toml", include_str!("../../../../labs/tour-ovf.toml")),
    ("dr.toml", include_str!("../../../../labs/dr.toml")),
    ("tun.toml", include_str!("../../../../labs/tun.toml")),
    ("tun-remote.toml", include_str!("../../../../labs/tun-remote.toml")),
    ("nat-vs-dr.toml", include_str!("../../../../labs/nat-vs-dr.toml")),
    ("tour-clients.toml", include_str!("../../../../labs/tour-clients.toml")),
    ("ha.toml", include_str!("../../../../labs/ha.toml")),
];

/// A loaded preset and where it came from.
#[derive(Debug, Clone)]
pub struct Preset {
    /// The validated lab.
    pub spec: LabSpec,
    /// `labs/<file>` for embedded presets, else the path given.
    pub origin: String,
}

/// Every embedded preset, validated (they are tested to be valid).
pub fn embedded() -> Vec<Preset> {
    EMBEDDED
        .iter()
        .filter_map(|(file, source)| {
            let origin = format!("labs/{file}");
            validate::parse(&origin, source).ok().map(|spec| Preset { spec, origin })
        })
        .collect()
}

/// The source text of an embedded preset by its origin (`labs/<file>`).
pub fn embedded_source(origin: &str) -> Option<&'static str> {
    let file = origin.strip_prefix("labs/")?;
    EMBEDDED.iter().find(|(f, _)| *f == file).map(|(_, source)| *source)
}

/// A preset's own explanation: its leading comment block, `# ` stripped,
/// blank comment lines kept as paragraph breaks; empty without one.
pub fn explanation(source: &str) -> String {
    let mut lines = Vec::new();
    for line in source.lines() {
        let Some(comment) = line.trim_start().strip_prefix('#') else { break };
        lines.push(comment.strip_prefix(' ').unwrap_or(comment).trim_end());
    }
    lines.join("\n").trim().to_string()
}

/// Whether a command-line word names a file: it contains a `/` or ends in
/// `.toml`. Any other word is a preset (or running lab) name, never a file,
/// so a file in the current directory cannot shadow a built-in preset.
pub fn is_path(arg: &str) -> bool {
    arg.contains('/') || arg.ends_with(".toml")
}

/// Finds a preset by path (see [`is_path`]), else by the lab name it
/// declares or its file stem among the built-in presets.
pub fn load(name_or_path: &str) -> Result<Preset, SpecErrors> {
    if is_path(name_or_path) {
        return load_file(Path::new(name_or_path));
    }
    for (file, source) in EMBEDDED {
        let stem = file.trim_end_matches(".toml");
        let origin = format!("labs/{file}");
        let declared = toml::from_str::<toml::Table>(source)
            .ok()
            .and_then(|t| t.get("name").and_then(|n| n.as_str().map(str::to_string)));
        if stem == name_or_path || declared.as_deref() == Some(name_or_path) {
            return validate::parse(&origin, source).map(|spec| Preset { spec, origin });
        }
    }
    let known: Vec<String> =
        embedded().iter().map(|p| format!("{} ({})", p.spec.name, p.origin)).collect();
    Err(SpecErrors(vec![SpecError {
        file: name_or_path.to_string(),
        line: 0,
        col: 0,
        message: format!("no preset is called '{name_or_path}'"),
        help: Some(format!(
            "use one of {}, or the path of a preset file (lvslab check FILE validates one)",
            known.join(", ")
        )),
    }]))
}

/// Reads and validates a preset file.
pub fn load_file(path: &Path) -> Result<Preset, SpecErrors> {
    let origin = path.display().to_string();
    let source = super::input::read_file(path).map_err(|e| {
        let mut error = e.to_spec_error();
        if let super::input::InputErrorKind::Io(io) = &e.kind {
            error.message = format!("cannot read the preset: {io}");
            error.help = Some("give the path of a readable .toml file, or a preset name".into());
        }
        SpecErrors(vec![error])
    })?;
    validate::parse(&origin, &source).map(|spec| Preset { spec, origin })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_labs_is_embedded_and_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../labs");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = EMBEDDED.iter().map(|(f, _)| f.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded, "add new labs/*.toml files to EMBEDDED");
        for (file, source) in EMBEDDED {
            if let Err(e) = validate::parse(file, source) {
                panic!("{e}");
            }
        }
    }

    #[test]
    fn presets_are_found_by_lab_name_and_by_file_stem() {
        assert_eq!(load("tutorial").unwrap().spec.name, "tutorial");
        assert_eq!(load("tutorial-nat").unwrap().spec.name, "tutorial");
        assert_eq!(load("rr4").unwrap().spec.real_servers.len(), 4);
        let err = load("nope").unwrap_err().to_string();
        assert!(err.contains("no preset is called 'nope'"), "{err}");
        assert!(err.contains("tutorial (labs/tutorial-nat.toml)"), "{err}");
    }

    #[test]
    fn the_explanation_is_the_leading_comment_block() {
        let source = "# Title.\n#\n# Prose here.\n#   diagram\n\n# not this\nname = \"x\"\n";
        assert_eq!(explanation(source), "Title.\n\nProse here.\n  diagram");
        assert_eq!(explanation("name = \"x\"\n# late"), "");
        for preset in embedded() {
            let source = embedded_source(&preset.origin).expect("an embedded preset's source");
            assert!(!explanation(source).is_empty(), "{} explains itself", preset.origin);
        }
    }
}
