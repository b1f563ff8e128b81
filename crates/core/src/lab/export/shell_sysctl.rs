//! The script's lines for a preset's `[director.sysctl]`: each `net.ipv4.vs.*`
//! as `sysctl -qw` and the timeouts as one `ipvsadm --set` in every director,
//! as `lvslab up` applies them. Kept apart from [`super::shell`], which
//! writes everything else.

use std::fmt::Write as _;

use crate::lab::model::LabSpec;
use crate::lab::sysctl::{self, Place};
use crate::lab::text::shell_word;

/// Appends the settings' commands (nothing when the preset has none).
pub(super) fn director_sysctls(out: &mut String, spec: &LabSpec) {
    let settings = &spec.director.sysctl;
    if settings.is_empty() {
        return;
    }
    out.push_str(
        "\n    # The preset's [director.sysctl]: IPVS's own settings, per namespace, so the\n    \
         # lab's only (`lvslab sysctl LAB` lists each with its default and meaning).\n",
    );
    // ipvsadm --set takes all three timeouts; 0 leaves one as it is.
    let timeout = |name: &str| settings.get(name).map_or("0", String::as_str);
    let timeouts = ["tcp", "tcpfin", "udp"].iter().any(|t| settings.contains_key(*t));
    for host in spec.directors() {
        let ns = shell_word(&spec.netns(host)).into_owned();
        for (name, value) in settings {
            if sysctl::fact(name).is_some_and(|f| f.place == Place::Sysctl) {
                // A pair (sync_threshold) as `3 50`: sysctl splits on any white space.
                let assignment = format!("{}{name}={}", sysctl::PREFIX, value.replace('\t', " "));
                let _ =
                    writeln!(out, "    ip netns exec {ns} sysctl -qw {}", shell_word(&assignment));
            }
        }
        if timeouts {
            let _ = writeln!(
                out,
                "    ip netns exec {ns} ipvsadm --set {} {} {}",
                shell_word(timeout("tcp")),
                shell_word(timeout("tcpfin")),
                shell_word(timeout("udp"))
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lab::presets;

    #[test]
    fn a_presets_settings_become_sysctl_and_ipvsadm_set_lines() {
        let tutorial = presets::embedded().into_iter().find(|p| p.spec.name == "tutorial").unwrap();
        let mut spec = tutorial.spec;
        assert!(!super::super::shell::to_shell(&spec).contains("ipvsadm --set"), "none by default");
        spec.director.sysctl.insert("expire_nodest_conn".into(), "1".into());
        spec.director.sysctl.insert("sync_threshold".into(), "3\t50".into());
        spec.director.sysctl.insert("udp".into(), "7".into());
        let script = super::super::shell::to_shell(&spec);
        assert!(
            script.contains("ip netns exec lvs-tutorial-director sysctl -qw 'net.ipv4.vs.expire_nodest_conn=1'\n"),
            "{script}"
        );
        assert!(
            script.contains("sysctl -qw 'net.ipv4.vs.sync_threshold=3 50'"),
            "quoted: {script}"
        );
        assert!(script.contains("ipvsadm --set 0 0 7\n"), "{script}");
    }
}
