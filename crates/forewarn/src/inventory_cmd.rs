//! `forewarn inventory ...`: check an inventory file and summarise it.

use std::path::PathBuf;

use clap::Subcommand;

use crate::{Outcome, read_text};

#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Validate an inventory (TOML or JSON); print a summary, or every error with file, line and field.
    Check {
        /// The inventory file.
        file: PathBuf,
    },
    /// Import an inventory into the service (with --server and --token); validated there too.
    Import {
        /// The inventory file (TOML or JSON).
        file: PathBuf,
    },
}

pub fn run(cmd: InventoryCommand) -> anyhow::Result<Outcome> {
    match cmd {
        InventoryCommand::Import { .. } => anyhow::bail!("`inventory import` talks to the service: give --server URL"),
        InventoryCommand::Check { file } => {
            let text = read_text(&file, "inventory")?;
            let name = file.display().to_string();
            match forewarn_model::parse_inventory(&name, &text) {
                Ok(inv) => {
                    println!("{name}: ok");
                    println!("{}", inv.summary());
                    Ok(Outcome::Ok)
                }
                Err(errors) => {
                    eprintln!("{errors}");
                    Ok(Outcome::Findings)
                }
            }
        }
    }
}
