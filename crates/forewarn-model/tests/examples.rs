//! The sample platform in `examples/`: the inventory and its three campaigns
//! parse and validate, and each campaign leaves room for every target (shown
//! by a naive greedy schedule that honours windows, blackouts, notice, tier
//! order and limits; the real planner does better, but cannot do worse than
//! "feasible").

use std::collections::HashMap;

use forewarn_model::campaign::{Campaign, Scope};
use forewarn_model::window::occurrences_of;
use forewarn_model::{CampaignFile, Inventory, Occurrence, parse_campaign, parse_inventory};
use jiff::Timestamp;

const INVENTORY: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/inventory.toml"));
const CAMPAIGNS: [(&str, &str); 3] = [
    ("os-update.toml", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/os-update.toml"))),
    ("host-reboot.toml", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/host-reboot.toml"))),
    ("fsck.toml", include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/fsck.toml"))),
];

fn inventory() -> Inventory {
    parse_inventory("examples/inventory.toml", INVENTORY).unwrap_or_else(|e| panic!("{e}"))
}

fn campaign(name: &str, inv: &Inventory) -> Campaign {
    let (file, text) = CAMPAIGNS.iter().find(|(f, _)| *f == name).unwrap();
    parse_campaign(file, text, inv).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_sample_inventory_validates() {
    let inv = inventory();
    let s = inv.summary();
    assert_eq!((s.customers, s.projects, s.hosts, s.racks, s.devices, s.machines), (5, 9, 5, 2, 3, 33));
    assert!(s.groups_sharing_a_host.is_empty(), "{s}");
    assert!(inv.customers.iter().any(|c| c.zone.as_ref().is_some_and(|z| z.name() == "America/New_York")));
    assert!(inv.customers.iter().flat_map(|c| &c.contacts).any(|c| c.language.code() == "de"));
}

#[test]
fn the_sample_campaigns_deserialize_and_validate() {
    let inv = inventory();
    for (file, text) in CAMPAIGNS {
        let def: CampaignFile = toml::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(def.id.starts_with(file.trim_end_matches(".toml")), "{file}: id {}", def.id);
        parse_campaign(file, text, &inv).unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(campaign("os-update.toml", &inv).slot_length().to_string(), "30m");
    assert_eq!(campaign("host-reboot.toml", &inv).scope, Scope::Hosts);
    assert_eq!(campaign("fsck.toml", &inv).slot_length().to_string(), "10m");
}

/// What one target counts against while it is down: (limit, key) pairs, repeated per guest.
type Footprint = Vec<(Limit, String)>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Limit {
    Global,
    Host,
    Rack,
    Customer,
    Group,
}

struct Target {
    name: String,
    project: Option<usize>,
    tier: Option<usize>,
    occurrences: Vec<Occurrence>,
    blackouts: Vec<(Timestamp, Timestamp)>,
    footprint: Footprint,
}

fn machine_footprint(inv: &Inventory, m: usize) -> Footprint {
    let m = &inv.machines[m];
    let mut f = vec![
        (Limit::Global, String::new()),
        (Limit::Host, inv.host_of(m).id.clone()),
        (Limit::Rack, inv.host_of(m).rack.clone()),
        (Limit::Customer, inv.customer_of(m).id.clone()),
    ];
    f.extend(inv.group_names(m).map(|g| (Limit::Group, g.to_owned())));
    f
}

fn targets(inv: &Inventory, c: &Campaign) -> Vec<Target> {
    let (from, to) = (c.earliest_start(), c.ends);
    match c.scope {
        Scope::Machines => c
            .target_machines(inv)
            .into_iter()
            .map(|i| {
                let m = &inv.machines[i];
                let customer = inv.customer_of(m);
                Target {
                    name: m.id.clone(),
                    project: Some(m.project),
                    tier: Some(m.tier),
                    occurrences: occurrences_of(inv.machine_windows(m).1, inv.zone_for(customer), from, to),
                    blackouts: inv.blackouts_for(customer).map(|b| (b.from, b.to)).collect(),
                    footprint: machine_footprint(inv, i),
                }
            })
            .collect(),
        Scope::Hosts => c
            .target_hosts(inv)
            .into_iter()
            .map(|h| {
                let host = &inv.hosts[h];
                let guests: Vec<usize> = (0..inv.machines.len()).filter(|&i| inv.machines[i].host == h).collect();
                // Conservatively, every guest's customer's blackouts apply to its host.
                let mut blackouts: Vec<_> = inv.platform.blackouts.iter().map(|b| (b.from, b.to)).collect();
                for &g in &guests {
                    blackouts.extend(inv.customer_of(&inv.machines[g]).blackouts.iter().map(|b| (b.from, b.to)));
                }
                Target {
                    name: host.id.clone(),
                    project: None,
                    tier: None,
                    occurrences: occurrences_of(inv.host_windows(host).1, &inv.platform.zone, from, to),
                    blackouts,
                    footprint: guests.into_iter().flat_map(|g| machine_footprint(inv, g)).collect(),
                }
            })
            .collect(),
    }
}

fn limit_of(c: &Campaign, l: Limit) -> Option<u32> {
    match l {
        Limit::Global => c.limits.global,
        Limit::Host => c.limits.per_host,
        Limit::Rack => c.limits.per_rack,
        Limit::Customer => c.limits.per_customer,
        Limit::Group => Some(c.per_group()),
    }
}

/// Whether `[start, end)` with `footprint` stays within every limit, given the slots placed so far.
fn fits(
    c: &Campaign,
    placed: &[(Timestamp, Timestamp, &Footprint)],
    start: Timestamp,
    end: Timestamp,
    footprint: &Footprint,
) -> bool {
    let mut instants = vec![start];
    instants.extend(placed.iter().map(|p| p.0).filter(|&s| start < s && s < end));
    let mut counts: HashMap<(usize, &str), u32> = HashMap::new();
    for (l, key) in footprint {
        *counts.entry((*l as usize, key.as_str())).or_default() += 1;
    }
    for ((l, key), new) in counts {
        let limit = [Limit::Global, Limit::Host, Limit::Rack, Limit::Customer, Limit::Group][l];
        let Some(max) = limit_of(c, limit) else { continue };
        for &t in &instants {
            let running: u32 = placed
                .iter()
                .filter(|p| p.0 <= t && t < p.1)
                .map(|p| p.2.iter().filter(|(pl, pk)| *pl as usize == l && pk == key).count() as u32)
                .sum();
            if running + new > max {
                return false;
            }
        }
    }
    true
}

/// Places every target at its earliest feasible start, tier by tier; returns the unplaced.
fn greedy(inv: &Inventory, c: &Campaign) -> (Vec<(String, Timestamp, Timestamp)>, Vec<String>) {
    let targets = targets(inv, c);
    let length = c.slot_length().0;
    let step = c.granularity.0;
    let mut placed: Vec<(Timestamp, Timestamp, &Footprint)> = Vec::new();
    let mut slots = Vec::new();
    let mut unplaced = Vec::new();
    let mut ready: HashMap<usize, Timestamp> = HashMap::new();
    let rounds: Vec<Option<usize>> = match c.scope {
        Scope::Machines => c.tier_order.iter().map(|&t| Some(t)).collect(),
        Scope::Hosts => vec![None],
    };
    for round in rounds {
        let mut ends: HashMap<usize, Timestamp> = HashMap::new();
        for t in targets.iter().filter(|t| t.tier == round) {
            let lower =
                t.project.and_then(|p| ready.get(&p).copied()).unwrap_or(c.earliest_start()).max(c.earliest_start());
            let mut found = None;
            'search: for o in &t.occurrences {
                let mut s = o.start;
                while s < lower {
                    s += step;
                }
                while s + length <= o.end.min(c.ends) {
                    let e = s + length;
                    let blacked = t.blackouts.iter().any(|&(bf, bt)| s < bt && bf < e);
                    if !blacked && fits(c, &placed, s, e, &t.footprint) {
                        found = Some((s, e));
                        break 'search;
                    }
                    s += step;
                }
            }
            match found {
                Some((s, e)) => {
                    placed.push((s, e, &t.footprint));
                    slots.push((t.name.clone(), s, e));
                    if let Some(p) = t.project {
                        let end = ends.entry(p).or_insert(e);
                        *end = (*end).max(e);
                    }
                }
                None => unplaced.push(t.name.clone()),
            }
        }
        for (p, e) in ends {
            ready.insert(p, e + c.tier_gap.0);
        }
    }
    (slots, unplaced)
}

#[test]
fn every_sample_campaign_leaves_room_for_every_target() {
    let inv = inventory();
    for (file, expected) in [("os-update.toml", 33), ("host-reboot.toml", 5), ("fsck.toml", 33)] {
        let c = campaign(file, &inv);
        let (slots, unplaced) = greedy(&inv, &c);
        for (name, s, e) in &slots {
            eprintln!(
                "{file}: {name:20} {} {}",
                s.in_tz("Europe/Berlin").unwrap().datetime(),
                e.in_tz("Europe/Berlin").unwrap().datetime()
            );
        }
        assert!(unplaced.is_empty(), "{file}: no room for {unplaced:?}");
        assert_eq!(slots.len(), expected, "{file}");
    }
}
