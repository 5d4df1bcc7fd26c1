//! forewarn's messages. [`Messages`] is the store's [`Notifier`]: pure (no IO, no clock; the
//! time is the event's), it decides what each change tells whom and writes it as an intent
//! (`intent.rs`: the event's context, a part per customer, a small row per recipient) that
//! [`Rendering`] turns into the email (text, HTML and iCalendar parts, built with lettre)
//! when it is delivered; webhook events are small and written whole. `deliver` renders and
//! sends what the outbox holds: SMTP through lettre, or the capture mailbox; webhooks over
//! HTTP.
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
mod intent;
pub mod links;
mod posts;
pub mod read;
mod webhook;
mod words;

pub mod deliver;

#[cfg(test)]
mod tests;

use std::fmt;

use forewarn_model::{Inventory, Zone};
use forewarn_status::Post;
use forewarn_store::{Ahead, Body, CampaignState, Channel, Event, NewMessage, Notifier, SlotNotice, Told, What};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

pub use links::{LinkError, sign_webhook};

use crate::campaign::{Info, Tell};
use crate::posts::News;

pub use intent::{Inventories, Rendering, render_new};

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
    /// affected and how to reach them), with its number; without it no contact is told. For
    /// other events the latest inventory, or `None`. Subscribers read times in its
    /// platform's zone (in UTC without one).
    pub inventory: Option<(i64, &'a Inventory)>,
    /// The webhook URLs, each told of every event.
    pub webhooks: &'a [String],
    /// What a campaign's publication or newer plan tells besides its slots.
    pub publication: Publication<'a>,
}

/// What publishing a plan version tells besides the slots (empty for other events).
#[derive(Clone, Copy, Debug, Default)]
pub struct Publication<'a> {
    /// The inventory of the plan version its contacts were told before (with its number),
    /// where targets removed from the inventory since are found (their slots are cancelled).
    pub previous: Option<(i64, &'a Inventory)>,
    /// The targets of the plan version told now that got no slot, with the reason.
    pub unscheduled: &'a [(String, String)],
    /// Those of them that were without a slot in the version told before (not news).
    pub told_unscheduled: &'a [String],
    /// Where the campaign's file, parsed against its inventory, is kept between the
    /// events of one publication (what it tells ahead, then the rest), so that it is
    /// parsed once: for a large fleet that takes a second.
    pub parsed: Option<&'a Parsed>,
}

/// A campaign's file as one publication's events read it ([`Publication::parsed`]).
#[derive(Debug, Default)]
pub struct Parsed(std::sync::Mutex<Option<(String, String, Info)>>);

/// What one event tells, as it is written: its context, parts and messages, keyed by their
/// position.
struct Out<'a> {
    site: &'a Site,
    seq: i64,
    at: Timestamp,
    domain: String,
    context: intent::Context,
    parts: Vec<String>,
    list: Vec<NewMessage>,
    /// The position of the next message in the event: its key's `n`.
    next: usize,
    /// The number of the first part written here (those before were told ahead).
    first_part: u32,
    /// The contacts of a publication were told ahead ([`Notifier::tell_ahead`]): only the
    /// context of their messages is told here.
    contacts_ahead: bool,
    /// Why messages could not be written: the event is refused with these.
    errors: Vec<String>,
}

impl Out<'_> {
    fn key(&mut self) -> String {
        self.next += 1;
        format!("{}.{}@{}", self.seq, self.next - 1, self.domain)
    }

    /// An email rendered at delivery, to `to` (named `to_name`), or why it could not be
    /// (an address that is none: the event is then refused).
    fn email(
        &mut self,
        to_name: Option<&str>,
        to: &str,
        subject: String,
        cause: String,
        part: Option<u32>,
        whom: &intent::To,
    ) {
        let key = self.key();
        if let Err(e) = email::check_addresses(self.site, to_name, to) {
            self.errors.push(format!("the mail to {to} ({cause}) cannot be written: {}", e.0));
            return;
        }
        let data = serde_json::to_string(whom).unwrap_or_default();
        self.list.push(NewMessage {
            key,
            channel: Channel::Email,
            sender: self.site.from_address.clone(),
            recipient: to.to_owned(),
            subject,
            cause,
            body: Body::Later { part, data },
            due: self.at,
        });
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
                body: Body::Written(payload),
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
        let fleet =
            campaign::Fleet { inv: inv.1, previous: self.publication.previous.map(|(_, p)| p), scope: info.scope };
        let unscheduled: &[(String, String)] =
            if matches!(tell, Tell::Published | Tell::Changed) { self.publication.unscheduled } else { &[] };
        let told: forewarn_model::fxhash::FxHashSet<&str> =
            self.publication.told_unscheduled.iter().map(String::as_str).collect();
        let is_new = |target: &str| tell == Tell::Published || !told.contains(target);
        out.context.campaign =
            Some(intent::CampaignNews { tell, info: info.clone(), status_url: status_url.to_owned() });
        out.context.previous = self.publication.previous.map(|(v, _)| v);
        if out.contacts_ahead {
            return;
        }
        let affected = campaign::affected(fleet, slots, unscheduled, &is_new);
        let invs = intent::Inventories { current: Some(inv.1), previous: self.publication.previous.map(|(_, p)| p) };
        let cause = tell.cause(&info.id);
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
            let part =
                match intent::Part::of(a, invs).and_then(|p| serde_json::to_string(&p).map_err(|e| e.to_string())) {
                    Ok(part) => part,
                    Err(e) => {
                        out.errors.push(format!("customer `{}`: {e}", a.customer.id));
                        continue;
                    }
                };
            let index = out.first_part.saturating_add(u32::try_from(out.parts.len()).unwrap_or(u32::MAX));
            out.parts.push(part);
            for (i, contact) in a.customer.contacts.iter().enumerate() {
                let subject =
                    campaign::subject(&info.title, tell, contact.language, a.targets.is_empty() && !info.fleetlock);
                let whom = intent::To::Contact { contact: i };
                out.email(Some(&contact.name), &contact.email, subject, cause.clone(), Some(index), &whom);
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
        let index = out.context.posts.len();
        let mut told = false;
        for sub in subscribers.iter().filter(|s| posts::wants(s, post)) {
            let subject = posts::subject(self.site, post, news, words::language(&sub.language));
            let whom = intent::To::Subscriber { post: index, subscriber: sub.clone() };
            out.email(None, &sub.email, subject, cause.to_owned(), None, &whom);
            told = true;
        }
        if told {
            out.context.posts.push(intent::PostNews { post: post.clone(), news: intent::StoredNews::of(news) });
        }
    }

    fn campaign_status_url(&self, post: Option<&Post>) -> String {
        post.map_or_else(|| self.site.url("/"), |p| self.site.post_url(p.id))
    }
}

impl<'a> Messages<'a> {
    /// What the notifier needs of `campaign`'s file, parsed against its inventory, once
    /// per publication.
    fn info(&self, campaign: &forewarn_store::StoredCampaign) -> Result<Info, String> {
        let inventory = self.inventory.map(|(_, inv)| inv);
        let Some(parsed) = self.publication.parsed else { return Info::of(campaign, inventory) };
        let mut kept = parsed.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((id, text, info)) = &*kept
            && (id, text) == (&campaign.id, &campaign.text)
        {
            return Ok(info.clone());
        }
        let info = Info::of(campaign, inventory)?;
        *kept = Some((campaign.id.clone(), campaign.text.clone(), info.clone()));
        Ok(info)
    }

    /// What event `seq` at `at` writes, with what was told of it `ahead`.
    fn out(&self, seq: i64, at: Timestamp, ahead: Option<Ahead>) -> Out<'a> {
        let context = intent::Context {
            site: intent::SiteSnapshot::of(self.site),
            inventory: self.inventory.map(|(v, _)| v),
            previous: None,
            campaign: None,
            posts: Vec::new(),
            confirmation: None,
        };
        Out {
            site: self.site,
            seq,
            at,
            domain: self.site.domain(),
            context,
            parts: Vec::new(),
            list: Vec::new(),
            next: ahead.map_or(0, |a| a.messages as usize),
            first_part: ahead.map_or(0, |a| a.parts),
            contacts_ahead: ahead.is_some(),
            errors: Vec::new(),
        }
    }
}

impl Out<'_> {
    /// What was written, or why the event cannot be told.
    fn told(self) -> Result<Told, String> {
        if let Some(first) = self.errors.first() {
            let more = self.errors.len() - 1;
            return Err(if more == 0 { first.clone() } else { format!("{first} (and {more} more)") });
        }
        let context = serde_json::to_string(&self.context).map_err(|e| format!("event context: {e}"))?;
        Ok(Told { context, parts: self.parts, messages: self.list })
    }
}

impl Notifier for Messages<'_> {
    /// A publication's contacts, told ahead: the same parts and messages, under the same
    /// keys, as [`Notifier::tell`] gives them when nothing was told ahead.
    fn tell_ahead(
        &self,
        seq: i64,
        at: Timestamp,
        campaign: &forewarn_store::StoredCampaign,
        slots: &[SlotNotice],
    ) -> Result<Told, String> {
        let mut out = self.out(seq, at, None);
        let info = self.info(campaign)?;
        self.tell_contacts(&mut out, &info, Tell::Published, "", slots);
        out.told()
    }

    fn tell(&self, event: &Event<'_>) -> Result<Told, String> {
        let mut out = self.out(event.seq, event.at, event.ahead);
        let site = self.site;
        match event.what {
            What::CampaignPublished { campaign, post, slots, subscribers } => {
                let info = self.info(campaign)?;
                let cause = Tell::Published.cause(&info.id);
                self.tell_contacts(&mut out, &info, Tell::Published, &site.post_url(post.id), slots);
                self.tell_subscribers(&mut out, post, News::Created, subscribers, &cause);
                let data = json!({
                    "campaign": webhook::campaign(campaign, &info),
                    "post": webhook::post(site, post),
                    "slots": webhook::slots(site, &campaign.id, slots),
                });
                out.webhooks(self.webhooks, "campaign.published", &cause, &data);
            }
            What::SlotsChanged { campaign, post, slots } => {
                let info = self.info(campaign)?;
                let cause = Tell::Changed.cause(&info.id);
                self.tell_contacts(&mut out, &info, Tell::Changed, &self.campaign_status_url(post), slots);
                let data = json!({
                    "campaign": webhook::campaign(campaign, &info),
                    "post": post.map(|p| webhook::post(site, p)),
                    "slots": webhook::slots(site, &campaign.id, slots),
                });
                out.webhooks(self.webhooks, "slots.changed", &cause, &data);
            }
            What::CampaignStateChanged { campaign, from, reason, posts, slots, subscribers } => {
                let mut info = self.info(campaign)?;
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
                out.context.confirmation = Some((subscriber.clone(), request.clone()));
                let subject = posts::confirmation_subject(site, subscriber, request);
                let cause = posts::confirmation_cause(request);
                out.email(None, &subscriber.email, subject, cause, None, &intent::To::Confirmation);
            }
            What::Reminder { campaign, slots } => {
                let info = self.info(campaign)?;
                self.tell_contacts(&mut out, &info, Tell::Reminder, &site.url("/"), slots);
            }
            What::SlotsStarted { campaign, slots } => {
                let cause = format!("campaign `{}`: slots started", campaign.id);
                out.webhooks(self.webhooks, "slot.started", &cause, &webhook::progress(site, campaign, slots));
            }
            What::SlotsFinished { campaign, slots } => {
                let cause = format!("campaign `{}`: slots finished", campaign.id);
                out.webhooks(self.webhooks, "slot.finished", &cause, &webhook::progress(site, campaign, slots));
            }
        }
        out.told()
    }
}
