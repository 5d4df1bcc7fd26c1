//! Campaign files: a named roll-out of activities over a set of targets,
//! within a date range, under a policy (notice, tier order, limits, strategy).

use std::collections::HashSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::diag::{Diagnostic, Diagnostics, FieldPath};
use crate::doc::{Document, Format};
use crate::inventory::{Inventory, Machine};
use crate::time::{Duration, TimeText, parse_instant};

/// A campaign file (`campaign.toml`), as written.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignFile {
    pub id: String,
    pub title: String,
    pub starts: TimeText,
    pub ends: TimeText,
    pub publish_at: TimeText,
    #[serde(default)]
    pub notice: Duration,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub targets: Targets,
    /// Tiers in roll-out order; defaults to the platform's tiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_order: Option<Vec<String>>,
    #[serde(default)]
    pub tier_gap: Duration,
    pub activities: Vec<ActivityDef>,
    #[serde(default)]
    pub limits: Limits,
    /// Start times fall on this grid inside a window occurrence; default 15m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granularity: Option<Duration>,
    #[serde(default)]
    pub strategy: Strategy,
    /// Whether the contacts of the affected customers get their own emails (slots, changes,
    /// cancellation, reminders, with calendar entries). `true` when not given; `false` for
    /// work that only the status page, its subscribers and the webhooks are told about. The
    /// status page's announcement is published either way.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub notify_contacts: bool,
    /// How the work is driven: `planned` (the default: one slot per target, planned ahead)
    /// or `fleetlock` (a FleetLock group named by the campaign's id: no planned slots; each
    /// machine takes a lock when an update arrives, granted inside its window, outside
    /// blackouts and within the limits).
    #[serde(default, skip_serializing_if = "Mode::is_planned")]
    pub mode: Mode,
    /// How the roll-out stops itself.
    #[serde(default, skip_serializing_if = "Rollout::is_empty")]
    pub rollout: Rollout,
}

/// How a roll-out stops itself: `max_failures` failed runs are tolerated; one more pauses
/// the campaign (no new work starts; work running finishes) until an operator resumes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failures: Option<Budget>,
}

impl Rollout {
    pub fn is_empty(&self) -> bool {
        self.max_failures.is_none()
    }
}

/// A failure budget: a number of machines (`3`) or a share of the campaign's targets
/// (`"5%"`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Budget {
    Count(u32),
    Share(String),
}

impl Budget {
    /// The share in hundredths of a percent (`"5%"` is 500), if it is one and well formed.
    fn basis_points(text: &str) -> Option<u32> {
        let number = text.trim().strip_suffix('%')?.trim();
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() || frac.len() > 2 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let whole: u32 = whole.parse().ok()?;
        let frac: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
        let bp = whole.checked_mul(100)?.checked_add(frac)?;
        (bp <= 10_000).then_some(bp)
    }

    /// Whether `failures` failed runs among `targets` exceed the budget (equal is within it).
    pub fn exceeded(&self, failures: u64, targets: u64) -> bool {
        match self {
            Budget::Count(n) => failures > u64::from(*n),
            // failures > targets × share, in integers.
            Budget::Share(s) => Budget::basis_points(s).is_some_and(|bp| failures * 10_000 > targets * u64::from(bp)),
        }
    }
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Budget::Count(n) => write!(f, "{n}"),
            Budget::Share(s) => f.write_str(s.trim()),
        }
    }
}

/// How a campaign's work is driven.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every target gets one slot, planned and told ahead.
    #[default]
    Planned,
    /// A FleetLock group (`/v1/pre-reboot`, `/v1/steady-state`) named by the campaign's id:
    /// machines (Zincati) take a lock when an update arrives; there are no planned slots.
    Fleetlock,
}

impl Mode {
    pub fn is_planned(&self) -> bool {
        *self == Mode::Planned
    }
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}

/// What a campaign's targets are: machines (VMs) or their hosts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    #[default]
    Machines,
    Hosts,
}

/// Which targets a campaign covers: a target matches every key given and any value in each list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub projects: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machines: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityDef {
    /// `os-update`, `reboot`, `fsck`, `fs-migrate`, `host-reboot`, `network`, or a custom name.
    pub kind: String,
    pub duration: Duration,
}

/// Concurrency limits: at no instant more slots running than each allows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_host: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_rack: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_customer: Option<u32>,
    /// Per redundancy group; 1 when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_group: Option<u32>,
}

/// How the planner places slots in time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Finish the campaign as early as possible.
    #[default]
    Earliest,
    /// Spread the load evenly over the range, like an incremental roll-out.
    Spread,
}

// ---------------------------------------------------------------------------
// The validated campaign.

/// One unit of work in a slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activity {
    pub kind: String,
    pub duration: Duration,
}

/// A validated campaign, checked against the inventory it is planned on.
#[derive(Clone, Debug)]
pub struct Campaign {
    pub id: String,
    pub title: String,
    pub starts: Timestamp,
    pub ends: Timestamp,
    pub publish_at: Timestamp,
    pub notice: Duration,
    pub scope: Scope,
    pub targets: Targets,
    /// Indices into the platform's tiers, in roll-out order.
    pub tier_order: Vec<usize>,
    pub tier_gap: Duration,
    pub activities: Vec<Activity>,
    pub limits: Limits,
    pub granularity: Duration,
    pub strategy: Strategy,
    /// Whether the affected customers' contacts are emailed (`notify_contacts`, default
    /// `true`); when `false` only the status page, subscribers and webhooks are told.
    pub notify_contacts: bool,
    pub mode: Mode,
    pub rollout: Rollout,
}

/// Activities that take a machine down by themselves; a slot holds at most one.
pub const REBOOTS: [&str; 2] = ["reboot", "host-reboot"];

/// Activities that only make sense on hosts.
pub const HOST_ONLY: [&str; 1] = ["host-reboot"];

impl Campaign {
    /// The length of every slot: the activities back to back.
    pub fn slot_length(&self) -> Duration {
        Duration::from_secs(self.activities.iter().map(|a| a.duration.seconds()).sum())
    }

    /// No slot starts before this: the campaign start, and publication plus notice.
    pub fn earliest_start(&self) -> Timestamp {
        let after_notice = self.publish_at + self.notice.0;
        after_notice.max(self.starts)
    }

    /// The limit per redundancy group (1 unless the campaign says otherwise).
    pub fn per_group(&self) -> u32 {
        self.limits.per_group.unwrap_or(1)
    }

    /// The activity kinds, in order.
    pub fn activity_kinds(&self) -> Vec<String> {
        self.activities.iter().map(|a| a.kind.clone()).collect()
    }

    /// Whether a machine matches every target key given (and any value in each list).
    pub fn targets_machine(&self, inv: &Inventory, m: &Machine) -> bool {
        let t = &self.targets;
        let any = |list: &Option<Vec<String>>, value: &str| list.as_ref().is_none_or(|l| l.iter().any(|v| v == value));
        any(&t.tiers, inv.tier_name(m))
            && any(&t.customers, &inv.customer_of(m).id)
            && any(&t.projects, &inv.project_of(m).id)
            && any(&t.hosts, &inv.host_of(m).id)
            && any(&t.machines, &m.id)
            && t.services.as_ref().is_none_or(|l| m.services.iter().any(|&s| l.contains(&inv.services[s as usize])))
    }

    /// The machines this campaign covers (scope `machines`), as indices, in inventory order.
    pub fn target_machines(&self, inv: &Inventory) -> Vec<usize> {
        (0..inv.machines.len()).filter(|&i| self.targets_machine(inv, &inv.machines[i])).collect()
    }

    /// The hosts this campaign covers (scope `hosts`): those listed under `hosts` (all when absent)
    /// that carry at least one matching guest when other keys are given.
    pub fn target_hosts(&self, inv: &Inventory) -> Vec<usize> {
        let t = &self.targets;
        let guest_keys = t.tiers.is_some()
            || t.customers.is_some()
            || t.projects.is_some()
            || t.services.is_some()
            || t.machines.is_some();
        let mut with_guest = vec![false; inv.hosts.len()];
        if guest_keys {
            for m in &inv.machines {
                if self.targets_machine(inv, m) {
                    with_guest[m.host] = true;
                }
            }
        }
        (0..inv.hosts.len())
            .filter(|&h| t.hosts.as_ref().is_none_or(|l| l.contains(&inv.hosts[h].id)))
            .filter(|&h| !guest_keys || with_guest[h])
            .collect()
    }
}

const FIELDS: [&str; 17] = [
    "id",
    "title",
    "starts",
    "ends",
    "publish_at",
    "notice",
    "scope",
    "targets",
    "tier_order",
    "tier_gap",
    "activities",
    "limits",
    "granularity",
    "strategy",
    "notify_contacts",
    "mode",
    "rollout",
];
const ROLLOUT_FIELDS: [&str; 1] = ["max_failures"];
const TARGET_FIELDS: [&str; 6] = ["tiers", "customers", "projects", "services", "hosts", "machines"];
const LIMIT_FIELDS: [&str; 5] = ["global", "per_host", "per_rack", "per_customer", "per_group"];
const ACTIVITY_FIELDS: [&str; 2] = ["kind", "duration"];

/// Parses and validates a campaign file against the inventory it will be planned on.
pub fn parse_campaign(file: &str, text: &str, inv: &Inventory) -> Result<Campaign, Diagnostics> {
    let doc = Document::parse(file, text, Format::detect(file, text))?;
    let mut errors = Vec::new();
    let root = FieldPath::root();
    if !doc.is_table() {
        return Err(Diagnostics(vec![doc.diag(&root, "expected a table with the campaign's fields")]));
    }
    // Every unknown key, at every level, is reported; then the rest is read without them.
    let mut unknown_paths = Vec::new();
    let mut unknown = |path: &FieldPath, known: &[&str], what: &str| {
        for key in doc.keys_at(path).unwrap_or_default() {
            if !known.contains(&key.as_str()) {
                errors.push(
                    doc.diag(&path.key(&key), format!("unknown {what} `{key}`: expected one of {}", known.join(", "))),
                );
                unknown_paths.push(path.key(&key));
            }
        }
    };
    unknown(&root, &FIELDS, "field");
    unknown(&root.key("targets"), &TARGET_FIELDS, "target key");
    unknown(&root.key("limits"), &LIMIT_FIELDS, "limit");
    unknown(&root.key("rollout"), &ROLLOUT_FIELDS, "roll-out field");
    for i in 0..doc.array_len("activities") {
        unknown(&root.key("activities").index(i), &ACTIVITY_FIELDS, "activity field");
    }
    let Some(def) = doc.whole_without::<CampaignFile>(&unknown_paths, &mut errors) else {
        return Err(Diagnostics(errors).sorted_by_line());
    };
    match validate(&def, inv, &doc) {
        Ok(c) if errors.is_empty() => Ok(c),
        Ok(_) => Err(Diagnostics(errors).sorted_by_line()),
        Err(Diagnostics(more)) => {
            errors.extend(more);
            Err(Diagnostics(errors).sorted_by_line())
        }
    }
}

fn validate(def: &CampaignFile, inv: &Inventory, doc: &Document<'_>) -> Result<Campaign, Diagnostics> {
    let mut errors: Vec<Diagnostic> = Vec::new();
    let root = FieldPath::root();
    let mut err = |path: FieldPath, msg: String| errors.push(doc.diag(&path, msg));

    if let Err(e) = crate::inventory::check_id(&def.id) {
        err(root.key("id"), format!("campaign id {e}"));
    }
    if def.title.trim().is_empty() {
        err(root.key("title"), "`title` is empty: say what the campaign does, e.g. \"OS update March 2027\"".into());
    } else if let Err(e) = crate::text::line(&def.title, crate::text::TITLE) {
        err(root.key("title"), format!("`title` {e}"));
    }
    let mut time = |field: &str, t: &TimeText| parse_instant(&t.0).map_err(|e| err(root.key(field), e)).ok();
    let starts = time("starts", &def.starts);
    let ends = time("ends", &def.ends);
    let publish_at = time("publish_at", &def.publish_at);
    let granularity = def.granularity.unwrap_or(Duration::from_secs(15 * 60));
    if let (Some(s), Some(e)) = (starts, ends) {
        if e <= s {
            err(
                root.key("ends"),
                format!(
                    "the campaign ends ({}) before it starts ({}): swap `starts` and `ends`",
                    def.ends.0, def.starts.0
                ),
            );
        } else if e.as_second() - s.as_second() > 366 * 86_400 {
            err(root.key("ends"), "the campaign runs longer than a year: split it into several campaigns".into());
        }
    }
    if let (Some(p), Some(e)) = (publish_at, ends) {
        let earliest = p + def.notice.0;
        if earliest >= e {
            err(
                root.key("publish_at"),
                format!(
                    "publication ({}) plus the {} notice is not before the campaign ends ({}): publish earlier or move the range",
                    def.publish_at.0, def.notice, def.ends.0
                ),
            );
        }
    }
    if granularity.seconds() <= 0 || granularity.seconds() > 86_400 {
        err(root.key("granularity"), format!("granularity `{granularity}` must be between 1m and 24h; 15m is usual"));
    } else if granularity.seconds() % 60 != 0 {
        err(root.key("granularity"), format!("granularity `{granularity}` must be whole minutes"));
    }

    if def.mode == Mode::Fleetlock {
        if def.scope != Scope::Machines {
            err(
                root.key("mode"),
                "a FleetLock group locks machines (Zincati runs on them): remove scope = \"hosts\"".into(),
            );
        }
        // Zincati's group names: letters, digits, `.` and `-`.
        if let Some(c) = def.id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))) {
            err(
                root.key("id"),
                format!(
                    "a FleetLock group's id is the group Zincati sends, which allows letters, digits, `.` and `-`: `{}` contains `{c}`",
                    def.id
                ),
            );
        }
    }

    // Activities.
    if def.activities.is_empty() {
        err(
            root.key("activities"),
            "no activities: add at least one, e.g. { kind = \"reboot\", duration = \"10m\" }".into(),
        );
    }
    let mut reboots = 0;
    for (i, a) in def.activities.iter().enumerate() {
        let p = root.key("activities").index(i);
        if let Err(e) = crate::inventory::check_id(&a.kind) {
            err(p.key("kind"), format!("activity kind {e}"));
        }
        if a.duration.seconds() <= 0 {
            err(p.key("duration"), format!("activity `{}` takes no time: give it a duration like `10m`", a.kind));
        }
        if REBOOTS.contains(&a.kind.as_str()) {
            reboots += 1;
            if reboots == 2 {
                err(p.key("kind"), "a slot holds at most one reboot: remove this one".into());
            }
        }
        if def.scope == Scope::Machines && HOST_ONLY.contains(&a.kind.as_str()) {
            err(p.key("kind"), format!("`{}` works on hosts: set scope = \"hosts\"", a.kind));
        }
    }
    let total: i64 = def.activities.iter().map(|a| a.duration.seconds().max(0)).sum();
    if total > 86_400 {
        err(
            root.key("activities"),
            format!(
                "the activities take {} back to back, more than a day: split the campaign",
                Duration::from_secs(total)
            ),
        );
    }

    // The failure budget.
    if let Some(Budget::Share(text)) = &def.rollout.max_failures
        && Budget::basis_points(text).is_none()
    {
        err(
            root.key("rollout").key("max_failures"),
            format!("`{text}` is not a share: give a percentage such as \"5%\" (0% to 100%), or a number of machines"),
        );
    }

    // Limits.
    let l = &def.limits;
    for (name, v) in [
        ("global", l.global),
        ("per_host", l.per_host),
        ("per_rack", l.per_rack),
        ("per_customer", l.per_customer),
        ("per_group", l.per_group),
    ] {
        if v == Some(0) {
            err(root.key("limits").key(name), format!("`{name} = 0` lets nothing run: remove it to have no limit"));
        }
    }

    // Tier order.
    let platform_tiers = &inv.platform.tiers;
    let mut tier_order = Vec::new();
    match &def.tier_order {
        None => tier_order.extend(0..platform_tiers.len()),
        Some(order) => {
            let mut seen = HashSet::new();
            for (i, t) in order.iter().enumerate() {
                match platform_tiers.iter().position(|p| p == t) {
                    Some(ix) if seen.insert(ix) => tier_order.push(ix),
                    Some(_) => err(root.key("tier_order").index(i), format!("tier `{t}` is listed twice")),
                    None => err(
                        root.key("tier_order").index(i),
                        format!("unknown tier `{t}`: the platform's tiers are {}", platform_tiers.join(", ")),
                    ),
                }
            }
        }
    }

    // Targets name things that exist.
    let t = &def.targets;
    let mut known = |key: &str, list: &Option<Vec<String>>, exists: &dyn Fn(&str) -> bool, what: &str, hint: &str| {
        for (i, v) in list.iter().flatten().enumerate() {
            if !exists(v) {
                err(root.key("targets").key(key).index(i), format!("unknown {what} `{v}`: {hint}"));
            }
        }
    };
    let tier_hint = format!("the platform's tiers are {}", platform_tiers.join(", "));
    known("tiers", &t.tiers, &|v| platform_tiers.iter().any(|p| p == v), "tier", &tier_hint);
    known(
        "customers",
        &t.customers,
        &|v| inv.customers.iter().any(|c| c.id == v),
        "customer",
        "check the id in the inventory",
    );
    known(
        "projects",
        &t.projects,
        &|v| inv.projects.iter().any(|p| p.id == v),
        "project",
        "check the id in the inventory",
    );
    known("hosts", &t.hosts, &|v| inv.hosts.iter().any(|h| h.id == v), "host", "check the id in the inventory");
    if let Some(list) = &t.machines {
        let ids: HashSet<&str> = inv.machines.iter().map(|m| m.id.as_str()).collect();
        known("machines", &Some(list.clone()), &|v| ids.contains(v), "machine", "check the id in the inventory");
    }

    let (Some(starts), Some(ends), Some(publish_at)) = (starts, ends, publish_at) else {
        return Err(Diagnostics(errors));
    };
    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    Ok(Campaign {
        id: def.id.clone(),
        title: def.title.clone(),
        starts,
        ends,
        publish_at,
        notice: def.notice,
        scope: def.scope,
        targets: def.targets.clone(),
        tier_order,
        tier_gap: def.tier_gap,
        activities: def.activities.iter().map(|a| Activity { kind: a.kind.clone(), duration: a.duration }).collect(),
        limits: def.limits,
        granularity,
        strategy: def.strategy,
        notify_contacts: def.notify_contacts,
        mode: def.mode,
        rollout: def.rollout.clone(),
    })
}

#[cfg(test)]
mod tests;
