//! `forewarn fleet generate`: write a deterministic synthetic fleet and its campaign.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use forewarn_model::fleet::{FleetConfig, generate};
use jiff::civil::Date;

use crate::Outcome;

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Write DIR/inventory.json and DIR/campaign.toml: a fleet shaped like a real provider's.
    Generate {
        /// How many machines (VMs).
        #[arg(long)]
        machines: usize,
        /// The same seed gives the same files, byte for byte.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The directory to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// The Monday the two-week campaign starts (publication a week earlier).
        #[arg(long, default_value = "2027-03-01")]
        start: Date,
        /// Give every customer this many machines instead of a long tail of sizes (their
        /// contacts' messages grow with it: for measuring delivery of long messages).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        customer_machines: Option<u32>,
    },
}

pub fn run(cmd: FleetCommand) -> anyhow::Result<Outcome> {
    let FleetCommand::Generate { machines, seed, out, start, customer_machines } = cmd;
    let began = crate::clock::stopwatch();
    let fleet = generate(&FleetConfig {
        machines,
        seed,
        campaign_start: start,
        customer_machines: customer_machines.map(|n| n as usize),
    });
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create `{}`", out.display()))?;
    let inv_path = out.join("inventory.json");
    let file = std::fs::File::create(&inv_path).with_context(|| format!("cannot write `{}`", inv_path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    serde_json::to_writer(&mut w, &fleet.inventory)?;
    w.write_all(b"\n")?;
    w.flush().with_context(|| format!("cannot write `{}`", inv_path.display()))?;
    let camp_path = out.join("campaign.toml");
    let campaign = toml::to_string(&fleet.campaign).context("cannot render the campaign")?;
    std::fs::write(&camp_path, campaign).with_context(|| format!("cannot write `{}`", camp_path.display()))?;
    let inv = &fleet.inventory;
    println!(
        "wrote {} ({} machines, {} hosts, {} customers, {} projects) and {} in {:.2} s",
        inv_path.display(),
        inv.machines.len(),
        inv.hosts.len(),
        inv.customers.len(),
        inv.projects.len(),
        camp_path.display(),
        began.elapsed().as_secs_f64()
    );
    Ok(Outcome::Ok)
}
