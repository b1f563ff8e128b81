//! `lvslab experiment`'s arguments, in a file of their own so the command
//! list in `cli.rs` grows by one line.

use clap::Args;
use clap_complete::engine::ArgValueCompleter;

use crate::candidates as complete;
use lvslab_core::lab::model::LabName;

/// Run one of the measured experiments on a lab's director and compare its settings.
#[derive(Debug, Args)]
#[command(
    after_help = "Each experiment sets a knob to each value in turn, drives traffic, makes the change,\n\
counts what happened, puts every change back and checks the lab equals what it was.\n\
It prints one table comparing the settings and a sentence saying which to choose.\n\
Example:  sudo lvslab experiment tutorial removal-held-tcp"
)]
pub struct ExperimentArgs {
    /// Lab name.
    #[arg(value_parser = super::lab_name, add = ArgValueCompleter::new(complete::lab),
          required_unless_present = "list", conflicts_with = "list")]
    pub lab: Option<LabName>,
    /// The experiment (see --list).
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// Print the experiments and exit.
    #[arg(long)]
    pub list: bool,
    /// Print JSON (schema_version 1, assets/schemas/experiment.schema.json).
    #[arg(long, conflicts_with = "list")]
    pub json: bool,
}
