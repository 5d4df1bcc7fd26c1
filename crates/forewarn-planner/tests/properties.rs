//! Property tests: on random small fleets and campaigns (DST changes, wrapping and
//! all-day windows, blackouts, tight limits, both scopes), every plan the planner makes
//! passes the independent checker, planning is deterministic, and the checker agrees with
//! a naive reference on deliberately perturbed plans.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use forewarn_model::campaign::Scope;
use forewarn_model::window::occurrences_of;
use forewarn_model::{Campaign, Inventory, parse_campaign, parse_inventory};
use forewarn_planner::check::{Constraint, Violation, check};
use forewarn_planner::fleetlock::{Hold, Kind, admit};
use forewarn_planner::plan::UnscheduledEntry;
use forewarn_planner::{Keep, Plan, PlanFile, next_starts, plan_keeping};
use jiff::Timestamp;
use proptest::prelude::*;
use proptest::sample::Index;

const ZONES: [&str; 5] = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"];

/// Window patterns: wrapping, all-day, narrow, over DST changes, with and without a zone.
const WINDOWS: [&str; 12] = [
    "Mon-Fri 22:00-05:00",
    "Mon-Sun 00:00-24:00",
    "Sat,Sun 00:00-24:00",
    "Tue,Thu 06:00-09:00",
    "Sun 02:00-03:00",
    "Sun 01:30-03:30",
    "Mon-Sun 23:00-01:00",
    "Wed 12:00-14:00 UTC",
    "Fri-Mon 20:00-04:00 Australia/Sydney",
    "Sat,Sun 01:00-04:00 America/New_York",
    "Mon-Sun 02:30-02:45 Europe/Berlin",
    "Mon,Wed,Fri 21:00-24:00",
];

/// Campaign starts (UTC midnight) just before DST changes: Europe 2027-03-28 and 2027-10-31,
/// New York 2027-03-14 and 2027-11-07, Sydney 2027-04-04 and 2027-10-03.
const STARTS: [&str; 6] = ["2027-03-24", "2027-10-27", "2027-03-10", "2027-11-03", "2027-03-31", "2027-09-29"];

const TIERS: [&str; 3] = ["testing", "staging", "production"];

#[derive(Clone, Debug)]
struct CustomerSpec {
    zone: Option<usize>,
    windows: Vec<usize>,
    blackouts: Vec<(u32, u32)>,
}

#[derive(Clone, Debug)]
struct ProjectSpec {
    customer: Index,
    windows: Vec<usize>,
}

#[derive(Clone, Debug)]
struct HostSpec {
    rack: Index,
    windows: Vec<usize>,
}

#[derive(Clone, Debug)]
struct MachineSpec {
    project: Index,
    tier: usize,
    host: Index,
    group: Option<Index>,
    windows: Vec<usize>,
}

#[derive(Clone, Debug)]
struct CampaignSpec {
    start: usize,
    days: u32,
    /// Hours before `starts` that it is published, and the notice in hours.
    published: u32,
    notice: u32,
    tier_gap: u32,
    tier_order: usize,
    activities: usize,
    global: Option<u32>,
    per_host: Option<u32>,
    per_rack: Option<u32>,
    per_customer: Option<u32>,
    per_group: Option<u32>,
    granularity: usize,
    spread: bool,
    hosts: bool,
    /// Restrict targets to one tier, or to one customer.
    only_tier: Option<usize>,
    only_customer: Option<Index>,
}

#[derive(Clone, Debug)]
struct Spec {
    zone: usize,
    windows: Vec<usize>,
    blackouts: Vec<(u32, u32)>,
    customers: Vec<CustomerSpec>,
    projects: Vec<ProjectSpec>,
    racks: usize,
    hosts: Vec<HostSpec>,
    machines: Vec<MachineSpec>,
    campaign: CampaignSpec,
}

/// Some windows (maybe none): indices into [`WINDOWS`].
fn windows(max: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..WINDOWS.len(), 0..=max)
}

/// Blackouts as (hours after the campaign starts, hours long).
fn blackouts() -> impl Strategy<Value = Vec<(u32, u32)>> {
    prop::collection::vec((0u32..14 * 24, 1u32..36), 0..=2)
}

prop_compose! {
    fn customer()(zone in prop::option::of(0..ZONES.len()), windows in prop::option::weighted(0.3, windows(2)), blackouts in blackouts()) -> CustomerSpec {
        CustomerSpec { zone, windows: windows.unwrap_or_default(), blackouts }
    }
}

prop_compose! {
    fn project()(customer in any::<Index>(), windows in prop::option::weighted(0.25, windows(2))) -> ProjectSpec {
        ProjectSpec { customer, windows: windows.unwrap_or_default() }
    }
}

prop_compose! {
    fn host()(rack in any::<Index>(), windows in prop::option::weighted(0.3, windows(2))) -> HostSpec {
        HostSpec { rack, windows: windows.unwrap_or_default() }
    }
}

prop_compose! {
    fn machine()(
        project in any::<Index>(),
        tier in prop_oneof![1 => Just(0usize), 2 => Just(1usize), 4 => Just(2usize)],
        host in any::<Index>(),
        group in prop::option::weighted(0.5, any::<Index>()),
        windows in prop::option::weighted(0.15, windows(2)),
    ) -> MachineSpec {
        MachineSpec { project, tier, host, group, windows: windows.unwrap_or_default() }
    }
}

prop_compose! {
    fn campaign()(
        (start, days, published, notice, tier_gap, tier_order) in
            (0..STARTS.len(), 2u32..=14, 0u32..=96, 0u32..=72, 0u32..=48, 0usize..3),
        (activities, global, per_host, per_rack, per_customer, per_group) in (
            0usize..3,
            prop::option::of(1u32..=5),
            prop::option::of(1u32..=3),
            prop::option::of(1u32..=4),
            prop::option::of(1u32..=4),
            prop::option::weighted(0.3, 1u32..=2),
        ),
        (granularity, spread, hosts, only_tier, only_customer) in (
            0usize..3,
            any::<bool>(),
            prop::bool::weighted(0.3),
            prop::option::weighted(0.15, 0usize..3),
            prop::option::weighted(0.15, any::<Index>()),
        ),
    ) -> CampaignSpec {
        CampaignSpec {
            start, days, published, notice, tier_gap, tier_order, activities, global, per_host, per_rack,
            per_customer, per_group, granularity, spread, hosts, only_tier, only_customer,
        }
    }
}

prop_compose! {
    fn spec()(
        zone in 0..ZONES.len(),
        windows in prop::collection::vec(0..WINDOWS.len(), 1..=2),
        blackouts in blackouts(),
        customers in prop::collection::vec(customer(), 1..=4),
        projects in prop::collection::vec(project(), 1..=6),
        racks in 1usize..=3,
        hosts in prop::collection::vec(host(), 2..=6),
        machines in prop::collection::vec(machine(), 5..=60),
        campaign in campaign(),
    ) -> Spec {
        Spec { zone, windows, blackouts, customers, projects, racks, hosts, machines, campaign }
    }
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    let v: Vec<String> = items.into_iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", v.join(", "))
}

fn window_list(ix: &[usize]) -> String {
    list(ix.iter().map(|&i| WINDOWS[i].to_owned()))
}

fn hours_after(t: Timestamp, h: i64) -> Timestamp {
    t + jiff::SignedDuration::from_hours(h)
}

fn campaign_start(spec: &Spec) -> Timestamp {
    format!("{}T00:00:00Z", STARTS[spec.campaign.start]).parse().unwrap()
}

fn blackout_list(start: Timestamp, b: &[(u32, u32)]) -> String {
    let items: Vec<String> = b
        .iter()
        .enumerate()
        .map(|(i, &(at, len))| {
            let from = hours_after(start, i64::from(at));
            format!("{{ from = \"{from}\", to = \"{}\", reason = \"freeze {i}\" }}", hours_after(from, i64::from(len)))
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// The inventory and campaign as TOML, the way people write them.
fn texts(spec: &Spec) -> (String, String) {
    let start = campaign_start(spec);
    let mut inv = String::new();
    let _ = writeln!(inv, "[platform]\nname = \"Prop Hosting\"\ntime_zone = \"{}\"", ZONES[spec.zone]);
    let _ = writeln!(inv, "windows = {}", window_list(&spec.windows));
    let _ = writeln!(inv, "blackouts = {}\n", blackout_list(start, &spec.blackouts));
    for (i, c) in spec.customers.iter().enumerate() {
        let _ = writeln!(inv, "[[customers]]\nid = \"c{i}\"\nname = \"Customer {i}\"");
        if let Some(z) = c.zone {
            let _ = writeln!(inv, "time_zone = \"{}\"", ZONES[z]);
        }
        let _ = writeln!(inv, "windows = {}", window_list(&c.windows));
        let _ = writeln!(inv, "blackouts = {}\n", blackout_list(start, &c.blackouts));
    }
    for (i, p) in spec.projects.iter().enumerate() {
        let c = p.customer.index(spec.customers.len());
        let _ =
            writeln!(inv, "[[projects]]\nid = \"p{i}\"\ncustomer = \"c{c}\"\nwindows = {}\n", window_list(&p.windows));
    }
    for (i, h) in spec.hosts.iter().enumerate() {
        let r = h.rack.index(spec.racks);
        let _ = writeln!(inv, "[[hosts]]\nid = \"h{i}\"\nrack = \"r{r}\"\nwindows = {}\n", window_list(&h.windows));
    }
    let groups = (spec.machines.len() / 2).max(1);
    for (i, m) in spec.machines.iter().enumerate() {
        let p = m.project.index(spec.projects.len());
        let h = m.host.index(spec.hosts.len());
        let g = m.group.as_ref().map(|g| format!("g{}", g.index(groups)));
        let _ = writeln!(
            inv,
            "[[machines]]\nid = \"m{i}\"\nproject = \"p{p}\"\ntier = \"{}\"\nhost = \"h{h}\"\ngroups = {}\nwindows = {}\n",
            TIERS[m.tier],
            list(g),
            window_list(&m.windows)
        );
    }

    let c = &spec.campaign;
    let ends = hours_after(start, 24 * i64::from(c.days));
    let published = hours_after(start, -i64::from(c.published));
    let mut camp = String::new();
    let _ = writeln!(camp, "id = \"prop\"\ntitle = \"Property campaign\"");
    let _ = writeln!(camp, "starts = \"{start}\"\nends = \"{ends}\"\npublish_at = \"{published}\"");
    // Publication plus notice must come before the end.
    let notice = c.notice.min(c.published + 24 * (c.days - 1));
    let _ = writeln!(camp, "notice = \"{notice}h\"\ntier_gap = \"{}h\"", c.tier_gap);
    let _ = writeln!(camp, "scope = \"{}\"", if c.hosts { "hosts" } else { "machines" });
    match c.tier_order {
        0 => {}
        1 => camp.push_str("tier_order = [\"staging\", \"production\"]\n"),
        _ => camp.push_str("tier_order = [\"testing\", \"staging\", \"production\"]\n"),
    }
    let activities = match (c.hosts, c.activities) {
        (false, 0) => r#"[{ kind = "os-update", duration = "20m" }, { kind = "reboot", duration = "10m" }]"#,
        (false, 1) => r#"[{ kind = "reboot", duration = "5m" }]"#,
        (false, _) => r#"[{ kind = "fsck", duration = "45m" }, { kind = "reboot", duration = "15m" }]"#,
        (true, 0) => r#"[{ kind = "host-reboot", duration = "20m" }]"#,
        (true, 1) => r#"[{ kind = "os-update", duration = "10m" }, { kind = "host-reboot", duration = "15m" }]"#,
        (true, _) => r#"[{ kind = "network", duration = "1h" }]"#,
    };
    let _ = writeln!(camp, "activities = {activities}");
    let _ = writeln!(camp, "granularity = \"{}\"", ["5m", "15m", "30m"][c.granularity]);
    let _ = writeln!(camp, "strategy = \"{}\"", if c.spread { "spread" } else { "earliest" });
    camp.push_str("\n[targets]\n");
    if let Some(t) = c.only_tier {
        let _ = writeln!(camp, "tiers = [\"{}\"]", TIERS[t]);
    }
    if let Some(ix) = &c.only_customer {
        let _ = writeln!(camp, "customers = [\"c{}\"]", ix.index(spec.customers.len()));
    }
    camp.push_str("\n[limits]\n");
    for (name, v) in [
        ("global", c.global),
        ("per_host", c.per_host),
        ("per_rack", c.per_rack),
        ("per_customer", c.per_customer),
        ("per_group", c.per_group),
    ] {
        if let Some(v) = v {
            let _ = writeln!(camp, "{name} = {v}");
        }
    }
    (inv, camp)
}

fn parse(spec: &Spec) -> (Inventory, Campaign) {
    let (inv_text, camp_text) = texts(spec);
    let inv = parse_inventory("inventory.toml", &inv_text).unwrap_or_else(|e| panic!("{e}\n{inv_text}"));
    let campaign = parse_campaign("campaign.toml", &camp_text, &inv).unwrap_or_else(|e| panic!("{e}\n{camp_text}"));
    (inv, campaign)
}

fn plan_json(inv: &Inventory, campaign: &Campaign) -> Vec<u8> {
    written(&forewarn_planner::plan(inv, campaign), inv, campaign)
}

fn written(plan: &Plan, inv: &Inventory, campaign: &Campaign) -> Vec<u8> {
    let mut buf = Vec::new();
    plan.write_json(&mut buf, inv, campaign).expect("the plan writes");
    buf
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64)
}

fn lines(v: &[Violation]) -> String {
    v.iter().map(|v| format!("{v}\n")).collect()
}

proptest! {
    // 64 cases keep the suite quick in debug builds; PROPTEST_CASES=5000 hunts longer.
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Every plan the planner makes passes the checker, and planning twice gives the same bytes.
    #[test]
    fn planned_plans_pass_the_checker(spec in spec()) {
        let (inv, campaign) = parse(&spec);
        let json = plan_json(&inv, &campaign);
        let plan: PlanFile = serde_json::from_slice(&json).expect("the plan reads back");
        let violations = check(&inv, &campaign, &plan);
        prop_assert!(violations.is_empty(), "{}\n{}", lines(&violations), String::from_utf8_lossy(&json));
        let again = plan_json(&inv, &campaign);
        prop_assert!(json == again, "planning twice differs");
    }

    /// Planning again while keeping the published slots keeps every one of them when nothing
    /// changed; when a machine leaves the inventory, every other slot stays where it was
    /// told. The checker finds nothing wrong in either plan.
    #[test]
    fn planning_again_keeps_published_slots(spec in spec(), gone in any::<Index>()) {
        let (inv, campaign) = parse(&spec);
        let first = forewarn_planner::plan(&inv, &campaign);
        let told: BTreeMap<String, i64> =
            first.slots.iter().map(|s| (first.target_id(&inv, s.target).to_owned(), s.start)).collect();
        let keep: Vec<Keep> = told.iter().map(|(target, &start)| Keep { target: target.clone(), start }).collect();

        let again = plan_keeping(&inv, &campaign, &keep);
        let json = written(&again, &inv, &campaign);
        let violations = check(&inv, &campaign, &serde_json::from_slice(&json).expect("the plan reads back"));
        prop_assert!(violations.is_empty(), "{}\n{}", lines(&violations), String::from_utf8_lossy(&json));
        let now: BTreeMap<String, i64> =
            again.slots.iter().map(|s| (again.target_id(&inv, s.target).to_owned(), s.start)).collect();
        for (target, start) in &told {
            prop_assert_eq!(now.get(target), Some(start), "{} moved though nothing changed", target);
        }

        if campaign.scope == Scope::Machines && spec.machines.len() > 1 {
            let k = gone.index(spec.machines.len());
            let (inv_text, camp_text) = texts(&spec);
            let block = format!("[[machines]]\nid = \"m{k}\"\n");
            let at = inv_text.find(&block).expect("the machine's block");
            let end = inv_text[at..].find("\n\n").map_or(inv_text.len(), |i| at + i + 2);
            let fewer = format!("{}{}", &inv_text[..at], &inv_text[end..]);
            let inv2 = parse_inventory("inventory.toml", &fewer).unwrap_or_else(|e| panic!("{e}\n{fewer}"));
            let Ok(campaign2) = parse_campaign("campaign.toml", &camp_text, &inv2) else { return Ok(()) };
            let third = plan_keeping(&inv2, &campaign2, &keep);
            let json = written(&third, &inv2, &campaign2);
            let violations = check(&inv2, &campaign2, &serde_json::from_slice(&json).expect("the plan reads back"));
            prop_assert!(violations.is_empty(), "{}\n{}", lines(&violations), String::from_utf8_lossy(&json));
            let now: BTreeMap<String, i64> =
                third.slots.iter().map(|s| (third.target_id(&inv2, s.target).to_owned(), s.start)).collect();
            let left = format!("m{k}");
            for (target, start) in told.iter().filter(|(t, _)| **t != left) {
                prop_assert_eq!(now.get(target), Some(start), "{} moved when {} left", target, left);
            }
        }
    }

    /// The next feasible starts of a target among the other slots of a plan: moving its slot
    /// to any of them leaves a plan the checker finds nothing wrong with; they come in order,
    /// at least `apart` apart, the first no later than the slot it has; and no start of the
    /// campaign's grid before the first would do (the checker refuses each one tried).
    #[test]
    fn next_starts_keep_every_constraint(spec in spec(), which in any::<Index>(), apart_steps in 1i64..300) {
        let (inv, campaign) = parse(&spec);
        let json = plan_json(&inv, &campaign);
        let plan: PlanFile = serde_json::from_slice(&json).expect("the plan reads back");
        prop_assume!(!plan.slots.is_empty());
        let k = which.index(plan.slots.len());
        let id = |e: &forewarn_planner::SlotEntry<'_>| e.machine.as_ref().or(e.host.as_ref()).expect("a target").to_string();
        let unix = |t: &str| t.parse::<Timestamp>().expect("a time").as_second();
        let booked: Vec<Keep> = plan.slots.iter().map(|e| Keep { target: id(e), start: unix(&e.start) }).collect();
        let (target, has) = (booked[k].target.clone(), booked[k].start);
        let g = campaign.granularity.seconds();
        let apart = apart_steps * g;
        let from = campaign.earliest_start().as_second();
        let starts = next_starts(&inv, &campaign, &booked, &target, from, 4, apart).expect("a target of the campaign");
        prop_assert!(!starts.is_empty() && starts[0] <= has, "{target} has {has}, offered {starts:?}");
        prop_assert!(starts.windows(2).all(|w| w[1] >= w[0] + apart), "{starts:?} not {apart} s apart");
        let len = campaign.slot_length().seconds();
        let moved_to = |start: i64| {
            let mut moved = plan.clone();
            let at = |t: i64| Timestamp::from_second(t).expect("an instant").to_string().into();
            moved.slots[k].start = at(start);
            moved.slots[k].end = at(start + len);
            check(&inv, &campaign, &moved)
        };
        for &start in &starts {
            let violations = moved_to(start);
            prop_assert!(violations.is_empty(), "{target} moved to {start}:\n{}", lines(&violations));
        }
        // Before the first: the grid from the campaign's start, at most 60 starts tried.
        let origin = campaign.starts.as_second();
        let first_step = (from - origin + g - 1).max(0) / g;
        let last_step = (starts[0] - origin) / g;
        let stride = ((last_step - first_step) / 60).max(1);
        for step in (first_step..last_step).step_by(stride as usize) {
            let start = origin + step * g;
            prop_assert!(!moved_to(start).is_empty(), "{target} fits at {start}, before the first offered {}\n{}\n{}\n{}", starts[0], texts(&spec).0, texts(&spec).1, String::from_utf8_lossy(&json));
        }
    }

    /// FleetLock: machines ask for their group's lock at random instants, each lock held for
    /// the reboot's length. The locks granted, as slots, form a plan the checker finds
    /// nothing wrong with (but tier order, which locks do not keep); and every refusal is
    /// one the checker agrees with: that lock, added, breaks the constraint it names.
    #[test]
    fn fleetlock_grants_keep_every_constraint(
        spec in spec(),
        asks in prop::collection::vec((any::<Index>(), prop_oneof![3 => 0i64..15, 1 => 0i64..720], any::<bool>()), 1..40),
        before in 0i64..48,
    ) {
        let (inv, campaign) = parse(&spec);
        prop_assume!(campaign.scope == Scope::Machines);
        let len = campaign.slot_length().seconds();
        let targets = campaign.target_machines(&inv);
        let at = |t: i64| Timestamp::from_second(t).expect("an instant").to_string();
        let file = |granted: &[Hold]| {
            let slots: Vec<serde_json::Value> = granted
                .iter()
                .map(|h| serde_json::json!({"machine": inv.machines[h.machine].id, "start": at(h.start), "end": at(h.start + len), "activities": campaign.activity_kinds()}))
                .collect();
            let unscheduled: Vec<serde_json::Value> = targets
                .iter()
                .filter(|&&t| !granted.iter().any(|h| h.machine == t))
                .map(|&t| serde_json::json!({"machine": inv.machines[t].id, "reason": "no lock asked"}))
                .collect();
            serde_json::to_vec(&serde_json::json!({"campaign": campaign.id, "slots": slots, "unscheduled": unscheduled}))
                .expect("json")
        };
        let checked = |granted: &[Hold]| {
            let json = file(granted);
            let plan: PlanFile = serde_json::from_slice(&json).expect("the plan reads back");
            check(&inv, &campaign, &plan).into_iter().filter(|v| v.constraint != Constraint::TierOrder).collect::<Vec<_>>()
        };
        let mut granted: Vec<Hold> = Vec::new();
        let mut t = campaign.earliest_start().as_second() - before * 3600;
        for (who, minutes, target) in &asks {
            t += minutes * 60;
            let machine = if *target && !targets.is_empty() { targets[who.index(targets.len())] } else { who.index(inv.machines.len()) };
            if granted.iter().any(|h| h.machine == machine) {
                continue;
            }
            match admit(&inv, &campaign, &granted, machine, t) {
                Ok(()) => granted.push(Hold { machine, start: t, end: t + len }),
                Err(refused) => {
                    let mut with = granted.clone();
                    with.push(Hold { machine, start: t, end: t + len });
                    let broken = checked(&with);
                    let agrees = |c: Constraint| match refused.kind {
                        Kind::NotInGroup => c == Constraint::Coverage,
                        Kind::OutsideCampaign => matches!(c, Constraint::Range | Constraint::Notice),
                        Kind::OutsideMaintenanceWindow => c == Constraint::Window,
                        Kind::Blackout => c == Constraint::Blackout,
                        Kind::LimitReached => matches!(c, Constraint::Global | Constraint::PerHost | Constraint::PerRack | Constraint::PerCustomer | Constraint::PerGroup),
                    };
                    prop_assert!(
                        broken.iter().any(|v| agrees(v.constraint)),
                        "{} refused at {t} ({}: {}), the checker finds: {}\n{}\n{}",
                        inv.machines[machine].id, refused.kind.as_str(), refused.value, lines(&broken), texts(&spec).0, texts(&spec).1
                    );
                    prop_assert!(!refused.value.is_empty());
                }
            }
        }
        let broken = checked(&granted);
        prop_assert!(broken.is_empty(), "granted locks break:\n{}\n{}\n{}", lines(&broken), texts(&spec).0, texts(&spec).1);
    }

    /// On plans with slots moved, stretched and overlapped at random, the checker finds
    /// exactly what a naive reference finds (windows, blackouts, limits).
    #[test]
    fn the_checker_agrees_with_a_naive_reference(
        spec in spec(),
        moves in prop::collection::vec((any::<Index>(), any::<Index>(), 0u8..4, -96i64..96, 0i64..3), 1..12),
    ) {
        let (inv, campaign) = parse(&spec);
        let json = plan_json(&inv, &campaign);
        let mut plan: PlanFile = serde_json::from_slice(&json).expect("the plan reads back");
        prop_assume!(!plan.slots.is_empty());
        let g = jiff::SignedDuration::from_secs(campaign.granularity.seconds());
        let n = plan.slots.len();
        let mut unschedule = Vec::new();
        for (ix, other, kind, steps, stretch) in &moves {
            if *kind == 3 {
                unschedule.push(ix.index(n));
                continue;
            }
            // Shift a slot, or put it over another one (exactly, or a few steps off), and maybe stretch it.
            let base: Timestamp = match kind {
                0 => plan.slots[ix.index(n)].start.parse().unwrap(),
                _ => plan.slots[other.index(n)].start.parse().unwrap(),
            };
            let shift = if *kind == 1 { 0 } else { *steps as i32 };
            let a = base + g * shift;
            let len = campaign.slot_length().0 + g * (*stretch as i32);
            let s = &mut plan.slots[ix.index(n)];
            s.start = a.to_string().into();
            s.end = (a + len).to_string().into();
        }
        // And take some slots away, as if they had not fitted.
        unschedule.sort_unstable();
        unschedule.dedup();
        for &i in unschedule.iter().rev() {
            let s = plan.slots.remove(i);
            plan.unscheduled.push(UnscheduledEntry { machine: s.machine, host: s.host, reason: "taken away".into() });
        }
        let got = summary(&check(&inv, &campaign, &plan));
        let want = naive(&inv, &campaign, &plan);
        prop_assert_eq!(got, want);
    }
}

/// What the checker reports, reduced to what the reference computes: per slot and constraint
/// how often, and per limit key the instant and load of the first excess.
type Summary = BTreeMap<(Constraint, String), Vec<String>>;

fn summary(v: &[Violation]) -> Summary {
    let mut out = Summary::new();
    for v in v {
        let entry = match v.constraint {
            Constraint::Window
            | Constraint::Blackout
            | Constraint::Duration
            | Constraint::Range
            | Constraint::Notice
            | Constraint::TierOrder => (v.constraint, v.target.clone().unwrap_or_default()),
            Constraint::Global
            | Constraint::PerHost
            | Constraint::PerRack
            | Constraint::PerCustomer
            | Constraint::PerGroup => {
                // "<key words> has <n> <what> at <instant>, limit <l>: ..."
                let (key, rest) = v.message.split_once(" has ").expect("a limit message");
                let n = rest.split(' ').next().unwrap_or_default();
                let at = rest.split(" at ").nth(1).and_then(|r| r.split(',').next()).unwrap_or_default();
                out.entry((v.constraint, key.to_owned())).or_default().push(format!("{n} at {at}"));
                continue;
            }
            _ => continue,
        };
        out.entry(entry).or_default().push(String::new());
    }
    out
}

/// The reference: per slot, its window occurrences and blackouts computed directly; per limit
/// key, the load at every slot start counted over all slots (quadratic, fine at this size).
fn naive(inv: &Inventory, campaign: &Campaign, plan: &PlanFile) -> Summary {
    let mut out = Summary::new();
    let hosts = campaign.scope == Scope::Hosts;
    let len = campaign.slot_length().seconds();
    let starts = campaign.starts.as_second();
    let ends = campaign.ends.as_second();
    let earliest = (campaign.publish_at + campaign.notice.0).as_second();
    // (target index, start, end)
    let mut slots = Vec::new();
    for s in &plan.slots {
        let id = s.target().unwrap();
        let t = if hosts {
            inv.hosts.iter().position(|h| h.id == id)
        } else {
            inv.machines.iter().position(|m| m.id == id)
        }
        .unwrap();
        let a = s.start.parse::<Timestamp>().unwrap().as_second();
        let b = s.end.parse::<Timestamp>().unwrap().as_second();
        let mut add = |c: Constraint| out.entry((c, id.to_owned())).or_default().push(String::new());
        if b - a != len {
            add(Constraint::Duration);
        }
        if a < starts || b > ends {
            add(Constraint::Range);
        }
        if a < earliest {
            add(Constraint::Notice);
        }
        let (windows, zone, customers): (_, _, Vec<usize>) = if hosts {
            let mut cs: Vec<usize> =
                inv.machines.iter().filter(|m| m.host == t).map(|m| inv.customer_index_of(m)).collect();
            cs.sort_unstable();
            cs.dedup();
            (inv.host_windows(&inv.hosts[t]).1, &inv.platform.zone, cs)
        } else {
            let m = &inv.machines[t];
            (inv.machine_windows(m).1, inv.zone_for(inv.customer_of(m)), vec![inv.customer_index_of(m)])
        };
        let from = Timestamp::from_second(a - 3 * 86_400).unwrap();
        let to = Timestamp::from_second(b + 3 * 86_400).unwrap();
        let inside =
            occurrences_of(windows, zone, from, to).iter().any(|o| o.start.as_second() <= a && b <= o.end.as_second());
        if !inside {
            add(Constraint::Window);
        }
        let mut blackouts: Vec<_> = inv.platform.blackouts.iter().collect();
        for c in customers {
            blackouts.extend(&inv.customers[c].blackouts);
        }
        for bo in blackouts {
            if a < bo.to.as_second() && bo.from.as_second() < b {
                add(Constraint::Blackout);
            }
        }
        if b > a {
            slots.push((t, a, b));
        }
    }
    // Tier order: per project, what the earlier tiers' slots end, and whether one of their targets has none.
    if !hosts {
        let pos = |t: usize| campaign.tier_order.iter().position(|&x| x == inv.machines[t].tier);
        let gap = campaign.tier_gap.seconds();
        for &(y, a, _) in &slots {
            let Some(j) = pos(y) else { continue };
            let project = inv.machines[y].project;
            let earlier = |t: usize| inv.machines[t].project == project && pos(t).is_some_and(|i| i < j);
            let blocked = campaign
                .target_machines(inv)
                .into_iter()
                .any(|t| earlier(t) && !plan.slots.iter().any(|s| s.target() == Some(inv.machines[t].id.as_str())));
            let last_end = slots.iter().filter(|&&(t, _, _)| earlier(t)).map(|&(_, _, b)| b).max();
            if blocked || last_end.is_some_and(|e| a < e + gap) {
                out.entry((Constraint::TierOrder, inv.machines[y].id.clone())).or_default().push(String::new());
            }
        }
    }
    // Limits: (constraint, limit, key words and demand of a slot).
    let l = campaign.limits;
    let per_group = campaign.per_group();
    let guests = |h: usize| inv.machines.iter().filter(move |m| m.host == h);
    type Keys<'a> = Box<dyn Fn(usize) -> Vec<(String, u64)> + 'a>;
    let mut families: Vec<(Constraint, u32, Keys<'_>)> = Vec::new();
    if let Some(limit) = l.global {
        families.push((Constraint::Global, limit, Box::new(|_| vec![("the campaign".to_owned(), 1)])));
    }
    if !hosts && let Some(limit) = l.per_host {
        families.push((
            Constraint::PerHost,
            limit,
            Box::new(|t| vec![(format!("host {}", inv.hosts[inv.machines[t].host].id), 1)]),
        ));
    }
    if let Some(limit) = l.per_rack {
        families.push((
            Constraint::PerRack,
            limit,
            Box::new(move |t| {
                let h = if hosts { t } else { inv.machines[t].host };
                vec![(format!("rack {}", inv.hosts[h].rack), 1)]
            }),
        ));
    }
    if let Some(limit) = l.per_customer {
        families.push((
            Constraint::PerCustomer,
            limit,
            Box::new(move |t| {
                if hosts {
                    let mut n: BTreeMap<String, u64> = BTreeMap::new();
                    for m in guests(t) {
                        *n.entry(format!("customer {}", inv.customer_of(m).id)).or_default() += 1;
                    }
                    n.into_iter().map(|(k, n)| (k, n.min(u64::from(limit)))).collect()
                } else {
                    vec![(format!("customer {}", inv.customer_of(&inv.machines[t]).id), 1)]
                }
            }),
        ));
    }
    families.push((
        Constraint::PerGroup,
        per_group,
        Box::new(move |t| {
            let mut n: BTreeMap<String, u64> = BTreeMap::new();
            let members: Vec<_> = if hosts { guests(t).collect() } else { vec![&inv.machines[t]] };
            for m in members {
                for g in inv.group_names(m) {
                    *n.entry(format!("redundancy group {g}")).or_default() += 1;
                }
            }
            n.into_iter().map(|(k, n)| (k, n.min(u64::from(per_group)))).collect()
        }),
    ));
    for (c, limit, keys) in families {
        let demands: Vec<Vec<(String, u64)>> = slots.iter().map(|&(t, _, _)| keys(t)).collect();
        let mut first: BTreeMap<String, (i64, u64)> = BTreeMap::new();
        for (i, &(_, t, _)) in slots.iter().enumerate() {
            for (key, _) in &demands[i] {
                let load: u64 = slots
                    .iter()
                    .zip(&demands)
                    .filter(|((_, a, b), _)| *a <= t && t < *b)
                    .flat_map(|(_, d)| d.iter().filter(|(k, _)| k == key).map(|(_, w)| *w))
                    .sum();
                if load > u64::from(limit) {
                    let e = first.entry(key.clone()).or_insert((t, load));
                    if t < e.0 {
                        *e = (t, load);
                    }
                }
            }
        }
        for (key, (t, load)) in first {
            let at = Timestamp::from_second(t).unwrap().to_string();
            out.entry((c, key)).or_default().push(format!("{load} at {at}"));
        }
    }
    out
}
