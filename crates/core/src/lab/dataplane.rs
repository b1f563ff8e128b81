//! The dataplane a bring-up uses when neither the command line nor the
//! preset names one: IPVS where the kernel has it, else nftables where `nft`
//! runs, said in one line with the reason. Decided here without IO; the
//! binary probes the machine (`ops::dataplane`).

use super::model::Dataplane;

/// What the machine offers, as probed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// `None` when the kernel has IPVS; else why not, in a few words
    /// ("this kernel has no IPVS (CONFIG_IP_VS is not set)").
    pub ipvs_missing: Option<String>,
    /// Whether the `nft` command runs.
    pub nft: bool,
}

/// The dataplane chosen, and the one line that says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub dataplane: Dataplane,
    pub why: String,
}

/// The default for `up` and the dashboard. `needs_ipvs` names a part of
/// the lab only IPVS serves (keepalived programs IPVS): then IPVS, and the
/// bring-up's own check says what is missing. An error when the machine
/// balances with neither.
pub fn choose(machine: &Machine, needs_ipvs: Option<&str>) -> Result<Choice, String> {
    if let Some(part) = needs_ipvs {
        return Ok(Choice { dataplane: Dataplane::Ipvs, why: format!("dataplane ipvs: {part}") });
    }
    match (&machine.ipvs_missing, machine.nft) {
        (None, _) => Ok(Choice {
            dataplane: Dataplane::Ipvs,
            why: "dataplane ipvs: this kernel has IPVS (`--dataplane nft` for nftables)".into(),
        }),
        (Some(missing), true) => Ok(Choice {
            dataplane: Dataplane::Nft,
            why: format!(
                "dataplane nft: {missing}, and nft is installed, so nftables balances \
                 (`--dataplane ipvs` insists on IPVS)"
            ),
        }),
        (Some(missing), false) => Err(format!(
            "{missing}, and `nft` is not installed, so nothing here can balance: install \
             nftables (apt-get install nftables) for `--dataplane nft`, boot a kernel with \
             IPVS, or use `--dataplane none` for the topology only"
        )),
    }
}

/// The default for the guided walk, which teaches ipvsadm and has no
/// nftables steps: IPVS where the kernel has it, else the routing steps
/// only (`none`).
pub fn choose_for_walk(machine: &Machine) -> Choice {
    match &machine.ipvs_missing {
        None => Choice {
            dataplane: Dataplane::Ipvs,
            why: "dataplane ipvs: this kernel has IPVS".into(),
        },
        Some(missing) => Choice {
            dataplane: Dataplane::None,
            why: format!(
                "dataplane none: {missing}, so the walk does its routing steps and explains \
                 the IPVS ones (`lvslab up tutorial` balances with nftables)"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(ipvs: bool, nft: bool) -> Machine {
        Machine {
            ipvs_missing: (!ipvs)
                .then(|| "this kernel has no IPVS (CONFIG_IP_VS is not set)".into()),
            nft,
        }
    }

    #[test]
    fn ipvs_where_the_kernel_has_it_whether_or_not_nft_runs() {
        for nft in [true, false] {
            let choice = choose(&machine(true, nft), None).unwrap();
            assert_eq!(choice.dataplane, Dataplane::Ipvs);
            assert!(choice.why.contains("this kernel has IPVS"), "{}", choice.why);
        }
    }

    #[test]
    fn nftables_without_ipvs_says_why_and_how_to_insist() {
        let choice = choose(&machine(false, true), None).unwrap();
        assert_eq!(choice.dataplane, Dataplane::Nft);
        for needle in ["CONFIG_IP_VS is not set", "nft is installed", "--dataplane ipvs"] {
            assert!(choice.why.contains(needle), "{needle}: {}", choice.why);
        }
        assert_eq!(choice.why.lines().count(), 1);
    }

    #[test]
    fn neither_is_an_error_naming_each_way_on() {
        let err = choose(&machine(false, false), None).unwrap_err();
        for needle in ["CONFIG_IP_VS", "apt-get install nftables", "--dataplane none"] {
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn a_part_only_ipvs_serves_keeps_ipvs_even_without_it() {
        let choice = choose(&machine(false, true), Some("keepalived programs IPVS")).unwrap();
        assert_eq!(choice.dataplane, Dataplane::Ipvs);
        assert!(choice.why.contains("keepalived"));
    }

    #[test]
    fn the_walk_without_ipvs_does_its_routing_steps() {
        assert_eq!(choose_for_walk(&machine(true, true)).dataplane, Dataplane::Ipvs);
        let choice = choose_for_walk(&machine(false, true));
        assert_eq!(choice.dataplane, Dataplane::None);
        assert!(choice.why.contains("routing steps"), "{}", choice.why);
    }
}
