//! A lower bound on a campaign's completion time, to show how far a plan is from the best possible.
//!
//! Every target with a candidate has a *release*: its first candidate start, and for a
//! later tier, its first candidate at least the tier gap after the earliest its project's
//! earlier tier can end. No plan that schedules all of them completes before the largest of:
//! - each target's release plus the slot length;
//! - for each limited resource (global, a host, a rack, a customer, a group) and each release
//!   time r among its members: the time by which `limit` parallel lanes, over the union of the
//!   allowed time of the members released at r or later, hold all their work.

use forewarn_model::Inventory;
use forewarn_model::campaign::{Campaign, Scope};

/// A target's candidate starts as `(first, last)` runs, and its window class.
pub(crate) struct Allowed<'a> {
    pub starts: &'a dyn Fn(usize) -> &'a [(i64, i64)],
    pub class: &'a dyn Fn(usize) -> u32,
}

/// At most this many release thresholds are tried per resource (always including the first).
const THRESHOLDS: usize = 16;

/// `limits`: each tracked resource's limit and member positions (resources whose members
/// could never exceed their limit cannot delay anything and are left out).
pub(crate) fn lower_bound(
    inv: &Inventory,
    campaign: &Campaign,
    targets: &[u32],
    allowed: &Allowed<'_>,
    limits: &[(u32, &[u32])],
) -> Option<i64> {
    let len = campaign.slot_length().seconds();
    let live: Vec<usize> = (0..targets.len()).filter(|&p| !(allowed.starts)(p).is_empty()).collect();
    if live.is_empty() {
        return None;
    }
    let release = releases(inv, campaign, targets, allowed, &live, len);
    let mut bound = live.iter().filter_map(|&p| release[p].map(|r| r + len)).max()?;
    let mut members = Vec::new();
    let mut scratch = Scratch::default();
    for &(cap, of) in limits {
        members.clear();
        members.extend(of.iter().map(|&p| p as usize));
        if let Some(t) = capacity_bound(cap, &members, &release, len, allowed, &mut scratch) {
            bound = bound.max(t);
        }
    }
    Some(bound)
}

/// Each live target's release: its first candidate, after its project's earlier tiers allow.
fn releases(
    inv: &Inventory,
    campaign: &Campaign,
    targets: &[u32],
    allowed: &Allowed<'_>,
    live: &[usize],
    len: i64,
) -> Vec<Option<i64>> {
    let mut release = vec![None; targets.len()];
    let first =
        |p: usize, t: i64| (allowed.starts)(p).iter().find(|(_, last)| *last >= t).map(|(first, _)| (*first).max(t));
    let chained = campaign.scope == Scope::Machines && campaign.tier_order.len() > 1;
    // (project, phase, position) of every ordered machine, grouped by sorting.
    let mut chain: Vec<(usize, usize, usize)> = Vec::new();
    for &p in live {
        let m = chained.then(|| &inv.machines[targets[p] as usize]);
        match m.and_then(|m| campaign.tier_order.iter().position(|&t| t == m.tier).map(|ph| (m.project, ph))) {
            Some((project, phase)) => chain.push((project, phase, p)),
            None => release[p] = first(p, i64::MIN),
        }
    }
    chain.sort_unstable();
    let gap = campaign.tier_gap.seconds();
    for project in chain.chunk_by(|a, b| a.0 == b.0) {
        let mut ready: Option<i64> = None;
        for phase in project.chunk_by(|a, b| a.1 == b.1) {
            let from = ready.map_or(i64::MIN, |r| r + gap);
            let mut end: Option<i64> = None;
            for &(_, _, p) in phase {
                release[p] = first(p, from);
                if let Some(s) = release[p] {
                    end = Some(end.map_or(s + len, |e: i64| e.max(s + len)));
                }
            }
            // A member with no candidate after the gap leaves the later tiers unschedulable.
            if phase.iter().any(|&(_, _, p)| release[p].is_none()) {
                break;
            }
            ready = end;
        }
    }
    release
}

/// Reusable buffers, so that a quarter of a million small resources allocate nothing each.
#[derive(Default)]
struct Scratch {
    rel: Vec<(i64, usize)>,
    distinct: Vec<i64>,
    spans: Vec<(i64, i64)>,
    merged: Vec<(i64, i64)>,
    /// Per class: the threshold pass that last added its spans.
    stamp: Vec<u32>,
    pass: u32,
}

/// The earliest time by which `cap` parallel lanes hold the work of the members released at
/// or after some threshold, within the union of their allowed time after that threshold.
fn capacity_bound(
    cap: u32,
    members: &[usize],
    release: &[Option<i64>],
    len: i64,
    allowed: &Allowed<'_>,
    sc: &mut Scratch,
) -> Option<i64> {
    sc.rel.clear();
    sc.rel.extend(members.iter().filter_map(|&p| release[p].map(|r| (r, p))));
    sc.rel.sort_unstable();
    sc.distinct.clear();
    sc.distinct.extend(sc.rel.iter().map(|r| r.0));
    sc.distinct.dedup();
    let step = sc.distinct.len().div_ceil(THRESHOLDS).max(1);
    let mut best: Option<i64> = None;
    for i in (0..sc.distinct.len()).step_by(step) {
        let r = sc.distinct[i];
        let from = sc.rel.partition_point(|x| x.0 < r);
        let work = (sc.rel.len() - from) as i64 * len;
        sc.pass += 1;
        sc.spans.clear();
        for k in from..sc.rel.len() {
            let p = sc.rel[k].1;
            let class = (allowed.class)(p) as usize;
            if sc.stamp.len() <= class {
                sc.stamp.resize(class + 1, 0);
            }
            if sc.stamp[class] != sc.pass {
                sc.stamp[class] = sc.pass;
                sc.spans.extend((allowed.starts)(p).iter().filter(|s| s.1 >= r).map(|&(a, z)| (a.max(r), z + len)));
            }
        }
        if let Some(t) = fill(cap, &mut sc.spans, &mut sc.merged, work) {
            best = Some(best.map_or(t, |b| b.max(t)));
        }
    }
    best
}

/// When `cap` lanes over the union of `spans` have room for `work` seconds.
fn fill(cap: u32, spans: &mut [(i64, i64)], merged: &mut Vec<(i64, i64)>, work: i64) -> Option<i64> {
    spans.sort_unstable();
    merged.clear();
    for &(a, z) in spans.iter() {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(z),
            _ => merged.push((a, z)),
        }
    }
    let cap = i64::from(cap);
    let mut left = work;
    for &(a, z) in merged.iter() {
        let room = (z - a) * cap;
        if room >= left {
            return Some(a + (left + cap - 1) / cap);
        }
        left -= room;
    }
    None
}
