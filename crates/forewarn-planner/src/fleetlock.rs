//! FleetLock admission: whether a machine may take its group's lock at an instant, given the
//! locks held and the slots running then. A FleetLock group is a campaign with
//! `mode = "fleetlock"`: it has no planned slots; a lock is its machine's slot, starting at
//! the grant and lasting the campaign's activities back to back. A lock is granted only
//! where a planned slot could be: inside the campaign's range (after the notice), inside one
//! occurrence of the machine's window, outside every blackout that applies, and within every
//! limit counted together with whatever else holds the same host, rack, customer or
//! redundancy group. Pure: the caller passes the instant and what holds.

use forewarn_model::campaign::{Campaign, Scope};
use forewarn_model::inventory::Inventory;
use forewarn_model::window::occurrences_of;
use jiff::Timestamp;

use crate::explain::local;

/// Something that takes a machine down over `[start, end)`: a lock held (`end` is
/// `i64::MAX` until it is released) or a slot of another campaign running.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    /// Index of the machine in the inventory.
    pub machine: usize,
    pub start: i64,
    pub end: i64,
}

/// Why a lock is not granted: a low-cardinality `kind` (FleetLock's error `kind`) and the
/// reason in words (its `value`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub kind: Kind,
    pub value: String,
}

/// The kinds of refusal, as FleetLock's error `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The machine is not among the group's targets.
    NotInGroup,
    /// Before the group's start (with the notice) or too late to end before its end.
    OutsideCampaign,
    OutsideMaintenanceWindow,
    Blackout,
    LimitReached,
}

impl Kind {
    pub const ALL: [Kind; 5] =
        [Kind::NotInGroup, Kind::OutsideCampaign, Kind::OutsideMaintenanceWindow, Kind::Blackout, Kind::LimitReached];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::NotInGroup => "not_in_group",
            Kind::OutsideCampaign => "outside_campaign",
            Kind::OutsideMaintenanceWindow => "outside_maintenance_window",
            Kind::Blackout => "blackout",
            Kind::LimitReached => "limit_reached",
        }
    }
}

fn refused(kind: Kind, value: String) -> Result<(), Refused> {
    Err(Refused { kind, value })
}

/// Whether `machine` (an inventory index) may take the lock of `campaign`'s group at `at`
/// (unix seconds) while `holds` hold other machines. `holds` may name the machine itself
/// (ignored): a lock it already holds is the caller's to find first (locks are recursive).
pub fn admit(inv: &Inventory, campaign: &Campaign, holds: &[Hold], machine: usize, at: i64) -> Result<(), Refused> {
    let m = &inv.machines[machine];
    let group = &campaign.id;
    let customer = inv.customer_of(m);
    let zone = inv.zone_for(customer);
    if campaign.scope != Scope::Machines || !campaign.targets_machine(inv, m) {
        return refused(Kind::NotInGroup, format!("`{}` is not among the machines of group `{group}`", m.id));
    }
    let len = campaign.slot_length().seconds();
    let end = at.saturating_add(len);
    let (first, last) = (campaign.earliest_start().as_second(), campaign.ends.as_second());
    if at < first || end > last {
        return refused(
            Kind::OutsideCampaign,
            format!(
                "group `{group}` takes locks from {} to {} (a reboot is expected to take {}), not at {}",
                local(first, zone),
                local(last - len, zone),
                campaign.slot_length(),
                local(at, zone)
            ),
        );
    }

    let (_, windows) = inv.machine_windows(m);
    let ts = |t: i64| Timestamp::from_second(t).unwrap_or(Timestamp::MAX);
    let now = occurrences_of(windows, zone, ts(at), ts(end));
    if !now.iter().any(|o| o.start.as_second() <= at && end <= o.end.as_second()) {
        let text = forewarn_model::window::describe(windows, zone);
        let next = occurrences_of(windows, zone, ts(at.saturating_add(1)), ts(last))
            .into_iter()
            .map(|o| o.start.as_second())
            .find(|&s| s > at && s.saturating_add(len) <= last);
        let closing = now.iter().find(|o| o.start.as_second() <= at && at < o.end.as_second());
        let why = match closing {
            Some(o) => format!(
                "`{}`'s maintenance window ({text}) closes at {}, before a reboot of {} would end",
                m.id,
                local(o.end.as_second(), zone),
                campaign.slot_length()
            ),
            None if windows.is_empty() => format!("`{}` has no maintenance window", m.id),
            None => format!("`{}` is outside its maintenance window ({text})", m.id),
        };
        let then = match next {
            Some(s) => format!("; it next opens {}", local(s, zone)),
            None => " and it does not open again before the group ends".to_owned(),
        };
        return refused(Kind::OutsideMaintenanceWindow, format!("{why}{then}"));
    }

    let blackouts = inv.platform.blackouts.iter().chain(inv.blackouts_for(customer));
    for b in blackouts {
        let (bs, be) = (b.from.as_second(), b.to.as_second());
        if bs < end && at < be {
            let reason = if b.reason.is_empty() { String::new() } else { format!(" ({})", b.reason) };
            return refused(
                Kind::Blackout,
                format!("a blackout{reason} from {} to {} covers `{}`", local(bs, zone), local(be, zone), m.id),
            );
        }
    }

    // Every limit, counted over what overlaps [at, end) on another machine.
    let l = campaign.limits;
    let host = &inv.hosts[m.host];
    let mut holders: Vec<&Hold> =
        holds.iter().filter(|h| h.machine != machine && h.start < end && at < h.end).collect();
    holders.sort_by_key(|h| h.machine);
    holders.dedup_by_key(|h| h.machine);
    let over = |cap: Option<u32>, same: &dyn Fn(usize) -> bool| -> Option<(u32, Vec<usize>)> {
        let cap = cap?;
        let who: Vec<usize> = holders.iter().map(|h| h.machine).filter(|&o| same(o)).collect();
        (who.len() as u32 >= cap).then_some((cap, who))
    };
    let words = |key: &str, cap: u32, of: String, who: Vec<usize>| {
        let names: Vec<String> = who.iter().take(3).map(|&o| format!("`{}`", inv.machines[o].id)).collect();
        let more = if who.len() > 3 { format!(" and {} more", who.len() - 3) } else { String::new() };
        format!("{key} = {cap}{of} is reached: {}{more} down now; try again when one is back", names.join(", "))
    };
    let machines = &inv.machines;
    if let Some((cap, who)) = over(l.global, &|_| true) {
        return refused(Kind::LimitReached, words("global", cap, String::new(), who));
    }
    if let Some((cap, who)) = over(l.per_host, &|o| machines[o].host == m.host) {
        return refused(Kind::LimitReached, words("per_host", cap, format!(" on host `{}`", host.id), who));
    }
    if let Some((cap, who)) = over(l.per_rack, &|o| inv.hosts[machines[o].host].rack == host.rack) {
        return refused(Kind::LimitReached, words("per_rack", cap, format!(" in rack `{}`", host.rack), who));
    }
    let c = inv.customer_index_of(m);
    if let Some((cap, who)) = over(l.per_customer, &|o| inv.customer_index_of(&machines[o]) == c) {
        return refused(
            Kind::LimitReached,
            words("per_customer", cap, format!(" for customer `{}`", customer.id), who),
        );
    }
    for &g in m.groups.iter() {
        if let Some((cap, who)) = over(Some(campaign.per_group()), &|o| machines[o].groups.contains(&g)) {
            let name = &inv.groups[g as usize];
            return refused(Kind::LimitReached, words("per_group", cap, format!(" in redundancy group `{name}`"), who));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
