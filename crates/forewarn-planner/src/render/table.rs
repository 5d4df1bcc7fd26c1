//! The plan as a plain-text table for a terminal, in the platform's time zone:
//! what happens each night, how many targets, which ones; then what got no slot.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt::Write as _;

use forewarn_model::campaign::Scope;
use forewarn_model::inventory::Blackout;
use forewarn_model::{Campaign, Inventory, Zone};

use super::{completion, count, fmt_local, noun, offset_at};
use crate::explain::local;
use crate::plan::{Plan, Slot};

/// Lines are kept to this many characters (a few long ids aside).
const WIDTH: usize = 118;
/// Slots closer than this to the work before them belong to the same stretch.
const STRETCH_GAP: i64 = 3_600;
/// Ids kept per row; more never fit in a line.
const IDS_KEPT: usize = 24;
/// Customer blackouts are listed one a line up to this many, else counted.
const CUSTOMER_BLACKOUTS_LISTED: usize = 5;
/// Column where the counts of the schedule end.
const COUNT_END: usize = 32;

/// The plan as a table for a terminal: header, schedule by day and stretch of
/// work, unscheduled targets with their reasons, and the plan's notes.
pub fn table(plan: &Plan, inv: &Inventory, campaign: &Campaign) -> String {
    let zone = &inv.platform.zone;
    let mut out = String::new();
    header(&mut out, plan, inv, campaign, zone);
    schedule(&mut out, plan, inv, zone);
    unscheduled(&mut out, plan, inv);
    if !plan.notes.is_empty() {
        out.push_str("\nNotes\n");
        for note in &plan.notes {
            wrap(&mut out, note, "  - ", "    ");
        }
    }
    out
}

fn header(out: &mut String, plan: &Plan, inv: &Inventory, campaign: &Campaign, zone: &Zone) {
    let _ = writeln!(out, "{} ({})", campaign.title, campaign.id);
    let _ = writeln!(out, "All times in {} ({}).", zone.name(), zone_abbreviations(zone, campaign));
    let (starts, ends) = (campaign.starts.as_second(), campaign.ends.as_second());
    let row = |out: &mut String, label: &str, text: &str| wrap(out, text, &format!("{label:<12} "), &" ".repeat(13));
    row(out, "range", &format!("{} to {}", local(starts, zone), local(ends, zone)));
    row(
        out,
        "published",
        &format!(
            "{}, {} notice: no slot starts before {}",
            local(campaign.publish_at.as_second(), zone),
            campaign.notice,
            local(campaign.earliest_start().as_second(), zone)
        ),
    );
    let activities: Vec<String> = campaign.activities.iter().map(|a| format!("{} {}", a.kind, a.duration)).collect();
    row(out, "slot", &format!("{} each: {}", campaign.slot_length(), activities.join(", ")));
    let targets = plan.slots.len() + plan.unscheduled.len();
    row(
        out,
        "targets",
        &format!(
            "{} {}: {} scheduled, {} unscheduled",
            count(targets),
            noun(plan.scope, targets),
            count(plan.slots.len()),
            count(plan.unscheduled.len())
        ),
    );
    let mut done = completion(plan).map_or_else(|| "nothing is scheduled".to_owned(), |t| local(t, zone));
    if let Some(bound) = plan.stats.lower_bound.map(|b| b.as_second()) {
        if completion(plan) == Some(bound) {
            done.push_str(" (as early as any plan can finish)");
        } else {
            let _ = write!(done, " (no plan that schedules everything can finish before {})", local(bound, zone));
        }
    }
    row(out, "completion", &done);
    let l = &campaign.limits;
    let limits: Vec<String> = [
        ("global", l.global),
        ("per_host", l.per_host),
        ("per_rack", l.per_rack),
        ("per_customer", l.per_customer),
        ("per_group", Some(campaign.per_group())),
    ]
    .iter()
    .filter_map(|(name, v)| v.map(|v| format!("{name} {v}")))
    .collect();
    row(out, "limits", &limits.join(", "));
    let (from, to) = (campaign.starts, campaign.ends);
    let overlaps = |b: &&Blackout| b.to > from && b.from < to;
    for b in inv.platform.blackouts.iter().filter(overlaps) {
        row(out, "blackout", &blackout_words(b, zone));
    }
    let customers: Vec<(&str, &Blackout)> = inv
        .customers
        .iter()
        .flat_map(|c| c.blackouts.iter().filter(overlaps).map(move |b| (c.id.as_str(), b)))
        .collect();
    if customers.len() <= CUSTOMER_BLACKOUTS_LISTED {
        for (c, b) in customers {
            row(out, "blackout", &format!("customer {c}: {}", blackout_words(b, zone)));
        }
    } else {
        let n = customers.len();
        let mut ids: Vec<&str> = customers.iter().map(|(c, _)| *c).collect();
        ids.dedup();
        let listed = id_list(&ids[..ids.len().min(IDS_KEPT)], ids.len(), WIDTH - 40);
        row(out, "blackouts", &format!("{} customer blackouts, of {listed}", count(n)));
    }
}

fn blackout_words(b: &Blackout, zone: &Zone) -> String {
    let why = if b.reason.is_empty() { String::new() } else { format!(" ({})", b.reason) };
    format!("{} to {}{why}", local(b.from.as_second(), zone), local(b.to.as_second(), zone))
}

/// The zone's abbreviations over the campaign, e.g. `CET/CEST`.
fn zone_abbreviations(zone: &Zone, campaign: &Campaign) -> String {
    let a = fmt_local(campaign.starts.as_second(), zone, "%Z");
    let b = fmt_local(campaign.ends.as_second(), zone, "%Z");
    if a == b { a } else { format!("{a}/{b}") }
}

/// Slots starting in one local hour.
struct Hour<'a> {
    /// The start of the local hour.
    start: i64,
    /// The first slot's start.
    first: i64,
    n: usize,
    ids: Vec<&'a str>,
}

/// A stretch of work with no gap longer than [`STRETCH_GAP`].
struct Stretch<'a> {
    start: i64,
    /// Slots starting from here on begin another stretch (see [`stretch_cut`]).
    cut: i64,
    end: i64,
    n: usize,
    peak: usize,
    running: BinaryHeap<Reverse<i64>>,
    per_tier: Vec<usize>,
    hours: Vec<Hour<'a>>,
}

fn schedule(out: &mut String, plan: &Plan, inv: &Inventory, zone: &Zone) {
    out.push('\n');
    if plan.slots.is_empty() {
        out.push_str("Schedule: nothing is scheduled.\n");
        return;
    }
    let _ = writeln!(
        out,
        "Schedule: stretches of work by the day they start; rows count the {} starting in each hour.",
        noun(plan.scope, 2)
    );
    let sorted = plan.slots.is_sorted_by_key(|s| s.start);
    let order: Vec<&Slot> = if sorted {
        plan.slots.iter().collect()
    } else {
        let mut v: Vec<&Slot> = plan.slots.iter().collect();
        v.sort_by_key(|s| (s.start, s.target));
        v
    };
    let tiers = match plan.scope {
        Scope::Machines => inv.platform.tiers.len(),
        Scope::Hosts => 0,
    };
    let mut day = String::new();
    let mut cur: Option<Stretch<'_>> = None;
    for slot in order {
        if cur.as_ref().is_some_and(|s| slot.start > s.end + STRETCH_GAP || slot.start >= s.cut) {
            if let Some(s) = cur.take() {
                flush(out, &s, plan, inv, zone, &mut day);
            }
        }
        let s = cur.get_or_insert_with(|| Stretch {
            start: slot.start,
            cut: stretch_cut(slot.start, zone),
            end: slot.end,
            n: 0,
            peak: 0,
            running: BinaryHeap::new(),
            per_tier: vec![0; tiers],
            hours: Vec::new(),
        });
        s.n += 1;
        s.end = s.end.max(slot.end);
        while s.running.peek().is_some_and(|Reverse(e)| *e <= slot.start) {
            s.running.pop();
        }
        s.running.push(Reverse(slot.end));
        s.peak = s.peak.max(s.running.len());
        if plan.scope == Scope::Machines {
            s.per_tier[inv.machines[slot.target as usize].tier] += 1;
        }
        let same_hour = s.hours.last().is_some_and(|h| slot.start >= h.start && slot.start < h.start + 3_600);
        if !same_hour {
            let local = slot.start + offset_at(zone, slot.start);
            s.hours.push(Hour {
                start: slot.start - local.rem_euclid(3_600),
                first: slot.start,
                n: 0,
                ids: Vec::new(),
            });
        }
        if let Some(h) = s.hours.last_mut() {
            h.n += 1;
            if h.ids.len() < IDS_KEPT {
                h.ids.push(plan.target_id(inv, slot.target));
            }
        }
    }
    if let Some(s) = cur.take() {
        flush(out, &s, plan, inv, zone, &mut day);
    }
}

/// Where a stretch starting at `t` ends at the latest, so that each day gets its
/// own: the next local midnight, or for a stretch starting in the evening (from
/// 18:00), the next local noon, so that a night's work stays together.
fn stretch_cut(t: i64, zone: &Zone) -> i64 {
    let Ok(ts) = jiff::Timestamp::from_second(t) else { return i64::MAX };
    let local = ts.to_zoned_datetime(zone.tz().clone());
    let hour = if local.hour() >= 18 { 12 } else { 0 };
    local
        .date()
        .tomorrow()
        .and_then(|d| d.at(hour, 0, 0, 0).to_zoned_datetime(zone.tz().clone()))
        .map_or(i64::MAX, |z| z.timestamp().as_second())
}

fn flush(out: &mut String, s: &Stretch<'_>, plan: &Plan, inv: &Inventory, zone: &Zone, day: &mut String) {
    let start_day = fmt_local(s.start, zone, "%a %-d %b %Y");
    if *day != start_day {
        let _ = writeln!(out, "\n{start_day}");
        *day = start_day;
    }
    let date_of = |t: i64| fmt_local(t, zone, "%Y-%m-%d");
    let first_date = date_of(s.start);
    // Another local date is named, so that a night's end reads "Wed 05:15".
    let when = |t: i64| {
        let d = date_of(t);
        if d == first_date {
            fmt_local(t, zone, "%H:%M")
        } else if t - s.start < 6 * 86_400 {
            fmt_local(t, zone, "%a %H:%M")
        } else {
            fmt_local(t, zone, "%a %-d %b %H:%M")
        }
    };
    let span = format!("{}-{}", when(s.start), when(s.end));
    let mut what = noun(plan.scope, s.n).to_owned();
    if s.n > 1 {
        let _ = write!(what, ", up to {} at once", count(s.peak));
    }
    let by_tier: Vec<String> = s
        .per_tier
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(t, n)| format!("{} {}", count(*n), inv.platform.tiers[t]))
        .collect();
    if !by_tier.is_empty() {
        let _ = write!(what, " ({})", by_tier.join(", "));
    }
    let line = format!("  {span:<w$}{:>9}  {what}", count(s.n), w = COUNT_END - 2 - 9);
    if let [h] = s.hours.as_slice() {
        // One hour's starts: the ids go on the stretch's own line when they fit.
        let room = WIDTH.saturating_sub(line.len() + 2);
        let ids = id_list(&h.ids, h.n, room);
        if ids.len() <= room {
            let _ = writeln!(out, "{line}: {ids}");
            return;
        }
    }
    let _ = writeln!(out, "{line}");
    for h in &s.hours {
        let label = format!("from {}", when(h.first));
        let prefix = format!("    {label:<w$}{:>9}  ", count(h.n), w = COUNT_END - 4 - 9);
        let ids = id_list(&h.ids, h.n, WIDTH.saturating_sub(prefix.len()));
        let _ = writeln!(out, "{prefix}{ids}");
    }
}

fn unscheduled(out: &mut String, plan: &Plan, inv: &Inventory) {
    if plan.unscheduled.is_empty() {
        return;
    }
    let n = plan.unscheduled.len();
    let _ = writeln!(out, "\nUnscheduled: {} {} got no slot", count(n), noun(plan.scope, n));
    // Targets that share a reason are listed together, in the plan's order.
    let mut groups: Vec<(&str, Vec<&str>, usize)> = Vec::new();
    let mut by_reason: HashMap<&str, usize> = HashMap::new();
    for u in &plan.unscheduled {
        let i = *by_reason.entry(u.reason.as_str()).or_insert_with(|| {
            groups.push((u.reason.as_str(), Vec::new(), 0));
            groups.len() - 1
        });
        let g = &mut groups[i];
        g.2 += 1;
        if g.1.len() < IDS_KEPT {
            g.1.push(plan.target_id(inv, u.target));
        }
    }
    for (reason, ids, n) in groups {
        out.push('\n');
        let lead = if n == 1 { String::new() } else { format!("{} {}: ", count(n), noun(plan.scope, n)) };
        let _ = writeln!(out, "  {lead}{}", id_list(&ids, n, WIDTH - 2 - lead.len()));
        wrap(out, reason, "      ", "      ");
    }
}

/// Ids separated by commas, as many as fit in `width`, then `... and N more`.
pub(crate) fn id_list(ids: &[&str], total: usize, width: usize) -> String {
    let mut out = String::new();
    for (i, id) in ids.iter().enumerate() {
        let rest = total - i - 1;
        let sep = if i == 0 { 0 } else { 2 };
        let more = if rest == 0 { 0 } else { format!(", ... and {rest} more").len() };
        if i > 0 && out.len() + sep + id.len() + more > width {
            let _ = write!(out, ", ... and {} more", count(total - i));
            return out;
        }
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(id);
    }
    if total > ids.len() {
        let _ = write!(out, ", ... and {} more", count(total - ids.len()));
    }
    out
}

/// Appends `text` wrapped at [`WIDTH`] on spaces: the first line after `first`, the others after `rest`.
fn wrap(out: &mut String, text: &str, first: &str, rest: &str) {
    let mut line = String::from(first);
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line.clear();
            line.push_str(rest);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Stats, Unscheduled, Why};
    use crate::render::fixture;

    /// Unix seconds of an RFC 3339 time.
    fn at(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().map_or(0, |t| t.as_second())
    }

    #[test]
    fn render_table_shows_header_days_and_unscheduled() {
        let (inv, campaign, plan) = fixture::load(fixture::CAMPAIGN);
        let text = table(&plan, &inv, &campaign);
        println!("{text}");
        assert!(text.starts_with("OS update, March 2027 (os-update-2027-03)\n"), "{text}");
        assert!(text.contains("All times in Europe/Berlin (CET)."), "{text}");
        assert!(text.contains("range        Mon 1 Mar 2027 00:00 CET to Sat 13 Mar 2027 00:00 CET"), "{text}");
        assert!(text.contains("slot         45m each: os-update 30m, reboot 15m"), "{text}");
        assert!(
            text.contains("blackout     Wed 3 Mar 2027 00:00 CET to Thu 4 Mar 2027 12:00 CET (release freeze)\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "blackout     customer blogco: Mon 8 Mar 2027 00:00 CET to Tue 9 Mar 2027 00:00 CET (sale)\n"
            )
        );
        let targets = plan.slots.len() + plan.unscheduled.len();
        assert!(
            text.contains(&format!(
                "targets      {targets} machines: {} scheduled, {} unscheduled",
                plan.slots.len(),
                plan.unscheduled.len()
            )),
            "{text}"
        );
        // Every scheduled machine is named under the day its slot starts.
        for slot in &plan.slots {
            let id = plan.target_id(&inv, slot.target);
            let day = fmt_local(slot.start, &inv.platform.zone, "%a %-d %b %Y");
            let at = text.find(&format!("\n{day}\n")).unwrap_or_else(|| panic!("no day {day}:\n{text}"));
            assert!(text[at..].contains(id), "{id} not under {day}:\n{text}");
        }
        // blog-odd's window is 10 minutes: it cannot hold 45 minutes of work.
        let odd = text.find("Unscheduled: ").expect("unscheduled section");
        assert!(text[odd..].contains("  blog-odd\n      "), "{text}");
        for line in text.lines() {
            assert!(line.chars().count() <= 120, "too long: {line}");
            assert!(!line.contains('\x1b'), "no ANSI escapes: {line}");
        }
    }

    #[test]
    fn render_table_groups_a_night_and_truncates_long_lists() {
        let (inv, campaign, real) = fixture::load(fixture::CAMPAIGN);
        // 60 slots of the same 8 machines in one night, one every 6 minutes: a hand-made plan.
        let base = at("2027-03-02T22:00:00+01:00");
        let slots: Vec<Slot> = (0..60u32)
            .map(|i| Slot {
                target: i % 8,
                start: base + i64::from(i) * 360,
                end: base + i64::from(i) * 360 + 2_700,
                why: Why::First,
                ..real.slots[0]
            })
            .collect();
        let plan = Plan {
            slots,
            unscheduled: vec![
                Unscheduled { target: 7, reason: "no window".into() },
                Unscheduled { target: 6, reason: "no window".into() },
            ],
            notes: vec!["host kvm1 holds two members of group shop-web".into()],
            stats: Stats::default(),
            ..real
        };
        let text = table(&plan, &inv, &campaign);
        println!("{text}");
        assert!(text.contains("\nTue 2 Mar 2027\n"), "{text}");
        assert!(!text.contains("\nWed 3 Mar 2027\n"), "the night stays under the day it starts:\n{text}");
        assert!(
            text.contains(
                "  22:00-Wed 04:39             60  machines, up to 8 at once (8 testing, 8 staging, 44 production)\n"
            ),
            "{text}"
        );
        assert!(text.contains("\n    from 22:00                10  shop-test, shop-stg, shop-web-1,"), "{text}");
        assert!(text.contains("\n    from Wed 00:00            10  shop-db, "), "{text}");
        assert!(text.contains(", ... and 3 more\n"), "{text}");
        assert!(text.contains("  2 machines: blog-odd, blog-2\n      no window\n"), "{text}");
        assert!(text.contains("\nNotes\n  - host kvm1 holds two members of group shop-web\n"), "{text}");
    }

    #[test]
    fn render_table_gives_each_day_its_own_stretches() {
        let (inv, campaign, real) = fixture::load(fixture::CAMPAIGN);
        // Work without a break from Mon 20:00 to Wed 06:00, Berlin time.
        let (from, to) = (at("2027-03-01T20:00:00+01:00"), at("2027-03-03T06:00:00+01:00"));
        let slots: Vec<Slot> = (0..)
            .map(|i: i64| from + i * 1_800)
            .take_while(|t| *t < to)
            .map(|t| Slot { target: (t / 1_800 % 7) as u32, start: t, end: t + 2_700, ..real.slots[0] })
            .collect();
        let plan = Plan { slots, unscheduled: vec![], notes: vec![], stats: Stats::default(), ..real };
        let text = table(&plan, &inv, &campaign);
        // The evening's stretch runs through the night until noon; then each day starts afresh at midnight.
        let mon = text.find("\nMon 1 Mar 2027\n  20:00-Tue 12:15 ").unwrap_or_else(|| panic!("{text}"));
        let tue = text.find("\nTue 2 Mar 2027\n  12:00-Wed 00:15 ").unwrap_or_else(|| panic!("{text}"));
        let wed = text.find("\nWed 3 Mar 2027\n  00:00-06:15 ").unwrap_or_else(|| panic!("{text}"));
        assert!(mon < tue && tue < wed, "{text}");
    }

    #[test]
    fn render_table_id_list_truncates_to_width() {
        let ids: Vec<String> = (1..=40).map(|i| format!("web-{i}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(id_list(&refs[..3], 3, 80), "web-1, web-2, web-3");
        assert_eq!(id_list(&refs[..3], 40, 80), "web-1, web-2, web-3, ... and 37 more");
        let line = id_list(&refs, 40, 60);
        assert!(line.len() <= 60, "{line}");
        assert!(line.starts_with("web-1, web-2, ") && line.ends_with(" more"), "{line}");
        assert_eq!(id_list(&refs[..1], 1_234_567, 80), "web-1, ... and 1,234,566 more");
        assert_eq!(id_list(&[], 0, 80), "");
    }

    #[test]
    fn render_table_wraps_long_text() {
        let mut out = String::new();
        let text = "word ".repeat(60);
        wrap(&mut out, &text, "  - ", "    ");
        assert!(out.lines().count() > 1);
        assert!(out.lines().all(|l| l.len() <= WIDTH), "{out}");
        assert!(out.lines().skip(1).all(|l| l.starts_with("    word")), "{out}");
    }

    #[test]
    fn render_table_counts_have_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
    }
}
