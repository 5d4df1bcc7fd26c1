//! Webhook events: one JSON body per event and URL, `{"id", "type", "at", "data"}`, signed
//! on delivery with [`crate::sign_webhook`]. Times are RFC 3339 in UTC.

use forewarn_status::when::rfc3339;
use forewarn_status::{Post, Update};
use forewarn_store::{SlotChange, SlotNotice, StoredCampaign};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use crate::Site;
use crate::campaign::Info;

/// The body POSTed to every webhook URL.
#[derive(Serialize)]
struct Body<'a> {
    /// The message key: the same on every retry, so receivers can drop repeats.
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    at: String,
    data: &'a Value,
}

/// The JSON body of one webhook message.
pub(crate) fn body(key: &str, kind: &str, at: Timestamp, data: &Value) -> String {
    let body = Body { id: key, kind, at: rfc3339(at), data };
    serde_json::to_string(&body).unwrap_or_else(|_| "{}".to_owned())
}

fn time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(rfc3339(t)))
}

pub(crate) fn post(site: &Site, p: &Post) -> Value {
    json!({
        "id": p.id,
        "url": site.post_url(p.id),
        "kind": p.kind.name(),
        "state": p.state.name(),
        "title": p.title,
        "body": p.body,
        "starts": time(p.starts),
        "ends": time(p.ends),
        "components": p.components,
        "campaign": p.campaign,
        "created": rfc3339(p.created),
        "updated": rfc3339(p.updated),
        "revision": p.revision,
    })
}

pub(crate) fn update(u: &Update) -> Value {
    json!({
        "id": u.id,
        "post": u.post,
        "at": rfc3339(u.at),
        "state": u.state.map(|s| s.name()),
        "body": u.body,
        "author": u.author,
    })
}

pub(crate) fn campaign(c: &StoredCampaign, info: &Info) -> Value {
    json!({
        "id": c.id,
        "title": info.title,
        "state": c.state.as_str(),
        "scope": match info.scope {
            forewarn_model::campaign::Scope::Machines => "machines",
            forewarn_model::campaign::Scope::Hosts => "hosts",
        },
        "plan_version": c.published_plan,
    })
}

/// At most this many slots are listed in a webhook body; the counts cover all of them and
/// the campaign's slots are at the API (`slots_url`).
pub(crate) const LISTED_SLOTS: usize = 100;

fn slot(s: &SlotNotice) -> Value {
    let mut v = json!({
        "target": s.target,
        "start": rfc3339(s.start),
        "end": rfc3339(s.end),
        "sequence": s.sequence,
    });
    let change = match s.change {
        SlotChange::Unchanged => "unchanged",
        SlotChange::New => "new",
        SlotChange::Moved { from_start, from_end } => {
            v["from_start"] = Value::String(rfc3339(from_start));
            v["from_end"] = Value::String(rfc3339(from_end));
            "moved"
        }
        SlotChange::Cancelled => "cancelled",
    };
    v["change"] = Value::String(change.to_owned());
    v
}

fn slots_url(site: &Site, campaign: &str) -> String {
    site.url(&format!("/api/v1/campaigns/{campaign}/slots"))
}

/// The slots of a campaign event, bounded: how many there are by change, and the first
/// [`LISTED_SLOTS`] of them, those that changed first (by start, then target), so that a
/// campaign of a million machines still makes a small body.
pub(crate) fn slots(site: &Site, campaign: &str, slots: &[SlotNotice]) -> Value {
    let count = |f: &dyn Fn(&SlotChange) -> bool| slots.iter().filter(|s| f(&s.change)).count();
    let mut listed: Vec<&SlotNotice> = slots.iter().filter(|s| s.change != SlotChange::Unchanged).collect();
    listed.extend(slots.iter().filter(|s| s.change == SlotChange::Unchanged));
    listed.truncate(LISTED_SLOTS);
    json!({
        "total": slots.len(),
        "new": count(&|c| *c == SlotChange::New),
        "moved": count(&|c| matches!(c, SlotChange::Moved { .. })),
        "cancelled": count(&|c| *c == SlotChange::Cancelled),
        "unchanged": count(&|c| *c == SlotChange::Unchanged),
        "listed": listed.iter().map(|s| slot(s)).collect::<Vec<_>>(),
        "url": slots_url(site, campaign),
    })
}

/// The data of `slot.started` and `slot.finished`: the campaign's id, how many slots, and
/// the first [`LISTED_SLOTS`] of them, each with its planned times. `source` says where the
/// news comes from: `schedule` (the planned time has passed) until machine agents report
/// real times.
pub(crate) fn progress(site: &Site, campaign: &StoredCampaign, slots: &[SlotNotice]) -> Value {
    json!({
        "campaign": campaign.id,
        "source": "schedule",
        "total": slots.len(),
        "slots": slots
            .iter()
            .take(LISTED_SLOTS)
            .map(|s| json!({
                "target": s.target,
                "start": rfc3339(s.start),
                "end": rfc3339(s.end),
                "sequence": s.sequence,
            }))
            .collect::<Vec<_>>(),
        "url": slots_url(site, &campaign.id),
    })
}
