//! The `forewarn` command: subcommands, reading and writing files, wiring.
//! The only crate that reads the clock or touches the file system.

mod clock;
mod fleet_cmd;
mod inventory_cmd;
mod plan_cmd;
mod windows_cmd;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Plan, announce and drive planned maintenance on a hosting platform.
#[derive(Debug, Parser)]
#[command(name = "forewarn", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with inventory files (customers, contacts, projects, hosts, devices, machines).
    #[command(subcommand)]
    Inventory(inventory_cmd::InventoryCommand),
    /// Expand a maintenance window into its occurrences, one `START END` a line.
    Windows(windows_cmd::WindowsArgs),
    /// Synthetic fleets for benchmarks and tests.
    #[command(subcommand)]
    Fleet(fleet_cmd::FleetCommand),
    /// Plan a campaign: one slot per target inside its window, or the reason there is none.
    Plan(plan_cmd::PlanArgs),
    /// Check a plan against every constraint; one violation a line, exit 1 if any.
    Check(plan_cmd::CheckArgs),
}

/// What a subcommand concluded: success, or a finding the user must act on (exit 1).
enum Outcome {
    Ok,
    Findings,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inventory(c) => inventory_cmd::run(c),
        Command::Windows(a) => windows_cmd::run(a),
        Command::Fleet(c) => fleet_cmd::run(c),
        Command::Plan(a) => plan_cmd::plan(a),
        Command::Check(a) => plan_cmd::check(a),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(e) => {
            eprintln!("forewarn: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Reads a text file, naming it in the error.
fn read_text(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {what} `{}`", path.display()))
}
