//! forewarn's messages. [`Messages`] is the store's [`Notifier`]: pure (no IO, no clock; the
//! time is the event's), it decides what each change tells whom and renders it, as emails
//! (text, HTML and iCalendar parts, built with lettre) and webhook events. `deliver` sends
//! what the outbox holds: SMTP through lettre, or the capture mailbox; webhooks over HTTP.
//!
//! Who gets what:
//! - contacts of the customers whose machines have slots: one email per contact and change
//!   (published, slots changed, campaign cancelled, reminder) listing all their machines,
//!   in their language and zone, with calendar parts; none when the campaign file says
//!   `notify_contacts = false`;
//! - confirmed subscribers: each post, update and correction that concerns a component they
//!   chose, with an unsubscribe link; and the confirmation request of a new subscription;
//! - every configured webhook URL: one JSON event per change (not for subscriptions or
//!   reminders); slots that started or finished (`slot.started`, `slot.finished`, by the
//!   schedule for now) are told to webhooks only.
//!
//! Every message's key is `{seq}.{n}@{domain}`: the event's sequence number, the message's
//! position in the event's list and the host of the site's URL; for email it is the
//! Message-ID.

mod calendar;
mod campaign;
mod doc;
mod email;
pub mod links;
mod posts;
pub mod read;
mod webhook;
mod words;

pub mod deliver;

#[cfg(test)]
mod tests;

use std::fmt;

use forewarn_model::inventory::Contact;
use forewarn_model::{Inventory, Zone};
use forewarn_status::Post;
use forewarn_store::{CampaignState, Channel, Event, NewMessage, Notifier, SlotNotice, What};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

pub use links::{LinkError, sign_webhook};

use crate::campaign::{Context, Info, Tell};
use crate::email::Email;
use crate::posts::News;

/// How long a subscription's confirmation link works by default.
pub const CONFIRM_LIFETIME: SignedDuration = SignedDuration::from_hours(7 * 24);

/// How long the unsubscribe link of a message works: every message carries a fresh one, and
/// asking to subscribe again sends an address a message with one.
pub const UNSUBSCRIBE_LIFETIME: SignedDuration = SignedDuration::from_hours(90 * 24);

/// Where messages come from and what their links point to.
#[derive(Clone, PartialEq, Eq)]
pub struct Site {
    /// The platform's name, in subjects and signatures: "Lindenau Hosting".
    pub name: String,
    /// The status page's URL, without a trailing slash: `https://status.example.net`.
    pub base_url: String,
    /// The `From` of every email: `from_name <from_address>`.
    pub from_name: String,
    pub from_address: String,
    /// Signs subscribers' links ([`links`]).
    pub secret: Vec<u8>,
    /// How long a confirmation link works ([`CONFIRM_LIFETIME`]).
    pub confirm_lifetime: SignedDuration,
}

impl fmt::Debug for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Site")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("from_name", &self.from_name)
            .field("from_address", &self.from_address)
            .field("secret", &"<redacted>")
            .field("confirm_lifetime", &self.confirm_lifetime)
            .finish()
    }
}

impl Site {
    /// An absolute URL of the site: `url("/posts/3")`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches('/'))
    }

    /// The host of the base URL, lower case: the domain of message keys and calendar UIDs.
    pub fn domain(&self) -> String {
        forewarn_status::Site::new(self.name.clone(), self.base_url.clone(), Zone::utc()).host()
    }

    /// A post on the status page.
    pub fn post_url(&self, id: i64) -> String {
        self.url(&format!("/posts/{id}"))
    }

    /// The one-click unsubscribe link of the message to subscription `subscriber` written
    /// at `sent`: it works for [`UNSUBSCRIBE_LIFETIME`] from then.
    pub fn unsubscribe_url(&self, subscriber: i64, sent: Timestamp) -> String {
        let expires = sent.checked_add(UNSUBSCRIBE_LIFETIME).unwrap_or(sent);
        self.url(&format!("/unsubscribe?token={}", links::unsubscribe_token(&self.secret, subscriber, sent, expires)))
    }
}

/// The store's notifier: what each change tells whom.
#[derive(Clone, Copy, Debug)]
pub struct Messages<'a> {
    pub site: &'a Site,
    /// For campaign events, the inventory version the campaign's plan was made from (who is
    /// affected and how to reach them); without it no contact is told. For other events the
    /// latest inventory, or `None`. Subscribers read times in its platform's zone (in UTC
    /// without one).
    pub inventory: Option<&'a Inventory>,
    /// The webhook URLs, each told of every event.
    pub webhooks: &'a [String],
    /// What a campaign's publication or newer plan tells besides its slots.
    pub publication: Publication<'a>,
}

/// What publishing a plan version tells besides the slots (empty for other events).
#[derive(Clone, Copy, Debug, Default)]
pub struct Publication<'a> {
    /// The inventory of the plan version its contacts were told before, where targets
    /// removed from the inventory since are found (their slots are cancelled).
    pub previous: Option<&'a Inventory>,
    /// The targets of the plan version told now that got no slot, with the reason.
    pub unscheduled: &'a [(String, String)],
    /// Those of them that were without a slot in the version told before (not news).
    pub told_unscheduled: &'a [String],
}

/// The messages of one event, keyed by their position.
struct Out<'a> {
    site: &'a Site,
    seq: i64,
    at: Timestamp,
    domain: String,
    list: Vec<NewMessage>,
    /// The position of the next message in the event: its key's `n`.
    next: usize,
    /// Why messages could not be written: the event is refused with these.
    errors: Vec<String>,
}

impl Out<'_> {
    fn key(&mut self) -> String {
        self.next += 1;
        format!("{}.{}@{}", self.seq, self.next - 1, self.domain)
    }

    fn email(&mut self, email: &Email, cause: String) {
        let key = self.key();
        match self.rendered(key, email, cause) {
            Ok(m) => self.list.push(m),
            Err(e) => self.errors.push(e),
        }
    }

    /// An email as it goes out, or why it cannot be written (the event is then refused).
    fn rendered(&self, key: String, email: &Email, cause: String) -> Result<NewMessage, String> {
        match email::render(self.site, &key, self.at, email) {
            Ok(payload) => Ok(NewMessage {
                key,
                channel: Channel::Email,
                sender: self.site.from_address.clone(),
                recipient: email.to.clone(),
                subject: email.subject.clone(),
                cause,
                payload,
                due: self.at,
            }),
            Err(e) => Err(format!("the mail to {} ({cause}) cannot be written: {}", email.to, e.0)),
        }
    }

    fn webhooks(&mut self, urls: &[String], kind: &str, cause: &str, data: &Value) {
        for url in urls {
            let key = self.key();
            let payload = webhook::body(&key, kind, self.at, data);
            self.list.push(NewMessage {
                key,
                channel: Channel::Webhook,
                sender: String::new(),
                recipient: url.clone(),
                subject: kind.to_owned(),
                cause: cause.to_owned(),
                payload,
                due: self.at,
            });
        }
    }
}

impl Messages<'_> {
    /// Every contact of every customer with a machine in `slots` gets one email; with
    /// [`Tell::Changed`] only customers with a new, moved or cancelled slot, or a machine
    /// newly without one. Published and changed plans also list the customer's machines
    /// that got no slot, with the reason and what happens next.
    fn tell_contacts(&self, out: &mut Out<'_>, info: &Info, tell: Tell, status_url: &str, slots: &[SlotNotice]) {
        let Some(inv) = self.inventory else { return };
        if !info.notify_contacts {
            return;
        }
        // A cancellation tells of the slots it cancelled, not of those that took place.
        let cancelled: Vec<SlotNotice>;
        let slots = if tell == Tell::Cancelled {
            cancelled = slots.iter().filter(|s| s.change == forewarn_store::SlotChange::Cancelled).cloned().collect();
            &cancelled[..]
        } else {
            slots
        };
        let domain = out.domain.clone();
        let cx = Context { site: self.site, inv, info, status_url, at: out.at, domain: &domain };
        let fleet = campaign::Fleet { inv, previous: self.publication.previous, scope: info.scope };
        let unscheduled: &[(String, String)] =
            if matches!(tell, Tell::Published | Tell::Changed) { self.publication.unscheduled } else { &[] };
        let told = self.publication.told_unscheduled;
        let is_new = |target: &str| tell == Tell::Published || !told.iter().any(|t| t == target);
        let affected = campaign::affected(fleet, slots, unscheduled, &is_new);
        // One job a contact, in a fixed order, so each message's key is its position.
        let mut jobs = Vec::new();
        for a in &affected {
            let changed = a.targets.iter().any(|t| t.slot.change != forewarn_store::SlotChange::Unchanged);
            let news = match tell {
                Tell::Published => true,
                Tell::Changed => changed || a.new_unscheduled,
                Tell::Cancelled | Tell::Reminder => !a.targets.is_empty(),
            };
            if !news {
                continue;
            }
            for contact in &a.customer.contacts {
                jobs.push((out.key(), a, contact));
            }
        }
        // Written on every core: a campaign of a million machines tells 100,000 contacts.
        let out_ref = &*out;
        let render = |part: &[(String, &campaign::Affected<'_, '_>, &Contact)]| -> Vec<Result<NewMessage, String>> {
            part.iter()
                .map(|(key, affected, contact)| {
                    let email = campaign::email(&cx, tell, affected, contact);
                    out_ref.rendered(key.clone(), &email, tell.cause(&info.id))
                })
                .collect()
        };
        let threads = std::thread::available_parallelism().map_or(1, usize::from).min(8);
        let rendered: Vec<Vec<Result<NewMessage, String>>> = if jobs.len() < 64 || threads < 2 {
            vec![render(&jobs)]
        } else {
            let chunk = jobs.len().div_ceil(threads);
            std::thread::scope(|scope| {
                let handles: Vec<_> = jobs.chunks(chunk).map(|part| scope.spawn(move || render(part))).collect();
                // A panic is the caller's: the change and its messages are not written.
                handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
            })
        };
        for m in rendered.into_iter().flatten() {
            match m {
                Ok(m) => out.list.push(m),
                Err(e) => out.errors.push(e),
            }
        }
    }

    fn tell_subscribers(
        &self,
        out: &mut Out<'_>,
        post: &Post,
        news: News<'_>,
        subscribers: &[forewarn_store::Subscriber],
        cause: &str,
    ) {
        let zone = self.zone();
        let at = out.at;
        for sub in subscribers.iter().filter(|s| posts::wants(s, post)) {
            out.email(&posts::email(self.site, &zone, sub, post, news, at), cause.to_owned());
        }
    }

    /// The zone subscribers read times in: the platform's.
    fn zone(&self) -> Zone {
        self.inventory.map_or_else(Zone::utc, |inv| inv.platform.zone.clone())
    }

    fn campaign_status_url(&self, post: Option<&Post>) -> String {
        post.map_or_else(|| self.site.url("/"), |p| self.site.post_url(p.id))
    }
}

impl Notifier for Messages<'_> {
    fn messages(&self, event: &Event<'_>) -> Result<Vec<NewMessage>, String> {
        let mut out = Out {
            site: self.site,
            seq: event.seq,
            at: event.at,
            domain: self.site.domain(),
            list: Vec::new(),
            next: 0,
            errors: Vec::new(),
        };
        let site = self.site;
        match event.what {
            What::CampaignPublished { campaign, post, slots, subscribers } => {
                let info = Info::of(campaign, self.inventory)?;
                let cause = Tell::Published.cause(&info.id);
                self.tell_contacts(&mut out, &info, Tell::Published, &site.post_url(post.id), slots);
                self.tell_subscribers(&mut out, post, News::Created, subscribers, &cause);
                let data = json!({
                    "campaign": webhook::campaign(campaign, &info),
                    "post": webhook::post(site, post),
                    "slots": webhook::slots(slots),
                });
                out.webhooks(self.webhooks, "campaign.published", &cause, &data);
            }
            What::SlotsChanged { campaign, post, slots } => {
                let info = Info::of(campaign, self.inventory)?;
                let cause = Tell::Changed.cause(&info.id);
                self.tell_contacts(&mut out, &info, Tell::Changed, &self.campaign_status_url(post), slots);
                let data = json!({
                    "campaign": webhook::campaign(campaign, &info),
                    "post": post.map(|p| webhook::post(site, p)),
                    "slots": webhook::slots(slots),
                });
                out.webhooks(self.webhooks, "slots.changed", &cause, &data);
            }
            What::CampaignStateChanged { campaign, from, reason, posts, slots, subscribers } => {
                let mut info = Info::of(campaign, self.inventory)?;
                info.reason = reason.map(str::to_owned);
                let to = campaign.state;
                let (kind, verb) = match (from, to) {
                    (_, CampaignState::Paused) => ("campaign.paused", "paused"),
                    (CampaignState::Draft, CampaignState::Published) => ("campaign.published", "published"),
                    (_, CampaignState::Published) => ("campaign.resumed", "resumed"),
                    (_, CampaignState::Cancelled) => ("campaign.cancelled", "cancelled"),
                    (_, CampaignState::Completed) => ("campaign.completed", "completed"),
                    (_, CampaignState::Draft) => ("campaign.draft", "back to draft"),
                };
                let cause = format!("campaign `{}` {verb}", info.id);
                if to == CampaignState::Cancelled && from != CampaignState::Draft {
                    let url = self.campaign_status_url(posts.first().map(|(p, _)| p));
                    self.tell_contacts(&mut out, &info, Tell::Cancelled, &url, slots);
                }
                for (post, update) in posts {
                    self.tell_subscribers(&mut out, post, News::Updated(update), subscribers, &cause);
                }
                let data = json!({
                    "campaign": webhook::campaign(campaign, &info),
                    "from": from.as_str(),
                    "reason": reason,
                    "posts": posts
                        .iter()
                        .map(|(p, u)| json!({ "post": webhook::post(site, p), "update": webhook::update(u) }))
                        .collect::<Vec<_>>(),
                });
                out.webhooks(self.webhooks, kind, &cause, &data);
            }
            What::PostCreated { post, subscribers } => {
                let cause = News::Created.cause(post);
                self.tell_subscribers(&mut out, post, News::Created, subscribers, &cause);
                out.webhooks(self.webhooks, "post.created", &cause, &json!({ "post": webhook::post(site, post) }));
            }
            What::PostUpdated { post, update, subscribers } => {
                let news = News::Updated(update);
                let cause = news.cause(post);
                self.tell_subscribers(&mut out, post, news, subscribers, &cause);
                let data = json!({ "post": webhook::post(site, post), "update": webhook::update(update) });
                out.webhooks(self.webhooks, "post.updated", &cause, &data);
            }
            What::PostCorrected { post, note, subscribers } => {
                let news = News::Corrected(note);
                let cause = news.cause(post);
                self.tell_subscribers(&mut out, post, news, subscribers, &cause);
                let data = json!({ "post": webhook::post(site, post), "note": note });
                out.webhooks(self.webhooks, "post.corrected", &cause, &data);
            }
            What::SubscriptionRequested { subscriber, request } => {
                let email = posts::confirmation(site, &self.zone(), subscriber, request, event.at);
                out.email(&email, posts::confirmation_cause(request));
            }
            What::Reminder { campaign, slots } => {
                let info = Info::of(campaign, self.inventory)?;
                self.tell_contacts(&mut out, &info, Tell::Reminder, &site.url("/"), slots);
            }
            What::SlotsStarted { campaign, slots } => {
                let cause = format!("campaign `{}`: slots started", campaign.id);
                out.webhooks(self.webhooks, "slot.started", &cause, &webhook::progress(campaign, slots));
            }
            What::SlotsFinished { campaign, slots } => {
                let cause = format!("campaign `{}`: slots finished", campaign.id);
                out.webhooks(self.webhooks, "slot.finished", &cause, &webhook::progress(campaign, slots));
            }
        }
        if let Some(first) = out.errors.first() {
            let more = out.errors.len() - 1;
            return Err(if more == 0 { first.clone() } else { format!("{first} (and {more} more)") });
        }
        Ok(out.list)
    }
}
