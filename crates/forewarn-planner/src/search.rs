//! The planner's search: each target, in priority order, gets the earliest
//! (or, for `spread`, the nearest to its turn) candidate start that every
//! limit has room for.
//!
//! Candidates are computed once per *window class* (targets with the same
//! windows, default zone and blackouts) as arithmetic runs of start times.
//! Capacity is counted on cells of one granularity: a slot occupies every cell
//! it touches, which is exact when starts lie on the grid and safe (never an
//! overlap beyond a limit) when they do not. Only resources with more members
//! than their limit are tracked at all.

use std::collections::{BTreeMap, HashMap};

use forewarn_model::campaign::{Campaign, Mode, Scope, Strategy};
use forewarn_model::fxhash::FxHashMap;
use forewarn_model::inventory::{Blackout, Inventory, WindowLevel};
use forewarn_model::window::occurrences_of;
use forewarn_model::{Window, Zone};
use jiff::Timestamp;

use crate::bound;
use crate::explain::{self, NoCandidates};
use crate::plan::{Plan, Resource, Slot, Stats, Unscheduled, Why};

/// Candidate starts `first + k * step` for `k < count`, unix seconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run {
    pub first: i64,
    pub count: i64,
    pub step: i64,
}

impl Run {
    fn last(&self) -> i64 {
        self.first + (self.count - 1) * self.step
    }
}

/// `runs` in the order of their starts, none overlapping another: where windows overlap (a
/// weekend and a night, two zones), a run inside another is left out, and one that reaches
/// beyond the other joins it (on the same grid) or keeps its starts after it (on another).
/// The search finds the first run that reaches a time by bisection, which needs the runs'
/// last starts in order too: with a run nested in another, it skipped candidates.
fn disjoint(mut runs: Vec<Run>) -> Vec<Run> {
    runs.sort_by_key(|r| (r.first, std::cmp::Reverse(r.count)));
    let mut out: Vec<Run> = Vec::with_capacity(runs.len());
    for r in runs {
        let Some(m) = out.last_mut() else {
            out.push(r);
            continue;
        };
        let same_grid = r.step == m.step && (r.first - m.first) % m.step == 0;
        if r.first > m.last() && !(same_grid && r.first == m.last() + m.step) {
            out.push(r);
        } else if r.last() <= m.last() {
            // Inside: its starts are the other's, or between them.
        } else if same_grid {
            m.count = (r.last() - m.first) / m.step + 1;
        } else {
            let first = r.first + ((m.last() - r.first) / r.step + 1) * r.step;
            out.push(Run { first, count: (r.last() - first) / r.step + 1, step: r.step });
        }
    }
    out
}

/// Targets that share windows, zone and blackouts share their candidate starts.
#[derive(Debug)]
pub(crate) struct Class {
    /// The class's windows in words.
    pub text: String,
    pub runs: Vec<Run>,
    /// Each run as `(first, last)` start.
    pub spans: Vec<(i64, i64)>,
    /// Every start allowed by the windows, the range and the blackouts, on the grid or not,
    /// notice or not, as `(first, last)`: where a slot already published may stay.
    pub allowed: Vec<(i64, i64)>,
    pub candidates: i64,
    /// Set when there is no candidate at all: why, in words.
    pub none: Option<NoCandidates>,
}

/// Capacity over time for one limited resource.
#[derive(Debug)]
enum Store {
    /// Per-cell use, with skip pointers past full cells (for resources many targets share).
    Dense { used: Vec<u32>, next: Vec<u32> },
    /// Per-cell use in a byte (for mid-size resources such as hosts), and the first cell that
    /// may have room: cells fill from the front, so this skips the run of full ones.
    Bytes { used: Vec<u8>, full_below: u32 },
    /// Bookings `(first cell, end cell, demand)` (for resources few targets share).
    Sparse(Vec<(u32, u32, u32)>),
}

/// At most this many bytes go to `Store::Bytes` arrays; beyond it, bookings lists.
const BYTES_BUDGET: usize = 256 << 20;
/// Resources with at least this many members and a limit under 255 get `Store::Bytes`.
const BYTES_MEMBERS: u32 = 8;

const DENSE_MEMBERS: u32 = 64;

#[derive(Debug)]
struct Res {
    what: Resource,
    cap: u32,
    store: Store,
}

impl Res {
    /// `Err(c)`: no start whose cells overlap the blocked cells can fit; the next start must be at cell `c` or later.
    fn check(&mut self, a: u32, b: u32, demand: u32) -> Result<(), u32> {
        let cap = self.cap;
        match &mut self.store {
            Store::Dense { used, next } => {
                for x in a..b {
                    if used[x as usize] + demand > cap {
                        let skip = if demand == 1 { find(next, x) } else { x + 1 };
                        return Err(skip.max(x + 1));
                    }
                }
                Ok(())
            }
            Store::Bytes { used, full_below } => {
                if a < *full_below {
                    return Err(*full_below);
                }
                for x in a..b {
                    if u32::from(used[x as usize]) + demand > cap {
                        return Err(x + 1);
                    }
                }
                Ok(())
            }
            Store::Sparse(books) => {
                for x in a..b {
                    let used: u32 = books.iter().filter(|(s, e, _)| *s <= x && x < *e).map(|(_, _, d)| d).sum();
                    if used + demand > cap {
                        return Err(x + 1);
                    }
                }
                Ok(())
            }
        }
    }

    /// Takes a booking back. Skip pointers past cells that regain room may stay stale: a later
    /// scan may then miss a start there, never take one that does not fit.
    fn unbook(&mut self, a: u32, b: u32, demand: u32) {
        let cap = self.cap;
        match &mut self.store {
            Store::Dense { used, next } => {
                for x in a..b {
                    used[x as usize] -= demand;
                    if used[x as usize] < cap {
                        next[x as usize] = x;
                    }
                }
            }
            Store::Bytes { used, full_below } => {
                for x in a..b {
                    used[x as usize] = used[x as usize].saturating_sub(demand as u8);
                }
                *full_below = (*full_below).min(a);
            }
            Store::Sparse(books) => {
                if let Some(i) = books.iter().position(|&(s, e, d)| s == a && e == b && d == demand) {
                    books.swap_remove(i);
                }
            }
        }
    }

    fn book(&mut self, a: u32, b: u32, demand: u32) {
        let cap = self.cap;
        match &mut self.store {
            Store::Dense { used, next } => {
                for x in a..b {
                    used[x as usize] += demand;
                    if used[x as usize] >= cap {
                        next[x as usize] = x + 1;
                    }
                }
            }
            Store::Bytes { used, full_below } => {
                for x in a..b {
                    // The check before booking keeps use within a limit under 255.
                    used[x as usize] = used[x as usize].saturating_add(demand as u8);
                }
                while (*full_below as usize) < used.len() && u32::from(used[*full_below as usize]) >= cap {
                    *full_below += 1;
                }
            }
            Store::Sparse(books) => books.push((a, b, demand)),
        }
    }
}

/// The first cell at or after `x` that is not full (`next[x] == x` marks a cell with room).
fn find(next: &mut [u32], x: u32) -> u32 {
    let mut root = x;
    while (root as usize) < next.len() && next[root as usize] != root {
        root = next[root as usize];
    }
    let mut y = x;
    while (y as usize) < next.len() && next[y as usize] != y {
        let up = next[y as usize];
        next[y as usize] = root;
        y = up;
    }
    root
}

/// Plans a campaign on an inventory. Pure and deterministic.
pub fn plan(inv: &Inventory, campaign: &Campaign) -> Plan {
    plan_keeping(inv, campaign, &[])
}

/// A slot already published, to keep when planning again: its target's id and start (unix
/// seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keep {
    pub target: String,
    pub start: i64,
}

/// Plans a campaign again while keeping the slots already published (`keep`) that still
/// satisfy every constraint: inside the target's window, the range and outside blackouts
/// (the notice is not asked again of a slot already told), within every limit together
/// with the other kept slots, and in tier order. The other targets are placed around them
/// as [`plan`] would; kept slots are never moved by the compaction. A kept slot that no
/// longer fits is planned anew. Pure and deterministic.
///
/// A FleetLock group (`mode = "fleetlock"`) gets no slots: its machines take locks when their
/// updates arrive ([`crate::fleetlock::admit`]). Its plan lists only the machines that can
/// never get one (no window in the range, blackouts over all of it), with the reason.
pub fn plan_keeping(inv: &Inventory, campaign: &Campaign, keep: &[Keep]) -> Plan {
    let mut s = Search::new(inv, campaign);
    if campaign.mode == Mode::Fleetlock {
        for pos in 0..s.targets.len() {
            if let Some(none) = &s.classes[s.class_of[pos] as usize].none {
                let reason = none.to_string();
                s.unscheduled.push(Unscheduled { target: s.targets[pos], reason });
            }
        }
        return s.finish(None);
    }
    s.keep(keep);
    // The lower bound needs only the candidates and who shares which limit, not the search's
    // result: it runs on the other core meanwhile.
    let spans: Vec<Vec<(i64, i64)>> = s.classes.iter().map(|c| c.spans.clone()).collect();
    let class_of = s.class_of.clone();
    let targets = s.targets.clone();
    let (members_at, members) = s.members();
    let s_caps: Vec<u32> = s.res.iter().map(|r| r.cap).collect();
    let bound = std::thread::scope(|scope| {
        let bound = scope.spawn(|| {
            let starts = |pos: usize| spans[class_of[pos] as usize].as_slice();
            let class = |pos: usize| class_of[pos];
            let limits: Vec<(u32, &[u32])> = (0..s_caps.len())
                .map(|r| (s_caps[r], &members[members_at[r] as usize..members_at[r + 1] as usize]))
                .collect();
            bound::lower_bound(inv, campaign, &targets, &bound::Allowed { starts: &starts, class: &class }, &limits)
        });
        s.run();
        bound.join().ok().flatten()
    });
    s.finish(bound)
}

/// The next feasible starts of one target among slots already booked: at most `n` starts
/// (unix seconds) in time order, the first at or after `from` (and after the campaign's
/// earliest start), each at least `apart` seconds after the one before, where the target's
/// slot keeps every constraint a plan keeps (its window, the range, blackouts, every limit
/// together with the `booked` slots, the tier order and gap within its project) when the
/// booked slots stay where they are. The target's own entry in `booked`, if any, is left
/// out: it is the slot being moved. A booked slot that does not fit any more is not
/// counted (as [`plan_keeping`] would plan it anew). Fewer than `n` when the range has no
/// more; an error when the target is not one of the campaign's or has no window at all.
/// For a missed slot, a contact's request for another, and a FleetLock grant. Pure and
/// deterministic.
pub fn next_starts(
    inv: &Inventory,
    campaign: &Campaign,
    booked: &[Keep],
    target: &str,
    from: i64,
    n: usize,
    apart: i64,
) -> Result<Vec<i64>, String> {
    let mut s = Search::new(inv, campaign);
    let Some(pos) = (0..s.targets.len() as u32).find(|&p| s.target_id(s.targets[p as usize]) == target) else {
        return Err(format!("`{target}` is not a target of campaign `{}`", campaign.id));
    };
    let others: Vec<Keep> = booked.iter().filter(|k| k.target != target).cloned().collect();
    s.keep(&others);
    let job = s.job(pos);
    if let Some(none) = &s.classes[job.class as usize].none {
        return Err(none.to_string());
    }
    // The tier order within the target's project: after its earlier tiers' booked slots end
    // (and the gap), before its later tiers' start (`keep` bounds that).
    let mut lower = from.max(s.earliest);
    if !s.kept.is_empty()
        && let Some(r) = s.rank(pos as usize)
    {
        let project = s.inv.machines[s.targets[pos as usize] as usize].project;
        let gap = s.campaign.tier_gap.seconds();
        for q in 0..s.targets.len() {
            if let Some(start) = s.kept[q]
                && s.rank(q).is_some_and(|rq| rq < r)
                && s.inv.machines[s.targets[q] as usize].project == project
            {
                lower = lower.max(start + s.len + gap);
            }
        }
    }
    let until = s.until.get(pos as usize).map_or(i64::MAX, |&u| u.saturating_sub(s.len).saturating_add(1));
    let mut starts = Vec::with_capacity(n.min(64));
    let mut blocked = Vec::new();
    while starts.len() < n {
        let Some((start, _)) = s.fit(job, lower, until, &mut blocked) else { break };
        starts.push(start);
        lower = start + apart.max(1);
    }
    Ok(starts)
}

/// The limited resources of a campaign, and which targets use them.
#[derive(Default)]
struct Resources {
    res: Vec<Res>,
    /// Per target: its resources and demands, as ranges into `uses`.
    uses_at: Vec<u32>,
    uses: Vec<(u32, u32)>,
    rack_names: Vec<String>,
    notes: Vec<String>,
}

struct Search<'a> {
    inv: &'a Inventory,
    campaign: &'a Campaign,
    scope: Scope,
    origin: i64,
    cell: i64,
    ncells: u32,
    len: i64,
    earliest: i64,
    ends: i64,
    /// Targets: machine or host indices.
    targets: Vec<u32>,
    /// Per target (by position in `targets`): its class.
    class_of: Vec<u32>,
    classes: Vec<Class>,
    /// Per target: its resources and demands, as ranges into `uses`.
    uses_at: Vec<u32>,
    uses: Vec<(u32, u32)>,
    res: Vec<Res>,
    rack_names: Vec<String>,
    slots: Vec<Slot>,
    unscheduled: Vec<Unscheduled>,
    notes: Vec<String>,
    probes: u64,
    /// Scratch for `place`: how often each resource blocked a candidate.
    blocked: Vec<(u32, u32)>,
    /// Per slot: its target's position, and the earliest start its tier allowed.
    slot_pos: Vec<u32>,
    slot_lower: Vec<i64>,
    /// Per target: the start of its published slot, booked ahead of the search ([`Search::keep`]).
    kept: Vec<Option<i64>>,
    /// Per target: the latest end that leaves its project's kept later-tier slots their gap.
    until: Vec<i64>,
    /// Per slot: whether it is a kept one (the compaction leaves it).
    slot_kept: Vec<bool>,
}

/// What placing one target reads, gathered in the order targets are placed: reading it in
/// one tight pass lets the memory system fetch it ahead, where the search would wait.
#[derive(Clone, Copy)]
struct Job {
    pos: u32,
    target: u32,
    class: u32,
    /// Its range in `uses`.
    uses: (u32, u32),
    /// Its project, when its tier is in the tier order.
    project: Option<u32>,
}

impl<'a> Search<'a> {
    fn new(inv: &'a Inventory, campaign: &'a Campaign) -> Search<'a> {
        let origin = campaign.starts.as_second();
        let cell = campaign.granularity.seconds().max(60);
        let ends = campaign.ends.as_second();
        let ncells = u32::try_from((ends - origin + cell - 1) / cell + 1).unwrap_or(u32::MAX);
        let targets: Vec<u32> = match campaign.scope {
            Scope::Machines => campaign.target_machines(inv).into_iter().map(|i| i as u32).collect(),
            Scope::Hosts => campaign.target_hosts(inv).into_iter().map(|i| i as u32).collect(),
        };
        let mut s = Search {
            inv,
            campaign,
            scope: campaign.scope,
            origin,
            cell,
            ncells,
            len: campaign.slot_length().seconds(),
            earliest: campaign.earliest_start().as_second(),
            ends,
            targets,
            class_of: Vec::new(),
            classes: Vec::new(),
            uses_at: Vec::new(),
            uses: Vec::new(),
            res: Vec::new(),
            rack_names: Vec::new(),
            slots: Vec::new(),
            unscheduled: Vec::new(),
            notes: Vec::new(),
            probes: 0,
            blocked: Vec::new(),
            slot_pos: Vec::new(),
            slot_lower: Vec::new(),
            kept: Vec::new(),
            until: Vec::new(),
            slot_kept: Vec::new(),
        };
        // Classes and resources are independent: one is built on the other core.
        let (classes, resources) = std::thread::scope(|scope| {
            let classes = scope.spawn(|| s.classes());
            let resources = s.resources();
            (classes.join().unwrap_or_else(|e| std::panic::resume_unwind(e)), resources)
        });
        (s.classes, s.class_of) = classes;
        s.res = resources.res;
        s.uses_at = resources.uses_at;
        s.uses = resources.uses;
        s.rack_names = resources.rack_names;
        s.notes = resources.notes;
        s
    }

    // -----------------------------------------------------------------------
    // Window classes.

    /// The window classes, and each target's class.
    fn classes(&self) -> (Vec<Class>, Vec<u32>) {
        let inv = self.inv;
        let mut classes = Vec::new();
        // Cheap key first (which inventory level and owner the windows come from,
        // and which customer's zone or blackouts apply), then dedupe by content.
        let mut by_owner: FxHashMap<(WindowLevel, usize, usize), u32> = FxHashMap::default();
        let mut by_content: HashMap<(Vec<Window>, String, Vec<usize>), u32> = HashMap::new();
        let mut class_of = Vec::with_capacity(self.targets.len());
        let host_blackouts = if self.scope == Scope::Hosts { self.host_blackout_owners() } else { Vec::new() };
        for &t in &self.targets {
            let (level, owner, customer) = match self.scope {
                Scope::Machines => {
                    let m = &inv.machines[t as usize];
                    let c = inv.customer_index_of(m);
                    let cust = &inv.customers[c];
                    let (level, _) = inv.machine_windows(m);
                    let owner = match level {
                        WindowLevel::Machine => t as usize,
                        WindowLevel::Project => m.project,
                        WindowLevel::Customer => c,
                        WindowLevel::Host | WindowLevel::Platform => 0,
                    };
                    let special = cust.zone.is_some() || !cust.blackouts.is_empty();
                    (level, owner, if special { c } else { usize::MAX })
                }
                Scope::Hosts => {
                    let (level, _) = inv.host_windows(&inv.hosts[t as usize]);
                    // Hosts differ by the customers whose blackouts apply to their guests.
                    (level, t as usize, t as usize)
                }
            };
            let id = match by_owner.get(&(level, owner, customer)) {
                Some(&id) => id,
                None => {
                    let (windows, zone, blackout_owners) = self.class_inputs(t, &host_blackouts);
                    let key = (windows.to_vec(), zone.name().to_owned(), blackout_owners);
                    let id = match by_content.get(&key) {
                        Some(&id) => id,
                        None => {
                            let class = self.make_class(windows, zone, &key.2);
                            let id = classes.len() as u32;
                            classes.push(class);
                            by_content.insert(key, id);
                            id
                        }
                    };
                    by_owner.insert((level, owner, customer), id);
                    id
                }
            };
            class_of.push(id);
        }
        (classes, class_of)
    }

    /// For host campaigns: per host, the customers with guests on it (their blackouts apply).
    fn host_blackout_owners(&self) -> Vec<Vec<usize>> {
        let inv = self.inv;
        let mut owners = vec![Vec::new(); inv.hosts.len()];
        for m in &inv.machines {
            let c = inv.customer_index_of(m);
            if !inv.customers[c].blackouts.is_empty() && !owners[m.host].contains(&c) {
                owners[m.host].push(c);
            }
        }
        for o in &mut owners {
            o.sort_unstable();
        }
        owners
    }

    /// A target's windows, the zone they are read in, and the customers whose blackouts apply.
    fn class_inputs(&self, t: u32, host_blackouts: &[Vec<usize>]) -> (&'a [Window], &'a Zone, Vec<usize>) {
        let inv = self.inv;
        match self.scope {
            Scope::Machines => {
                let m = &inv.machines[t as usize];
                let c = inv.customer_index_of(m);
                let owners = if inv.customers[c].blackouts.is_empty() { Vec::new() } else { vec![c] };
                (inv.machine_windows(m).1, inv.zone_for(&inv.customers[c]), owners)
            }
            Scope::Hosts => {
                (inv.host_windows(&inv.hosts[t as usize]).1, &inv.platform.zone, host_blackouts[t as usize].clone())
            }
        }
    }

    fn make_class(&self, windows: &[Window], zone: &Zone, customers: &[usize]) -> Class {
        let inv = self.inv;
        let mut blackouts: Vec<&Blackout> = inv.platform.blackouts.iter().collect();
        for &c in customers {
            blackouts.extend(&inv.customers[c].blackouts);
        }
        let from = self.campaign.starts;
        let to = self.campaign.ends;
        let occurrences = occurrences_of(windows, zone, from, to);
        let (g, len) = (self.cell, self.len);
        let mut runs = Vec::new();
        let mut allowed = Vec::new();
        let range_start = self.campaign.starts.as_second();
        for o in &occurrences {
            let (os, oe) = (o.start.as_second(), o.end.as_second());
            // Allowed starts: inside the occurrence and the campaign, outside blackouts;
            // candidates are those on the grid from the occurrence start, at or after the
            // earliest start (the notice).
            let lo = os.max(range_start);
            let hi = oe.min(self.ends) - len;
            if hi < lo {
                continue;
            }
            let mut ranges = vec![(lo, hi)];
            for b in &blackouts {
                // Starts in (from - len, to) overlap the blackout.
                let (bs, be) = (b.from.as_second() - len, b.to.as_second());
                let mut next = Vec::with_capacity(ranges.len() + 1);
                for (a, z) in ranges {
                    if z <= bs || a >= be {
                        next.push((a, z));
                        continue;
                    }
                    if a <= bs {
                        next.push((a, bs));
                    }
                    if z >= be {
                        next.push((be, z));
                    }
                }
                ranges = next;
            }
            for (a, z) in ranges {
                allowed.push((a, z));
                let a = a.max(self.earliest);
                if a > z {
                    continue;
                }
                let first = os + (a - os + g - 1).div_euclid(g) * g;
                if first > z {
                    continue;
                }
                runs.push(Run { first, count: (z - first) / g + 1, step: g });
            }
        }
        let runs = disjoint(runs);
        let candidates = runs.iter().map(|r| r.count).sum();
        let none = (candidates == 0).then(|| {
            explain::no_candidates(&occurrences, &blackouts, self.campaign, windows, zone, self.earliest, self.len)
        });
        let spans = runs.iter().map(|r| (r.first, r.last())).collect();
        let text = forewarn_model::window::describe(windows, zone);
        allowed.sort_unstable();
        Class { text, runs, spans, allowed, candidates, none }
    }

    // -----------------------------------------------------------------------
    // Limited resources.

    /// The limited resources and each target's use of them.
    fn resources(&self) -> Resources {
        let inv = self.inv;
        let mut out = Resources::default();
        let l = self.campaign.limits;
        let n = self.targets.len();
        // Racks and groups have no index in the inventory: intern them.
        let mut rack_ix: FxHashMap<&str, u32> = FxHashMap::default();
        let host_rack: Vec<u32> = inv
            .hosts
            .iter()
            .map(|h| {
                let next = rack_ix.len() as u32;
                *rack_ix.entry(h.rack.as_str()).or_insert(next)
            })
            .collect();
        out.rack_names = vec![String::new(); rack_ix.len()];
        for (name, ix) in rack_ix {
            out.rack_names[ix as usize] = name.to_owned();
        }
        let machine_groups = |m: usize| -> &'a [u32] { &inv.machines[m].groups };

        // Resource ids: global, then hosts, racks, customers, groups.
        let (nh, nr, nc) = (inv.hosts.len() as u32, out.rack_names.len() as u32, inv.customers.len() as u32);
        let universe = 1 + nh + nr + nc + inv.groups.len() as u32;
        let rid = |r: Resource| match r {
            Resource::Global => 0,
            Resource::Host(h) => 1 + h,
            Resource::Rack(x) => 1 + nh + x,
            Resource::Customer(c) => 1 + nh + nr + c,
            Resource::Group(g) => 1 + nh + nr + nc + g,
        };
        let per_group = self.campaign.per_group();
        // Each target's (resource, demand) pairs, written into `out`.
        let guests = if self.scope == Scope::Hosts {
            self.guest_demands(&machine_groups, per_group, &mut out.notes)
        } else {
            Vec::new()
        };
        let wants = |pos: usize, out: &mut Vec<(Resource, u32)>| {
            out.clear();
            let t = self.targets[pos] as usize;
            match self.scope {
                Scope::Machines => {
                    let m = &inv.machines[t];
                    if l.global.is_some() {
                        out.push((Resource::Global, 1));
                    }
                    if l.per_host.is_some() {
                        out.push((Resource::Host(m.host as u32), 1));
                    }
                    if l.per_rack.is_some() {
                        out.push((Resource::Rack(host_rack[m.host]), 1));
                    }
                    if l.per_customer.is_some() {
                        out.push((Resource::Customer(inv.customer_index_of(m) as u32), 1));
                    }
                    out.extend(machine_groups(t).iter().map(|&g| (Resource::Group(g), 1)));
                }
                Scope::Hosts => {
                    if l.global.is_some() {
                        out.push((Resource::Global, 1));
                    }
                    if l.per_rack.is_some() {
                        out.push((Resource::Rack(host_rack[t]), 1));
                    }
                    out.extend(guests[pos].iter().copied());
                }
            }
        };
        let cap_of = |r: Resource| match r {
            Resource::Global => l.global,
            Resource::Host(_) => l.per_host,
            Resource::Rack(_) => l.per_rack,
            Resource::Customer(_) => l.per_customer,
            Resource::Group(_) => Some(per_group),
        };

        // Keep only resources whose total demand can exceed their limit.
        let mut demand = vec![0u32; universe as usize];
        let mut members = vec![0u32; universe as usize];
        let mut what: Vec<Option<Resource>> = vec![None; universe as usize];
        let mut buf = Vec::new();
        for pos in 0..n {
            wants(pos, &mut buf);
            for &(r, d) in &buf {
                let id = rid(r) as usize;
                demand[id] += d;
                members[id] += 1;
                what[id] = Some(r);
            }
        }
        let mut index = vec![u32::MAX; universe as usize];
        let mut bytes_left = BYTES_BUDGET;
        for id in 0..universe as usize {
            let Some(r) = what[id] else { continue };
            let Some(cap) = cap_of(r) else { continue };
            if demand[id] <= cap {
                continue;
            }
            index[id] = out.res.len() as u32;
            let cells = self.ncells as usize + 1;
            let store = if members[id] >= DENSE_MEMBERS {
                Store::Dense { used: vec![0; cells], next: (0..=self.ncells).collect() }
            } else if members[id] >= BYTES_MEMBERS && cap < 255 && bytes_left >= cells {
                bytes_left -= cells;
                Store::Bytes { used: vec![0; cells], full_below: 0 }
            } else {
                Store::Sparse(Vec::new())
            };
            out.res.push(Res { what: r, cap, store });
        }
        out.uses_at.reserve(n + 1);
        out.uses_at.push(0);
        for pos in 0..n {
            wants(pos, &mut buf);
            for &(r, d) in &buf {
                let ix = index[rid(r) as usize];
                if ix != u32::MAX {
                    out.uses.push((ix, d));
                }
            }
            out.uses_at.push(out.uses.len() as u32);
        }
        out
    }

    /// Host work takes every guest down: guests count against the customer and group limits.
    /// A host's demand on a limit is capped at the limit, so one host alone always fits;
    /// a host holding several members of a group is noted instead.
    fn guest_demands<'g>(
        &self,
        machine_groups: &dyn Fn(usize) -> &'g [u32],
        per_group: u32,
        notes: &mut Vec<String>,
    ) -> Vec<Vec<(Resource, u32)>> {
        let inv = self.inv;
        let l = self.campaign.limits;
        let mut guests: Vec<Vec<usize>> = vec![Vec::new(); inv.hosts.len()];
        for (i, m) in inv.machines.iter().enumerate() {
            guests[m.host].push(i);
        }
        let mut out = Vec::with_capacity(self.targets.len());
        for &h in &self.targets {
            let mut wants = Vec::new();
            let mut per_customer: BTreeMap<u32, u32> = BTreeMap::new();
            let mut per_grp: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
            for &g in &guests[h as usize] {
                *per_customer.entry(inv.customer_index_of(&inv.machines[g]) as u32).or_default() += 1;
                for &grp in machine_groups(g) {
                    per_grp.entry(grp).or_default().push(g);
                }
            }
            if let Some(cap) = l.per_customer {
                wants.extend(per_customer.into_iter().map(|(c, n)| (Resource::Customer(c), n.min(cap))));
            }
            for (grp, members) in per_grp {
                if members.len() > 1 {
                    let ids: Vec<&str> = members.iter().map(|&m| inv.machines[m].id.as_str()).collect();
                    notes.push(format!(
                        "host {} holds {} members of redundancy group {} ({}): rebooting it takes them down together",
                        inv.hosts[h as usize].id,
                        members.len(),
                        inv.groups[grp as usize],
                        ids.join(", ")
                    ));
                }
                wants.push((Resource::Group(grp), (members.len() as u32).min(per_group)));
            }
            out.push(wants);
        }
        out
    }

    /// Who uses each resource, as positions: `members[members_at[r]..members_at[r + 1]]`.
    fn members(&self) -> (Vec<u32>, Vec<u32>) {
        let mut at = vec![0u32; self.res.len() + 1];
        for &(r, _) in &self.uses {
            at[r as usize + 1] += 1;
        }
        for r in 0..self.res.len() {
            at[r + 1] += at[r];
        }
        let mut fill = at.clone();
        let mut members = vec![0u32; self.uses.len()];
        for pos in 0..self.targets.len() {
            for &(r, _) in &self.uses[self.uses_at[pos] as usize..self.uses_at[pos + 1] as usize] {
                members[fill[r as usize] as usize] = pos as u32;
                fill[r as usize] += 1;
            }
        }
        (at, members)
    }

    // -----------------------------------------------------------------------
    // Placing targets.

    /// Books the published slots to keep, in tier order, where each still fits its window
    /// and every limit; and bounds the slots of earlier tiers so that kept later-tier slots
    /// keep their gap.
    fn keep(&mut self, keep: &[Keep]) {
        if keep.is_empty() {
            // Nothing to keep: `kept` and `until` stay empty and read as none.
            return;
        }
        let n = self.targets.len();
        self.kept = vec![None; n];
        self.until = vec![i64::MAX; n];
        let pos_of: FxHashMap<&str, u32> =
            (0..n as u32).map(|pos| (self.target_id(self.targets[pos as usize]), pos)).collect();
        let mut wanted: Vec<(Option<usize>, u32, i64)> = keep
            .iter()
            .filter_map(|k| pos_of.get(k.target.as_str()).map(|&pos| (self.rank(pos as usize), pos, k.start)))
            .collect();
        wanted.sort_unstable();
        wanted.dedup_by_key(|w| w.1);
        for (_, pos, start) in wanted {
            let job = self.job(pos);
            let class = &self.classes[job.class as usize];
            if !class.allowed.iter().any(|&(a, z)| a <= start && start <= z) {
                continue;
            }
            let a = ((start - self.origin) / self.cell) as u32;
            let b = ((start + self.len - self.origin + self.cell - 1) / self.cell) as u32;
            let fits = self.uses[job.uses.0 as usize..job.uses.1 as usize]
                .iter()
                .all(|&(r, d)| self.res[r as usize].check(a, b, d).is_ok());
            if fits {
                self.set_booked(job, start, true);
                self.kept[pos as usize] = Some(start);
            }
        }
        // Earlier tiers end the gap before their project's first kept later-tier slot.
        if self.scope == Scope::Machines {
            let gap = self.campaign.tier_gap.seconds();
            // Per project with kept slots: the first kept start of each tier rank.
            let tiers = self.campaign.tier_order.len();
            let mut first_kept: FxHashMap<usize, Vec<i64>> = FxHashMap::default();
            for pos in 0..n {
                if let (Some(start), Some(r)) = (self.kept[pos], self.rank(pos)) {
                    let p = self.inv.machines[self.targets[pos] as usize].project;
                    let firsts = first_kept.entry(p).or_insert_with(|| vec![i64::MAX; tiers]);
                    firsts[r] = firsts[r].min(start);
                }
            }
            if !first_kept.is_empty() {
                for pos in 0..n {
                    let Some(r) = self.rank(pos) else { continue };
                    let p = self.inv.machines[self.targets[pos] as usize].project;
                    let later = first_kept.get(&p).and_then(|f| f[r + 1..].iter().copied().min());
                    if let Some(start) = later.filter(|&s| s < i64::MAX) {
                        self.until[pos] = start - gap;
                    }
                }
            }
        }
    }

    fn run(&mut self) {
        let inv = self.inv;
        let campaign = self.campaign;
        // Phases follow the tier order; tiers outside it go with the first phase, unconstrained.
        let scope = self.scope;
        let ordered = move |t: u32| -> Option<usize> {
            match scope {
                Scope::Machines => {
                    let tier = inv.machines[t as usize].tier;
                    campaign.tier_order.iter().position(|&x| x == tier)
                }
                Scope::Hosts => None,
            }
        };
        // Per target, read once in inventory order: its tier's place in the order, and project.
        let rank: Vec<Option<usize>> = self.targets.iter().map(|&t| ordered(t)).collect();
        let project_of: Vec<u32> = match scope {
            Scope::Machines => self.targets.iter().map(|&t| inv.machines[t as usize].project as u32).collect(),
            Scope::Hosts => Vec::new(),
        };
        let phases = campaign.tier_order.len().max(1);
        let mut by_phase: Vec<Vec<u32>> = vec![Vec::new(); phases];
        for pos in 0..self.targets.len() {
            by_phase[rank[pos].unwrap_or(0)].push(pos as u32);
        }
        let deadline = self.deadlines(&by_phase, &ordered);
        // Spread: each phase gets a share of the range in proportion to its targets.
        let gaps = campaign.tier_gap.seconds() * (by_phase.iter().filter(|p| !p.is_empty()).count() as i64 - 1).max(0);
        let span = (self.ends - self.earliest - gaps).max(0);
        let total = self.targets.len().max(1) as i64;
        let mut phase_lo = self.earliest;
        // Per project: when its earlier tiers' slots end, and whether one of them got none.
        let nproj = inv.projects.len();
        let mut tier_end = vec![i64::MIN; nproj];
        let mut tier_failed: Vec<Option<u32>> = vec![None; nproj];
        for (phase, members) in by_phase.iter_mut().enumerate() {
            if members.is_empty() {
                continue;
            }
            self.order(members, &deadline);
            let share = span * members.len() as i64 / total;
            let n = members.len() as i64;
            let mut phase_end: Vec<(usize, i64, Option<u32>)> = Vec::new();
            let jobs: Vec<Job> = members
                .iter()
                .map(|&pos| Job { project: rank[pos as usize].map(|_| project_of[pos as usize]), ..self.job(pos) })
                .collect();
            for (i, job) in jobs.into_iter().enumerate() {
                let t = job.target;
                let project = job.project.map(|p| p as usize);
                if let Some(p) = project
                    && phase > 0
                    && let Some(blocker) = tier_failed[p]
                {
                    if let Some(start) = self.kept.get(job.pos as usize).copied().flatten() {
                        self.set_booked(job, start, false);
                        self.kept[job.pos as usize] = None;
                    }
                    let reason = explain::tier_blocked(inv, campaign, p, blocker);
                    self.unscheduled.push(Unscheduled { target: t, reason });
                    phase_end.push((p, i64::MIN, Some(blocker)));
                    continue;
                }
                let lower = match project {
                    Some(p) if phase > 0 && tier_end[p] > i64::MIN => tier_end[p] + campaign.tier_gap.seconds(),
                    _ => self.earliest,
                };
                if let Some(start) = self.kept.get(job.pos as usize).copied().flatten() {
                    if start >= lower {
                        if let Some(p) = project {
                            phase_end.push((p, start + self.len, None));
                        }
                        self.slot_pos.push(job.pos);
                        self.slot_lower.push(lower);
                        self.slot_kept.push(true);
                        self.slots.push(Slot {
                            target: t,
                            start,
                            end: start + self.len,
                            why: Why::Kept,
                            class: job.class,
                        });
                        continue;
                    }
                    // Its earlier tier now ends later: planned anew.
                    self.set_booked(job, start, false);
                    self.kept[job.pos as usize] = None;
                }
                let pref = match campaign.strategy {
                    Strategy::Earliest => lower,
                    Strategy::Spread => (phase_lo + share * i as i64 / n).max(lower),
                };
                match self.place(job, lower, pref) {
                    Ok(slot) => {
                        if let Some(p) = project {
                            phase_end.push((p, slot.end, None));
                        }
                        self.slot_pos.push(job.pos);
                        self.slot_lower.push(lower);
                        self.slot_kept.push(false);
                        self.slots.push(slot);
                    }
                    Err(reason) => {
                        if let Some(p) = project {
                            phase_end.push((p, i64::MIN, Some(t)));
                        }
                        self.unscheduled.push(Unscheduled { target: t, reason });
                    }
                }
            }
            // Only tiers in the tier order constrain later ones.
            for (p, end, failed) in phase_end {
                tier_end[p] = tier_end[p].max(end);
                if failed.is_some() && tier_failed[p].is_none() {
                    tier_failed[p] = failed;
                }
            }
            phase_lo += share + campaign.tier_gap.seconds();
        }
        self.compact();
    }

    /// `earliest`: the slots that end last decide when the campaign completes. Lift them out
    /// and place them again, earlier if anything fits (within their tier's bound), until the
    /// last ones cannot move. Moving a slot earlier never breaks a later tier's gap.
    fn compact(&mut self) {
        if self.campaign.strategy != Strategy::Earliest || self.slots.is_empty() {
            return;
        }
        // Slots by end, latest first; an entry is stale once its slot has moved.
        let mut heap: std::collections::BinaryHeap<(i64, u32)> =
            self.slots.iter().enumerate().map(|(i, s)| (s.end, i as u32)).collect();
        // A bounded number of moves: each moves a slot that ends last.
        for _ in 0..4_096 {
            let Some((end, i)) = heap.pop() else { return };
            let i = i as usize;
            if self.slots[i].end != end || self.slot_kept[i] {
                continue;
            }
            let job = self.job(self.slot_pos[i]);
            let old = self.slots[i].start;
            self.set_booked(job, old, false);
            let mut blocked = std::mem::take(&mut self.blocked);
            let found = self.scan(job, self.slot_lower[i], old, &mut blocked);
            self.blocked = blocked;
            match found {
                Some((start, _)) => {
                    self.slots[i].start = start;
                    self.slots[i].end = start + self.len;
                    heap.push((self.slots[i].end, i as u32));
                }
                None => {
                    // This slot cannot end earlier, so neither can the campaign.
                    self.set_booked(job, old, true);
                    return;
                }
            }
        }
    }

    /// Books (or takes back) a target's slot starting at `start` on every resource it uses.
    fn set_booked(&mut self, job: Job, start: i64, on: bool) {
        let a = ((start - self.origin) / self.cell) as u32;
        let b = ((start + self.len - self.origin + self.cell - 1) / self.cell) as u32;
        for k in job.uses.0 as usize..job.uses.1 as usize {
            let (r, d) = self.uses[k];
            if on {
                self.res[r as usize].book(a, b, d);
            } else {
                self.res[r as usize].unbook(a, b, d);
            }
        }
    }

    /// Each target's deadline: its last possible end, and for an earlier tier, the last end
    /// that still leaves every later-tier machine of its project a start after the tier gap.
    fn deadlines(&self, by_phase: &[Vec<u32>], ordered: &dyn Fn(u32) -> Option<usize>) -> Vec<i64> {
        let inv = self.inv;
        let len = self.len;
        let gap = self.campaign.tier_gap.seconds();
        let last_start = |pos: u32| self.classes[self.class_of[pos as usize] as usize].spans.last().map(|s| s.1);
        let mut deadline: Vec<i64> =
            (0..self.targets.len() as u32).map(|p| last_start(p).map_or(i64::MIN, |s| s + len)).collect();
        if self.scope == Scope::Hosts {
            return deadline;
        }
        let mut next_limit = vec![i64::MAX; inv.projects.len()];
        for members in by_phase.iter().rev() {
            let mut limit = vec![i64::MAX; inv.projects.len()];
            for &pos in members {
                let t = self.targets[pos as usize];
                if ordered(t).is_none() {
                    continue;
                }
                let p = inv.machines[t as usize].project;
                let d = deadline[pos as usize].min(next_limit[p]);
                deadline[pos as usize] = d;
                if let Some(s) = last_start(pos) {
                    limit[p] = limit[p].min(s.min(d - len) - gap);
                }
            }
            next_limit = limit;
        }
        deadline
    }

    /// Priority within a phase. `earliest`: earliest deadline first, then scarce windows, then
    /// busy hosts, then inventory order. `spread`: a stable shuffle, so every stretch of the
    /// roll-out mixes customers and hosts.
    fn order(&self, members: &mut [u32], deadline: &[i64]) {
        match self.campaign.strategy {
            Strategy::Earliest => {
                let inv = self.inv;
                // A host's pressure is how many of its targets compete for the same windows:
                // those chains must start early, or they end late.
                let host_of = |t: u32| match self.scope {
                    Scope::Machines => inv.machines[t as usize].host as u32,
                    Scope::Hosts => t,
                };
                let mut load: FxHashMap<(u32, u32), u32> = FxHashMap::default();
                for &pos in members.iter() {
                    *load.entry((host_of(self.targets[pos as usize]), self.class_of[pos as usize])).or_default() += 1;
                }
                // One 128-bit key per target, so that a million sort fast: from the top, the
                // deadline (seconds from 68 years before the campaign), the candidates, the
                // pressure (inverted), the host, and the position, which follows inventory order.
                let base = self.origin - (1 << 31);
                let key = |pos: u32| -> u128 {
                    let t = self.targets[pos as usize];
                    let class = self.class_of[pos as usize];
                    let host = host_of(t);
                    let pressure = load.get(&(host, class)).copied().unwrap_or(0).min(255);
                    let candidates = self.classes[class as usize].candidates.clamp(0, (1 << 24) - 1);
                    let d = deadline[pos as usize].saturating_sub(base).clamp(0, i64::from(u32::MAX));
                    // Equally urgent machines go host by host: their capacity stays in the cache.
                    (d as u128) << 88
                        | (candidates as u128) << 64
                        | u128::from(255 - pressure) << 56
                        | u128::from(host & 0xff_ffff) << 32
                        | u128::from(pos)
                };
                let mut keys: Vec<u128> = members.iter().map(|&pos| key(pos)).collect();
                keys.sort_unstable();
                for (m, k) in members.iter_mut().zip(keys) {
                    *m = k as u32;
                }
            }
            Strategy::Spread => {
                members.sort_by_cached_key(|&pos| {
                    let t = self.targets[pos as usize];
                    (fnv(self.target_id(t).as_bytes()), t)
                });
            }
        }
    }

    /// The place of target `pos`'s tier in the campaign's tier order; `None` for a tier
    /// outside it, and for hosts.
    fn rank(&self, pos: usize) -> Option<usize> {
        match self.scope {
            Scope::Machines => {
                let tier = self.inv.machines[self.targets[pos] as usize].tier;
                self.campaign.tier_order.iter().position(|&x| x == tier)
            }
            Scope::Hosts => None,
        }
    }

    fn target_id(&self, t: u32) -> &'a str {
        match self.scope {
            Scope::Machines => &self.inv.machines[t as usize].id,
            Scope::Hosts => &self.inv.hosts[t as usize].id,
        }
    }

    fn job(&self, pos: u32) -> Job {
        let p = pos as usize;
        Job {
            pos,
            target: self.targets[p],
            class: self.class_of[p],
            uses: (self.uses_at[p], self.uses_at[p + 1]),
            project: None,
        }
    }

    /// The target's slot: the first candidate at or after `pref` that fits, else the first at or
    /// after `lower` (for `spread`, which may look back before its turn).
    fn place(&mut self, job: Job, lower: i64, pref: i64) -> Result<Slot, String> {
        let class = &self.classes[job.class as usize];
        let t = job.target;
        if let Some(none) = &class.none {
            return Err(none.to_string());
        }
        let mut blocked = std::mem::take(&mut self.blocked);
        blocked.clear();
        // A start at or after `until` would end too late for a kept later-tier slot.
        let until =
            self.until.get(job.pos as usize).map_or(i64::MAX, |&u| u.saturating_sub(self.len).saturating_add(1));
        let found = self
            .scan(job, pref, until, &mut blocked)
            .or_else(|| if pref > lower { self.scan(job, lower, pref.min(until), &mut blocked) } else { None });
        let result = match found {
            Some((start, pushed)) => {
                let why = match (pushed, self.campaign.strategy) {
                    (Some(r), _) => Why::Limit(self.res[r as usize].what),
                    (None, Strategy::Spread) => Why::Spread,
                    (None, Strategy::Earliest) if lower > self.earliest => Why::TierGap,
                    (None, Strategy::Earliest) => Why::First,
                };
                Ok(Slot { target: t, start, end: start + self.len, why, class: job.class })
            }
            None => Err(self.explain_blocked(job, lower, &blocked)),
        };
        self.blocked = blocked;
        result
    }

    /// Scans candidates in `[from, until)`; books and returns the first that fits, with the
    /// last resource that pushed it later, if any.
    fn scan(&mut self, job: Job, from: i64, until: i64, blocked: &mut Vec<(u32, u32)>) -> Option<(i64, Option<u32>)> {
        let (s, pushed) = self.fit(job, from, until, blocked)?;
        let a = ((s - self.origin) / self.cell) as u32;
        let b = ((s + self.len - self.origin + self.cell - 1) / self.cell) as u32;
        for &(r, d) in &self.uses[job.uses.0 as usize..job.uses.1 as usize] {
            self.res[r as usize].book(a, b, d);
        }
        Some((s, pushed))
    }

    /// The first candidate in `[from, until)` that fits every limit, with the last resource
    /// that pushed it later, if any; nothing booked.
    fn fit(&mut self, job: Job, from: i64, until: i64, blocked: &mut Vec<(u32, u32)>) -> Option<(i64, Option<u32>)> {
        let class_ix = job.class as usize;
        let (u0, u1) = (job.uses.0 as usize, job.uses.1 as usize);
        let mut at = from;
        let mut pushed = None;
        let mut run_ix = self.classes[class_ix].runs.partition_point(|r| r.last() < at);
        while let Some(&run) = self.classes[class_ix].runs.get(run_ix) {
            if run.last() < at {
                run_ix += 1;
                continue;
            }
            let s = if at <= run.first {
                run.first
            } else {
                run.first + (at - run.first + run.step - 1) / run.step * run.step
            };
            if s >= until {
                return None;
            }
            self.probes += 1;
            let a = ((s - self.origin) / self.cell) as u32;
            let b = ((s + self.len - self.origin + self.cell - 1) / self.cell) as u32;
            let mut next_cell = None;
            for &(r, d) in &self.uses[u0..u1] {
                if let Err(c) = self.res[r as usize].check(a, b, d) {
                    match blocked.iter_mut().find(|(x, _)| *x == r) {
                        Some((_, n)) => *n += 1,
                        None => blocked.push((r, 1)),
                    }
                    pushed = Some(r);
                    next_cell = Some(c);
                    break;
                }
            }
            match next_cell {
                None => return Some((s, pushed)),
                Some(c) => at = (self.origin + i64::from(c) * self.cell).max(s + 1),
            }
        }
        None
    }

    fn explain_blocked(&self, job: Job, lower: i64, blocked: &[(u32, u32)]) -> String {
        let class = &self.classes[job.class as usize];
        let windows = class.text.clone();
        let mut worst: Vec<(u32, u32)> = blocked.to_vec();
        worst.sort_by_key(|&(r, n)| (u32::MAX - n, r));
        let words: Vec<String> =
            worst.iter().take(2).map(|&(r, _)| self.resource_words(self.res[r as usize].what)).collect();
        let after_lower = class.runs.iter().any(|r| r.last() >= lower);
        explain::blocked(self.campaign, &windows, lower, self.earliest, after_lower, &words, &self.inv.platform.zone)
    }

    fn resource_words(&self, r: Resource) -> String {
        let tmp = Plan {
            campaign: String::new(),
            scope: self.scope,
            slots: Vec::new(),
            unscheduled: Vec::new(),
            notes: Vec::new(),
            stats: Stats::default(),
            windows: Vec::new(),
            rack_names: self.rack_names.clone(),
            stored_reasons: Vec::new(),
        };
        tmp.resource_words(self.inv, self.campaign, r)
    }

    fn finish(mut self, lower_bound: Option<i64>) -> Plan {
        // (start, target) is unique: an unstable sort gives the same order, faster.
        self.slots.sort_unstable_by_key(|s| (s.start, s.target));
        self.unscheduled.sort_by_key(|u| u.target);
        let completion = self.slots.iter().map(|s| s.end).max().and_then(|e| Timestamp::from_second(e).ok());
        Plan {
            campaign: self.campaign.id.clone(),
            scope: self.scope,
            stats: Stats {
                targets: self.targets.len(),
                completion,
                lower_bound: lower_bound.and_then(|b| Timestamp::from_second(b).ok()),
                probes: self.probes,
            },
            slots: self.slots,
            unscheduled: self.unscheduled,
            notes: self.notes,
            windows: self.classes.into_iter().map(|c| c.text).collect(),
            rack_names: self.rack_names,
            stored_reasons: Vec::new(),
        }
    }
}

/// FNV-1a: a stable hash, so `spread` orders the same on every machine.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests;
