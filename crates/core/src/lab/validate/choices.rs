//! The lab's choices among named ways of working: who programs the table
//! (`control`), what a failed health check does (`failed-check`) and which
//! dataplane balances (`dataplane`, with what nftables cannot run).

use toml::Spanned;

use super::super::model::{Control, Dataplane, FailedCheck};
use super::super::spec::SpecFile;
use super::super::{schedulers, text};
use super::Checker;

impl Checker<'_> {
    /// `control = "lvslab" | "keepalived"`.
    pub(super) fn control(&mut self, value: Option<&Spanned<String>>) -> Control {
        match value.map(|v| v.get_ref().as_str()) {
            None | Some("lvslab") => Control::Lvslab,
            Some("keepalived") => Control::Keepalived,
            Some(other) => {
                let span = value.map(Spanned::span).unwrap_or_default();
                self.error(
                    span,
                    format!("control '{}' is unknown", text::shown(other)),
                    "write control = \"lvslab\" (lvslab programs IPVS) or \"keepalived\" \
                     (keepalived programs it and health-checks the real servers)",
                );
                Control::Lvslab
            }
        }
    }

    /// `failed-check = "remove" | "weight-0"`.
    pub(super) fn failed_check(&mut self, value: Option<&Spanned<String>>) -> FailedCheck {
        match value.map(|v| v.get_ref().as_str()) {
            None | Some("remove") => FailedCheck::Remove,
            Some("weight-0") => FailedCheck::WeightZero,
            Some(other) => {
                let span = value.map(Spanned::span).unwrap_or_default();
                self.error(
                    span,
                    format!("failed-check '{}' is unknown", text::shown(other)),
                    "write failed-check = \"remove\" (a server whose check fails leaves the \
                     table) or \"weight-0\" (it stays with weight 0: keepalived's \
                     inhibit_on_failure)",
                );
                FailedCheck::Remove
            }
        }
    }

    /// `dataplane = "ipvs" | "nft" | "none"`; with nft, every service's
    /// scheduler must be one nftables can run.
    pub(super) fn dataplane(&mut self, raw: &SpecFile) -> Option<Dataplane> {
        let value = raw.dataplane.as_ref()?;
        let dataplane = match value.get_ref().as_str() {
            "ipvs" => Dataplane::Ipvs,
            "nft" => Dataplane::Nft,
            "none" => Dataplane::None,
            other => {
                self.error(
                    value.span(),
                    format!("unknown dataplane '{}'", text::shown(other)),
                    "use \"ipvs\" (the kernel's IPVS), \"nft\" (nftables DNAT, as kube-proxy) \
                     or \"none\" (routing only)",
                );
                return None;
            }
        };
        if dataplane == Dataplane::Nft {
            for svc in &raw.services {
                let scheduler = schedulers::Scheduler::named(svc.scheduler.get_ref());
                if let Some(Err(why)) = scheduler.map(schedulers::Scheduler::nftables) {
                    self.error(
                        svc.scheduler.span(),
                        format!(
                            "scheduler '{}' cannot run on dataplane nft: {why}",
                            svc.scheduler.get_ref()
                        ),
                        format!(
                            "use one of {}, or dataplane = \"ipvs\"",
                            schedulers::nftables_names()
                        ),
                    );
                }
                if let Some(flags) =
                    svc.scheduler_flags.as_ref().filter(|f| !f.get_ref().is_empty())
                {
                    self.error(
                        flags.span(),
                        "scheduler flags cannot run on dataplane nft: they are bits of an IPVS \
                         service, and nftables' jhash always hashes the address alone"
                            .into(),
                        "remove scheduler-flags, or dataplane = \"ipvs\"",
                    );
                }
            }
        }
        Some(dataplane)
    }
}
