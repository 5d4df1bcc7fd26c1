//! `forewarn windows SPEC --from DATE --to DATE`: a window's occurrences, one a line.

use anyhow::{Context, bail};
use clap::Args;
use forewarn_model::{Window, Zone};
use jiff::civil::Date;

use crate::Outcome;

#[derive(Debug, Args)]
pub struct WindowsArgs {
    /// The window, e.g. "Mon-Fri 22:00-05:00 Europe/Berlin".
    spec: String,
    /// First date (YYYY-MM-DD); the range starts at its midnight in the window's zone.
    #[arg(long)]
    from: Date,
    /// Last date (YYYY-MM-DD), exclusive: the range ends at its midnight.
    #[arg(long)]
    to: Date,
    /// The zone for a window that names none.
    #[arg(long, default_value = "UTC")]
    zone: String,
}

pub fn run(args: WindowsArgs) -> anyhow::Result<Outcome> {
    let window: Window = args.spec.parse().with_context(|| format!("window `{}`", args.spec))?;
    let default = Zone::get(&args.zone).context("--zone")?;
    if args.to <= args.from {
        bail!(
            "--to {} is not after --from {}: the range runs from midnight of --from to midnight of --to",
            args.to,
            args.from
        );
    }
    let zone = window.zone_or(&default);
    for occ in window.occurrences_on_dates(&default, args.from, args.to) {
        println!("{} {}", rfc3339(occ.start, zone), rfc3339(occ.end, zone));
    }
    Ok(Outcome::Ok)
}

/// RFC 3339 with the zone's offset at that instant, e.g. `2026-10-25T02:00:00+02:00`.
pub fn rfc3339(t: jiff::Timestamp, zone: &Zone) -> String {
    let offset = zone.tz().to_offset(t);
    t.display_with_offset(offset).to_string()
}
