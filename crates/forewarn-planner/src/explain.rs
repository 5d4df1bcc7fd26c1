//! Reasons in words a person understands, for targets that get no slot.

use std::fmt;

use forewarn_model::campaign::Campaign;
use forewarn_model::inventory::{Blackout, Inventory};
use forewarn_model::window::Occurrence;
use forewarn_model::{Duration, Window, Zone};
use jiff::Timestamp;

/// Why a window class has no candidate start at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoCandidates(pub String);

impl fmt::Display for NoCandidates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A local time with its zone named, e.g. `Tue 2 Mar 2027 22:00 CET`.
pub fn local(t: i64, zone: &Zone) -> String {
    match Timestamp::from_second(t) {
        Ok(ts) => ts.to_zoned_datetime(zone.tz().clone()).strftime("%a %-d %b %Y %H:%M %Z").to_string(),
        Err(_) => t.to_string(),
    }
}

fn windows_words(windows: &[Window], zone: &Zone) -> String {
    if windows.is_empty() {
        return "maintenance window (none is defined for it, nor for its project, customer or platform)".to_owned();
    }
    format!("window {}", forewarn_model::window::describe(windows, zone))
}

pub(crate) fn no_candidates(
    occurrences: &[Occurrence],
    blackouts: &[&Blackout],
    campaign: &Campaign,
    windows: &[Window],
    zone: &Zone,
    earliest: i64,
    len: i64,
) -> NoCandidates {
    let w = windows_words(windows, zone);
    let starts = campaign.starts.as_second();
    let ends = campaign.ends.as_second();
    let after_notice = if earliest > starts {
        format!("after the {} notice (earliest start {})", campaign.notice, local(earliest, zone))
    } else {
        format!("from {}", local(starts, zone))
    };
    let usable: Vec<&Occurrence> =
        occurrences.iter().filter(|o| o.end.as_second() > earliest && o.start.as_second() < ends).collect();
    if usable.is_empty() {
        return NoCandidates(format!("no {w} {after_notice} until the campaign ends {}", local(ends, zone)));
    }
    let longest =
        usable.iter().map(|o| o.end.as_second().min(ends) - o.start.as_second().max(earliest)).max().unwrap_or(0);
    if longest < len {
        return NoCandidates(format!(
            "the activities take {}, but no {w} {after_notice} until {} leaves that much time (the longest leaves {})",
            Duration::from_secs(len),
            local(ends, zone),
            Duration::from_secs(longest.max(0))
        ));
    }
    let reasons: Vec<String> = blackouts
        .iter()
        .map(|b| {
            let why = if b.reason.is_empty() { String::new() } else { format!(" ({})", b.reason) };
            format!("{} to {}{why}", local(b.from.as_second(), zone), local(b.to.as_second(), zone))
        })
        .collect();
    NoCandidates(format!(
        "every {w} {after_notice} until {} falls in a blackout: {}",
        local(ends, zone),
        reasons.join("; ")
    ))
}

/// A later-tier machine whose project's earlier tier did not get a slot.
pub(crate) fn tier_blocked(inv: &Inventory, campaign: &Campaign, project: usize, blocker: u32) -> String {
    let m = &inv.machines[blocker as usize];
    format!(
        "{} machine {} of project {} got no slot, and later tiers never go before it (tier order {})",
        inv.tier_name(m),
        m.id,
        inv.projects[project].id,
        campaign.tier_order.iter().map(|&t| inv.platform.tiers[t].as_str()).collect::<Vec<_>>().join(" then ")
    )
}

/// A target whose every candidate was full, or cut off by its tier's lower bound.
pub(crate) fn blocked(
    campaign: &Campaign,
    windows: &str,
    lower: i64,
    earliest: i64,
    any_after_lower: bool,
    full: &[String],
    zone: &Zone,
) -> String {
    let ends = campaign.ends.as_second();
    if lower >= ends {
        return format!(
            "its project's earlier tier ends so late that, with the {} tier gap, it could start {} at the earliest, after the campaign ends {}",
            campaign.tier_gap,
            local(lower, zone),
            local(ends, zone)
        );
    }
    if !any_after_lower {
        return format!(
            "the earlier tier of its project ends so late that, with the {} tier gap, no start in its window {windows} remains between {} and the campaign's end {}",
            campaign.tier_gap,
            local(lower, zone),
            local(ends, zone)
        );
    }
    let from =
        if lower > earliest { format!("{} (after the tier gap)", local(lower, zone)) } else { local(earliest, zone) };
    if full.is_empty() {
        return format!("no start in its window {windows} between {from} and {} fits", local(ends, zone));
    }
    format!(
        "every start in its window {windows} between {from} and {} was taken: {} had no room left",
        local(ends, zone),
        full.join(", and ")
    )
}
