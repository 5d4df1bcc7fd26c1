//! The outbox: every message a change causes is written in the change's own transaction,
//! and delivered later, at least once, under a stable key.
//!
//! The store does not know who is told what. A write that tells people takes a
//! [`Notifier`]; inside the transaction, once the change is written, the store hands it an
//! [`Event`] (what changed, with everything the transaction read or wrote that the
//! messages need) and writes what it returns ([`Told`]) before committing. Either the
//! change and its messages are both kept, or neither is.
//!
//! What is written is an intent, not rendered mail: the event's context once, the parts
//! several messages share (a customer's machines and slots) once each, and one small row
//! per recipient ([`Body::Later`]). The notifier's crate renders each message when it is
//! delivered, from these rows alone (and the immutable inventory versions they name), so
//! the write stays small and every attempt sends the same bytes. Small bodies that are
//! whole already (webhook events) are written as they go out ([`Body::Written`]).
//!
//! Delivery takes due messages under a lease ([`Store::claim_messages`]), then marks each
//! sent or failed. A process killed between sending and marking sends the message again
//! after the lease ends, under the same key (the Message-ID), so a recipient's mail client
//! shows it once.

use forewarn_status::{Post, Update};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::StoredCampaign;

/// How a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// `payload` is a whole RFC 5322 message; `recipient` an address.
    Email,
    /// `payload` is a JSON body POSTed to `recipient`, a URL.
    Webhook,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "email" => Some(Channel::Email),
            "webhook" => Some(Channel::Webhook),
            _ => None,
        }
    }
}

/// What an event tells: its messages, and what those rendered at delivery are rendered from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Told {
    /// What every message of the event is rendered from (the notifier's own format, JSON).
    pub context: String,
    /// What several messages share, each written once; [`Body::Later`] names one by index.
    pub parts: Vec<String>,
    pub messages: Vec<NewMessage>,
}

impl Told {
    /// Checks what a notifier told of event `seq`: every message has a key and reads a
    /// part the event has (those told `ahead` and its own).
    pub(crate) fn check(&self, seq: i64, ahead: Ahead) -> crate::Result<()> {
        let parts = ahead.parts as usize + self.parts.len();
        for m in &self.messages {
            if m.key.trim().is_empty() {
                return Err(crate::Error::Invalid(format!("a message of event {seq} has no key")));
            }
            if let Body::Later { part: Some(part), .. } = m.body
                && part as usize >= parts
            {
                return Err(crate::Error::Invalid(format!(
                    "message `{}` of event {seq} reads part {part}, but the event has {parts}",
                    m.key
                )));
            }
        }
        Ok(())
    }
}

/// What a message is sent from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// The whole message as it goes out (webhook events: small and bounded).
    Written(String),
    /// Rendered when delivered, from the event's context, part `part` (if any) and `data`,
    /// this recipient's own (the notifier's format, JSON).
    Later { part: Option<u32>, data: String },
}

/// A message to write to the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMessage {
    /// Unique and stable: the idempotency key, and for email the Message-ID without its
    /// angle brackets (`"17.3.a81f@status.example.net"`). Built from the [`Event::seq`].
    pub key: String,
    pub channel: Channel,
    /// The envelope sender (email); empty for webhooks.
    pub sender: String,
    /// An email address or a URL.
    pub recipient: String,
    /// The subject, or the webhook's event type: what lists show.
    pub subject: String,
    /// Why it was sent, in words: "campaign `os-update` published".
    pub cause: String,
    pub body: Body,
    /// Not sent before this (reminders are written when due, so usually the event's time).
    pub due: Timestamp,
}

/// What a message rendered at delivery is rendered from: its event's stored rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Intent {
    /// The event's number (the `n` of its keys' `{n}.{i}@{domain}`).
    pub event: i64,
    /// When the event happened: the message's `Date`.
    pub at: Timestamp,
    /// [`Told::context`].
    pub context: String,
    /// The part it reads, if any ([`Told::parts`]).
    pub part: Option<String>,
    /// This recipient's own ([`Body::Later`]).
    pub data: String,
}

/// Where a message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageState {
    /// Waiting for (another) attempt.
    Pending,
    /// Handed to the mail relay (or the capture mailbox) or accepted by the webhook.
    Sent,
    /// Failed too often, or permanently; kept with its error until retried by hand.
    Dead,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Pending => "pending",
            MessageState::Sent => "sent",
            MessageState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<MessageState> {
        match s {
            "pending" => Some(MessageState::Pending),
            "sent" => Some(MessageState::Sent),
            "dead" => Some(MessageState::Dead),
            _ => None,
        }
    }
}

/// A message as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Message {
    pub id: i64,
    pub key: String,
    pub channel: Channel,
    pub sender: String,
    pub recipient: String,
    pub subject: String,
    pub cause: String,
    /// A message written whole: empty in listings ([`Store::messages`]), whole from
    /// [`Store::message`] and [`Store::claim_messages`]. Empty for one rendered at delivery.
    pub payload: String,
    /// What a message rendered at delivery is rendered from ([`Store::message`] and
    /// [`Store::claim_messages`] only; `None` in listings and for messages written whole).
    pub intent: Option<Intent>,
    pub created: Timestamp,
    pub state: MessageState,
    /// Attempts that failed so far.
    pub attempts: u32,
    /// The next attempt is not before this.
    pub due: Timestamp,
    pub sent: Option<Timestamp>,
    /// The last failure, as the relay or the webhook said it.
    pub error: Option<String>,
}

/// How many messages are in each state (for `/metrics` and the admin page).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    pub pending: u64,
    pub sent: u64,
    pub dead: u64,
}

/// How a failed attempt is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// After this many failed attempts the message is dead.
    pub max_attempts: u32,
    /// The wait after the first failure; doubled after each further one.
    pub first_backoff: jiff::SignedDuration,
    /// The wait never grows beyond this.
    pub max_backoff: jiff::SignedDuration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 8,
            first_backoff: jiff::SignedDuration::from_secs(30),
            max_backoff: jiff::SignedDuration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt after `failures` failed ones (1, 2, ...):
    /// `first_backoff * 2^(failures-1)`, at most `max_backoff`.
    pub fn backoff(&self, failures: u32) -> jiff::SignedDuration {
        let shift = failures.saturating_sub(1).min(30);
        let secs = self.first_backoff.as_secs().saturating_mul(1i64 << shift);
        jiff::SignedDuration::from_secs(secs.min(self.max_backoff.as_secs()))
    }
}

/// A slot of a published campaign as its target's contacts were told it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PlannedSlot {
    /// The machine's (or, in host campaigns, the host's) id.
    pub target: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// What happened to a slot in this event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SlotChange {
    /// As told before.
    Unchanged,
    /// Told for the first time (or again after it was cancelled, under its next sequence).
    New,
    /// It was at another time before.
    Moved { from_start: Timestamp, from_end: Timestamp },
    /// It will not take place (the campaign was cancelled or the target has no slot any more).
    Cancelled,
}

/// A slot as contacts know it after the event: its iCalendar `SEQUENCE` is 0 when first
/// told and rises by one with every change (a move, the cancellation, a return after it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SlotNotice {
    pub target: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub sequence: u32,
    pub change: SlotChange,
    /// A reminder went out for this slot.
    pub reminded: bool,
}

impl SlotNotice {
    /// A publication's slots as their contacts are first told them: all new, under
    /// sequence 0, their times as they read back from the store, ordered by start, then
    /// target.
    pub fn all_new(slots: &[PlannedSlot]) -> crate::Result<Vec<SlotNotice>> {
        SlotNotice::all_new_from(slots.to_vec())
    }

    /// [`SlotNotice::all_new`] of slots given up (their targets are moved).
    pub fn all_new_from(slots: Vec<PlannedSlot>) -> crate::Result<Vec<SlotNotice>> {
        let stored = |at: Timestamp| crate::codec::from_micros(crate::codec::micros(at));
        let mut notices: Vec<SlotNotice> = slots
            .into_iter()
            .map(|s| {
                Ok(SlotNotice {
                    target: s.target,
                    start: stored(s.start)?,
                    end: stored(s.end)?,
                    sequence: 0,
                    change: SlotChange::New,
                    reminded: false,
                })
            })
            .collect::<crate::Result<_>>()?;
        sort_notices(&mut notices);
        Ok(notices)
    }
}

/// A plan's slots as the store takes them: one per target, none ending before it starts.
pub(crate) fn check_slots(slots: &[PlannedSlot]) -> crate::Result<()> {
    use forewarn_model::fxhash::{hash32, radix_sort};
    for slot in slots {
        if slot.target.trim().is_empty() {
            return Err(crate::Error::Invalid("a slot needs a target".into()));
        }
        if slot.end < slot.start {
            return Err(crate::Error::Invalid(format!(
                "the slot of `{}` ends ({}) before it starts ({})",
                slot.target, slot.end, slot.start
            )));
        }
    }
    // Two slots of a target: their targets' hashes sort next to each other (a million
    // slots are hashed once and sorted by radix, not put in a set one by one). Among equal
    // hashes, the target of the earliest slot that repeats one before it is named.
    let mut hashes: Vec<(u32, u32)> = slots.iter().enumerate().map(|(i, s)| (hash32(&s.target), i as u32)).collect();
    radix_sort(&mut hashes);
    let mut twice: Option<usize> = None;
    for run in hashes.chunk_by(|a, b| a.0 == b.0).filter(|run| run.len() > 1) {
        for (k, &(_, j)) in run.iter().enumerate().skip(1) {
            let target = &slots[j as usize].target;
            if run[..k].iter().any(|&(_, i)| slots[i as usize].target == *target) {
                twice = Some(twice.map_or(j as usize, |t| t.min(j as usize)));
            }
        }
    }
    match twice {
        Some(j) => Err(crate::Error::Invalid(format!(
            "target `{}` has two slots: a plan gives each target at most one",
            slots[j].target
        ))),
        None => Ok(()),
    }
}

/// A message of an event as its `outbox` row is first written (pending, no attempt yet):
/// what each backend's insert takes.
pub(crate) struct MessageRow<'m> {
    pub(crate) key: &'m str,
    pub(crate) channel: &'m str,
    pub(crate) sender: &'m str,
    pub(crate) recipient: &'m str,
    pub(crate) subject: &'m str,
    pub(crate) cause: &'m str,
    /// Empty for a message rendered at delivery.
    pub(crate) payload: &'m str,
    /// Microseconds.
    pub(crate) due: i64,
    pub(crate) part: Option<i64>,
    pub(crate) data: Option<&'m str>,
}

/// Orders slots as events hand them to notifiers: by start, then target (one slot a
/// target: no two are equal, so an unstable sort gives the one order).
pub(crate) fn sort_notices(notices: &mut [SlotNotice]) {
    // A plan's slots come in the order of their starts: then only those of one start are
    // put in order, by target (a million slots, a few hundred a start).
    if notices.is_sorted_by_key(|n| n.start) {
        for run in notices.chunk_by_mut(|a, b| a.start == b.start) {
            run.sort_unstable_by(|a, b| a.target.cmp(&b.target));
        }
    } else {
        notices.sort_unstable_by(|a, b| (a.start, &a.target).cmp(&(b.start, &b.target)));
    }
}

/// Someone who asked to be told about the status page's posts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    pub id: i64,
    /// As given, trimmed; unique without regard to case.
    pub email: String,
    /// Only posts naming one of these components (or none) are sent; empty: every post.
    pub components: Vec<String>,
    /// `en` or `de`.
    pub language: String,
    pub created: Timestamp,
    /// When the confirmation link was followed; until then nothing but the confirmation
    /// request is sent.
    pub confirmed: Option<Timestamp>,
}

/// What following a confirmation link did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confirmed {
    /// A new subscription (or one that had ended) starts.
    Subscribed,
    /// A confirmed subscription takes the request's choices.
    Changed,
    /// The link had been followed before: nothing changed.
    Already,
}

/// A followed confirmation link: the subscription as it is now, and what the link did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Confirmation {
    pub subscriber: Subscriber,
    pub outcome: Confirmed,
}

/// A request to subscribe, or to change a subscription: the choices asked for. Its
/// confirmation link applies these choices, once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRequest {
    pub id: i64,
    pub subscriber: i64,
    /// As [`Subscriber::components`].
    pub components: Vec<String>,
    pub language: String,
    pub created: Timestamp,
    /// When its link was followed.
    pub confirmed: Option<Timestamp>,
}

/// A change that tells people, as handed to a [`Notifier`] inside its transaction.
#[derive(Clone, Copy, Debug)]
pub struct Event<'a> {
    /// Unique across the store, increasing (a counter): keys of the event's messages are
    /// built from it. A publication takes its number before its transaction
    /// ([`Notifier::tell_ahead`]); one that fails leaves its number unused.
    pub seq: i64,
    pub at: Timestamp,
    pub actor: &'a str,
    pub what: What<'a>,
    /// What [`Notifier::tell_ahead`] told of this event before its transaction, if it was
    /// told in part ahead: the notifier tells the rest, numbering its parts and messages on
    /// from these.
    pub ahead: Option<Ahead>,
}

/// How many parts and messages of an event were told ahead of its transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ahead {
    pub parts: u32,
    pub messages: u32,
}

/// What changed. `subscribers` are the confirmed subscribers, all of them (the notifier
/// filters by component).
///
/// `slots` are ordered by start, then target, and hold every slot contacts still expect
/// and those this event cancels; a slot cancelled by an earlier event is left out (its
/// contacts were told then). So a slot is `Cancelled` only in the event that cancels it.
#[derive(Clone, Copy, Debug)]
pub enum What<'a> {
    /// A draft was published: its maintenance post was created and every slot is `New`.
    CampaignPublished {
        campaign: &'a StoredCampaign,
        post: &'a Post,
        slots: &'a [SlotNotice],
        subscribers: &'a [Subscriber],
    },
    /// A newer plan version of a published campaign was published (slots moved, added or
    /// dropped); `slots` holds every slot, changed or not. `post` is the campaign's newest
    /// maintenance post. Not sent when nothing changed.
    SlotsChanged {
        campaign: &'a StoredCampaign,
        post: Option<&'a Post>,
        slots: &'a [SlotNotice],
    },
    /// A campaign was paused, resumed, cancelled or completed. `posts` are its posts with
    /// the update each got in this change (open posts only); `slots` are every slot, all
    /// `Cancelled` when it was cancelled (`Unchanged` otherwise).
    CampaignStateChanged {
        campaign: &'a StoredCampaign,
        from: crate::CampaignState,
        /// Why, in the operator's words, when they gave it.
        reason: Option<&'a str>,
        posts: &'a [(Post, Update)],
        slots: &'a [SlotNotice],
        subscribers: &'a [Subscriber],
    },
    PostCreated {
        post: &'a Post,
        subscribers: &'a [Subscriber],
    },
    PostUpdated {
        post: &'a Post,
        update: &'a Update,
        subscribers: &'a [Subscriber],
    },
    PostCorrected {
        post: &'a Post,
        note: &'a str,
        subscribers: &'a [Subscriber],
    },
    /// Someone asked to subscribe, or to change a subscription (`subscriber` as it is: a
    /// confirmed one is a change): the confirmation request for `request`.
    SubscriptionRequested {
        subscriber: &'a Subscriber,
        request: &'a SubscriptionRequest,
    },
    /// These slots of a published campaign start soon and were not reminded of yet.
    Reminder {
        campaign: &'a StoredCampaign,
        slots: &'a [SlotNotice],
    },
    /// These slots of a published campaign started: by the schedule (no machine agent
    /// reports yet), their planned start has passed. Each slot is told started once (again
    /// only after it moved); cancelled slots never are.
    SlotsStarted {
        campaign: &'a StoredCampaign,
        slots: &'a [SlotNotice],
    },
    /// These slots of a published campaign finished: by the schedule, their planned end
    /// has passed. Each slot is told finished once (again only after it moved); cancelled
    /// slots never are.
    SlotsFinished {
        campaign: &'a StoredCampaign,
        slots: &'a [SlotNotice],
    },
}

/// Decides who is told what about an event (pure: no IO, no clock). An `Err` is the reason
/// the event cannot be told (a message that cannot be written, a campaign file that no
/// longer validates): the store refuses the whole change with it ([`crate::Error::Invalid`]),
/// so nothing commits that its people were not told.
pub trait Notifier: Sync {
    fn tell(&self, event: &Event<'_>) -> Result<Told, String>;

    /// What publishing `campaign` (a draft) tells its contacts of `slots` (all new), told
    /// ahead of the publication's transaction: for a large fleet these are most of its
    /// messages, and the store writes them in batches of their own transactions, held back
    /// until the publication's transaction releases them. Parts and messages are numbered
    /// from 0 with keys built from `seq`; the context is not kept (the publication's
    /// [`Notifier::tell`] gives it, told what was told ahead in [`Event::ahead`]). By
    /// default nothing is told ahead.
    fn tell_ahead(
        &self,
        seq: i64,
        at: Timestamp,
        campaign: &StoredCampaign,
        slots: &[SlotNotice],
    ) -> Result<Told, String> {
        let _ = (seq, at, campaign, slots);
        Ok(Told::default())
    }
}

/// A notifier that tells nobody (for tools and tests that only store).
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Notifier for Silent {
    fn tell(&self, _: &Event<'_>) -> Result<Told, String> {
        Ok(Told::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(target: &str, start: i64) -> SlotNotice {
        let at = |s: i64| Timestamp::from_second(s).unwrap();
        SlotNotice {
            target: target.to_owned(),
            start: at(start),
            end: at(start + 60),
            sequence: 0,
            change: SlotChange::New,
            reminded: false,
        }
    }

    #[test]
    fn a_target_with_two_slots_is_named() {
        let at = |s: i64| Timestamp::from_second(s).unwrap();
        let slot =
            |target: &str, start: i64| PlannedSlot { target: target.to_owned(), start: at(start), end: at(start + 60) };
        let mut slots: Vec<PlannedSlot> = (0..10_000).map(|i| slot(&format!("vm-{i}"), i)).collect();
        assert!(check_slots(&slots).is_ok());
        slots.push(slot("vm-9000", 5));
        slots.push(slot("vm-17", 6));
        let err = check_slots(&slots).unwrap_err().to_string();
        assert!(err.contains("target `vm-9000` has two slots"), "{err}");
        slots.push(slot(" ", 6));
        let err = check_slots(&slots).unwrap_err().to_string();
        assert!(err.contains("a slot needs a target"), "{err}");
        let backwards = [PlannedSlot { target: "vm-1".into(), start: at(60), end: at(0) }];
        let err = check_slots(&backwards).unwrap_err().to_string();
        assert!(err.contains("ends (1970-01-01T00:00:00Z) before it starts"), "{err}");
    }

    #[test]
    fn notices_are_ordered_by_start_then_target_whatever_order_they_come_in() {
        // Slots in the order of their starts (as a plan gives them), targets of one start in
        // no order; and the same slots in no order at all.
        let starts = [0, 0, 0, 60, 60, 120, 120, 120, 120];
        let targets = ["vm-3", "vm-10", "vm-1", "b", "a", "z", "vm-2", "m", "a"];
        let by_start: Vec<SlotNotice> = starts.iter().zip(targets).map(|(&s, t)| notice(t, s)).collect();
        let mut shuffled = by_start.clone();
        shuffled.reverse();
        shuffled.swap(1, 6);
        let want: Vec<(i64, &str)> = vec![
            (0, "vm-1"),
            (0, "vm-10"),
            (0, "vm-3"),
            (60, "a"),
            (60, "b"),
            (120, "a"),
            (120, "m"),
            (120, "vm-2"),
            (120, "z"),
        ];
        for mut notices in [by_start, shuffled] {
            sort_notices(&mut notices);
            let got: Vec<(i64, &str)> = notices.iter().map(|n| (n.start.as_second(), n.target.as_str())).collect();
            assert_eq!(got, want);
        }
    }
}
