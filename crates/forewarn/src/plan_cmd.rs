//! `forewarn plan` and `forewarn check`: plan a campaign, and check any plan against every constraint.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use forewarn_model::campaign::Campaign;
use forewarn_model::{Inventory, parse_campaign, parse_inventory};
use forewarn_planner::{PlanFile, local, render};

use crate::{Outcome, read_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The plan file (DESIGN.md "Plan").
    Json,
    /// Readable in a terminal: per day, counts and machines, then what got no slot.
    Table,
    /// A picture: targets against time, windows shaded, tiers coloured.
    Svg,
    /// iCalendar, one event per slot.
    Ics,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The inventory (TOML or JSON).
    #[arg(long)]
    inventory: PathBuf,
    /// The campaign (TOML).
    #[arg(long)]
    campaign: PathBuf,
    /// Write here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// With `--format ics`: the domain of the events' UIDs (`{campaign}.{target}@DOMAIN`). Give
    /// the host of the service's address (`status.example.net`) and the events are the same
    /// ones the contacts' invitations carry.
    #[arg(long, default_value = "forewarn")]
    uid_domain: String,
    /// A plan already published (its JSON file): its slots that still fit are kept where
    /// they are, and only the rest is planned anew (as the service plans a published
    /// campaign again).
    #[arg(long)]
    keep: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[arg(long)]
    inventory: PathBuf,
    #[arg(long)]
    campaign: PathBuf,
    /// The plan file (JSON) to check.
    #[arg(long)]
    plan: PathBuf,
}

/// Reads and validates the inventory and campaign; `None` when they have errors (printed).
fn load(inventory: &Path, campaign: &Path) -> anyhow::Result<Option<(Inventory, Campaign)>> {
    let inv_text = read_text(inventory, "inventory")?;
    let inv = match parse_inventory(&inventory.display().to_string(), &inv_text) {
        Ok(inv) => inv,
        Err(e) => {
            eprintln!("{e}");
            return Ok(None);
        }
    };
    drop(inv_text);
    let camp_text = read_text(campaign, "campaign")?;
    match parse_campaign(&campaign.display().to_string(), &camp_text, &inv) {
        Ok(c) => Ok(Some((inv, c))),
        Err(e) => {
            eprintln!("{e}");
            Ok(None)
        }
    }
}

/// The slots of a plan file to keep, or what is wrong with it (file, slot, field).
fn kept_slots(path: &std::path::Path) -> anyhow::Result<Result<Vec<forewarn_planner::Keep>, String>> {
    let text = read_text(path, "plan")?;
    let name = path.display();
    let file: forewarn_planner::PlanFile<'_> = match serde_json::from_str(&text) {
        Ok(f) => f,
        Err(e) => return Ok(Err(format!("{name}:{}: not a plan file: {e}", e.line()))),
    };
    let mut keep = Vec::with_capacity(file.slots.len());
    for (i, slot) in file.slots.iter().enumerate() {
        let Some(target) = slot.target() else {
            return Ok(Err(format!("{name}: slots[{i}]: no `machine` or `host`: name the slot's target")));
        };
        let start = match slot.start.parse::<jiff::Timestamp>() {
            Ok(t) => t.as_second(),
            Err(e) => {
                return Ok(Err(format!(
                    "{name}: slots[{i}].start: `{}` is not an RFC 3339 instant such as 2027-03-01T22:00:00Z: {e}",
                    &*slot.start
                )));
            }
        };
        keep.push(forewarn_planner::Keep { target: target.to_owned(), start });
    }
    Ok(Ok(keep))
}

pub fn plan(args: PlanArgs) -> anyhow::Result<Outcome> {
    let began = crate::clock::stopwatch();
    let Some((inv, campaign)) = load(&args.inventory, &args.campaign)? else {
        return Ok(Outcome::Findings);
    };
    let keep = match &args.keep {
        Some(path) => match kept_slots(path)? {
            Ok(keep) => keep,
            Err(problem) => {
                eprintln!("{problem}");
                return Ok(Outcome::Findings);
            }
        },
        None => Vec::new(),
    };
    let loaded = began.elapsed();
    let plan = forewarn_planner::plan_keeping(&inv, &campaign, &keep);
    let planned = began.elapsed();
    if args.keep.is_some() {
        let kept = plan.slots.iter().filter(|s| s.why == forewarn_planner::Why::Kept).count();
        eprintln!("kept {kept} of the {} published slots where they were", keep.len());
    }
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => {
            Box::new(std::fs::File::create(path).with_context(|| format!("cannot write `{}`", path.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = BufWriter::with_capacity(1 << 20, &mut out);
    match args.format {
        Format::Json => {
            plan.write_json(&mut w, &inv, &campaign)?;
            w.write_all(b"\n")?;
        }
        Format::Table => w.write_all(render::table(&plan, &inv, &campaign).as_bytes())?,
        Format::Svg => w.write_all(render::svg(&plan, &inv, &campaign).as_bytes())?,
        Format::Ics => {
            w.write_all(render::ics::ics_in(&plan, &inv, &campaign, campaign.publish_at, &args.uid_domain).as_bytes())?
        }
    }
    w.flush().context("cannot write the plan")?;
    drop(w);
    let zone = &inv.platform.zone;
    let s = &plan.stats;
    let completion = s.completion.map_or_else(|| "-".to_owned(), |t| local(t.as_second(), zone));
    let bound = match (s.completion, s.lower_bound) {
        (Some(_), Some(b)) if !plan.unscheduled.is_empty() => {
            format!("; lower bound {} for a plan that schedules every target with a window", local(b.as_second(), zone))
        }
        (Some(c), Some(b)) => {
            let from = campaign.earliest_start().as_second();
            let (c, b) = (c.as_second(), b.as_second());
            let gap = if b > from { 100.0 * (c - b) as f64 / (b - from) as f64 } else { 0.0 };
            let why = match campaign.strategy {
                forewarn_model::campaign::Strategy::Spread => ", spread over the range on purpose",
                forewarn_model::campaign::Strategy::Earliest => "",
            };
            format!("; lower bound {} (plan {:.1}% longer{why})", local(b, zone), gap)
        }
        _ => String::new(),
    };
    eprintln!(
        "planned {} targets: {} scheduled, {} unscheduled; completion {completion}{bound}; read {:.2} s, planned {:.2} s, total {:.2} s",
        s.targets,
        plan.slots.len(),
        plan.unscheduled.len(),
        loaded.as_secs_f64(),
        (planned - loaded).as_secs_f64(),
        began.elapsed().as_secs_f64()
    );
    for note in plan.notes.iter().take(10) {
        eprintln!("note: {note}");
    }
    if plan.notes.len() > 10 {
        eprintln!("note: ... and {} more notes (see the plan file)", plan.notes.len() - 10);
    }
    // The process ends here: the OS takes back the memory faster than freeing millions of
    // strings one by one would.
    std::mem::forget((inv, plan));
    Ok(Outcome::Ok)
}

pub fn check(args: CheckArgs) -> anyhow::Result<Outcome> {
    // The plan is read and parsed on the other core while this one reads the inventory. Its
    // text is leaked: the plan borrows its strings from it until the process ends anyway.
    let plan_path = args.plan.clone();
    let read_plan = std::thread::spawn(move || -> anyhow::Result<Result<PlanFile<'static>, String>> {
        let text: &'static str = String::leak(read_text(&plan_path, "plan")?);
        Ok(serde_json::from_str(text)
            .map_err(|e| forewarn_model::doc::json_syntax(&plan_path.display().to_string(), &e).to_string()))
    });
    let loaded = load(&args.inventory, &args.campaign)?;
    let plan = read_plan.join().map_err(|_| anyhow::anyhow!("reading the plan failed"))??;
    if let Err(e) = &plan {
        eprintln!("{e}");
    }
    let (Some((inv, campaign)), Ok(plan)) = (loaded, plan) else {
        return Ok(Outcome::Findings);
    };
    // The plan borrows its strings from `text`, which lives until the end.
    let violations = forewarn_planner::check::check(&inv, &campaign, &plan);
    let mut out = BufWriter::new(std::io::stdout().lock());
    for v in &violations {
        writeln!(out, "{v}")?;
    }
    writeln!(
        out,
        "violations: {}, slots: {}, unscheduled: {}",
        violations.len(),
        plan.slots.len(),
        plan.unscheduled.len()
    )?;
    out.flush()?;
    let outcome = if violations.is_empty() { Outcome::Ok } else { Outcome::Findings };
    // As in `plan`: leave the big structures to the OS at exit.
    std::mem::forget((inv, plan));
    Ok(outcome)
}
