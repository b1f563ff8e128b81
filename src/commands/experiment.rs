//! `lvslab experiment LAB NAME [--json] | --list`: one measured experiment
//! on a lab's director, its settings side by side, every change put back.

use std::process::ExitCode;

use anyhow::{Result, bail};
use lvslab::ops::experiment;
use lvslab::ops::state::{LabState, Stored};
use lvslab_core::experiment::report::{self, Report};
use lvslab_core::experiment::{find, listing};

use crate::cli::ExperimentArgs;

pub fn run(args: &ExperimentArgs) -> Result<ExitCode> {
    if args.list {
        print!("{}", listing());
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(lab), Some(name)) = (&args.lab, &args.name) else {
        bail!("name a lab and an experiment (lvslab experiment --list names them)");
    };
    // The name first: a typo is refused before the lab is looked at.
    let plan = find(name).map_err(anyhow::Error::msg)?;
    super::require_privilege("experiment")?;
    let Some(mut state) = LabState::load(lab)? else {
        bail!("no lab '{lab}' is running (lvslab up {lab} builds it)");
    };
    experiment::check(&state, plan)?;
    super::runtime()?.block_on(async {
        let mut journal = experiment::journal(&state)?;
        // The journal outlives the work: whatever ends it (done, an error,
        // a signal dropping it mid-change), every change is put back and
        // the lab compared with its snapshot.
        let outcome =
            super::signals::unless_signalled(experiment::run(&mut state, plan, &mut journal))
                .await?;
        let restored = journal.undo(Some(&mut state)).await;
        let arms = match outcome {
            Ok(Ok(arms)) => arms,
            Ok(Err(e)) => match restored {
                Ok(()) => bail!("experiment {name} failed: {e}; the lab was restored"),
                Err(not) => bail!("experiment {name} failed: {e}; and {not}"),
            },
            Err(signal) => match restored {
                Ok(()) => bail!("experiment {name} {signal}; the lab was restored"),
                Err(not) => bail!("experiment {name} {signal}; and {not}"),
            },
        };
        restored?;
        let report = Report::new(plan.name, lab.as_str(), &experiment::kernel(), arms);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", report::render(&report));
        }
        Ok(ExitCode::SUCCESS)
    })
}
