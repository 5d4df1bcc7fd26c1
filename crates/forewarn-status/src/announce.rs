//! The maintenance post that publishing a campaign creates, written from the plan so that no
//! date is typed twice: its title and window are the plan's first start and last end, its
//! text tells per tier when slots happen, how long each target is down, and how many there are.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use forewarn_model::campaign::{Mode, REBOOTS, Scope};
use forewarn_model::{Campaign, Inventory, Zone};
use forewarn_planner::Plan;
use jiff::Timestamp;

use crate::when;

/// A maintenance post to create, not yet stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAnnouncement {
    /// `Operating system update 1–5 March 2027`.
    pub title: String,
    /// Markdown.
    pub body: String,
    /// The first slot's start and the last slot's end; `None` when no target got a slot.
    pub starts: Option<Timestamp>,
    pub ends: Option<Timestamp>,
}

/// The announcement of a planned campaign, every date in it from `plan`, in `zone` (the
/// platform's), named.
pub fn announcement(campaign: &Campaign, plan: &Plan, inv: &Inventory, zone: &Zone) -> NewAnnouncement {
    if campaign.mode == Mode::Fleetlock {
        return group_announcement(campaign, plan, inv, zone);
    }
    let starts = plan.slots.iter().map(|s| s.start).min().and_then(|t| Timestamp::from_second(t).ok());
    let ends = plan.slots.iter().map(|s| s.end).max().and_then(|t| Timestamp::from_second(t).ok());
    let days = |from: Timestamp, to: Timestamp| when::day_range(when::date(from, zone), when::last_date(to, zone));
    let base = title_without_date(&campaign.title);
    let title = match (starts, ends) {
        (Some(s), Some(e)) => format!("{base} {}", days(s, e)),
        _ => campaign.title.clone(),
    };
    let title_md = markdown_text(&campaign.title);

    let mut body = String::with_capacity(2048);
    let (Some(first), Some(last)) = (starts, ends) else {
        let _ = writeln!(
            body,
            "**{title_md}** has no maintenance slots: none of its {} could be given one; the operators look \
             for another time for them.",
            noun(plan.scope, plan.unscheduled.len())
        );
        return NewAnnouncement { title, body, starts, ends };
    };
    let targets = plan.slots.len() + plan.unscheduled.len();
    let _ = writeln!(
        body,
        "**{title_md}** takes place {} (times in {}). Every {} it covers gets one slot in its own maintenance \
         window.\n",
        when::window(Some(first), Some(last), zone).unwrap_or_default(),
        zone.name(),
        noun(plan.scope, 1)
    );

    // When, per tier in roll-out order (machines), or the whole range (hosts).
    body.push_str("## When\n\n");
    match plan.scope {
        Scope::Machines => tiers(&mut body, campaign, plan, inv, zone),
        Scope::Hosts => {
            let _ = writeln!(body, "- hosts: {}", days(first, last));
        }
    }
    body.push('\n');

    // Downtime, from the activities.
    body.push_str("## Downtime\n\n");
    let length = duration_words(campaign.slot_length().seconds());
    let work: Vec<String> = campaign
        .activities
        .iter()
        .map(|a| format!("{} ({})", activity_words(&a.kind), duration_words(a.duration.seconds())))
        .collect();
    let reboots = campaign.activities.iter().any(|a| REBOOTS.contains(&a.kind.as_str()));
    let who = match plan.scope {
        Scope::Machines => "Each machine",
        Scope::Hosts => "Each host, and every machine on it,",
    };
    if reboots || plan.scope == Scope::Hosts {
        let _ = write!(body, "{who} is down once, for at most {length}, in its own slot");
    } else {
        let _ = write!(body, "{who} may be unavailable for up to {length}, in its own slot");
    }
    let _ = writeln!(body, ": {}.", join_words(&work, "then"));
    if campaign.notify_contacts {
        body.push_str("Technical contacts receive an email listing the slots of their machines, with calendar entries");
        if campaign.notice.seconds() > 0 {
            let _ = write!(body, ", at least {} before the first of them", duration_words(campaign.notice.seconds()));
        }
        body.push_str(".\n\n");
    } else {
        body.push_str(
            "No individual emails are sent for this campaign: every affected machine and its slot is listed below.\n\n",
        );
    }

    // Counts.
    body.push_str("## Scope\n\n");
    match plan.scope {
        Scope::Machines => {
            let machines: Vec<usize> = all_targets(plan).collect();
            let projects: BTreeSet<usize> = machines.iter().map(|&m| inv.machines[m].project).collect();
            let customers: BTreeSet<usize> =
                machines.iter().map(|&m| inv.customer_index_of(&inv.machines[m])).collect();
            let _ = write!(
                body,
                "{} {} in {} {} of {} {}.",
                targets,
                noun(Scope::Machines, targets),
                projects.len(),
                if projects.len() == 1 { "project" } else { "projects" },
                customers.len(),
                if customers.len() == 1 { "customer" } else { "customers" }
            );
        }
        Scope::Hosts => {
            let hosts: BTreeSet<usize> = all_targets(plan).collect();
            let guests = inv.machines.iter().filter(|m| hosts.contains(&m.host)).count();
            let _ = write!(
                body,
                "{} {} carrying {} {}.",
                targets,
                noun(Scope::Hosts, targets),
                guests,
                noun(Scope::Machines, guests)
            );
        }
    }
    if !plan.unscheduled.is_empty() {
        let n = plan.unscheduled.len();
        let _ = write!(
            body,
            " {n} {} could not be given a slot in this campaign; the operators look for another time for them.",
            noun(plan.scope, n)
        );
    }
    body.push('\n');
    if !campaign.notify_contacts {
        affected(&mut body, plan, inv, zone);
    }
    NewAnnouncement { title, body, starts, ends }
}

/// The announcement of a FleetLock group: no slots, its range (from the notice's end) as its
/// window; each machine reboots when its update arrives, inside its own window.
fn group_announcement(campaign: &Campaign, plan: &Plan, inv: &Inventory, zone: &Zone) -> NewAnnouncement {
    let (first, last) = (campaign.earliest_start(), campaign.ends);
    let base = title_without_date(&campaign.title);
    let title = format!("{base} {}", when::day_range(when::date(first, zone), when::last_date(last, zone)));
    let mut body = String::with_capacity(1024);
    let _ = writeln!(
        body,
        "**{}** runs {}. There are no fixed slots: each machine installs its updates as they are released \
         and then reboots once, only inside its own maintenance window, outside blackouts, and never more \
         machines at once than agreed.\n",
        markdown_text(&campaign.title),
        when::day_range(when::date(first, zone), when::last_date(last, zone)),
    );
    body.push_str("## Downtime\n\n");
    let work: Vec<String> = campaign
        .activities
        .iter()
        .map(|a| format!("{} ({})", activity_words(&a.kind), duration_words(a.duration.seconds())))
        .collect();
    let _ = writeln!(
        body,
        "Each machine is down once for each update, for at most {}: {}.",
        duration_words(campaign.slot_length().seconds()),
        join_words(&work, "then")
    );
    if campaign.notify_contacts {
        body.push_str("Technical contacts receive an email listing their machines with their maintenance windows.\n");
    }
    body.push_str("Every reboot shows here as it happens.\n\n## Scope\n\n");
    let machines = campaign.target_machines(inv);
    let projects: BTreeSet<usize> = machines.iter().map(|&m| inv.machines[m].project).collect();
    let customers: BTreeSet<usize> = machines.iter().map(|&m| inv.customer_index_of(&inv.machines[m])).collect();
    let _ = write!(
        body,
        "{} {} in {} {} of {} {}.",
        machines.len(),
        noun(Scope::Machines, machines.len()),
        projects.len(),
        if projects.len() == 1 { "project" } else { "projects" },
        customers.len(),
        if customers.len() == 1 { "customer" } else { "customers" }
    );
    if !plan.unscheduled.is_empty() {
        let n = plan.unscheduled.len();
        let _ = write!(
            body,
            " {n} {} cannot reboot in this period (no maintenance window in it); the operators look for \
             another time for them.",
            noun(Scope::Machines, n)
        );
    }
    body.push('\n');
    NewAnnouncement { title, body, starts: Some(first), ends: Some(last) }
}

/// At most this many slots are listed one by one; a campaign this big tells its contacts.
const LISTED: usize = 2000;

/// Every slot with the machines it takes down, for campaigns whose contacts get no email
/// (host reboots: a host and its guests), and the targets without a slot.
fn affected(body: &mut String, plan: &Plan, inv: &Inventory, zone: &Zone) {
    body.push_str("\n## Affected machines\n\n");
    for slot in plan.slots.iter().take(LISTED) {
        let when = when::window(Some(slot.start()), Some(slot.end()), zone).unwrap_or_default();
        match plan.scope {
            Scope::Machines => {
                let _ = writeln!(body, "- {}: {when}", markdown_text(&inv.machines[slot.target as usize].id));
            }
            Scope::Hosts => {
                let guests: Vec<String> = inv
                    .machines
                    .iter()
                    .filter(|m| m.host == slot.target as usize)
                    .map(|m| markdown_text(&m.id))
                    .collect();
                let _ = writeln!(
                    body,
                    "- host {}, {when}: {}",
                    markdown_text(&inv.hosts[slot.target as usize].id),
                    if guests.is_empty() { "no machines".to_owned() } else { guests.join(", ") }
                );
            }
        }
    }
    if plan.slots.len() > LISTED {
        let _ = writeln!(body, "- and {} more slots", plan.slots.len() - LISTED);
    }
    for u in plan.unscheduled.iter().take(LISTED) {
        let _ = writeln!(body, "- {}: no slot in this campaign", markdown_text(plan.target_id(inv, u.target)));
    }
}

fn all_targets(plan: &Plan) -> impl Iterator<Item = usize> + '_ {
    plan.slots.iter().map(|s| s.target as usize).chain(plan.unscheduled.iter().map(|u| u.target as usize))
}

/// One line per tier with slots, in roll-out order: its days and, after the first, the gap.
fn tiers(body: &mut String, campaign: &Campaign, plan: &Plan, inv: &Inventory, zone: &Zone) {
    let tier_count = inv.platform.tiers.len();
    let mut order: Vec<usize> = campaign.tier_order.clone();
    order.extend((0..tier_count).filter(|t| !campaign.tier_order.contains(t)));
    let mut earlier: Option<&str> = None;
    for tier in order {
        let slots: Vec<_> = plan.slots.iter().filter(|s| inv.machines[s.target as usize].tier == tier).collect();
        let (Some(from), Some(to)) = (slots.iter().map(|s| s.start).min(), slots.iter().map(|s| s.end).max()) else {
            continue;
        };
        let (Ok(from), Ok(to)) = (Timestamp::from_second(from), Timestamp::from_second(to)) else { continue };
        let name = inv.platform.tiers.get(tier).map_or("other", String::as_str);
        let _ = write!(
            body,
            "- {} {} ({}): {}",
            markdown_text(name),
            noun(Scope::Machines, 2),
            slots.len(),
            when::day_range(when::date(from, zone), when::last_date(to, zone))
        );
        let in_order = campaign.tier_order.contains(&tier);
        if let (Some(before), true) = (earlier, in_order && campaign.tier_gap.seconds() > 0) {
            let _ = write!(
                body,
                ", each at least {} after the {} machines of its project",
                duration_words(campaign.tier_gap.seconds()),
                markdown_text(before)
            );
        }
        body.push('\n');
        if in_order {
            earlier = Some(name);
        }
    }
}

fn noun(scope: Scope, n: usize) -> &'static str {
    match (scope, n == 1) {
        (Scope::Machines, true) => "machine",
        (Scope::Machines, false) => "machines",
        (Scope::Hosts, true) => "host",
        (Scope::Hosts, false) => "hosts",
    }
}

/// An activity in words: `os-update` is "operating system update".
fn activity_words(kind: &str) -> String {
    match kind {
        "os-update" => "operating system update".to_owned(),
        "reboot" => "reboot".to_owned(),
        "fsck" => "file system check".to_owned(),
        "fs-migrate" => "file system migration".to_owned(),
        "host-reboot" => "host reboot".to_owned(),
        "network" => "network work".to_owned(),
        other => markdown_text(&other.replace(['-', '_'], " ")),
    }
}

/// `a`, `a then b`, `a, b then c`.
fn join_words(words: &[String], last: &str) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., end] => format!("{} {last} {end}", init.join(", ")),
    }
}

/// A duration for people: `30 minutes`, `1 hour 30 minutes`, `24 hours`, `3 days`.
fn duration_words(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if seconds >= 4 * 86_400 && seconds % 86_400 == 0 {
        return plural(seconds / 86_400, "day");
    }
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let mut parts = Vec::new();
    if h > 0 {
        parts.push(plural(h, "hour"));
    }
    if m > 0 {
        parts.push(plural(m, "minute"));
    }
    if s > 0 || parts.is_empty() {
        parts.push(plural(s, "second"));
    }
    parts.join(" ")
}

/// Text with Markdown's punctuation escaped, so it reads as written.
fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '`' | '~' | '|' | '!' | '&') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A campaign title without the date it ends with: `Operating system update, March 2027` and
/// `KVM host reboot, Saturday 6 March 2027` lose everything from the comma on. A title that is
/// only a date stays as it is.
fn title_without_date(title: &str) -> &str {
    let mut rest = title.trim_end();
    let Some(year_at) = rest.len().checked_sub(4) else { return title };
    if !rest.is_char_boundary(year_at) || !rest[year_at..].bytes().all(|b| b.is_ascii_digit()) {
        return title;
    }
    rest = rest[..year_at].trim_end();
    let strip_word = |s: &str, test: &dyn Fn(&str) -> bool| -> Option<usize> {
        let start = s.char_indices().rev().take_while(|(_, c)| c.is_alphabetic()).last().map(|(i, _)| i)?;
        test(&s[start..]).then_some(start)
    };
    if let Some(i) = strip_word(rest, &|w| crate::dates::month(w).is_some()) {
        rest = rest[..i].trim_end();
        let digits = rest.trim_end_matches(['.', ' ']).trim_end_matches(|c: char| c.is_ascii_digit());
        if digits.len() < rest.trim_end_matches(['.', ' ']).len() {
            rest = digits.trim_end();
        }
        rest = rest.trim_end_matches(',').trim_end();
        if let Some(i) = strip_word(rest, &|w| crate::dates::weekday(w, false).is_some()) {
            rest = rest[..i].trim_end();
        }
    }
    let rest = rest.trim_end_matches([',', ':', '-', '–', '—', ' ']);
    if rest.is_empty() { title } else { rest }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::planned;

    fn ts(t: i64) -> Timestamp {
        Timestamp::from_second(t).unwrap()
    }

    #[test]
    fn announce_dates_are_the_plans() {
        let (inv, campaign, plan) = planned("os-update.toml");
        let zone = &inv.platform.zone;
        assert!(!plan.slots.is_empty());
        let a = announcement(&campaign, &plan, &inv, zone);
        let first = plan.slots.iter().map(|s| s.start).min().unwrap();
        let last = plan.slots.iter().map(|s| s.end).max().unwrap();
        assert_eq!((a.starts, a.ends), (Some(ts(first)), Some(ts(last))));
        let range = when::day_range(when::date(ts(first), zone), when::last_date(ts(last), zone));
        assert_eq!(a.title, format!("Operating system update {range}"));
        let window = when::window(Some(ts(first)), Some(ts(last)), zone).unwrap();
        assert!(a.body.contains(&format!("takes place {window} (times in Europe/Berlin)")), "{}", a.body);
        // Per tier, the days of that tier's slots, staging first.
        let tier_days = |name: &str| {
            let t = inv.platform.tiers.iter().position(|n| n == name).unwrap();
            let slots: Vec<_> = plan.slots.iter().filter(|s| inv.machines[s.target as usize].tier == t).collect();
            let from = slots.iter().map(|s| s.start).min().unwrap();
            let to = slots.iter().map(|s| s.end).max().unwrap();
            (slots.len(), when::day_range(when::date(ts(from), zone), when::last_date(ts(to), zone)))
        };
        let (n_staging, staging) = tier_days("staging");
        let (n_production, production) = tier_days("production");
        let staging_line = format!("- staging machines ({n_staging}): {staging}\n");
        let production_line = format!(
            "- production machines ({n_production}): {production}, each at least 24 hours after the staging machines of its project\n"
        );
        assert!(a.body.contains(&staging_line), "{}", a.body);
        assert!(a.body.contains(&production_line), "{}", a.body);
        assert!(a.body.find(&staging_line) < a.body.find(&production_line));
        assert!(a.body.contains(
            "Each machine is down once, for at most 30 minutes, in its own slot: operating system update (20 minutes) \
             then reboot (10 minutes)."
        ), "{}", a.body);
        assert!(a.body.contains("at least 72 hours before the first of them"), "{}", a.body);
        let targets = plan.slots.len() + plan.unscheduled.len();
        assert!(a.body.contains(&format!("{targets} machines in ")), "{}", a.body);
        // Whatever the announcement says agrees with its campaign.
        let problems = crate::dates::check(&a.body, Some(crate::dates::campaign_range(&campaign, zone)));
        assert!(problems.is_empty(), "{problems:?}");
        assert!(crate::dates::check(&a.title, Some(crate::dates::campaign_range(&campaign, zone))).is_empty());
        // It renders as Markdown with the tiers as a list.
        let html = crate::markdown::render(&a.body);
        assert!(html.contains("<li>staging machines"), "{html}");
    }

    #[test]
    fn announce_fleetlock_groups_by_their_period_without_slots() {
        let inv =
            forewarn_model::parse_inventory("inventory.toml", &crate::testing::example("inventory.toml")).unwrap();
        let text = crate::testing::example("os-update.toml").replacen("title =", "mode = \"fleetlock\"\ntitle =", 1);
        let campaign = forewarn_model::parse_campaign("group.toml", &text, &inv).unwrap();
        let plan = forewarn_planner::plan(&inv, &campaign);
        assert!(plan.slots.is_empty());
        let zone = &inv.platform.zone;
        let a = announcement(&campaign, &plan, &inv, zone);
        let (first, last) = (campaign.earliest_start(), campaign.ends);
        assert_eq!((a.starts, a.ends), (Some(first), Some(last)));
        let range = when::day_range(when::date(first, zone), when::last_date(last, zone));
        assert_eq!(a.title, format!("Operating system update {range}"));
        assert!(a.body.contains(&format!("runs {range}. There are no fixed slots")), "{}", a.body);
        assert!(
            a.body.contains(
                "Each machine is down once for each update, for at most 30 minutes: operating system update \
                 (20 minutes) then reboot (10 minutes)."
            ),
            "{}",
            a.body
        );
        let machines = campaign.target_machines(&inv).len();
        assert!(a.body.contains(&format!("{machines} machines in ")), "{}", a.body);
        assert!(!a.body.contains("has no maintenance slots"), "{}", a.body);
        let problems = crate::dates::check(&a.body, Some(crate::dates::campaign_range(&campaign, zone)));
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn announce_host_campaigns_name_the_guests() {
        let (inv, campaign, plan) = planned("host-reboot.toml");
        let a = announcement(&campaign, &plan, &inv, &inv.platform.zone);
        assert_eq!(a.title, "KVM host reboot 6 March 2027", "{}", a.body);
        assert!(
            a.body.contains("Each host, and every machine on it, is down once, for at most 30 minutes"),
            "{}",
            a.body
        );
        assert!(
            a.body.contains(&format!("{} hosts carrying ", plan.slots.len() + plan.unscheduled.len())),
            "{}",
            a.body
        );
    }

    #[test]
    fn announce_lists_what_no_email_tells() {
        let (inv, mut campaign, plan) = planned("host-reboot.toml");
        campaign.notify_contacts = false;
        let a = announcement(&campaign, &plan, &inv, &inv.platform.zone);
        assert!(a.body.contains("No individual emails are sent"), "{}", a.body);
        assert!(!a.body.contains("Technical contacts receive an email"), "{}", a.body);
        // Every host with its time and every guest on it.
        for slot in &plan.slots {
            let host = &inv.hosts[slot.target as usize].id;
            let when = when::window(Some(slot.start()), Some(slot.end()), &inv.platform.zone).unwrap();
            let line = a.body.lines().find(|l| l.starts_with(&format!("- host {}, ", markdown_text(host)))).unwrap();
            assert!(line.contains(&when), "{line}");
            for m in inv.machines.iter().filter(|m| m.host == slot.target as usize) {
                assert!(line.contains(&markdown_text(&m.id)), "{} missing from {line}", m.id);
            }
        }
        let problems = crate::dates::check(&a.body, Some(crate::dates::campaign_range(&campaign, &inv.platform.zone)));
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn announce_without_slots_says_so() {
        let (inv, campaign, mut plan) = planned("os-update.toml");
        plan.slots.clear();
        let a = announcement(&campaign, &plan, &inv, &inv.platform.zone);
        assert_eq!((a.starts, a.ends), (None, None));
        assert_eq!(a.title, campaign.title);
        assert!(a.body.contains("has no maintenance slots"), "{}", a.body);
    }

    #[test]
    fn announce_words() {
        assert_eq!(title_without_date("Operating system update, March 2027"), "Operating system update");
        assert_eq!(title_without_date("KVM host reboot, Saturday 6 March 2027"), "KVM host reboot");
        assert_eq!(title_without_date("Filesystem checks 2027"), "Filesystem checks");
        assert_eq!(title_without_date("Switch replacement"), "Switch replacement");
        assert_eq!(title_without_date("March 2027"), "March 2027");
        assert_eq!(duration_words(30 * 60), "30 minutes");
        assert_eq!(duration_words(90 * 60), "1 hour 30 minutes");
        assert_eq!(duration_words(24 * 3600), "24 hours");
        assert_eq!(duration_words(7 * 86_400), "7 days");
        assert_eq!(join_words(&["a".into(), "b".into(), "c".into()], "then"), "a, b then c");
        assert_eq!(markdown_text("a*b_[c]"), "a\\*b\\_\\[c\\]");
    }
}
