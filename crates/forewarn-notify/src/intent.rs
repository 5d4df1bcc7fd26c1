//! Messages as intents: what an event writes into the outbox instead of rendered mail, and
//! each message rendered from it when it is delivered.
//!
//! An event writes its [`Context`] once (the site as it was, the inventory versions its
//! people are read in, the campaign or the posts it tells of), a [`Part`] per customer whose
//! contacts it tells (the customer's machines and their slots, by their positions in the
//! stored inventory versions, which never change), and per message only whom it goes to
//! ([`To`]). Rendering reads nothing else: the same rows give the same bytes on every
//! attempt, in every instance, after any restart.

use forewarn_model::Inventory;
use forewarn_model::inventory::Contact;
use forewarn_status::{Post, Update};
use forewarn_store::{Body, NewMessage, SlotChange, SlotNotice, Subscriber, SubscriptionRequest, Told};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::Site;
use crate::campaign::{self, Affected, Info, NoSlot, Target, Tell};
use crate::email;
use crate::posts::{self, News};

/// The site as an event's messages show it (its secret is not stored: it is the
/// installation's, read from the store when rendering).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SiteSnapshot {
    name: String,
    base_url: String,
    from_name: String,
    from_address: String,
    /// Seconds.
    confirm_lifetime: i64,
}

impl SiteSnapshot {
    pub(crate) fn of(site: &Site) -> SiteSnapshot {
        SiteSnapshot {
            name: site.name.clone(),
            base_url: site.base_url.clone(),
            from_name: site.from_name.clone(),
            from_address: site.from_address.clone(),
            confirm_lifetime: site.confirm_lifetime.as_secs(),
        }
    }

    /// The site as it was, signing with `secret`.
    fn site(&self, secret: &[u8]) -> Site {
        Site {
            name: self.name.clone(),
            base_url: self.base_url.clone(),
            from_name: self.from_name.clone(),
            from_address: self.from_address.clone(),
            secret: secret.to_vec(),
            confirm_lifetime: jiff::SignedDuration::from_secs(self.confirm_lifetime),
        }
    }
}

/// What every message of an event is rendered from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Context {
    pub site: SiteSnapshot,
    /// The inventory version contacts (and the platform's zone) are read in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<i64>,
    /// The inventory version of the plan told before, where targets removed since are found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<i64>,
    /// What the contacts' messages tell of the campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<CampaignNews>,
    /// The posts subscribers are told of, each with what is new about it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub posts: Vec<PostNews>,
    /// The subscription request a confirmation is asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<(Subscriber, SubscriptionRequest)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CampaignNews {
    pub tell: Tell,
    pub info: Info,
    pub status_url: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PostNews {
    pub post: Post,
    pub news: StoredNews,
}

/// [`News`], owned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StoredNews {
    Created,
    Updated(Update),
    Corrected(String),
}

impl StoredNews {
    pub(crate) fn of(news: News<'_>) -> StoredNews {
        match news {
            News::Created => StoredNews::Created,
            News::Updated(u) => StoredNews::Updated(u.clone()),
            News::Corrected(note) => StoredNews::Corrected(note.to_owned()),
        }
    }

    fn news(&self) -> News<'_> {
        match self {
            StoredNews::Created => News::Created,
            StoredNews::Updated(u) => News::Updated(u),
            StoredNews::Corrected(note) => News::Corrected(note),
        }
    }
}

/// Whom a message goes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub(crate) enum To {
    /// Contact number `contact` of the part's customer.
    Contact { contact: usize },
    /// A subscriber (as it was) about post number `post` of the context.
    Subscriber { post: usize, subscriber: Subscriber },
    /// The subscriber of the context's confirmation.
    Confirmation,
}

/// Where a machine or customer is read: the inventory told now, or the one told before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Inv {
    #[serde(rename = "c")]
    Current,
    #[serde(rename = "p")]
    Previous,
}

/// A slot notice: target, start and end (microseconds), sequence, change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredSlot(String, i64, i64, u32, StoredChange);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum StoredChange {
    #[serde(rename = "u")]
    Unchanged,
    #[serde(rename = "n")]
    New,
    /// From start, from end (microseconds).
    #[serde(rename = "m")]
    Moved(i64, i64),
    #[serde(rename = "c")]
    Cancelled,
}

impl StoredSlot {
    fn of(s: &SlotNotice) -> StoredSlot {
        let change = match s.change {
            SlotChange::Unchanged => StoredChange::Unchanged,
            SlotChange::New => StoredChange::New,
            SlotChange::Moved { from_start, from_end } => {
                StoredChange::Moved(from_start.as_microsecond(), from_end.as_microsecond())
            }
            SlotChange::Cancelled => StoredChange::Cancelled,
        };
        StoredSlot(s.target.clone(), s.start.as_microsecond(), s.end.as_microsecond(), s.sequence, change)
    }

    fn notice(&self) -> Result<SlotNotice, String> {
        let t = |us: i64| Timestamp::from_microsecond(us).map_err(|e| format!("slot of `{}`: {e}", self.0));
        let change = match self.4 {
            StoredChange::Unchanged => SlotChange::Unchanged,
            StoredChange::New => SlotChange::New,
            StoredChange::Moved(from_start, from_end) => {
                SlotChange::Moved { from_start: t(from_start)?, from_end: t(from_end)? }
            }
            StoredChange::Cancelled => SlotChange::Cancelled,
        };
        Ok(SlotNotice {
            target: self.0.clone(),
            start: t(self.1)?,
            end: t(self.2)?,
            sequence: self.3,
            change,
            reminded: false,
        })
    }
}

/// One customer's part of a campaign event: its machines with their slots and those without.
/// Machines and the customer are named by their positions in the stored inventory versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Part {
    customer: (Inv, usize),
    slots: Vec<StoredSlot>,
    /// Machine (where, position) and the position of its slot in `slots`.
    targets: Vec<(Inv, usize, usize)>,
    /// Machine (where, position) and why it got no slot.
    unscheduled: Vec<(Inv, usize, String)>,
    new_unscheduled: bool,
}

/// The position of `item` in `all`, if it is one of its elements.
fn position<T>(all: &[T], item: &T) -> Option<usize> {
    let size = std::mem::size_of::<T>().max(1);
    let offset = (item as *const T as usize).checked_sub(all.as_ptr() as usize)?;
    let i = offset / size;
    (offset % size == 0 && i < all.len() && std::ptr::eq(&all[i], item)).then_some(i)
}

/// The inventories an event's people are read in.
#[derive(Clone, Copy, Debug, Default)]
pub struct Inventories<'a> {
    pub current: Option<&'a Inventory>,
    pub previous: Option<&'a Inventory>,
}

impl<'a> Inventories<'a> {
    fn get(&self, inv: Inv) -> Result<&'a Inventory, String> {
        match inv {
            Inv::Current => self.current.ok_or_else(|| "the event's inventory is not at hand".to_owned()),
            Inv::Previous => self.previous.ok_or_else(|| "the event's previous inventory is not at hand".to_owned()),
        }
    }

    fn which(&self, inv: &Inventory) -> Result<Inv, String> {
        if self.current.is_some_and(|c| std::ptr::eq(c, inv)) {
            Ok(Inv::Current)
        } else if self.previous.is_some_and(|p| std::ptr::eq(p, inv)) {
            Ok(Inv::Previous)
        } else {
            Err("a machine of neither inventory".to_owned())
        }
    }
}

impl Part {
    /// The part of `affected`, whose machines and customer are in `invs`.
    pub(crate) fn of(affected: &Affected<'_, '_>, invs: Inventories<'_>) -> Result<Part, String> {
        let customer = match invs.current.and_then(|inv| position(&inv.customers, affected.customer)) {
            Some(i) => (Inv::Current, i),
            None => invs
                .previous
                .and_then(|inv| position(&inv.customers, affected.customer))
                .map(|i| (Inv::Previous, i))
                .ok_or_else(|| format!("customer `{}` is in neither inventory", affected.customer.id))?,
        };
        let machine = |inv: &Inventory, m: &forewarn_model::inventory::Machine| -> Result<(Inv, usize), String> {
            let which = invs.which(inv)?;
            let i = position(&inv.machines, m).ok_or_else(|| format!("machine `{}` is not in its inventory", m.id))?;
            Ok((which, i))
        };
        let mut slots: Vec<StoredSlot> = Vec::new();
        let mut targets = Vec::with_capacity(affected.targets.len());
        let mut last: Option<(*const SlotNotice, usize)> = None;
        for t in &affected.targets {
            // In host campaigns one slot stands for every machine on the host: stored once.
            let slot = match last {
                Some((p, i)) if std::ptr::eq(p, t.slot) => i,
                _ => {
                    slots.push(StoredSlot::of(t.slot));
                    slots.len() - 1
                }
            };
            last = Some((t.slot, slot));
            let (which, i) = machine(t.inv, t.machine)?;
            targets.push((which, i, slot));
        }
        let unscheduled = affected
            .unscheduled
            .iter()
            .map(|u| machine(u.inv, u.machine).map(|(which, i)| (which, i, u.reason.to_owned())))
            .collect::<Result<_, _>>()?;
        Ok(Part { customer, slots, targets, unscheduled, new_unscheduled: affected.new_unscheduled })
    }
}

/// An event's context, parsed: what rendering its messages needs to be given.
#[derive(Clone, Debug)]
pub struct Rendering {
    context: Context,
}

impl Rendering {
    pub fn parse(context: &str) -> Result<Rendering, String> {
        serde_json::from_str(context).map(|context| Rendering { context }).map_err(|e| format!("event context: {e}"))
    }

    /// The inventory versions to give [`Rendering::render`]: the current one and the
    /// previous one.
    pub fn inventories(&self) -> (Option<i64>, Option<i64>) {
        (self.context.inventory, self.context.previous)
    }

    /// The message under `key` of the event that happened at `at`, to the recipient `data`
    /// names, reading `part` if it names one. `site` gives the secret that signs links;
    /// everything else comes from the stored rows and `invs` (the versions
    /// [`Rendering::inventories`] names).
    pub fn render(
        &self,
        site: &Site,
        invs: Inventories<'_>,
        key: &str,
        at: Timestamp,
        part: Option<&str>,
        data: &str,
    ) -> Result<String, String> {
        let cx = &self.context;
        let site = cx.site.site(&site.secret);
        let to: To = serde_json::from_str(data).map_err(|e| format!("message `{key}`: whom it goes to: {e}"))?;
        let zone = invs.current.map_or_else(forewarn_model::Zone::utc, |inv| inv.platform.zone.clone());
        let email = match to {
            To::Contact { contact } => {
                let news =
                    cx.campaign.as_ref().ok_or_else(|| format!("message `{key}`: the event tells no campaign"))?;
                let part = part.ok_or_else(|| format!("message `{key}` to a contact reads no part"))?;
                let part: Part = serde_json::from_str(part).map_err(|e| format!("message `{key}`: its part: {e}"))?;
                return contact_email(&site, news, invs, &part, contact, key, at);
            }
            To::Subscriber { post, subscriber } => {
                let p = cx.posts.get(post).ok_or_else(|| format!("message `{key}`: the event has no post {post}"))?;
                posts::email(&site, &zone, &subscriber, &p.post, p.news.news(), at)
            }
            To::Confirmation => {
                let (subscriber, request) = cx
                    .confirmation
                    .as_ref()
                    .ok_or_else(|| format!("message `{key}`: the event asks no confirmation"))?;
                posts::confirmation(&site, &zone, subscriber, request, at)
            }
        };
        email::render(&site, key, at, &email).map_err(|e| e.0)
    }
}

fn contact_email(
    site: &Site,
    news: &CampaignNews,
    invs: Inventories<'_>,
    part: &Part,
    contact: usize,
    key: &str,
    at: Timestamp,
) -> Result<String, String> {
    let inv = invs.get(Inv::Current)?;
    let customer = invs
        .get(part.customer.0)?
        .customers
        .get(part.customer.1)
        .ok_or_else(|| format!("message `{key}`: its customer is not in the inventory"))?;
    // Contacts as the current inventory has them, when it still has the customer.
    let contact: &Contact = customer
        .contacts
        .get(contact)
        .ok_or_else(|| format!("message `{key}`: customer `{}` has no contact {contact}", customer.id))?;
    let slots: Vec<SlotNotice> = part.slots.iter().map(StoredSlot::notice).collect::<Result<_, _>>()?;
    let machine = |(which, i): (Inv, usize)| -> Result<(&Inventory, &forewarn_model::inventory::Machine), String> {
        let inv = invs.get(which)?;
        let m = inv.machines.get(i).ok_or_else(|| format!("message `{key}`: machine {i} is not in its inventory"))?;
        Ok((inv, m))
    };
    let mut targets = Vec::with_capacity(part.targets.len());
    for &(which, i, slot) in &part.targets {
        let (inv, machine) = machine((which, i))?;
        let slot = slots.get(slot).ok_or_else(|| format!("message `{key}`: slot {slot} is not in its part"))?;
        targets.push(Target { machine, inv, slot });
    }
    let mut unscheduled = Vec::with_capacity(part.unscheduled.len());
    for (which, i, reason) in &part.unscheduled {
        let (inv, machine) = machine((*which, *i))?;
        unscheduled.push(NoSlot { machine, inv, reason });
    }
    let affected = Affected { customer, targets, unscheduled, new_unscheduled: part.new_unscheduled };
    let domain = site.domain();
    let cx = campaign::Context { site, inv, info: &news.info, status_url: &news.status_url, at, domain: &domain };
    let email = campaign::email(&cx, news.tell, &affected, contact);
    email::render(site, key, at, &email).map_err(|e| e.0)
}

/// A message of an event not written yet (a rehearsal's), as it would go out.
pub fn render_new(
    site: &Site,
    invs: Inventories<'_>,
    at: Timestamp,
    told: &Told,
    m: &NewMessage,
) -> Result<String, String> {
    match &m.body {
        Body::Written(payload) => Ok(payload.clone()),
        Body::Later { part, data } => {
            let part = match part {
                Some(i) => {
                    Some(told.parts.get(*i as usize).ok_or_else(|| format!("message `{}`: no part {i}", m.key))?)
                }
                None => None,
            };
            Rendering::parse(&told.context)?.render(site, invs, &m.key, at, part.map(String::as_str), data)
        }
    }
}
