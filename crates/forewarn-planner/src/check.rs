//! The independent checker (`forewarn check`): verifies a plan file against every hard
//! constraint of DESIGN.md from the inventory, the campaign and the plan file alone.
//!
//! It shares nothing with the planner's search: it reads the plan as written (ids and
//! RFC 3339 times), finds each slot's window occurrence by binary search over the
//! occurrences of its window list (computed once per distinct list and zone), tests
//! blackouts directly, and counts concurrency with an exact sweep over instants, where
//! intervals are half-open: a slot ending at `t` and another starting at `t` do not overlap.
//!
//! Times are whole unix seconds. A slot time with a fraction of a second is reported
//! (format) and then widened to whole seconds, so that rounding never hides a violation.
//!
//! Large plans are checked on several threads; the result does not depend on how many.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use forewarn_model::campaign::{Campaign, Scope};
use forewarn_model::fxhash::{hash32 as hash_id, radix_sort};
use forewarn_model::inventory::{Blackout, Inventory};
use forewarn_model::time::parse_instant;
use forewarn_model::window::occurrences_of;
use forewarn_model::{Window, Zone};
use jiff::Timestamp;

use crate::plan::{PlanFile, SlotEntry, Text, write_rfc3339};

/// Which hard constraint a violation breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Constraint {
    /// Every target exactly once; nothing else.
    Coverage,
    /// A slot lasts as long as the campaign's activities back to back.
    Duration,
    /// Inside the campaign's range.
    Range,
    /// No earlier than publication plus notice.
    Notice,
    /// Inside one occurrence of the target's effective window.
    Window,
    /// Outside every blackout that applies.
    Blackout,
    /// Earlier tiers of a project first, by the tier gap; none after an unscheduled one.
    TierOrder,
    Global,
    PerHost,
    PerRack,
    PerCustomer,
    PerGroup,
    /// The plan file itself: its campaign, ids, times, activities, reasons.
    Format,
}

impl Constraint {
    /// The constraint's name as printed: the limits use their campaign keys.
    pub fn name(self) -> &'static str {
        match self {
            Constraint::Coverage => "coverage",
            Constraint::Duration => "duration",
            Constraint::Range => "range",
            Constraint::Notice => "notice",
            Constraint::Window => "window",
            Constraint::Blackout => "blackout",
            Constraint::TierOrder => "tier order",
            Constraint::Global => "global",
            Constraint::PerHost => "per_host",
            Constraint::PerRack => "per_rack",
            Constraint::PerCustomer => "per_customer",
            Constraint::PerGroup => "per_group",
            Constraint::Format => "format",
        }
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One broken constraint: which target (machine or host) is to blame, if one is, which
/// constraint, and what exactly, with the instants involved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub target: Option<String>,
    pub constraint: Constraint,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Some(t) => write!(f, "{t}: {}: {}", self.constraint, self.message),
            None => write!(f, "{}: {}", self.constraint, self.message),
        }
    }
}

fn violation(target: Option<&str>, constraint: Constraint, message: String) -> Violation {
    Violation { target: target.map(str::to_owned), constraint, message }
}

/// Below this many slots the checker stays on one thread.
const PARALLEL_FROM: usize = 20_000;

/// Checks a plan against the inventory and campaign it claims to be for.
///
/// Returns every violation found, in a deterministic order: the campaign id, then
/// each slot's problems in file order (format, duration, range, notice, window,
/// blackout), then the unscheduled entries' in file order, then missing and
/// duplicated targets in inventory order, then tier order, then each limit's first
/// excess per key.
pub fn check(inv: &Inventory, campaign: &Campaign, plan: &PlanFile) -> Vec<Violation> {
    let threads = if plan.slots.len() >= PARALLEL_FROM {
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
    } else {
        1
    };
    check_on(inv, campaign, plan, threads)
}

/// [`check`] on `threads` threads; the result is the same for any number.
fn check_on(inv: &Inventory, campaign: &Campaign, plan: &PlanFile, threads: usize) -> Vec<Violation> {
    let mut out = Vec::new();
    if *plan.campaign != *campaign.id {
        out.push(violation(
            None,
            Constraint::Format,
            format!("the plan is for campaign `{}`, not `{}`", plan.campaign, campaign.id),
        ));
    }
    let cx = Cx::new(inv, campaign);

    // Ids are matched by a join on their hashes (sorting is cheaper than a million random
    // look-ups), then compared in full; each target's facts are gathered meanwhile.
    let (ids, entries, facts) = if threads > 1 {
        std::thread::scope(|s| {
            let ids = s.spawn(|| cx.id_table());
            let entries = s.spawn(|| cx.entry_hashes(plan));
            let facts = cx.facts();
            (ids.join().expect("the id thread panicked"), entries.join().expect("the entry thread panicked"), facts)
        })
    } else {
        (cx.id_table(), cx.entry_hashes(plan), cx.facts())
    };
    let ids = Ids::join(ids, &entries, plan.slots.len() + plan.unscheduled.len());
    drop(entries);

    // Each slot on its own, in chunks.
    let chunks = if threads > 1 { threads * 4 } else { 1 };
    let size = plan.slots.len().div_ceil(chunks).max(1);
    let tasks: Vec<Task<'_, SlotsOut>> = plan
        .slots
        .chunks(size)
        .zip(ids.candidate.chunks(size))
        .map(|(chunk, candidates)| {
            let (cx, ids, facts) = (&cx, &ids, &facts);
            Box::new(move || cx.slots(chunk, candidates, ids, facts)) as Task<'_, SlotsOut>
        })
        .collect();
    let mut live = Vec::with_capacity(plan.slots.len());
    let mut seen = vec![0u32; cx.universe];
    let mut has_slot = vec![false; cx.universe];
    for part in run(tasks, threads) {
        out.extend(part.violations);
        live.extend(part.live);
        for t in part.resolved {
            seen[t as usize] += 1;
            has_slot[t as usize] = true;
        }
    }
    cx.unscheduled(plan, &ids, &mut seen, &mut out);
    drop(ids);
    cx.coverage(&seen, &mut out);
    drop(seen);

    // Tier order and every limit, over the live slots.
    let (by_start, by_end) = if threads > 1 {
        std::thread::scope(|s| {
            let ends = s.spawn(|| sorted(&live, |s| s.end));
            (sorted(&live, |s| s.start), ends.join().expect("the sort thread panicked"))
        })
    } else {
        (sorted(&live, |s| s.start), sorted(&live, |s| s.end))
    };
    let sweep = Sweep { live: &live, by_start: &by_start, by_end: &by_end };
    let mut tasks: Vec<Task<'_, Vec<Violation>>> = Vec::new();
    let (cx, facts, live_ref, has_slot) = (&cx, &facts, &live, &has_slot);
    tasks.push(Box::new(move || cx.tier_order(live_ref, has_slot, facts)));
    for family in cx.families() {
        let sweep = &sweep;
        tasks.push(Box::new(move || cx.limit(family, facts, sweep)));
    }
    for part in run(tasks, threads) {
        out.extend(part);
    }
    out
}

// ---------------------------------------------------------------------------
// Running independent parts on several threads, results in task order.

type Task<'s, T> = Box<dyn FnOnce() -> T + Send + 's>;

fn run<T: Send>(tasks: Vec<Task<'_, T>>, threads: usize) -> Vec<T> {
    if threads <= 1 || tasks.len() <= 1 {
        return tasks.into_iter().map(|t| t()).collect();
    }
    let n = tasks.len();
    let todo: Vec<Mutex<Option<Task<'_, T>>>> = tasks.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let done: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break;
            }
            let task = todo[i].lock().ok().and_then(|mut t| t.take());
            if let Some(task) = task {
                let r = task();
                if let Ok(mut slot) = done[i].lock() {
                    *slot = Some(r);
                }
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 1..threads.min(n) {
            s.spawn(work);
        }
        work();
    });
    done.into_iter().map(|m| m.into_inner().ok().flatten().expect("every task ran")).collect()
}

// ---------------------------------------------------------------------------
// Reading times.

/// A time as read: whole seconds, rounded down (`lo`) and up (`hi`); equal unless it has a fraction.
#[derive(Clone, Copy, Debug)]
struct Instant {
    lo: i64,
    hi: i64,
}

fn read_instant(s: &str) -> Result<Instant, String> {
    if let Some(t) = fast_utc(s.as_bytes()) {
        return Ok(Instant { lo: t, hi: t });
    }
    let t = parse_instant(s)?;
    Ok(Instant { lo: seconds_floor(t), hi: seconds_ceil(t) })
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the form plans are written in, without the general parser;
/// `None` for anything else (which then goes through [`parse_instant`]).
fn fast_utc(s: &[u8]) -> Option<i64> {
    if s.len() != 20 || s[4] != b'-' || s[7] != b'-' || s[10] != b'T' || s[13] != b':' || s[16] != b':' || s[19] != b'Z'
    {
        return None;
    }
    let digit = |i: usize| s[i].is_ascii_digit().then(|| i64::from(s[i] - b'0'));
    let two = |i: usize| Some(digit(i)? * 10 + digit(i + 1)?);
    let (y, mo, d) = (two(0)? * 100 + two(2)?, two(5)?, two(8)?);
    let (h, mi, se) = (two(11)?, two(14)?, two(17)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d < 1 || d > month_days || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if mo > 2 { mo - 3 } else { mo + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3_600 + mi * 60 + se)
}

fn rfc3339(t: i64) -> String {
    let mut s = String::with_capacity(20);
    write_rfc3339(&mut s, t);
    s
}

fn seconds_floor(t: Timestamp) -> i64 {
    t.as_second() - i64::from(t.subsec_nanosecond() < 0)
}

fn seconds_ceil(t: Timestamp) -> i64 {
    t.as_second() + i64::from(t.subsec_nanosecond() > 0)
}

type FxMap<K, V> = forewarn_model::fxhash::FxHashMap<K, V>;

/// The targets' ids, in one buffer (each followed by a NUL, which ids cannot contain),
/// with their hashes sorted: `(hash, index)`.
struct IdTable {
    text: Vec<u8>,
    at: Vec<u32>,
    sorted: Vec<(u32, u32)>,
}

/// The targets' ids joined with the plan's entries by hash.
struct Ids {
    table: IdTable,
    /// Per plan entry (slots, then unscheduled): the only target with its hash and where its
    /// id is in `text`; or, when several share the hash, `(where the run begins in sorted, NONE)`;
    /// `(NONE, NONE)` when none has it.
    candidate: Vec<(u32, u32)>,
}

impl Ids {
    fn join(table: IdTable, entries: &[(u32, u32)], n: usize) -> Ids {
        let sorted = &table.sorted;
        let mut candidate = vec![(NONE, NONE); n];
        let mut j = 0;
        for &(h, e) in entries {
            while j < sorted.len() && sorted[j].0 < h {
                j += 1;
            }
            if j < sorted.len() && sorted[j].0 == h {
                let alone = sorted.get(j + 1).is_none_or(|x| x.0 != h);
                let t = sorted[j].1;
                candidate[e as usize] = if alone { (t, table.at[t as usize]) } else { (j as u32, NONE) };
            }
        }
        Ids { table, candidate }
    }

    fn is(&self, at: u32, id: &str) -> bool {
        let at = at as usize;
        !id.contains('\0')
            && self
                .table
                .text
                .get(at..at + id.len() + 1)
                .is_some_and(|t| &t[..id.len()] == id.as_bytes() && t[id.len()] == 0)
    }

    /// The target whose id is `id`, among the candidates the join found.
    fn find(&self, (c, at): (u32, u32), id: &str) -> Option<u32> {
        if c == NONE {
            return None;
        }
        if at != NONE {
            return self.is(at, id).then_some(c);
        }
        let run = &self.table.sorted[c as usize..];
        let h = run[0].0;
        run.iter().take_while(|x| x.0 == h).map(|x| x.1).find(|&t| self.is(self.table.at[t as usize], id))
    }
}

// ---------------------------------------------------------------------------
// Windows and blackouts.

/// One distinct window list in one default zone, with its occurrences over the campaign.
#[derive(Debug)]
struct Class<'a> {
    windows: &'a [Window],
    zone: &'a Zone,
    /// Occurrence starts, sorted.
    starts: Vec<i64>,
    /// For each prefix of the occurrences: the one that ends last, as `(end, start)`.
    reach: Vec<(i64, i64)>,
}

impl Class<'_> {
    fn new<'a>(windows: &'a [Window], zone: &'a Zone, from: Timestamp, to: Timestamp) -> Class<'a> {
        let occ = occurrences_of(windows, zone, from, to);
        let starts = occ.iter().map(|o| seconds_ceil(o.start)).collect();
        let mut reach = Vec::with_capacity(occ.len());
        let mut best = (i64::MIN, i64::MIN);
        for o in &occ {
            let cand = (seconds_floor(o.end), seconds_ceil(o.start));
            if cand.0 > best.0 {
                best = cand;
            }
            reach.push(best);
        }
        Class { windows, zone, starts, reach }
    }

    /// `Ok(())` when one occurrence holds `[a, b)`; else the occurrence its start lies in, if any.
    fn holds(&self, a: i64, b: i64) -> Result<(), Option<(i64, i64)>> {
        let n = self.starts.partition_point(|&s| s <= a);
        if n == 0 {
            return Err(None);
        }
        let (end, start) = self.reach[n - 1];
        if end >= b {
            Ok(())
        } else if end > a {
            Err(Some((start, end)))
        } else {
            Err(None)
        }
    }

    fn words(&self) -> String {
        if self.windows.is_empty() {
            return "window (none is defined for it at any level)".to_owned();
        }
        format!("window {}", forewarn_model::window::describe(self.windows, self.zone))
    }
}

/// A blackout in whole seconds (widened), with its owner for messages.
#[derive(Clone, Copy, Debug)]
struct Dark {
    from: i64,
    to: i64,
    /// `NONE` for the platform, else a customer index.
    owner: u32,
    index: u32,
}

fn darks(list: &[Blackout], owner: u32) -> Vec<Dark> {
    let mut v: Vec<Dark> = list
        .iter()
        .enumerate()
        .map(|(index, b)| Dark { from: seconds_floor(b.from), to: seconds_ceil(b.to), owner, index: index as u32 })
        .collect();
    v.sort_by_key(|d| (d.from, d.to, d.index));
    v
}

const NONE: u32 = u32::MAX;

// ---------------------------------------------------------------------------
// What the checker knows about each target, computed once.

/// A machine's (or host's) attributes, compact, for a million random look-ups.
#[derive(Clone, Copy, Debug)]
struct Fact {
    class: u32,
    host: u32,
    rack: u32,
    customer: u32,
    project: u32,
    /// Position of its tier in the campaign's tier order, or `NONE`.
    tier: u32,
    /// Ranges of `Facts::keys`: `lo..split` its guests' customers (hosts; empty for machines),
    /// `split..hi` its redundancy groups (machines) or its guests' (hosts).
    keys: (u32, u32, u32),
}

impl Fact {
    const EMPTY: Fact =
        Fact { class: NONE, host: NONE, rack: NONE, customer: NONE, project: NONE, tier: NONE, keys: (0, 0, 0) };
}

#[derive(Debug)]
struct Facts<'a> {
    fact: Vec<Fact>,
    classes: Vec<Class<'a>>,
    rack_names: Vec<&'a str>,
    group_names: &'a [String],
    /// Machines: `(group, 1)`. Hosts: `(customer, guests)`, then `(group, members)`.
    keys: Vec<(u32, u32)>,
    /// Hosts: the customers whose blackouts apply (with a guest on it and a blackout).
    host_customers: Vec<Vec<u32>>,
}

/// A slot whose target is known and whose times parse: `[start, end)` in unix seconds.
#[derive(Clone, Copy, Debug)]
struct Live {
    /// Machine or host index.
    target: u32,
    start: i64,
    end: i64,
    /// The target's facts, copied: the sweeps read them in slot order.
    fact: Fact,
}

/// The live slots, once sorted by start and once by end: `(instant, live index)`.
struct Sweep<'s> {
    live: &'s [Live],
    by_start: &'s [(i64, u32)],
    by_end: &'s [(i64, u32)],
}

fn sorted(live: &[Live], at: impl Fn(&Live) -> i64) -> Vec<(i64, u32)> {
    let mut v: Vec<(i64, u32)> = live.iter().enumerate().map(|(i, s)| (at(s), i as u32)).collect();
    // Plans are usually written in start order: the sort then only checks.
    v.sort_unstable();
    v
}

/// What one chunk of slots gives.
struct SlotsOut {
    violations: Vec<Violation>,
    live: Vec<Live>,
    /// Every entry's target that resolved, in order.
    resolved: Vec<u32>,
}

/// One limit over all its keys.
#[derive(Clone, Copy, Debug)]
struct Family {
    constraint: Constraint,
    limit: u32,
}

struct Cx<'a> {
    inv: &'a Inventory,
    campaign: &'a Campaign,
    scope: Scope,
    /// Number of machines or hosts (whichever the scope targets).
    universe: usize,
    is_target: Vec<bool>,
    targets: Vec<usize>,
    kinds: Vec<&'a str>,
    len: i64,
    starts: i64,
    ends: i64,
    after_notice: i64,
    platform_dark: Vec<Dark>,
    customer_dark: Vec<Vec<Dark>>,
}

impl<'a> Cx<'a> {
    fn new(inv: &'a Inventory, campaign: &'a Campaign) -> Cx<'a> {
        let scope = campaign.scope;
        let (universe, targets) = match scope {
            Scope::Machines => (inv.machines.len(), campaign.target_machines(inv)),
            Scope::Hosts => (inv.hosts.len(), campaign.target_hosts(inv)),
        };
        let mut is_target = vec![false; universe];
        for &t in &targets {
            is_target[t] = true;
        }
        Cx {
            inv,
            campaign,
            scope,
            universe,
            is_target,
            targets,
            kinds: campaign.activities.iter().map(|a| a.kind.as_str()).collect(),
            len: campaign.slot_length().seconds(),
            starts: seconds_ceil(campaign.starts),
            ends: seconds_floor(campaign.ends),
            after_notice: seconds_ceil(campaign.publish_at + campaign.notice.0),
            platform_dark: darks(&inv.platform.blackouts, NONE),
            customer_dark: inv.customers.iter().enumerate().map(|(i, c)| darks(&c.blackouts, i as u32)).collect(),
        }
    }

    fn key(&self) -> &'static str {
        match self.scope {
            Scope::Machines => "machine",
            Scope::Hosts => "host",
        }
    }

    fn id(&self, t: u32) -> &'a str {
        match self.scope {
            Scope::Machines => &self.inv.machines[t as usize].id,
            Scope::Hosts => &self.inv.hosts[t as usize].id,
        }
    }

    /// Every target's id, in one buffer, and their hashes, sorted.
    fn id_table(&self) -> IdTable {
        let n = self.universe;
        let mut text = Vec::with_capacity(n * 24);
        let mut at = Vec::with_capacity(n);
        let mut sorted = Vec::with_capacity(n);
        for t in 0..n as u32 {
            let id = self.id(t);
            at.push(text.len() as u32);
            text.extend_from_slice(id.as_bytes());
            text.push(0);
            sorted.push((hash_id(id), t));
        }
        radix_sort(&mut sorted);
        IdTable { text, at, sorted }
    }

    /// The hash of the id each plan entry names under the campaign's scope, sorted:
    /// `(hash, entry)`, slots first, then unscheduled entries.
    fn entry_hashes<'p>(&self, plan: &'p PlanFile) -> Vec<(u32, u32)> {
        let own = |m: &'p Option<Text<'_>>, h: &'p Option<Text<'_>>| match self.scope {
            Scope::Machines => m.as_deref(),
            Scope::Hosts => h.as_deref(),
        };
        let slots = plan.slots.iter().map(|s| own(&s.machine, &s.host));
        let unscheduled = plan.unscheduled.iter().map(|u| own(&u.machine, &u.host));
        let mut v: Vec<(u32, u32)> =
            slots.chain(unscheduled).enumerate().filter_map(|(e, id)| Some((hash_id(id?), e as u32))).collect();
        radix_sort(&mut v);
        v
    }

    /// Every machine's (or host's) facts, in one pass over the inventory.
    fn facts(&self) -> Facts<'a> {
        let inv = self.inv;
        let mut rack_ix: FxMap<&'a str, u32> = FxMap::default();
        let mut rack_names = Vec::new();
        let host_rack: Vec<u32> = inv
            .hosts
            .iter()
            .map(|h| {
                *rack_ix.entry(h.rack.as_str()).or_insert_with(|| {
                    rack_names.push(h.rack.as_str());
                    rack_names.len() as u32 - 1
                })
            })
            .collect();
        // Window classes: by where the list lives (cheap), then by content.
        let mut by_ptr: FxMap<(usize, usize, usize), u32> = FxMap::default();
        let mut by_content: FxMap<(&'a [Window], &'a str), u32> = FxMap::default();
        let mut lists: Vec<(&'a [Window], &'a Zone)> = Vec::new();
        let mut class_of = |w: &'a [Window], z: &'a Zone| -> u32 {
            let ptr = (w.as_ptr() as usize, w.len(), std::ptr::from_ref(z) as usize);
            *by_ptr.entry(ptr).or_insert_with(|| {
                *by_content.entry((w, z.name())).or_insert_with(|| {
                    lists.push((w, z));
                    lists.len() as u32 - 1
                })
            })
        };
        let mut pos_of = vec![NONE; inv.platform.tiers.len()];
        for (p, &t) in self.campaign.tier_order.iter().enumerate() {
            pos_of[t] = p as u32;
        }
        let mut fact = Vec::with_capacity(self.universe);
        let mut keys = Vec::new();
        let mut host_customers = Vec::new();
        match self.scope {
            Scope::Machines => {
                // Without windows of its own, a machine's windows and zone follow from its project.
                let mut of_project: Vec<(u32, u32)> = vec![(NONE, NONE); inv.projects.len()];
                for m in &inv.machines {
                    let cached = of_project[m.project];
                    let (customer, class) = if m.windows.is_empty() && cached.0 != NONE {
                        (cached.0 as usize, cached.1)
                    } else {
                        let customer = inv.customer_index_of(m);
                        let class = class_of(inv.machine_windows(m).1, inv.zone_for(&inv.customers[customer]));
                        if m.windows.is_empty() {
                            of_project[m.project] = (customer as u32, class);
                        }
                        (customer, class)
                    };
                    let lo = keys.len() as u32;
                    keys.extend(m.groups.iter().map(|&g| (g, 1)));
                    fact.push(Fact {
                        class,
                        host: m.host as u32,
                        rack: host_rack[m.host],
                        customer: customer as u32,
                        project: m.project as u32,
                        tier: pos_of[m.tier],
                        keys: (lo, lo, keys.len() as u32),
                    });
                }
            }
            Scope::Hosts => {
                // Guests per host, by customer and by group.
                let mut by_customer: Vec<(u32, u32)> = Vec::with_capacity(inv.machines.len());
                let mut by_group: Vec<(u32, u32)> = Vec::new();
                for m in &inv.machines {
                    by_customer.push((m.host as u32, inv.customer_index_of(m) as u32));
                    by_group.extend(m.groups.iter().map(|&g| (m.host as u32, g)));
                }
                let counted = |mut v: Vec<(u32, u32)>| -> Vec<Vec<(u32, u32)>> {
                    v.sort_unstable();
                    let mut per_host = vec![Vec::new(); inv.hosts.len()];
                    for run in v.chunk_by(|x, y| x == y) {
                        per_host[run[0].0 as usize].push((run[0].1, run.len() as u32));
                    }
                    per_host
                };
                let customers = counted(by_customer);
                let groups = counted(by_group);
                for (h, host) in inv.hosts.iter().enumerate() {
                    let lo = keys.len() as u32;
                    keys.extend(&customers[h]);
                    let split = keys.len() as u32;
                    keys.extend(&groups[h]);
                    host_customers.push(
                        customers[h]
                            .iter()
                            .map(|&(c, _)| c)
                            .filter(|&c| !inv.customers[c as usize].blackouts.is_empty())
                            .collect(),
                    );
                    fact.push(Fact {
                        class: class_of(inv.host_windows(host).1, &inv.platform.zone),
                        host: h as u32,
                        rack: host_rack[h],
                        customer: NONE,
                        project: NONE,
                        tier: NONE,
                        keys: (lo, split, keys.len() as u32),
                    });
                }
            }
        }
        let (from, to) = (self.campaign.starts, self.campaign.ends);
        let classes = lists.into_iter().map(|(w, z)| Class::new(w, z, from, to)).collect();
        Facts { fact, classes, rack_names, group_names: &inv.groups, keys, host_customers }
    }

    // -----------------------------------------------------------------------
    // Entries of the plan file.

    /// The slots of one chunk, with their join candidates: resolved, read, and checked on
    /// their own (format, coverage of the entry, duration, range, notice, window, blackouts).
    fn slots(&self, chunk: &[SlotEntry], candidates: &[(u32, u32)], ids: &Ids, facts: &Facts<'a>) -> SlotsOut {
        let mut out = SlotsOut { violations: Vec::new(), live: Vec::with_capacity(chunk.len()), resolved: Vec::new() };
        let mut elsewhere = FxMap::default();
        // Targets, then their facts, in tight loops of their own, so that their memory look-ups overlap.
        let found: Vec<u32> = chunk
            .iter()
            .zip(candidates)
            .map(|(s, &c)| self.own_id(&s.machine, &s.host).and_then(|id| ids.find(c, id)).unwrap_or(NONE))
            .collect();
        let gathered: Vec<Fact> =
            found.iter().map(|&t| facts.fact.get(t as usize).copied().unwrap_or(Fact::EMPTY)).collect();
        for ((s, &found), &fact) in chunk.iter().zip(&found).zip(&gathered) {
            let v = &mut out.violations;
            let Some(id) = self.entry_id(&s.machine, &s.host, "slot", v) else { continue };
            let target = self.lookup(id, (found != NONE).then_some(found), "slot", v);
            if let Some(t) = target {
                out.resolved.push(t);
            }
            if s.activities.len() != self.kinds.len() || s.activities.iter().zip(&self.kinds).any(|(a, k)| a != k) {
                v.push(violation(
                    Some(id),
                    Constraint::Format,
                    format!(
                        "slot {}..{} lists activities [{}], the campaign's are [{}]",
                        s.start,
                        s.end,
                        s.activities.join(", "),
                        self.kinds.join(", ")
                    ),
                ));
            }
            let mut read = |field: &str, text: &str| match read_instant(text) {
                Err(e) => {
                    v.push(violation(Some(id), Constraint::Format, format!("slot {field}: {e}")));
                    None
                }
                Ok(t) => {
                    if t.lo != t.hi {
                        v.push(violation(
                            Some(id),
                            Constraint::Format,
                            format!("slot {field} `{text}` is not on a whole second"),
                        ));
                    }
                    Some(t)
                }
            };
            let (Some(a), Some(b)) = (read("start", &s.start), read("end", &s.end)) else { continue };
            // The exact length: with fractions, compare the instants as parsed.
            let length_ok = if a.lo == a.hi && b.lo == b.hi {
                b.lo - a.lo == self.len
            } else {
                match (parse_instant(&s.start), parse_instant(&s.end)) {
                    (Ok(x), Ok(y)) => y.duration_since(x) == self.campaign.slot_length().0,
                    _ => false,
                }
            };
            if !length_ok {
                v.push(violation(
                    Some(id),
                    Constraint::Duration,
                    format!(
                        "slot {}..{} lasts {}s, its activities [{}] take {} ({}s)",
                        s.start,
                        s.end,
                        b.lo - a.lo,
                        self.kinds.join(", "),
                        self.campaign.slot_length(),
                        self.len
                    ),
                ));
            }
            let (start, end) = (a.lo, b.hi);
            let Some(target) = target else { continue };
            if end <= start {
                continue;
            }
            let live = Live { target, start, end, fact };
            self.slot(id, s, &live, facts, &mut elsewhere, v);
            out.live.push(live);
        }
        out
    }

    fn own_id<'e>(&self, machine: &'e Option<Text<'_>>, host: &'e Option<Text<'_>>) -> Option<&'e str> {
        match self.scope {
            Scope::Machines => machine.as_deref(),
            Scope::Hosts => host.as_deref(),
        }
    }

    /// The id an entry names under the campaign's scope.
    fn entry_id<'e>(
        &self,
        machine: &'e Option<Text<'_>>,
        host: &'e Option<Text<'_>>,
        what: &str,
        out: &mut Vec<Violation>,
    ) -> Option<&'e str> {
        let (own, foreign, other) = match self.scope {
            Scope::Machines => (machine, host, "host"),
            Scope::Hosts => (host, machine, "machine"),
        };
        let key = self.key();
        match (own, foreign) {
            (Some(id), _) => Some(id),
            (None, Some(f)) => {
                out.push(violation(
                    Some(f),
                    Constraint::Format,
                    format!("{what} names a {other}, but the campaign's scope is {key}s: use the `{key}` key"),
                ));
                None
            }
            (None, None) => {
                out.push(violation(None, Constraint::Format, format!("{what} names no {key}")));
                None
            }
        }
    }

    /// The target an entry's id names, if found: reports unknown ids and non-targets.
    fn lookup(&self, id: &str, found: Option<u32>, what: &str, out: &mut Vec<Violation>) -> Option<u32> {
        let key = self.key();
        match found {
            None => {
                out.push(violation(
                    Some(id),
                    Constraint::Coverage,
                    format!("{what} for a {key} that is not in the inventory"),
                ));
                None
            }
            Some(t) => {
                if !self.is_target[t as usize] {
                    out.push(violation(
                        Some(id),
                        Constraint::Coverage,
                        format!("{what} for a {key} that is not a target of campaign {}", self.campaign.id),
                    ));
                }
                Some(t)
            }
        }
    }

    fn unscheduled(&self, plan: &PlanFile, ids: &Ids, seen: &mut [u32], out: &mut Vec<Violation>) {
        let candidates = &ids.candidate[plan.slots.len()..];
        for (u, &candidate) in plan.unscheduled.iter().zip(candidates) {
            let Some(id) = self.entry_id(&u.machine, &u.host, "unscheduled entry", out) else { continue };
            if let Some(t) = self.lookup(id, ids.find(candidate, id), "unscheduled entry", out) {
                seen[t as usize] += 1;
            }
            if u.reason.trim().is_empty() {
                out.push(violation(
                    Some(id),
                    Constraint::Format,
                    "unscheduled without a reason: say why no slot fits".to_owned(),
                ));
            }
        }
    }

    /// Missing and duplicated targets, in inventory order.
    fn coverage(&self, seen: &[u32], out: &mut Vec<Violation>) {
        let key = self.key();
        for (t, &n) in seen.iter().enumerate() {
            if n == 0 && self.is_target[t] {
                out.push(violation(
                    Some(self.id(t as u32)),
                    Constraint::Coverage,
                    format!("target of campaign {} has neither a slot nor an unscheduled entry", self.campaign.id),
                ));
            } else if n > 1 {
                out.push(violation(
                    Some(self.id(t as u32)),
                    Constraint::Coverage,
                    format!("{key} appears {n} times in the plan (slots and unscheduled together); once is right"),
                ));
            }
        }
    }

    // -----------------------------------------------------------------------
    // Per slot: range, notice, window, blackouts.

    fn slot(
        &self,
        id: &str,
        entry: &SlotEntry,
        s: &Live,
        facts: &Facts<'a>,
        elsewhere: &mut FxMap<(u32, i64), Option<Class<'a>>>,
        out: &mut Vec<Violation>,
    ) {
        let fact = &s.fact;
        let (a, b) = (s.start, s.end);
        let span = || format!("{}..{}", entry.start, entry.end);
        if a < self.starts || b > self.ends {
            out.push(violation(
                Some(id),
                Constraint::Range,
                format!(
                    "slot {} is not inside the campaign's range {}..{}",
                    span(),
                    rfc3339(self.starts),
                    rfc3339(self.ends)
                ),
            ));
        }
        if a < self.after_notice {
            out.push(violation(
                Some(id),
                Constraint::Notice,
                format!(
                    "slot {} starts before {}, publication ({}) plus the {} notice",
                    span(),
                    rfc3339(self.after_notice),
                    rfc3339(seconds_floor(self.campaign.publish_at)),
                    self.campaign.notice
                ),
            ));
        }
        // Occurrences were computed over the campaign's range; slots outside it (a plan for
        // other dates, say) get theirs per class and day, remembered for the chunk.
        let class = &facts.classes[fact.class as usize];
        let held = if a >= self.starts && b <= self.ends {
            class.holds(a, b)
        } else {
            const DAY: i64 = 86_400;
            let day = a.div_euclid(DAY);
            let span = |from: i64, to: i64| match (Timestamp::from_second(from), Timestamp::from_second(to)) {
                (Ok(from), Ok(to)) => Some(Class::new(class.windows, class.zone, from, to)),
                _ => None,
            };
            if b <= (day + 2).saturating_mul(DAY) {
                // Any occurrence holding [a, b) overlaps these days, and is found whole.
                let near = elsewhere
                    .entry((fact.class, day))
                    .or_insert_with(|| span((day - 2).saturating_mul(DAY), (day + 3).saturating_mul(DAY)));
                near.as_ref().map_or(Err(None), |c| c.holds(a, b))
            } else {
                span(a.saturating_sub(3 * DAY), b.saturating_add(3 * DAY)).map_or(Err(None), |c| c.holds(a, b))
            }
        };
        if let Err(near) = held {
            let detail = match near {
                Some((os, oe)) => format!(" (the occurrence it starts in runs {}..{})", rfc3339(os), rfc3339(oe)),
                None => " (no occurrence contains its start)".to_owned(),
            };
            out.push(violation(
                Some(id),
                Constraint::Window,
                format!("slot {} is not inside one occurrence of its {}{detail}", span(), class.words()),
            ));
        }
        let mut dark = |list: &[Dark]| {
            for d in list {
                if d.from >= b {
                    break;
                }
                if a < d.to {
                    out.push(self.blackout_violation(id, &span(), d));
                }
            }
        };
        dark(&self.platform_dark);
        match self.scope {
            Scope::Machines => dark(&self.customer_dark[fact.customer as usize]),
            Scope::Hosts => {
                for &c in &facts.host_customers[s.target as usize] {
                    dark(&self.customer_dark[c as usize]);
                }
            }
        }
    }

    fn blackout_violation(&self, id: &str, span: &str, d: &Dark) -> Violation {
        let inv = self.inv;
        let (b, whose) = if d.owner == NONE {
            (&inv.platform.blackouts[d.index as usize], "the platform's blackout".to_owned())
        } else {
            let c = &inv.customers[d.owner as usize];
            (&c.blackouts[d.index as usize], format!("customer {}'s blackout", c.id))
        };
        let reason = if b.reason.trim().is_empty() { String::new() } else { format!(" ({})", b.reason.trim()) };
        violation(Some(id), Constraint::Blackout, format!("slot {span} overlaps {whose} {}..{}{reason}", b.from, b.to))
    }

    // -----------------------------------------------------------------------
    // Tier order.

    fn tier_order(&self, live: &[Live], has_slot: &[bool], facts: &Facts<'a>) -> Vec<Violation> {
        let mut out = Vec::new();
        if self.scope != Scope::Machines || self.campaign.tier_order.len() < 2 {
            return out;
        }
        let inv = self.inv;
        let order = &self.campaign.tier_order;
        let k = order.len();
        // Per (project, tier position): the slot that ends last, and a target without a slot.
        let cell = |f: &Fact| -> Option<usize> { (f.tier != NONE).then_some(f.project as usize * k + f.tier as usize) };
        let cells: Vec<Option<usize>> = live.iter().map(|s| cell(&s.fact)).collect();
        let mut last_end: Vec<(i64, u32)> = vec![(i64::MIN, NONE); inv.projects.len() * k];
        for (i, (s, c)) in live.iter().zip(&cells).enumerate() {
            if let Some(c) = *c
                && s.end > last_end[c].0
            {
                last_end[c] = (s.end, i as u32);
            }
        }
        let mut without: Vec<u32> = vec![NONE; inv.projects.len() * k];
        for &m in &self.targets {
            if !has_slot[m]
                && let Some(c) = cell(&facts.fact[m])
                && without[c] == NONE
            {
                without[c] = m as u32;
            }
        }
        let gap = self.campaign.tier_gap.seconds();
        let tier = |p: usize| inv.platform.tiers[order[p]].as_str();
        for (s, c) in live.iter().zip(&cells) {
            let Some(c) = *c else { continue };
            let (j, base) = (c % k, c - c % k);
            if j == 0 {
                continue;
            }
            let m = || &inv.machines[s.target as usize];
            let project = || &inv.projects[m().project].id;
            if let Some(i) = (0..j).find(|&i| without[base + i] != NONE) {
                let (blocker, project) = (&inv.machines[without[base + i] as usize].id, project());
                out.push(violation(
                    Some(&m().id),
                    Constraint::TierOrder,
                    format!(
                        "{} slot {}..{} although {} machine {blocker} of project {project} has no slot",
                        tier(j),
                        rfc3339(s.start),
                        rfc3339(s.end),
                        tier(i)
                    ),
                ));
                continue;
            }
            let Some(i) = (0..j).filter(|&i| last_end[base + i].1 != NONE).max_by_key(|&i| (last_end[base + i].0, i))
            else {
                continue;
            };
            let (end, by) = last_end[base + i];
            if s.start < end.saturating_add(gap) {
                let (other, project) = (&inv.machines[live[by as usize].target as usize].id, project());
                out.push(violation(
                    Some(&m().id),
                    Constraint::TierOrder,
                    format!(
                        "{} slot starts {}, less than the {} tier gap after {} machine {other} of project {project} \
                         ends {} (earliest allowed {})",
                        tier(j),
                        rfc3339(s.start),
                        self.campaign.tier_gap,
                        tier(i),
                        rfc3339(end),
                        rfc3339(end.saturating_add(gap))
                    ),
                ));
            }
        }
        out
    }

    // -----------------------------------------------------------------------
    // Concurrency.

    /// The limits this campaign sets, in a fixed order.
    fn families(&self) -> Vec<Family> {
        let l = self.campaign.limits;
        let per_host = if self.scope == Scope::Machines { l.per_host } else { None };
        [
            (Constraint::Global, l.global),
            (Constraint::PerHost, per_host),
            (Constraint::PerRack, l.per_rack),
            (Constraint::PerCustomer, l.per_customer),
            (Constraint::PerGroup, Some(self.campaign.per_group())),
        ]
        .into_iter()
        .filter_map(|(constraint, limit)| limit.map(|limit| Family { constraint, limit }))
        .collect()
    }

    /// For limits on which a slot puts demand 1 on one key: that key.
    fn one_key(&self, family: Family) -> Option<fn(&Fact) -> u32> {
        match (family.constraint, self.scope) {
            (Constraint::Global, _) => Some(|_| 0),
            (Constraint::PerHost, _) => Some(|f| f.host),
            (Constraint::PerRack, _) => Some(|f| f.rack),
            (Constraint::PerCustomer, Scope::Machines) => Some(|f| f.customer),
            _ => None,
        }
    }

    /// The `(key, demand)` pairs a slot puts on a limit.
    fn demands<'f>(&self, family: Family, facts: &'f Facts<'a>, s: &Live) -> Demands<'f> {
        if let Some(key) = self.one_key(family) {
            return Demands::One(key(&s.fact));
        }
        let (lo, split, hi) = s.fact.keys;
        let many = |a: u32, b: u32| Demands::Many(&facts.keys[a as usize..b as usize], family.limit);
        match (family.constraint, self.scope) {
            (Constraint::PerCustomer, Scope::Hosts) => many(lo, split),
            _ => many(split, hi),
        }
    }

    /// Each key's first excess over one limit, by key.
    ///
    /// The slots are distributed to their keys in start order and in end order (a counting
    /// sort of the two global orders), so each key's starts and ends come out sorted; a key's
    /// load at a start `t` is the demand started at or before `t` minus the demand ended at or
    /// before `t`, which counts a slot ending at `t` as no longer running.
    fn limit(&self, family: Family, facts: &Facts<'a>, sweep: &Sweep<'_>) -> Vec<Violation> {
        let live = sweep.live;
        let limit = u64::from(family.limit);
        let keys = match family.constraint {
            Constraint::Global => 1,
            Constraint::PerHost => self.inv.hosts.len(),
            Constraint::PerRack => facts.rack_names.len(),
            Constraint::PerCustomer => self.inv.customers.len(),
            _ => facts.group_names.len(),
        };
        // Each key's first excess, as (instant, load).
        let mut first: Vec<Option<(i64, u64)>> = vec![None; keys];
        let one_key = self.one_key(family);
        if let Some(key) = one_key
            && keys == 1
        {
            // One key, demand 1: the global orders are the key's.
            if live.len() as u64 > limit {
                let (s, e) = (sweep.by_start, sweep.by_end);
                first[0] = first_excess(s.len(), |i| (s[i].0, 1), e.len(), |i| (e[i].0, 1), limit);
            }
            debug_assert!(live.iter().all(|s| key(&s.fact) == 0));
        } else if let Some(key) = one_key {
            // Demand 1 on one key a slot: only the instants need spreading to the keys.
            let key_of: Vec<u32> = live.iter().map(|s| key(&s.fact)).collect();
            let mut count = vec![0usize; keys];
            for &k in &key_of {
                count[k as usize] += 1;
            }
            let heavy: Vec<bool> = count.iter().map(|&n| n as u64 > limit).collect();
            if !heavy.contains(&true) {
                return Vec::new();
            }
            let mut at = vec![0usize; keys + 1];
            for k in 0..keys {
                at[k + 1] = at[k] + if heavy[k] { count[k] } else { 0 };
            }
            drop(count);
            let spread = |order: &[(i64, u32)]| -> Vec<i64> {
                let mut fill = at.clone();
                let mut v = vec![0i64; at[keys]];
                for &(t, i) in order {
                    let k = key_of[i as usize] as usize;
                    if heavy[k] {
                        v[fill[k]] = t;
                        fill[k] += 1;
                    }
                }
                v
            };
            let starts = spread(sweep.by_start);
            let ends = spread(sweep.by_end);
            for k in 0..keys {
                let (s, e) = (&starts[at[k]..at[k + 1]], &ends[at[k]..at[k + 1]]);
                first[k] = first_excess(s.len(), |i| (s[i], 1), e.len(), |i| (e[i], 1), limit);
            }
        } else {
            // Total demand per key: only keys that could exceed the limit are swept.
            let mut total = vec![0u64; keys];
            let mut count = vec![0usize; keys];
            for s in live {
                self.demands(family, facts, s).each(|k, w| {
                    total[k as usize] += u64::from(w);
                    count[k as usize] += 1;
                });
            }
            if total.iter().all(|&t| t <= limit) {
                return Vec::new();
            }
            let mut at = vec![0usize; keys + 1];
            for k in 0..keys {
                at[k + 1] = at[k] + if total[k] > limit { count[k] } else { 0 };
            }
            drop(count);
            let spread = |order: &[(i64, u32)]| -> Vec<(i64, u32)> {
                let mut fill = at.clone();
                let mut v = vec![(0i64, 0u32); at[keys]];
                for &(t, i) in order {
                    self.demands(family, facts, &live[i as usize]).each(|k, w| {
                        if total[k as usize] > limit {
                            v[fill[k as usize]] = (t, w);
                            fill[k as usize] += 1;
                        }
                    });
                }
                v
            };
            let starts = spread(sweep.by_start);
            let ends = spread(sweep.by_end);
            for k in 0..keys {
                let (s, e) = (&starts[at[k]..at[k + 1]], &ends[at[k]..at[k + 1]]);
                let w = |x: (i64, u32)| (x.0, u64::from(x.1));
                first[k] = first_excess(s.len(), |i| w(s[i]), e.len(), |i| w(e[i]), limit);
            }
        }
        if first.iter().all(Option::is_none) {
            return Vec::new();
        }
        // Who runs at each excess: one more pass, in start order.
        let mut running: Vec<Vec<(u32, u32)>> = vec![Vec::new(); keys];
        for &(_, i) in sweep.by_start {
            let s = &live[i as usize];
            self.demands(family, facts, s).each(|k, w| {
                if let Some((t, _)) = first[k as usize]
                    && s.start <= t
                    && t < s.end
                {
                    running[k as usize].push((s.target, w));
                }
            });
        }
        first
            .iter()
            .enumerate()
            .filter_map(|(k, f)| f.map(|(t, load)| self.excess(family, facts, k as u32, load, t, &running[k])))
            .collect()
    }

    fn excess(
        &self,
        family: Family,
        facts: &Facts<'a>,
        key: u32,
        count: u64,
        t: i64,
        running: &[(u32, u32)],
    ) -> Violation {
        let inv = self.inv;
        let key_words = match family.constraint {
            Constraint::Global => "the campaign".to_owned(),
            Constraint::PerHost => format!("host {}", inv.hosts[key as usize].id),
            Constraint::PerRack => format!("rack {}", facts.rack_names[key as usize]),
            Constraint::PerCustomer => format!("customer {}", inv.customers[key as usize].id),
            _ => format!("redundancy group {}", facts.group_names[key as usize]),
        };
        let hosts = self.scope == Scope::Hosts;
        let guests = hosts && matches!(family.constraint, Constraint::PerCustomer | Constraint::PerGroup);
        let what = match (hosts, guests) {
            (false, _) => "slots running",
            (true, false) => "hosts down",
            (true, true) => "machines down (hosts with their guests)",
        };
        let mut names: Vec<String> = running
            .iter()
            .take(8)
            .map(|&(t, w)| {
                let id = self.id(t);
                if guests { format!("{id} ({w})") } else { id.to_owned() }
            })
            .collect();
        if running.len() > 8 {
            names.push(format!("and {} more", running.len() - 8));
        }
        violation(
            None,
            family.constraint,
            format!("{key_words} has {count} {what} at {}, limit {}: {}", rfc3339(t), family.limit, names.join(", ")),
        )
    }
}

/// The first instant at which the load exceeds `limit`, with the load then: `starts(i)` and
/// `ends(i)` give the key's slot starts and ends, each sorted, with their demands. A slot
/// ending at `t` no longer counts at `t` (intervals are half-open).
fn first_excess(
    n_starts: usize,
    starts: impl Fn(usize) -> (i64, u64),
    n_ends: usize,
    ends: impl Fn(usize) -> (i64, u64),
    limit: u64,
) -> Option<(i64, u64)> {
    let (mut i, mut j, mut up, mut down) = (0, 0, 0u64, 0u64);
    while i < n_starts {
        let t = starts(i).0;
        while i < n_starts && starts(i).0 == t {
            up += starts(i).1;
            i += 1;
        }
        while j < n_ends && ends(j).0 <= t {
            down += ends(j).1;
            j += 1;
        }
        if up - down > limit {
            return Some((t, up - down));
        }
    }
    None
}

/// A slot's demands on one limit: one key with demand 1, or several keys with demands capped at the limit.
enum Demands<'f> {
    One(u32),
    Many(&'f [(u32, u32)], u32),
}

impl Demands<'_> {
    fn each(&self, mut f: impl FnMut(u32, u32)) {
        match *self {
            Demands::One(k) => f(k, 1),
            Demands::Many(list, cap) => {
                for &(k, n) in list {
                    f(k, n.min(cap));
                }
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use forewarn_model::{parse_campaign, parse_inventory};

    use super::*;

    const INVENTORY: &str = r#"
[platform]
name = "Example Hosting"
time_zone = "Europe/Berlin"
windows = ["Mon-Fri 22:00-05:00"]
blackouts = [{ from = "2027-03-09T00:00:00+01:00", to = "2027-03-10T00:00:00+01:00", reason = "release freeze" }]

[[customers]]
id = "acme"
name = "ACME"

[[customers]]
id = "beta"
name = "Beta"
time_zone = "America/New_York"
blackouts = [{ from = "2027-03-11T00:00:00Z", to = "2027-03-12T00:00:00Z", reason = "sales event" }]

[[projects]]
id = "shop"
customer = "acme"

[[projects]]
id = "blog"
customer = "beta"

[[hosts]]
id = "kvm1"
rack = "r1"

[[hosts]]
id = "kvm2"
rack = "r1"

[[hosts]]
id = "kvm3"
rack = "r2"

[[hosts]]
id = "kvm4"
rack = "r2"

[[machines]]
id = "web-1"
project = "shop"
tier = "staging"
host = "kvm1"
groups = ["web"]

[[machines]]
id = "web-2"
project = "shop"
tier = "production"
host = "kvm2"
groups = ["web"]

[[machines]]
id = "web-3"
project = "shop"
tier = "production"
host = "kvm3"
groups = ["web"]

[[machines]]
id = "db-1"
project = "blog"
tier = "production"
host = "kvm4"

[[machines]]
id = "db-2"
project = "blog"
tier = "production"
host = "kvm2"
"#;

    const CAMPAIGN: &str = r#"
id = "os-2027-03"
title = "OS update March 2027"
starts = "2027-03-01T00:00:00+01:00"
ends = "2027-03-13T00:00:00Z"
publish_at = "2027-02-26T22:00:00Z"
notice = "72h"
tier_order = ["staging", "production"]
tier_gap = "24h"
activities = [{ kind = "os-update", duration = "20m" }, { kind = "reboot", duration = "10m" }]

[limits]
global = 2
per_host = 1
per_rack = 1
per_group = 1
"#;

    /// The valid plan: no two slots overlap, production a day after staging.
    const VALID: [(&str, &str); 5] = [
        ("web-1", "2027-03-01T22:00:00Z"),
        ("db-1", "2027-03-02T03:00:00Z"),
        ("web-2", "2027-03-02T22:30:00Z"),
        ("web-3", "2027-03-02T23:00:00Z"),
        ("db-2", "2027-03-04T03:00:00Z"),
    ];

    fn inventory(text: &str) -> Inventory {
        parse_inventory("inventory.toml", text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn campaign(inv: &Inventory, text: &str) -> Campaign {
        parse_campaign("campaign.toml", text, inv).unwrap_or_else(|e| panic!("{e}"))
    }

    fn after(start: &str, minutes: i64) -> String {
        let t: Timestamp = start.parse().unwrap();
        (t + jiff::SignedDuration::from_mins(minutes)).to_string()
    }

    /// A plan file with 30-minute slots (os-update and reboot) and unscheduled entries.
    fn plan(id: &str, key: &str, slots: &[(&str, &str)], unscheduled: &[(&str, &str)]) -> PlanFile<'static> {
        let slots: Vec<serde_json::Value> = slots
            .iter()
            .map(|(m, s)| {
                serde_json::json!({ key: m, "activities": ["os-update", "reboot"], "start": s, "end": after(s, 30), "reason": "test" })
            })
            .collect();
        let unscheduled: Vec<serde_json::Value> =
            unscheduled.iter().map(|(m, r)| serde_json::json!({ key: m, "reason": r })).collect();
        let doc = serde_json::json!({ "campaign": id, "slots": slots, "unscheduled": unscheduled });
        read(doc)
    }

    /// A plan file from JSON; plan files borrow from their text, which a test may leak.
    fn read(doc: serde_json::Value) -> PlanFile<'static> {
        serde_json::from_str(Box::leak(doc.to_string().into_boxed_str())).unwrap()
    }

    fn with(changes: &[(&str, &str)]) -> Vec<(&'static str, String)> {
        VALID.iter().map(|&(m, s)| (m, changes.iter().find(|c| c.0 == m).map_or(s, |c| c.1).to_owned())).collect()
    }

    fn run_with(campaign_text: &str, changes: &[(&str, &str)]) -> Vec<Violation> {
        let inv = inventory(INVENTORY);
        let c = campaign(&inv, campaign_text);
        let slots = with(changes);
        let slots: Vec<(&str, &str)> = slots.iter().map(|(m, s)| (*m, s.as_str())).collect();
        check(&inv, &c, &plan("os-2027-03", "machine", &slots, &[]))
    }

    fn kinds(v: &[Violation]) -> BTreeSet<Constraint> {
        v.iter().map(|v| v.constraint).collect()
    }

    fn lines(v: &[Violation]) -> String {
        v.iter().map(|v| format!("{v}\n")).collect()
    }

    #[test]
    fn a_valid_plan_has_no_violations() {
        let v = run_with(CAMPAIGN, &[]);
        assert!(v.is_empty(), "{}", lines(&v));
        // Also with every limit set, per_customer included.
        let v = run_with(&CAMPAIGN.replace("per_group = 1", "per_group = 1\nper_customer = 1"), &[]);
        assert!(v.is_empty(), "{}", lines(&v));
    }

    #[test]
    fn a_slot_across_the_end_of_its_occurrence_is_caught() {
        // db-1's window is read in its customer's zone: 22:00-05:00 EST is 03:00Z-10:00Z.
        let v = run_with(CAMPAIGN, &[("db-1", "2027-03-02T09:45:00Z")]);
        assert_eq!(
            lines(&v),
            "db-1: window: slot 2027-03-02T09:45:00Z..2027-03-02T10:15:00Z is not inside one occurrence of its \
             window Mon-Fri 22:00-05:00 America/New_York (the occurrence it starts in runs \
             2027-03-02T03:00:00Z..2027-03-02T10:00:00Z)\n"
        );
        assert_eq!(v[0].target.as_deref(), Some("db-1"));
        // Just after the end: no occurrence holds its start.
        let v = run_with(CAMPAIGN, &[("db-1", "2027-03-02T10:00:00Z")]);
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::Window]));
        assert!(v[0].message.ends_with("(no occurrence contains its start)"), "{}", lines(&v));
        // Ending exactly at the end is inside.
        assert!(run_with(CAMPAIGN, &[("db-1", "2027-03-02T09:30:00Z")]).is_empty());
    }

    #[test]
    fn slots_outside_the_range_or_before_the_notice_are_caught() {
        // Fri 22:00 EST is inside its window, but after the campaign ends.
        let v = run_with(CAMPAIGN, &[("db-2", "2027-03-13T03:00:00Z")]);
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::Range]), "{}", lines(&v));
        assert_eq!(
            v[0].to_string(),
            "db-2: range: slot 2027-03-13T03:00:00Z..2027-03-13T03:30:00Z is not inside the campaign's range \
             2027-02-28T23:00:00Z..2027-03-13T00:00:00Z"
        );
        let v = run_with(CAMPAIGN, &[("web-1", "2027-03-01T21:45:00Z")]);
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::Notice]), "{}", lines(&v));
        assert!(v[0].message.contains("starts before 2027-03-01T22:00:00Z"), "{}", v[0]);
        assert!(v[0].message.contains("plus the 3d notice"), "{}", v[0]);
    }

    #[test]
    fn a_slot_of_the_wrong_length_is_caught() {
        let inv = inventory(INVENTORY);
        let c = campaign(&inv, CAMPAIGN);
        let mut p = plan("os-2027-03", "machine", &VALID, &[]);
        p.slots[0].end = "2027-03-01T22:25:00Z".to_owned().into();
        let v = check(&inv, &c, &p);
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::Duration]), "{}", lines(&v));
        assert_eq!(
            v[0].to_string(),
            "web-1: duration: slot 2027-03-01T22:00:00Z..2027-03-01T22:25:00Z lasts 1500s, its activities \
             [os-update, reboot] take 30m (1800s)"
        );
    }

    #[test]
    fn blackouts_of_the_platform_and_the_own_customer_apply() {
        let v = run_with(CAMPAIGN, &[("db-2", "2027-03-09T03:00:00Z")]);
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::Blackout]), "{}", lines(&v));
        assert_eq!(
            v[0].to_string(),
            "db-2: blackout: slot 2027-03-09T03:00:00Z..2027-03-09T03:30:00Z overlaps the platform's blackout \
             2027-03-08T23:00:00Z..2027-03-09T23:00:00Z (release freeze)"
        );
        let v = run_with(CAMPAIGN, &[("db-2", "2027-03-11T03:00:00Z")]);
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::Blackout]), "{}", lines(&v));
        assert!(v[0].message.contains("customer beta's blackout"), "{}", v[0]);
        // beta's blackout is not acme's.
        assert!(run_with(CAMPAIGN, &[("web-3", "2027-03-11T01:00:00Z")]).is_empty());
    }

    #[test]
    fn tier_order_gap_and_blocked_tiers_are_caught() {
        let v = run_with(CAMPAIGN, &[("web-2", "2027-03-02T22:29:00Z")]);
        assert_eq!(
            lines(&v),
            "web-2: tier order: production slot starts 2027-03-02T22:29:00Z, less than the 1d tier gap after \
             staging machine web-1 of project shop ends 2027-03-01T22:30:00Z (earliest allowed 2027-03-02T22:30:00Z)\n"
        );
        // A staging machine without a slot: production of its project must get none.
        let inv = inventory(INVENTORY);
        let c = campaign(&inv, CAMPAIGN);
        let p = plan("os-2027-03", "machine", &VALID[1..], &[("web-1", "no window left")]);
        let v = check(&inv, &c, &p);
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::TierOrder]), "{}", lines(&v));
        assert_eq!(v.len(), 2, "{}", lines(&v));
        assert!(v[0].to_string().starts_with("web-2: tier order: production slot 2027-03-02T22:30:00Z"), "{}", v[0]);
        assert!(v[0].message.ends_with("although staging machine web-1 of project shop has no slot"), "{}", v[0]);
        // Tiers outside the tier order are unconstrained.
        let free =
            CAMPAIGN.replace(r#"tier_order = ["staging", "production"]"#, r#"tier_order = ["testing", "production"]"#);
        assert!(run_with(&free, &[("web-2", "2027-03-02T22:29:00Z")]).is_empty());
    }

    #[test]
    fn limits_are_checked_by_an_exact_sweep() {
        // Two group members at once (touching slots, 22:30-23:00 and 23:00-23:30, are fine).
        let v = run_with(CAMPAIGN, &[("web-3", "2027-03-02T22:30:00Z")]);
        assert_eq!(
            lines(&v),
            "per_group: redundancy group web has 2 slots running at 2027-03-02T22:30:00Z, limit 1: web-2, web-3\n"
        );
        let v = run_with(CAMPAIGN, &[("web-3", "2027-03-02T22:45:00Z")]);
        assert!(v[0].to_string().contains("2 slots running at 2027-03-02T22:45:00Z, limit 1"), "{}", lines(&v));
        // Same rack, different hosts.
        let v = run_with(CAMPAIGN, &[("web-3", "2027-03-03T03:00:00Z"), ("db-1", "2027-03-03T03:00:00Z")]);
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::PerRack]), "{}", lines(&v));
        assert_eq!(v[0].message, "rack r2 has 2 slots running at 2027-03-03T03:00:00Z, limit 1: db-1, web-3");
        // Same host (and so same rack).
        let v = run_with(CAMPAIGN, &[("web-2", "2027-03-03T03:00:00Z"), ("db-2", "2027-03-03T03:15:00Z")]);
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::PerHost, Constraint::PerRack]), "{}", lines(&v));
        assert_eq!(
            v[0].to_string(),
            "per_host: host kvm2 has 2 slots running at 2027-03-03T03:15:00Z, limit 1: web-2, db-2"
        );
        // Same customer.
        let per_customer = CAMPAIGN.replace("per_group = 1", "per_group = 1\nper_customer = 1");
        let v = run_with(&per_customer, &[("db-2", "2027-03-02T03:00:00Z")]);
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::PerCustomer]), "{}", lines(&v));
        assert!(v[0].message.starts_with("customer beta has 2 slots running at 2027-03-02T03:00:00Z, limit 1"));
        // Global.
        let global = CAMPAIGN.replace("global = 2", "global = 1");
        let v = run_with(&global, &[("web-3", "2027-03-03T03:00:00Z"), ("db-1", "2027-03-03T03:00:00Z")]);
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::Global, Constraint::PerRack]), "{}", lines(&v));
        assert!(
            v[0].to_string().starts_with("global: the campaign has 2 slots running at 2027-03-03T03:00:00Z, limit 1")
        );
    }

    #[test]
    fn coverage_and_format_problems_are_caught() {
        let inv = inventory(INVENTORY);
        let c = campaign(&inv, CAMPAIGN);
        // A missing target.
        let v = check(&inv, &c, &plan("os-2027-03", "machine", &VALID[..4], &[]));
        assert_eq!(
            lines(&v),
            "db-2: coverage: target of campaign os-2027-03 has neither a slot nor an unscheduled entry\n"
        );
        // A duplicate, an unknown machine, an empty reason.
        let v = check(&inv, &c, &plan("os-2027-03", "machine", &VALID, &[("web-1", " "), ("ghost", "gone")]));
        assert_eq!(
            lines(&v),
            "web-1: format: unscheduled without a reason: say why no slot fits\n\
             ghost: coverage: unscheduled entry for a machine that is not in the inventory\n\
             web-1: coverage: machine appears 2 times in the plan (slots and unscheduled together); once is right\n"
        );
        // Not a target.
        let shop = format!("{CAMPAIGN}\n[targets]\nprojects = [\"shop\"]\n");
        let c2 = campaign(&inv, &shop);
        let v = check(&inv, &c2, &plan("os-2027-03", "machine", &VALID[..4], &[]));
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::Coverage]), "{}", lines(&v));
        assert_eq!(v[0].to_string(), "db-1: coverage: slot for a machine that is not a target of campaign os-2027-03");
        // The wrong campaign, the wrong activities, a time that does not parse, the wrong key.
        let mut p = plan("os-2027-04", "machine", &VALID, &[]);
        p.slots[1].activities = vec!["reboot".to_owned().into()];
        p.slots[2].start = "tuesday".to_owned().into();
        p.slots[3].host = p.slots[3].machine.take();
        let v = check(&inv, &c, &p);
        let text = lines(&v);
        assert!(text.starts_with("format: the plan is for campaign `os-2027-04`, not `os-2027-03`\n"), "{text}");
        assert!(text.contains("db-1: format: slot 2027-03-02T03:00:00Z..2027-03-02T03:30:00Z lists activities [reboot], the campaign's are [os-update, reboot]\n"), "{text}");
        assert!(text.contains("web-2: format: slot start: `tuesday` is not an RFC 3339 time"), "{text}");
        assert!(text.contains("web-3: format: slot names a host, but the campaign's scope is machines"), "{text}");
        assert!(text.contains("web-3: coverage: target of campaign os-2027-03 has neither"), "{text}");
    }

    #[test]
    fn times_with_offsets_and_fractions_are_read_exactly() {
        let inv = inventory(INVENTORY);
        let c = campaign(&inv, CAMPAIGN);
        let mut p = plan("os-2027-03", "machine", &VALID, &[]);
        p.slots[0].start = "2027-03-01T23:00:00+01:00".to_owned().into();
        p.slots[0].end = "2027-03-01T23:30:00+01:00".to_owned().into();
        assert!(check(&inv, &c, &p).is_empty());
        p.slots[3].start = "2027-03-02T23:00:00.5Z".to_owned().into();
        p.slots[3].end = "2027-03-02T23:30:00.5Z".to_owned().into();
        let v = check(&inv, &c, &p);
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::Format]), "{}", lines(&v));
    }

    #[test]
    fn the_fast_time_reader_agrees_with_parse_instant() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let t = (x % (300 * 365 * 86_400)) as i64 - 100 * 365 * 86_400;
            let s = rfc3339(t);
            assert_eq!(fast_utc(s.as_bytes()), Some(parse_instant(&s).unwrap().as_second()), "{s}");
        }
        for bad in ["2027-02-29T00:00:00Z", "2027-13-01T00:00:00Z", "2027-03-01T24:00:00Z", "2027-03-01t00:00:00Z"] {
            assert_eq!(fast_utc(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(fast_utc(b"2028-02-29T23:59:59Z"), Some(parse_instant("2028-02-29T23:59:59Z").unwrap().as_second()));
    }

    #[test]
    fn threads_do_not_change_the_result() {
        use forewarn_model::fleet::{FleetConfig, generate};
        let fleet = generate(&FleetConfig {
            machines: 3000,
            seed: 7,
            campaign_start: jiff::civil::date(2027, 3, 1),
            customer_machines: None,
        });
        let inv = inventory_json(&fleet.inventory);
        let c = parse_campaign("campaign.json", &serde_json::to_string(&fleet.campaign).unwrap(), &inv).unwrap();
        let planned = crate::plan(&inv, &c);
        let mut buf = Vec::new();
        planned.write_json(&mut buf, &inv, &c).unwrap();
        let mut p: PlanFile = serde_json::from_slice(&buf).unwrap();
        assert!(p.slots.len() > 2000);
        assert_eq!(check_on(&inv, &c, &p, 1), Vec::new());
        // Break it in many ways at once: every 7th slot an hour later, every 11th ten minutes longer.
        for (i, s) in p.slots.iter_mut().enumerate() {
            if i % 7 == 0 {
                s.start = after(&s.start, 60).into();
                s.end = after(&s.end, 60).into();
            }
            if i % 11 == 0 {
                s.end = after(&s.end, 10).into();
            }
        }
        let one = check_on(&inv, &c, &p, 1);
        assert!(one.len() > 300, "{}", one.len());
        for threads in [2, 3, 5] {
            assert_eq!(check_on(&inv, &c, &p, threads), one, "{threads} threads");
        }
    }

    fn inventory_json(def: &forewarn_model::InventoryFile) -> Inventory {
        parse_inventory("inventory.json", &serde_json::to_string(def).unwrap()).unwrap_or_else(|e| panic!("{e}"))
    }

    const DST_INVENTORY: &str = r#"
[platform]
name = "Example"
time_zone = "UTC"

[[customers]]
id = "acme"
name = "ACME"

[[projects]]
id = "shop"
customer = "acme"

[[hosts]]
id = "kvm1"
rack = "r1"

[[machines]]
id = "web-1"
project = "shop"
tier = "production"
host = "kvm1"
windows = ["Sun 02:00-03:00 Europe/Berlin"]
"#;

    fn dst(starts: &str, ends: &str, slot: &str) -> Vec<Violation> {
        let inv = inventory(DST_INVENTORY);
        let text = format!(
            "id = \"dst\"\ntitle = \"DST\"\nstarts = \"{starts}\"\nends = \"{ends}\"\npublish_at = \"2026-01-01T00:00:00Z\"\n\
             activities = [{{ kind = \"os-update\", duration = \"2h\" }}]\n"
        );
        let c = campaign(&inv, &text);
        let doc = serde_json::json!({ "campaign": "dst", "slots": [
            { "machine": "web-1", "activities": ["os-update"], "start": slot, "end": after(slot, 120) }
        ]});
        check(&inv, &c, &read(doc))
    }

    #[test]
    fn windows_follow_daylight_saving_time() {
        // 25 October 2026: 02:00-03:00 happens twice, so the occurrence lasts two hours.
        let v = dst("2026-10-20T00:00:00Z", "2026-11-01T00:00:00Z", "2026-10-25T00:00:00Z");
        assert!(v.is_empty(), "{}", lines(&v));
        let v = dst("2026-10-20T00:00:00Z", "2026-11-01T00:00:00Z", "2026-10-25T00:15:00Z");
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::Window]), "{}", lines(&v));
        // 29 March 2026: 02:00-03:00 is skipped, there is no occurrence at all.
        let v = dst("2026-03-25T00:00:00Z", "2026-04-05T00:00:00Z", "2026-03-29T00:00:00Z");
        assert_eq!(
            lines(&v),
            "web-1: window: slot 2026-03-29T00:00:00Z..2026-03-29T02:00:00Z is not inside one occurrence of its \
             window Sun 02:00-03:00 Europe/Berlin (no occurrence contains its start)\n"
        );
        // A week later it is an hour long: 00:00Z-01:00Z in summer time.
        let v = dst("2026-03-25T00:00:00Z", "2026-04-10T00:00:00Z", "2026-04-05T00:00:00Z");
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::Window]), "{}", lines(&v));
        assert!(v[0].message.contains("runs 2026-04-05T00:00:00Z..2026-04-05T01:00:00Z"), "{}", v[0]);
    }

    #[test]
    fn host_campaigns_count_guests_and_their_customers_blackouts() {
        // kvm1 holds two members of group web (web-1, web-4): alone it fits, as one host.
        let inv_text = format!(
            "{INVENTORY}\n[[machines]]\nid = \"web-4\"\nproject = \"shop\"\ntier = \"testing\"\nhost = \"kvm1\"\ngroups = [\"web\"]\n"
        );
        let inv = inventory(&inv_text);
        let text = CAMPAIGN
            .replace(
                r#"activities = [{ kind = "os-update", duration = "20m" }, { kind = "reboot", duration = "10m" }]"#,
                r#"activities = [{ kind = "os-update", duration = "20m" }, { kind = "host-reboot", duration = "10m" }]
scope = "hosts""#,
            )
            .replace("per_group = 1", "per_group = 1\nper_customer = 1")
            .replace("per_rack = 1", "per_rack = 2");
        let c = campaign(&inv, &text);
        let host_plan = |slots: &[(&str, &str)]| {
            let mut p = plan("os-2027-03", "host", slots, &[]);
            for s in &mut p.slots {
                s.activities = vec!["os-update".to_owned().into(), "host-reboot".to_owned().into()];
            }
            p
        };
        let valid = [
            ("kvm1", "2027-03-01T22:00:00Z"),
            ("kvm2", "2027-03-01T22:30:00Z"),
            ("kvm3", "2027-03-01T23:00:00Z"),
            ("kvm4", "2027-03-01T23:30:00Z"),
        ];
        let v = check(&inv, &c, &host_plan(&valid));
        assert!(v.is_empty(), "{}", lines(&v));
        // kvm1 and kvm3 at once: acme has 3 guests down (limit 1, each host counts at most 1)
        // and so does group web.
        let mut overlap = valid;
        overlap[2].1 = "2027-03-01T22:15:00Z";
        let v = check(&inv, &c, &host_plan(&overlap));
        assert_eq!(
            lines(&v),
            "per_customer: customer acme has 2 machines down (hosts with their guests) at 2027-03-01T22:15:00Z, \
             limit 1: kvm1 (1), kvm3 (1)\n\
             per_group: redundancy group web has 2 machines down (hosts with their guests) at 2027-03-01T22:15:00Z, \
             limit 1: kvm1 (1), kvm3 (1)\n"
        );
        // Global counts hosts (kvm3 and kvm4 share no customer and no group).
        let global = text.replace("global = 2", "global = 1");
        let c1 = campaign(&inv, &global);
        let mut two = valid;
        two[3].1 = "2027-03-01T23:00:00Z";
        let v = check(&inv, &c1, &host_plan(&two));
        assert_eq!(kinds(&v), BTreeSet::from([Constraint::Global]), "{}", lines(&v));
        assert!(v[0].message.contains("2 hosts down at 2027-03-01T23:00:00Z, limit 1: kvm3, kvm4"), "{}", v[0]);
        // beta's blackout applies to kvm2 and kvm4 (beta's guests), not to kvm1 or kvm3.
        let mut dark = valid;
        dark[0].1 = "2027-03-11T01:00:00Z";
        dark[3].1 = "2027-03-10T23:45:00Z";
        let v = check(&inv, &c, &host_plan(&dark));
        assert_eq!(
            lines(&v),
            "kvm4: blackout: slot 2027-03-10T23:45:00Z..2027-03-11T00:15:00Z overlaps customer beta's blackout \
             2027-03-11T00:00:00Z..2027-03-12T00:00:00Z (sales event)\n"
        );
        // Ending as the blackout begins is fine: intervals are half-open.
        dark[3].1 = "2027-03-10T23:30:00Z";
        assert!(check(&inv, &c, &host_plan(&dark)).is_empty());
    }
}
