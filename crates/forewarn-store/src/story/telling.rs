//! The story's chapters about telling people: events and the outbox, the slots contacts
//! were told, reminders, slots started and finished, subscribers, and delivery under
//! leases.

use std::sync::Mutex;

use forewarn_status::PostState;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::{component, incident, invalid, maintenance, not_found, planned, t};
use crate::outbox::{
    Body, Channel, Confirmed, Event, Intent, Message, MessageState, NewMessage, Notifier, OutboxCounts, PlannedSlot,
    RetryPolicy, SlotChange, SlotNotice, Told, What,
};
use crate::types::{CampaignState, Correction, NewPost};
use crate::{Error, Silent, Store};

/// What a [`Recorder`] was told about one event, in short.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    seq: i64,
    at: Timestamp,
    actor: String,
    /// The kind of event and its subject: `published os`, `os published->cancelled`, ...
    what: String,
    post: Option<i64>,
    slots: Vec<SlotNotice>,
    /// The subscribers' addresses.
    subscribers: Vec<String>,
    /// `CampaignStateChanged`: each post's id and state with its update's text.
    updates: Vec<(i64, PostState, String)>,
    /// `SubscriptionRequested`: the request, and whether it would change a confirmed subscription.
    request: Option<(i64, bool)>,
}

/// A notifier that records every event and gives one email per event under the key
/// `SEQ.0@test`, due at the event's time, and one more under `also` if set.
#[derive(Debug, Default)]
struct Recorder {
    seen: Mutex<Vec<Seen>>,
    also: Option<&'static str>,
}

impl Recorder {
    fn giving_also(key: &'static str) -> Recorder {
        Recorder { also: Some(key), ..Recorder::default() }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn last(&self) -> Seen {
        self.seen().pop().expect("an event")
    }
}

/// Subscribes `email` to every post and follows the confirmation link.
async fn confirmed(store: &Store, at: Timestamp, email: &str, language: &str, recorder: &Recorder) {
    store.subscribe(at, email, &[], language, recorder).await.unwrap();
    let (request, _) = recorder.last().request.expect("a confirmation request");
    store.confirm_subscription(at, request).await.unwrap();
}

fn emails(subscribers: &[crate::Subscriber]) -> Vec<String> {
    subscribers.iter().map(|s| s.email.clone()).collect()
}

impl Notifier for Recorder {
    fn tell(&self, e: &Event<'_>) -> Result<Told, String> {
        let mut seen = Seen {
            seq: e.seq,
            at: e.at,
            actor: e.actor.to_owned(),
            what: String::new(),
            post: None,
            request: None,
            slots: vec![],
            subscribers: vec![],
            updates: vec![],
        };
        match e.what {
            What::CampaignPublished { campaign, post, slots, subscribers } => {
                seen.what = format!("published {}", campaign.id);
                (seen.post, seen.slots, seen.subscribers) = (Some(post.id), slots.to_vec(), emails(subscribers));
            }
            What::SlotsChanged { campaign, post, slots } => {
                seen.what = format!("slots {}", campaign.id);
                (seen.post, seen.slots) = (post.map(|p| p.id), slots.to_vec());
            }
            What::CampaignStateChanged { campaign, from, posts, slots, subscribers, .. } => {
                seen.what = format!("{} {from}->{}", campaign.id, campaign.state);
                (seen.slots, seen.subscribers) = (slots.to_vec(), emails(subscribers));
                seen.updates = posts.iter().map(|(p, u)| (p.id, p.state, u.body.clone())).collect();
            }
            What::PostCreated { post, subscribers } => {
                seen.what = "post created".into();
                (seen.post, seen.subscribers) = (Some(post.id), emails(subscribers));
            }
            What::PostUpdated { post, update, subscribers } => {
                seen.what = format!("post updated: {}", update.body);
                (seen.post, seen.subscribers) = (Some(post.id), emails(subscribers));
            }
            What::PostCorrected { post, note, subscribers } => {
                seen.what = format!("post corrected: {note}");
                (seen.post, seen.subscribers) = (Some(post.id), emails(subscribers));
            }
            What::SubscriptionRequested { subscriber, request } => {
                seen.what = format!("subscription {}", subscriber.email);
                seen.request = Some((request.id, subscriber.confirmed.is_some()));
            }
            What::Reminder { campaign, slots } => {
                seen.what = format!("reminder {}", campaign.id);
                seen.slots = slots.to_vec();
            }
            What::SlotsStarted { campaign, slots } => {
                seen.what = format!("started {}", campaign.id);
                seen.slots = slots.to_vec();
            }
            What::SlotsFinished { campaign, slots } => {
                seen.what = format!("finished {}", campaign.id);
                seen.slots = slots.to_vec();
            }
        }
        // The first message is an intent (rendered at delivery from the event's context, its
        // part and its own data); `also` is written whole.
        let mail = |key: String, body: Body| NewMessage {
            key,
            channel: Channel::Email,
            sender: "status@example.net".into(),
            recipient: "ops@example.net".into(),
            subject: seen.what.clone(),
            cause: format!("event {}", e.seq),
            body,
            due: e.at,
        };
        let later = Body::Later { part: Some(0), data: format!("{{\"to\":\"ops\",\"seq\":{}}}", e.seq) };
        let mut messages = vec![mail(format!("{}.0@test", e.seq), later)];
        let written = |key: &str| Body::Written(format!("Message-ID: <{key}>\r\n\r\n{}\r\n", seen.what));
        messages.extend(self.also.map(|key| mail(key.to_owned(), written(key))));
        let told = Told {
            context: format!("{{\"what\":{:?}}}", seen.what),
            parts: vec![format!("{{\"part\":{}}}", e.seq)],
            messages,
        };
        self.seen.lock().unwrap().push(seen);
        Ok(told)
    }
}

fn slot(target: &str, from: i64, to: i64) -> PlannedSlot {
    PlannedSlot { target: target.into(), start: t(from), end: t(to) }
}

fn notice(target: &str, from: i64, to: i64, sequence: u32, change: SlotChange) -> SlotNotice {
    SlotNotice { target: target.into(), start: t(from), end: t(to), sequence, change, reminded: false }
}

fn moved(from: i64, to: i64) -> SlotChange {
    SlotChange::Moved { from_start: t(from), from_end: t(to) }
}

/// Every message, oldest first, with payloads.
async fn outbox(store: &Store) -> Vec<Message> {
    let mut all = Vec::new();
    for listed in store.messages(None, 1000, None).await.unwrap().into_iter().rev() {
        all.push(store.message(listed.id).await.unwrap().unwrap());
    }
    all
}

fn keys(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.key.as_str()).collect()
}

/// Adds plan versions to a campaign up to `version`.
async fn plans_up_to(store: &Store, campaign: &str, version: i64) {
    while store.plan(campaign, None).await.unwrap().map_or(0, |p| p.version) < version {
        store.add_plan(t(3), "ada", campaign, 1, "{}", &json!({})).await.unwrap();
    }
}

/// Each write that tells people hands its event to the notifier in its transaction, and
/// what the notifier gives is in the outbox, under event numbers that rise by one.
pub(super) async fn writes_tell(store: &Store) {
    let recorder = Recorder::default();
    store.upsert_component(t(0), "ada", &component("vm-hosting", "VM hosting")).await.unwrap();
    confirmed(store, t(0), "ada@example.net", "en", &recorder).await;
    store.subscribe(t(0), "bob@example.net", &[], "de", &recorder).await.unwrap();
    planned(store, "os").await;

    let slots = [slot("vm-2", 200, 260), slot("vm-1", 100, 160)];
    let announced = NewPost { components: vec!["vm-hosting".into()], ..maintenance("OS updates") };
    let (campaign, post) =
        store.publish_campaign(t(10), "ada", "os", 1, announced, slots.to_vec(), &recorder).await.unwrap();
    let published = recorder.last();
    assert_eq!((published.seq, published.at, published.actor.as_str()), (3, t(10), "ada"));
    assert_eq!((published.what.as_str(), published.post), ("published os", Some(post.id)));
    let new = SlotChange::New;
    assert_eq!(published.slots, [notice("vm-1", 100, 160, 0, new), notice("vm-2", 200, 260, 0, new)]);
    assert_eq!(published.subscribers, ["ada@example.net"], "confirmed subscribers only");
    assert_eq!(campaign.published_plan, Some(1));
    let unchanged = SlotChange::Unchanged;
    let told = [notice("vm-1", 100, 160, 0, unchanged), notice("vm-2", 200, 260, 0, unchanged)];
    assert_eq!(store.slot_notices("os").await.unwrap(), told);
    assert!(store.slot_notices("nope").await.unwrap().is_empty());

    let down = store.create_post(t(11), "bob", incident("VMs down"), &recorder).await.unwrap();
    store.add_update(t(12), "bob", down.id, Some(PostState::Identified), "A PDU failed.", &recorder).await.unwrap();
    let fix = Correction { title: Some("VMs on rack A1 down".into()), ..Correction::default() };
    store.correct_post(t(13), "bob", down.id, "name the rack", fix, &recorder).await.unwrap();
    let told: Vec<(i64, String, Option<i64>)> =
        recorder.seen().into_iter().skip(2).map(|s| (s.seq, s.what, s.post)).collect();
    assert_eq!(
        told,
        [
            (3, "published os".to_owned(), Some(post.id)),
            (4, "post created".to_owned(), Some(down.id)),
            (5, "post updated: A PDU failed.".to_owned(), Some(down.id)),
            (6, "post corrected: name the rack".to_owned(), Some(down.id)),
        ]
    );

    // Every message is pending, due when given, with what it is rendered from.
    let messages = outbox(store).await;
    assert_eq!(keys(&messages), ["1.0@test", "2.0@test", "3.0@test", "4.0@test", "5.0@test", "6.0@test"]);
    let m = &messages[2];
    assert_eq!(
        (m.state, m.attempts, m.created, m.due, m.sent, &m.error),
        (MessageState::Pending, 0, t(10), t(10), None, &None)
    );
    assert_eq!(
        (m.channel, m.recipient.as_str(), m.subject.as_str()),
        (Channel::Email, "ops@example.net", "published os")
    );
    let intent = Intent {
        event: 3,
        at: t(10),
        context: "{\"what\":\"published os\"}".into(),
        part: Some("{\"part\":3}".into()),
        data: "{\"to\":\"ops\",\"seq\":3}".into(),
    };
    assert_eq!((m.payload.as_str(), m.intent.as_ref()), ("", Some(&intent)));
    assert!(
        store.messages(None, 10, None).await.unwrap().iter().all(|m| m.payload.is_empty() && m.intent.is_none()),
        "listings leave it out"
    );

    // A silent write tells nobody but still takes its number: numbers stay unique.
    store.create_post(t(14), "bob", incident("quiet"), &Silent).await.unwrap();
    store.create_post(t(15), "bob", incident("loud"), &recorder).await.unwrap();
    assert_eq!(recorder.last().seq, 8);
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 7, sent: 0, dead: 0 });
}

/// A notifier that gives a key already in the outbox fails the whole write: the change,
/// its audit row, its slots, its event number and its messages are all gone.
pub(super) async fn a_failed_message_fails_the_change(store: &Store) {
    planned(store, "os").await;
    let duplicating = Recorder::giving_also("dup@test");
    store.create_post(t(4), "ada", incident("first"), &duplicating).await.unwrap();
    let before = (store.campaigns().await.unwrap(), store.posts().await.unwrap(), store.audit(100).await.unwrap());
    let outbox_before = outbox(store).await;
    assert_eq!(keys(&outbox_before), ["1.0@test", "dup@test"]);

    let slots = [slot("vm-1", 100, 160)];
    let result = store.publish_campaign(t(5), "ada", "os", 1, maintenance("OS"), slots.to_vec(), &duplicating).await;
    match result {
        Err(Error::Conflict(m)) => assert!(m.contains("`dup@test`") && m.contains("event 2"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(store.campaign("os").await.unwrap().unwrap().state, CampaignState::Draft);
    assert!(store.posts_of_campaign("os").await.unwrap().is_empty());
    assert!(store.slot_notices("os").await.unwrap().is_empty());
    let after = (store.campaigns().await.unwrap(), store.posts().await.unwrap(), store.audit(100).await.unwrap());
    assert_eq!(after, before);
    assert_eq!(outbox(store).await, outbox_before);

    // A notifier that cannot tell (a mail it cannot write, a campaign file that no longer
    // validates) refuses the change with its reason: nothing is written.
    struct Cannot;
    impl Notifier for Cannot {
        fn tell(&self, _: &Event<'_>) -> Result<Told, String> {
            Err("the mail to `x` cannot be written".to_owned())
        }
    }
    match store.publish_campaign(t(5), "ada", "os", 1, maintenance("OS"), slots.to_vec(), &Cannot).await {
        Err(Error::Invalid(m)) => assert!(m.contains("cannot be told") && m.contains("`x`"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(matches!(store.create_post(t(6), "ada", incident("x"), &Cannot).await, Err(Error::Invalid(_))));
    let after = (store.campaigns().await.unwrap(), store.posts().await.unwrap(), store.audit(100).await.unwrap());
    assert_eq!(after, before);
    assert_eq!(outbox(store).await, outbox_before);
    assert!(store.slot_notices("os").await.unwrap().is_empty());

    // Twice the same key in one event, too.
    struct Twice;
    impl Notifier for Twice {
        fn tell(&self, e: &Event<'_>) -> Result<Told, String> {
            let m = NewMessage {
                key: format!("{}.x@test", e.seq),
                channel: Channel::Webhook,
                sender: String::new(),
                recipient: "https://hooks.example.net/forewarn".into(),
                subject: "post.created".into(),
                cause: "a post".into(),
                body: Body::Written("{}".into()),
                due: e.at,
            };
            Ok(Told { messages: vec![m.clone(), m], ..Told::default() })
        }
    }
    assert!(matches!(store.create_post(t(6), "ada", incident("x"), &Twice).await, Err(Error::Conflict(_))));

    // Slots the store refuses.
    let twice = [slot("vm-1", 100, 160), slot("vm-1", 200, 260)];
    let recorder = Recorder::default();
    invalid(
        store.publish_campaign(t(6), "ada", "os", 1, maintenance("OS"), twice.to_vec(), &recorder).await,
        &["`vm-1`", "two"],
    );
    let backwards = [slot("vm-1", 160, 100)];
    invalid(
        store.publish_campaign(t(6), "ada", "os", 1, maintenance("OS"), backwards.to_vec(), &recorder).await,
        &["before"],
    );
    assert_eq!(store.campaign("os").await.unwrap().unwrap().state, CampaignState::Draft);

    // Numbers are never taken twice: the two publications that failed took 2 and 3 before
    // their last transaction (slots it refuses take none, nor do other writes that fail).
    store.publish_campaign(t(7), "ada", "os", 1, maintenance("OS"), slots.to_vec(), &recorder).await.unwrap();
    assert_eq!(recorder.seen().iter().map(|s| s.seq).collect::<Vec<_>>(), [4]);
    let messages = outbox(store).await;
    assert_eq!(keys(&messages), ["1.0@test", "dup@test", "4.0@test"]);
    // A message written whole comes back whole, without an intent, though its event has one.
    let whole = &messages[1];
    assert_eq!((whole.payload.as_str(), &whole.intent), ("Message-ID: <dup@test>\r\n\r\npost created\r\n", &None));
    assert!(messages[0].intent.is_some() && messages[0].payload.is_empty());
}

/// A newer plan version is compared with what contacts were told.
pub(super) async fn republishing(store: &Store) {
    let recorder = Recorder::default();
    planned(store, "os").await;
    plans_up_to(store, "os", 6).await;
    let v1 = [slot("a", 100, 160), slot("b", 200, 260), slot("c", 300, 360)];
    let (_, post) =
        store.publish_campaign(t(10), "ada", "os", 1, maintenance("OS"), v1.to_vec(), &recorder).await.unwrap();
    // A newer incident post of the campaign is not its announcement.
    let lost = NewPost { campaign: Some("os".into()), ..incident("a VM did not come back") };
    store.create_post(t(11), "ada", lost, &Silent).await.unwrap();

    invalid(store.republish_campaign(t(12), "ada", "os", 1, &v1, &recorder).await, &["version 1", "not newer", "1"]);
    not_found(store.republish_campaign(t(12), "ada", "os", 9, &v1, &recorder).await, "plan version 9 of campaign `os`");
    not_found(store.republish_campaign(t(12), "ada", "nope", 2, &v1, &recorder).await, "campaign `nope`");
    planned(store, "net").await;
    invalid(
        store.republish_campaign(t(12), "ada", "net", 1, &[], &recorder).await,
        &["`net`", "draft", "published first"],
    );
    let twice = [slot("a", 100, 160), slot("a", 100, 160)];
    invalid(store.republish_campaign(t(12), "ada", "os", 2, &twice, &recorder).await, &["`a`", "two"]);
    assert_eq!(recorder.seen().len(), 1);
    assert_eq!(store.campaign("os").await.unwrap().unwrap().published_plan, Some(1));

    // a stays, b moves, c is dropped, d is new.
    let v2 = [slot("a", 100, 160), slot("b", 220, 280), slot("d", 400, 460)];
    let campaign = store.republish_campaign(t(20), "bob", "os", 2, &v2, &recorder).await.unwrap();
    assert_eq!((campaign.published_plan, campaign.updated, campaign.state), (Some(2), t(20), CampaignState::Published));
    let changed = recorder.last();
    assert_eq!((changed.what.as_str(), changed.post, changed.actor.as_str()), ("slots os", Some(post.id), "bob"));
    assert_eq!(
        changed.slots,
        [
            notice("a", 100, 160, 0, SlotChange::Unchanged),
            notice("b", 220, 280, 1, moved(200, 260)),
            notice("c", 300, 360, 1, SlotChange::Cancelled),
            notice("d", 400, 460, 0, SlotChange::New),
        ]
    );
    let listed = [
        notice("a", 100, 160, 0, SlotChange::Unchanged),
        notice("b", 220, 280, 1, SlotChange::Unchanged),
        notice("c", 300, 360, 1, SlotChange::Cancelled),
        notice("d", 400, 460, 0, SlotChange::Unchanged),
    ];
    assert_eq!(store.slot_notices("os").await.unwrap(), listed);
    let audit = store.audit(1).await.unwrap();
    assert_eq!((audit[0].action.as_str(), audit[0].subject.as_str()), ("campaign.republish", "os"));
    assert_eq!(audit[0].detail, json!({ "from": 1, "plan": 2, "new": 1, "moved": 1, "cancelled": 1 }));

    // The same slots again: nobody is told, but version 3 is the published one.
    let messages = store.outbox_counts().await.unwrap();
    let campaign = store.republish_campaign(t(21), "bob", "os", 3, &v2, &recorder).await.unwrap();
    assert_eq!(campaign.published_plan, Some(3));
    assert_eq!(recorder.seen().len(), 2);
    assert_eq!(store.outbox_counts().await.unwrap(), messages);
    assert_eq!(store.slot_notices("os").await.unwrap(), listed);

    // c comes back: told anew under its next sequence. Slots cancelled before and still
    // missing are not told again.
    store.change_campaign_state(t(22), "ada", "os", CampaignState::Paused, ("Paused.", None), &Silent).await.unwrap();
    let v4 = [slot("a", 100, 160), slot("b", 220, 280), slot("c", 500, 560)];
    store.republish_campaign(t(23), "bob", "os", 4, &v4, &recorder).await.unwrap();
    assert_eq!(
        recorder.last().slots,
        [
            notice("a", 100, 160, 0, SlotChange::Unchanged),
            notice("b", 220, 280, 1, SlotChange::Unchanged),
            notice("d", 400, 460, 1, SlotChange::Cancelled),
            notice("c", 500, 560, 2, SlotChange::New),
        ]
    );
    let v5 = [slot("a", 100, 160), slot("b", 220, 280)];
    store.republish_campaign(t(24), "bob", "os", 5, &v5, &recorder).await.unwrap();
    assert_eq!(
        recorder.last().slots,
        [
            notice("a", 100, 160, 0, SlotChange::Unchanged),
            notice("b", 220, 280, 1, SlotChange::Unchanged),
            notice("c", 500, 560, 3, SlotChange::Cancelled),
        ]
    );
    // Silent writes took numbers too (the post, the pause): the numbers are the store's.
    assert_eq!(recorder.seen().iter().map(|s| s.seq).collect::<Vec<_>>(), [1, 3, 5, 6]);

    store.change_campaign_state(t(25), "ada", "os", CampaignState::Cancelled, ("Off.", None), &Silent).await.unwrap();
    invalid(
        store.republish_campaign(t(26), "ada", "os", 6, &v5, &recorder).await,
        &["cancelled", "published or paused"],
    );
}

/// Pausing tells about every slot still expected; cancelling cancels them (sequence + 1)
/// and tells about those, with the update each open post got.
pub(super) async fn cancelling(store: &Store) {
    let recorder = Recorder::default();
    confirmed(store, t(0), "ada@example.net", "en", &recorder).await;
    planned(store, "os").await;
    plans_up_to(store, "os", 2).await;
    let (_, post) = store
        .publish_campaign(
            t(10),
            "ada",
            "os",
            1,
            maintenance("OS"),
            vec![slot("a", 100, 160), slot("b", 200, 260)],
            &recorder,
        )
        .await
        .unwrap();
    store.republish_campaign(t(11), "ada", "os", 2, &[slot("a", 100, 160)], &recorder).await.unwrap();
    let closed = NewPost { campaign: Some("os".into()), ..incident("done already") };
    let closed = store.create_post(t(12), "ada", closed, &Silent).await.unwrap();
    store.add_update(t(13), "ada", closed.id, Some(PostState::Resolved), "Fine.", &Silent).await.unwrap();

    store.change_campaign_state(t(20), "bob", "os", CampaignState::Paused, ("Paused.", None), &recorder).await.unwrap();
    let paused = recorder.last();
    assert_eq!((paused.seq, paused.what.as_str(), paused.actor.as_str()), (6, "os published->paused", "bob"));
    assert_eq!(paused.slots, [notice("a", 100, 160, 0, SlotChange::Unchanged)], "b was cancelled before");
    assert_eq!(
        paused.updates,
        [(post.id, PostState::Scheduled, "Paused.".to_owned())],
        "only open posts get an update"
    );
    assert_eq!(paused.subscribers, ["ada@example.net"]);

    let words = ("Cancelled.", Some(PostState::Cancelled));
    let campaign =
        store.change_campaign_state(t(21), "bob", "os", CampaignState::Cancelled, words, &recorder).await.unwrap();
    assert_eq!(campaign.state, CampaignState::Cancelled);
    let cancelled = recorder.last();
    assert_eq!((cancelled.seq, cancelled.what.as_str()), (7, "os paused->cancelled"));
    assert_eq!(cancelled.slots, [notice("a", 100, 160, 1, SlotChange::Cancelled)]);
    assert_eq!(cancelled.updates, [(post.id, PostState::Cancelled, "Cancelled.".to_owned())]);
    let listed = [notice("a", 100, 160, 1, SlotChange::Cancelled), notice("b", 200, 260, 1, SlotChange::Cancelled)];
    assert_eq!(store.slot_notices("os").await.unwrap(), listed);

    // A draft's cancellation has no slots; a refused change tells nobody.
    planned(store, "net").await;
    store.change_campaign_state(t(22), "bob", "net", CampaignState::Cancelled, words, &recorder).await.unwrap();
    assert_eq!((recorder.last().what.as_str(), recorder.last().slots.len()), ("net draft->cancelled", 0));
    let refused = store.change_campaign_state(t(23), "bob", "net", CampaignState::Paused, words, &recorder).await;
    invalid(refused, &["cancelled to paused"]);
    assert_eq!(recorder.seen().len(), 6);
    assert_eq!(store.outbox_counts().await.unwrap().pending, 6);
}

/// Slots of published campaigns starting within the horizon are reminded of, once.
pub(super) async fn reminders(store: &Store) {
    let recorder = Recorder::default();
    let day = 24 * 60;
    planned(store, "os").await;
    plans_up_to(store, "os", 3).await;
    let os = [slot("a", 60, 90), slot("b", 120, 150), slot("c", 90, 100), slot("d", day + 1, day + 30)];
    store.publish_campaign(t(1), "ada", "os", 1, maintenance("OS"), os.to_vec(), &recorder).await.unwrap();
    // c is dropped again: cancelled slots are not reminded of.
    let os = [slot("a", 60, 90), slot("b", 120, 150), slot("d", day + 1, day + 30)];
    store.republish_campaign(t(2), "ada", "os", 2, &os, &recorder).await.unwrap();
    planned(store, "net").await;
    store
        .publish_campaign(t(3), "ada", "net", 1, maintenance("Net"), vec![slot("x", 60, 90)], &recorder)
        .await
        .unwrap();
    store.change_campaign_state(t(4), "ada", "net", CampaignState::Paused, ("Paused.", None), &recorder).await.unwrap();
    let events = recorder.seen().len();

    assert_eq!(store.send_reminders(t(0), SignedDuration::from_hours(2), &recorder).await.unwrap(), 2);
    let reminder = recorder.last();
    assert_eq!((reminder.what.as_str(), reminder.actor.as_str(), reminder.at), ("reminder os", "forewarn", t(0)));
    let reminded = |n: SlotNotice| SlotNotice { reminded: true, ..n };
    assert_eq!(
        reminder.slots,
        [
            reminded(notice("a", 60, 90, 0, SlotChange::Unchanged)),
            reminded(notice("b", 120, 150, 0, SlotChange::Unchanged))
        ]
    );
    assert_eq!(recorder.seen().len(), events + 1, "one event per campaign");
    // The audit log sorts by time: the reminder at t(0) comes after the writes of t(1)...
    let audit = store.audit(100).await.unwrap();
    let remind = audit.iter().find(|a| a.action == "campaign.remind").unwrap();
    assert_eq!((remind.actor.as_str(), remind.subject.as_str(), remind.at), ("forewarn", "os", t(0)));
    assert_eq!(remind.detail, json!({ "slots": ["a", "b"] }));

    // Once.
    assert_eq!(store.send_reminders(t(1), SignedDuration::from_hours(2), &recorder).await.unwrap(), 0);
    assert_eq!(recorder.seen().len(), events + 1);
    // The end of the horizon is in.
    assert_eq!(store.send_reminders(t(1), SignedDuration::from_hours(24), &recorder).await.unwrap(), 1);
    assert_eq!(recorder.last().slots.iter().map(|s| s.target.as_str()).collect::<Vec<_>>(), ["d"]);

    // A moved slot is reminded of again.
    let os = [slot("a", 60, 90), slot("b", 130, 160), slot("d", day + 1, day + 30)];
    store.republish_campaign(t(5), "ada", "os", 3, &os, &recorder).await.unwrap();
    let b = recorder.last().slots.into_iter().find(|s| s.target == "b").unwrap();
    assert_eq!((b.sequence, b.reminded), (1, false));
    assert_eq!(store.send_reminders(t(5), SignedDuration::from_hours(3), &recorder).await.unwrap(), 1);
    assert_eq!(recorder.last().slots, [reminded(notice("b", 130, 160, 1, SlotChange::Unchanged))]);
    let flags: Vec<(String, bool)> =
        store.slot_notices("os").await.unwrap().into_iter().map(|s| (s.target, s.reminded)).collect();
    let expected = [("a", true), ("c", false), ("b", true), ("d", true)].map(|(t, r)| (t.to_owned(), r));
    assert_eq!(flags, expected);

    // A paused campaign's slots wait for it to be resumed.
    store
        .change_campaign_state(t(6), "ada", "net", CampaignState::Published, ("Resumed.", None), &recorder)
        .await
        .unwrap();
    assert_eq!(store.send_reminders(t(60), SignedDuration::from_hours(2), &recorder).await.unwrap(), 0, "x starts now");
    assert_eq!(store.send_reminders(t(6), SignedDuration::from_hours(2), &recorder).await.unwrap(), 1);
    assert_eq!(recorder.last().what, "reminder net");
    assert_eq!(store.send_reminders(t(7), SignedDuration::from_hours(48), &recorder).await.unwrap(), 0);
}

/// By the schedule, a slot of a published campaign starts once its planned start has
/// passed and finishes once its planned end has passed, each once; again after it moved.
pub(super) async fn slots_start_and_finish(store: &Store) {
    let recorder = Recorder::default();
    planned(store, "os").await;
    plans_up_to(store, "os", 3).await;
    let os = [slot("a", 60, 90), slot("b", 120, 150), slot("c", 70, 80)];
    store.publish_campaign(t(1), "ada", "os", 1, maintenance("OS"), os.to_vec(), &recorder).await.unwrap();
    // c is dropped again: cancelled slots neither start nor finish.
    let os = [slot("a", 60, 90), slot("b", 120, 150)];
    store.republish_campaign(t(2), "ada", "os", 2, &os, &recorder).await.unwrap();
    // A paused campaign's slots wait for it to be resumed.
    planned(store, "net").await;
    store
        .publish_campaign(t(3), "ada", "net", 1, maintenance("Net"), vec![slot("x", 60, 90)], &recorder)
        .await
        .unwrap();
    store.change_campaign_state(t(4), "ada", "net", CampaignState::Paused, ("Paused.", None), &recorder).await.unwrap();
    let events = recorder.seen().len();
    let unchanged = SlotChange::Unchanged;

    // Next due: a's start (c is cancelled, net paused), or a reminder before it.
    let zero = jiff::SignedDuration::ZERO;
    assert_eq!(store.next_scheduled(t(5), zero).await.unwrap(), Some(t(60)));
    assert_eq!(store.next_scheduled(t(5), jiff::SignedDuration::from_mins(30)).await.unwrap(), Some(t(30)));
    assert_eq!(store.next_scheduled(t(5), jiff::SignedDuration::from_hours(2)).await.unwrap(), Some(t(5)));

    // Nothing before the start.
    assert_eq!(store.slot_progress(t(59), &recorder).await.unwrap(), (0, 0));
    assert_eq!(recorder.seen().len(), events, "nobody told");

    // Started when the start passes (the start itself is in); x of the paused net is not.
    assert_eq!(store.slot_progress(t(60), &recorder).await.unwrap(), (1, 0));
    let started = recorder.last();
    assert_eq!((started.what.as_str(), started.actor.as_str(), started.at), ("started os", "forewarn", t(60)));
    assert_eq!(started.slots, [notice("a", 60, 90, 0, unchanged)]);
    assert_eq!(recorder.seen().len(), events + 1, "one event");
    assert!(keys(&outbox(store).await).contains(&format!("{}.0@test", started.seq).as_str()), "its messages");
    // The campaign's post is to move to in progress: due at once.
    assert_eq!(store.next_scheduled(t(61), zero).await.unwrap(), Some(t(61)));
    // Once.
    assert_eq!(store.slot_progress(t(61), &recorder).await.unwrap(), (0, 0));
    assert_eq!(recorder.seen().len(), events + 1);

    // Finished once after the end; the cancelled c (70 to 80) never started nor finished.
    assert_eq!(store.slot_progress(t(95), &recorder).await.unwrap(), (0, 1));
    let finished = recorder.last();
    assert_eq!((finished.what.as_str(), finished.actor.as_str(), finished.at), ("finished os", "forewarn", t(95)));
    assert_eq!(finished.slots, [notice("a", 60, 90, 0, unchanged)]);
    assert_eq!(store.slot_progress(t(96), &recorder).await.unwrap(), (0, 0));
    assert_eq!(recorder.seen().len(), events + 2);

    let audit = store.audit(100).await.unwrap();
    let progress: Vec<(&str, &str, &str, Timestamp, serde_json::Value)> = audit
        .iter()
        .filter(|a| a.action.starts_with("campaign.slots_"))
        .map(|a| (a.action.as_str(), a.actor.as_str(), a.subject.as_str(), a.at, a.detail.clone()))
        .rev()
        .collect();
    assert_eq!(
        progress,
        [
            ("campaign.slots_started", "forewarn", "os", t(60), json!({ "slots": ["a"] })),
            ("campaign.slots_finished", "forewarn", "os", t(95), json!({ "slots": ["a"] })),
        ]
    );

    // a, started and finished, moves to later; b moves before it started.
    let os = [slot("a", 200, 230), slot("b", 130, 160)];
    store.republish_campaign(t(100), "ada", "os", 3, &os, &recorder).await.unwrap();
    // b starts and finishes in one call, started told first; a waits for its new time.
    assert_eq!(store.slot_progress(t(160), &recorder).await.unwrap(), (1, 1));
    let told: Vec<(String, Vec<SlotNotice>)> =
        recorder.seen().into_iter().skip(events + 3).map(|s| (s.what, s.slots)).collect();
    let b = notice("b", 130, 160, 1, unchanged);
    assert_eq!(told, [("started os".to_owned(), vec![b.clone()]), ("finished os".to_owned(), vec![b])]);
    // A moved slot starts again at its new time, and finishes again.
    assert_eq!(store.slot_progress(t(199), &recorder).await.unwrap(), (0, 0));
    assert_eq!(store.slot_progress(t(200), &recorder).await.unwrap(), (1, 0));
    assert_eq!(recorder.last().slots, [notice("a", 200, 230, 1, unchanged)]);
    assert_eq!(store.slot_progress(t(230), &recorder).await.unwrap(), (0, 1));
    assert_eq!((recorder.last().what.as_str(), recorder.last().slots.len()), ("finished os", 1));
    assert_eq!(store.slot_progress(t(500), &recorder).await.unwrap(), (0, 0));

    // Resumed, net's x (long over) starts and finishes at once.
    let resumed = ("Resumed.", None);
    store.change_campaign_state(t(240), "ada", "net", CampaignState::Published, resumed, &recorder).await.unwrap();
    let events = recorder.seen().len();
    assert_eq!(store.slot_progress(t(240), &recorder).await.unwrap(), (1, 1));
    let whats: Vec<String> = recorder.seen().into_iter().skip(events).map(|s| s.what).collect();
    assert_eq!(whats, ["started net", "finished net"]);

    // A cancelled campaign's slots neither start nor finish.
    planned(store, "db").await;
    store
        .publish_campaign(t(250), "ada", "db", 1, maintenance("DB"), vec![slot("y", 300, 330)], &recorder)
        .await
        .unwrap();
    let words = ("Cancelled.", None);
    store.change_campaign_state(t(251), "ada", "db", CampaignState::Cancelled, words, &recorder).await.unwrap();
    let events = recorder.seen().len();
    assert_eq!(store.slot_progress(t(400), &recorder).await.unwrap(), (0, 0));
    assert_eq!(recorder.seen().len(), events);
}

/// Maintenance posts follow the schedule: a post of no campaign by its own window, a
/// campaign's by its slots as told started and finished; the campaign completes with its
/// last slot. Each move is an update at the time it happened, told once.
pub(super) async fn posts_follow_the_schedule(store: &Store) {
    let recorder = Recorder::default();
    // A post of its own, 60 to 120.
    let window = NewPost { starts: Some(t(60)), ends: Some(t(120)), ..maintenance("Switch swap") };
    let own = store.create_post(t(0), "ada", window, &recorder).await.unwrap();
    // A post without times, one cancelled, an incident: never moved.
    let timeless = NewPost { starts: None, ends: None, ..maintenance("Someday") };
    let timeless = store.create_post(t(0), "ada", timeless, &recorder).await.unwrap();
    let off = NewPost { starts: Some(t(10)), ends: Some(t(20)), ..maintenance("Off") };
    let off = store.create_post(t(0), "ada", off, &recorder).await.unwrap();
    store.add_update(t(1), "ada", off.id, Some(PostState::Cancelled), "Off.", &recorder).await.unwrap();
    store.create_post(t(0), "ada", incident("Broken"), &recorder).await.unwrap();
    // A campaign with slots a (100 to 130) and b (150 to 170), c cancelled.
    planned(store, "os").await;
    plans_up_to(store, "os", 2).await;
    let os = [slot("a", 100, 130), slot("b", 150, 170), slot("c", 90, 95)];
    let (_, os_post) =
        store.publish_campaign(t(2), "ada", "os", 1, maintenance("OS"), os.to_vec(), &recorder).await.unwrap();
    store.republish_campaign(t(3), "ada", "os", 2, &os[..2], &recorder).await.unwrap();
    // A paused one waits.
    planned(store, "net").await;
    let (_, net_post) = store
        .publish_campaign(t(3), "ada", "net", 1, maintenance("Net"), vec![slot("x", 30, 40)], &recorder)
        .await
        .unwrap();
    store.change_campaign_state(t(4), "ada", "net", CampaignState::Paused, ("Paused.", None), &recorder).await.unwrap();
    let state = |id| async move { store.post(id).await.unwrap().unwrap().state };
    let events = recorder.seen().len();

    // Nothing has begun.
    assert_eq!(store.advance_posts(t(59), &recorder).await.unwrap(), 0);
    assert_eq!(recorder.seen().len(), events);

    // Its window began a minute ago: in progress, the update at its start.
    assert_eq!(store.advance_posts(t(61), &recorder).await.unwrap(), 1);
    assert_eq!(state(own.id).await, PostState::InProgress);
    let update = store.updates(own.id).await.unwrap().pop().unwrap();
    assert_eq!(
        (update.at, update.state, update.body.as_str(), update.author.as_str()),
        (t(60), Some(PostState::InProgress), "In progress: the maintenance window has begun.", "forewarn")
    );
    let told = recorder.last();
    assert_eq!(
        (told.what.as_str(), told.post, told.at),
        ("post updated: In progress: the maintenance window has begun.", Some(own.id), t(61))
    );
    assert_eq!(store.post(own.id).await.unwrap().unwrap().updated, t(61), "feed readers see the change");
    // Once.
    assert_eq!(store.advance_posts(t(62), &recorder).await.unwrap(), 0);
    assert_eq!(recorder.seen().len(), events + 1);

    // The campaign's first slot started (as slot progress told it): its post is in progress
    // from the slot's start; the campaign is not complete while b has not finished.
    store.slot_progress(t(101), &recorder).await.unwrap();
    assert_eq!(store.advance_posts(t(101), &recorder).await.unwrap(), 1);
    assert_eq!(state(os_post.id).await, PostState::InProgress);
    let update = store.updates(os_post.id).await.unwrap().pop().unwrap();
    assert_eq!((update.at, update.body.as_str()), (t(100), "In progress: the first slot has begun."));
    assert_eq!(store.campaign("os").await.unwrap().unwrap().state, CampaignState::Published);

    // Both end: the post of its own at its end, the campaign's once b was told finished.
    let events = recorder.seen().len();
    assert_eq!(store.advance_posts(t(171), &recorder).await.unwrap(), 1, "b not told finished yet");
    assert_eq!(state(own.id).await, PostState::Completed);
    let update = store.updates(own.id).await.unwrap().pop().unwrap();
    assert_eq!((update.at, update.state), (t(120), Some(PostState::Completed)));
    store.slot_progress(t(172), &recorder).await.unwrap();
    assert_eq!(store.advance_posts(t(172), &recorder).await.unwrap(), 2, "the post and the campaign");
    assert_eq!(state(os_post.id).await, PostState::Completed);
    let update = store.updates(os_post.id).await.unwrap().pop().unwrap();
    assert_eq!((update.at, update.body.as_str()), (t(170), "Completed: the last slot has ended."));
    let c = store.campaign("os").await.unwrap().unwrap();
    assert_eq!((c.state, c.updated), (CampaignState::Completed, t(172)));
    let whats: Vec<String> = recorder.seen().into_iter().skip(events).map(|s| s.what).collect();
    assert_eq!(
        whats,
        [
            "post updated: Completed: the maintenance window has ended.",
            "started os",
            "finished os",
            "os published->completed",
        ]
    );
    assert_eq!(
        recorder.last().updates,
        [(os_post.id, PostState::Completed, "Completed: the last slot has ended.".to_owned())]
    );
    let audit = store.audit(3).await.unwrap();
    assert_eq!(
        (audit[0].action.as_str(), audit[0].actor.as_str(), audit[0].subject.as_str()),
        ("campaign.complete", "forewarn", "os")
    );
    assert_eq!((audit[1].action.as_str(), audit[1].subject.clone()), ("post.update", os_post.id.to_string()));

    // Long after: nothing else moves (the paused campaign, the cancelled post, the post
    // without times, the incident).
    assert_eq!(store.advance_posts(t(10_000), &recorder).await.unwrap(), 0);
    assert_eq!(state(net_post.id).await, PostState::Scheduled);
    assert_eq!(state(timeless.id).await, PostState::Scheduled);
    assert_eq!(state(off.id).await, PostState::Cancelled);

    // Both steps at once when the service was away: in progress then completed, each at its time.
    let late = NewPost { starts: Some(t(200)), ends: Some(t(260)), ..maintenance("While away") };
    let late = store.create_post(t(5), "ada", late, &recorder).await.unwrap();
    assert_eq!(store.advance_posts(t(10_000), &recorder).await.unwrap(), 2);
    let steps: Vec<(Timestamp, Option<PostState>)> =
        store.updates(late.id).await.unwrap().into_iter().map(|u| (u.at, u.state)).collect();
    assert_eq!(steps, [(t(200), Some(PostState::InProgress)), (t(260), Some(PostState::Completed))]);
}

/// Subscribing asks for a confirmation; only confirmed subscribers are told about posts.
pub(super) async fn subscribing(store: &Store) {
    let recorder = Recorder::default();
    store.upsert_component(t(0), "ada", &component("vm-hosting", "VM hosting")).await.unwrap();
    let vm = ["vm-hosting".to_owned()];
    let long = format!("{}@example.net", "a".repeat(243));
    for bad in [
        "",
        "  ",
        "no-at",
        "a@b@example.net",
        "@example.net",
        "ada@localhost",
        "ada@.net",
        "a da@example.net",
        "ada@example.net\u{7}",
        long.as_str(),
    ] {
        invalid(store.subscribe(t(1), bad, &vm, "en", &recorder).await, &["`email`"]);
    }
    invalid(store.subscribe(t(1), "ada@example.net", &vm, "fr", &recorder).await, &["`language`", "en or de"]);
    let unknown = ["nope".to_owned(), "vm-hosting".to_owned(), "gone".to_owned()];
    not_found(store.subscribe(t(1), "ada@example.net", &unknown, "en", &recorder).await, "components `nope`, `gone`");
    not_found(store.subscribe(t(1), "ada@example.net", &unknown[..1], "en", &recorder).await, "component `nope`");
    assert!(store.subscribers().await.unwrap().is_empty());
    assert!(recorder.seen().is_empty());

    let ada = store.subscribe(t(2), "  Ada@Example.NET ", &vm, "en", &recorder).await.unwrap();
    assert_eq!(
        (ada.email.as_str(), ada.components.as_slice(), ada.language.as_str()),
        ("Ada@Example.NET", &vm[..], "en")
    );
    assert_eq!((ada.created, ada.confirmed), (t(2), None));
    let asked = recorder.last();
    assert_eq!((asked.seq, asked.what.as_str(), asked.actor.as_str()), (1, "subscription Ada@Example.NET", "public"));
    let (first, change) = asked.request.unwrap();
    assert!(!change, "a new address is asked to confirm, not to change");
    // Asked again within the hour: nothing changes and nothing is sent (at most one
    // confirmation an hour to an address); 50 times, too.
    for minute in 0..50 {
        let again = store
            .subscribe(t(3) + SignedDuration::from_secs(minute), "ada@example.net", &[], "de", &recorder)
            .await
            .unwrap();
        assert_eq!(again, ada);
    }
    assert_eq!(recorder.seen().len(), 1);
    // After the hour, a new request with new choices; the subscription is as it was until a
    // link is followed.
    let again = store.subscribe(t(62), "ada@example.net", &[], "de", &recorder).await.unwrap();
    assert_eq!(again, ada);
    let (second, _) = recorder.last().request.unwrap();
    assert_eq!(recorder.last().seq, 2);
    assert_ne!(first, second);

    not_found(store.confirm_subscription(t(63), 9999).await, "subscription request 9999");
    // Each link applies the choices of the request it was sent for, and only those.
    let done = store.confirm_subscription(t(124), first).await.unwrap();
    assert_eq!(done.outcome, Confirmed::Subscribed);
    let confirmed = done.subscriber;
    assert_eq!((confirmed.id, confirmed.confirmed), (ada.id, Some(t(124))));
    assert_eq!((confirmed.components.as_slice(), confirmed.language.as_str()), (&vm[..], "en"));
    let done = store.confirm_subscription(t(125), first).await.unwrap();
    assert_eq!(
        (done.outcome, &done.subscriber),
        (Confirmed::Already, &confirmed),
        "following it again changes nothing"
    );
    // The second request's link, followed later, changes the confirmed subscription to its choices.
    let done = store.confirm_subscription(t(126), second).await.unwrap();
    assert_eq!(done.outcome, Confirmed::Changed);
    assert_eq!(
        (done.subscriber.components.is_empty(), done.subscriber.language.as_str(), done.subscriber.confirmed),
        (true, "de", Some(t(124)))
    );
    // Whoever knows a confirmed address can only have a link sent to it (a change,
    // at most one an hour); the subscription changes only when it is followed.
    let asked = store.subscribe(t(200), "ada@example.net", &vm, "en", &recorder).await.unwrap();
    assert_eq!(asked, done.subscriber);
    let (third, change) = recorder.last().request.unwrap();
    assert!(change, "a confirmed address is asked to confirm a change");
    assert_eq!(store.subscribe(t(201), "ada@example.net", &[], "en", &recorder).await.unwrap(), asked);
    assert_eq!(recorder.seen().len(), 3);
    let changed = done.subscriber;
    let bob = store.subscribe(t(202), "bob@example.net", &[], "de", &recorder).await.unwrap();
    assert_eq!(store.subscribers().await.unwrap(), [changed.clone(), bob.clone()]);

    store.create_post(t(203), "ada", incident("x"), &recorder).await.unwrap();
    assert_eq!(recorder.last().subscribers, ["Ada@Example.NET"]);

    // An unsubscribe link names the subscription and when its message was written: one
    // written before the subscription began (another subscription of the address), or for an
    // unknown or unconfirmed subscription, ends nothing.
    assert_eq!(store.subscription(ada.id, t(1)).await.unwrap(), None);
    assert_eq!(store.unsubscribe(t(204), ada.id, t(1)).await.unwrap(), None);
    assert_eq!(store.unsubscribe(t(204), bob.id, t(203)).await.unwrap(), None);
    assert_eq!(store.unsubscribe(t(204), 9999, t(203)).await.unwrap(), None);
    assert_eq!(store.subscription(ada.id, t(203)).await.unwrap().as_ref(), Some(&changed));
    assert_eq!(store.unsubscribe(t(205), ada.id, t(203)).await.unwrap().as_ref(), Some(&changed));
    assert_eq!(store.unsubscribe(t(205), ada.id, t(203)).await.unwrap(), None, "once");
    assert_eq!(store.subscription(ada.id, t(203)).await.unwrap(), None);
    assert_eq!(store.subscribers().await.unwrap(), [bob]);
    store.create_post(t(206), "ada", incident("y"), &recorder).await.unwrap();
    assert!(recorder.last().subscribers.is_empty());

    // Back after unsubscribing: a new subscription from when its link is followed; the old
    // links (even the unused third request's) apply their own choices, and the old
    // unsubscribe links do not end the new subscription.
    let back = store.subscribe(t(300), "ada@example.net", &[], "de", &recorder).await.unwrap();
    assert_eq!((back.id, back.confirmed), (ada.id, None));
    let (fourth, change) = recorder.last().request.unwrap();
    assert!(!change, "an ended subscription is asked to confirm anew");
    let done = store.confirm_subscription(t(301), fourth).await.unwrap();
    assert_eq!(
        (done.outcome, done.subscriber.confirmed, done.subscriber.created),
        (Confirmed::Subscribed, Some(t(301)), t(301))
    );
    assert_eq!(store.unsubscribe(t(302), ada.id, t(203)).await.unwrap(), None);
    let done = store.confirm_subscription(t(303), third).await.unwrap();
    assert_eq!((done.outcome, done.subscriber.components.as_slice()), (Confirmed::Changed, &vm[..]));

    let audit = store.audit(100).await.unwrap();
    let subscriber_rows: Vec<(&str, &str)> = audit
        .iter()
        .filter(|a| a.action.starts_with("subscriber."))
        .map(|a| (a.action.as_str(), a.actor.as_str()))
        .rev()
        .collect();
    let expected = [
        "subscriber.request",
        "subscriber.request",
        "subscriber.confirm",
        "subscriber.change",
        "subscriber.request",
        "subscriber.request",
        "subscriber.unsubscribe",
        "subscriber.request",
        "subscriber.confirm",
        "subscriber.change",
    ];
    assert_eq!(subscriber_rows, expected.map(|a| (a, "public")));
    let last = &audit[0];
    assert_eq!(last.detail, json!({ "request": third, "components": ["vm-hosting"], "language": "en" }));
    assert!(!format!("{audit:?}").contains("example.net"), "the audit log names subscribers by number");
}

/// Messages are taken under a lease, then marked sent or failed; failures wait longer
/// each time and end dead, and a dead message can be retried by hand.
pub(super) async fn delivering(store: &Store) {
    let recorder = Recorder::default();
    assert_eq!(store.next_due().await.unwrap(), None);
    for (i, title) in ["one", "two", "three"].into_iter().enumerate() {
        store.create_post(t(i as i64), "ada", incident(title), &recorder).await.unwrap();
    }
    let all = outbox(store).await;
    let [m1, m2, m3] = [all[0].id, all[1].id, all[2].id];
    assert_eq!(store.next_due().await.unwrap(), Some(t(0)));
    let lease = SignedDuration::from_mins(5);
    let ids = |messages: Vec<Message>| messages.iter().map(|m| m.id).collect::<Vec<_>>();

    let claimed = store.claim_messages(t(1), lease, 10, "a").await.unwrap();
    assert_eq!(claimed, all[..2], "due ones, oldest first, whole");
    assert_eq!(ids(store.claim_messages(t(2), lease, 10, "a").await.unwrap()), [m3]);
    assert!(store.claim_messages(t(5), lease, 10, "a").await.unwrap().is_empty(), "leased until t(6) and t(7)");
    assert_eq!(store.next_due().await.unwrap(), Some(t(6)), "a lease ends");
    assert_eq!(ids(store.claim_messages(t(6), lease, 10, "a").await.unwrap()), [m1, m2], "the lease ended");
    assert_eq!(ids(store.claim_messages(t(100), lease, 1, "a").await.unwrap()), [m1], "at most `limit`");
    invalid(store.claim_messages(t(100), SignedDuration::ZERO, 1, "a").await, &["lease"]);

    assert_eq!(store.mark_sent(&[m1], t(101)).await.unwrap(), 1);
    assert_eq!(store.mark_sent(&[m1], t(102)).await.unwrap(), 0, "only once");
    let sent = store.message(m1).await.unwrap().unwrap();
    assert_eq!((sent.state, sent.sent, sent.attempts), (MessageState::Sent, Some(t(101)), 0));

    let policy = RetryPolicy {
        max_attempts: 3,
        first_backoff: SignedDuration::from_secs(30),
        max_backoff: SignedDuration::from_secs(45),
    };
    let at = t(110);
    let plus = |secs: i64| at.checked_add(SignedDuration::from_secs(secs)).unwrap();
    assert_eq!(store.mark_failed(m2, at, "421 try again later", false, &policy).await.unwrap(), MessageState::Pending);
    let failed = store.message(m2).await.unwrap().unwrap();
    assert_eq!((failed.attempts, failed.due, failed.error.as_deref()), (1, plus(30), Some("421 try again later")));
    assert!(store.claim_messages(plus(29), lease, 10, "a").await.unwrap().iter().all(|m| m.id != m2), "backing off");
    assert_eq!(store.claim_messages(plus(30), lease, 10, "a").await.unwrap().iter().filter(|m| m.id == m2).count(), 1);
    assert_eq!(store.mark_failed(m2, plus(30), "421 again", false, &policy).await.unwrap(), MessageState::Pending);
    let failed = store.message(m2).await.unwrap().unwrap();
    assert_eq!((failed.attempts, failed.due), (2, plus(30 + 45)), "doubled, at most max_backoff");
    assert_eq!(store.mark_failed(m2, plus(80), "421 still", false, &policy).await.unwrap(), MessageState::Dead);
    let dead = store.message(m2).await.unwrap().unwrap();
    assert_eq!((dead.state, dead.attempts, dead.error.as_deref()), (MessageState::Dead, 3, Some("421 still")));
    // A message someone else marked stays as it is.
    assert_eq!(store.mark_failed(m1, at, "late", false, &policy).await.unwrap(), MessageState::Sent);
    assert_eq!(store.message(m1).await.unwrap().unwrap(), sent);
    not_found(store.mark_failed(999, at, "x", false, &policy).await, "message 999");
    // Permanent: dead at once.
    assert_eq!(store.mark_failed(m3, at, "550 no such user", true, &policy).await.unwrap(), MessageState::Dead);
    assert_eq!(store.message(m3).await.unwrap().unwrap().attempts, 1);
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 0, sent: 1, dead: 2 });
    assert_eq!(store.next_due().await.unwrap(), None);
    assert!(store.claim_messages(t(1000), lease, 10, "a").await.unwrap().is_empty());

    // Listings: newest first, by state, page by page.
    assert_eq!(ids(store.messages(Some(MessageState::Dead), 10, None).await.unwrap()), [m3, m2]);
    assert_eq!(ids(store.messages(None, 2, None).await.unwrap()), [m3, m2]);
    assert_eq!(ids(store.messages(None, 2, Some(m2)).await.unwrap()), [m1]);
    assert_eq!(ids(store.messages(Some(MessageState::Sent), 10, Some(m1)).await.unwrap()), Vec::<i64>::new());
    assert_eq!(store.message(999).await.unwrap(), None);

    invalid(store.retry_message(t(200), "ada", m1).await, &["message", "sent", "dead"]);
    not_found(store.retry_message(t(200), "ada", 999).await, "message 999");
    let retried = store.retry_message(t(200), "ada", m2).await.unwrap();
    assert_eq!((retried.state, retried.attempts, retried.due), (MessageState::Pending, 0, t(200)));
    let audit = store.audit(1).await.unwrap();
    assert_eq!((audit[0].action.as_str(), audit[0].actor.as_str()), ("outbox.retry", "ada"));
    assert_eq!(audit[0].detail, json!({ "key": dead.key, "attempts": 3, "error": "421 still" }));
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 1, sent: 1, dead: 1 });

    // A single process starting up takes back what it held when it stopped.
    assert_eq!(ids(store.claim_messages(t(200), lease, 10, "a").await.unwrap()), [m2]);
    assert!(store.claim_messages(t(201), lease, 10, "a").await.unwrap().is_empty());
    assert_eq!(store.release_claims().await.unwrap(), 1);
    assert_eq!(ids(store.claim_messages(t(201), lease, 10, "a").await.unwrap()), [m2]);

    // The installation's secret is made once.
    assert_eq!(store.secret("first").await.unwrap(), "first");
    assert_eq!(store.secret("second").await.unwrap(), "first");
    invalid(store.secret(" ").await, &["secret"]);
}

/// A round renews its own lease while it runs, and only for what it still holds; delivered
/// messages are deleted after their retention, with the events no message names any more.
pub(super) async fn leases_and_retention(store: &Store) {
    let recorder = Recorder::default();
    for (i, title) in ["one", "two", "three"].into_iter().enumerate() {
        store.create_post(t(i as i64), "ada", incident(title), &recorder).await.unwrap();
    }
    let all = outbox(store).await;
    let [m1, m2, m3] = [all[0].id, all[1].id, all[2].id];
    let lease = SignedDuration::from_mins(5);
    let mine = store.claim_messages(t(10), lease, 2, "round-1").await.unwrap();
    assert_eq!(mine.iter().map(|m| m.id).collect::<Vec<_>>(), [m1, m2]);
    // The round sent m1; it renews what it holds, which is m2 only.
    assert_eq!(store.mark_sent(&[m1], t(12)).await.unwrap(), 1);
    assert_eq!(store.renew_claims("round-1", &[m1, m2], t(20)).await.unwrap(), 1);
    // Another round cannot renew (or take) what round 1 holds, however late it gets.
    assert_eq!(store.renew_claims("round-2", &[m2], t(100)).await.unwrap(), 0);
    let other = store.claim_messages(t(18), lease, 10, "round-2").await.unwrap();
    assert_eq!(other.iter().map(|m| m.id).collect::<Vec<_>>(), [m3], "m2's renewed lease runs until t(20)");
    assert_eq!(
        store.claim_messages(t(20), lease, 10, "round-3").await.unwrap().iter().map(|m| m.id).collect::<Vec<_>>(),
        [m2]
    );
    assert_eq!(store.renew_claims("round-1", &[m2], t(30)).await.unwrap(), 0, "round 1 lost it when its lease ended");

    // Retention: what was sent before the cut goes with its event; the rest stays.
    assert_eq!(store.mark_sent(&[m2], t(40)).await.unwrap(), 1);
    assert_eq!(store.prune_sent(t(12)).await.unwrap(), 0, "sent at t(12), not before it");
    assert_eq!(store.prune_sent(t(13)).await.unwrap(), 1);
    assert_eq!(store.message(m1).await.unwrap(), None);
    let kept = store.message(m2).await.unwrap().unwrap();
    assert!(kept.intent.is_some(), "its event stays while a message names it");
    assert_eq!(store.message(m3).await.unwrap().unwrap().state, MessageState::Pending, "pending messages stay");
    assert_eq!(store.prune_sent(t(1000)).await.unwrap(), 1, "m2; m3 is pending");
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts { pending: 1, sent: 0, dead: 0 });
    assert!(store.message(m3).await.unwrap().unwrap().intent.is_some());
}

/// Instances claiming at the same time never take the same message.
pub(super) async fn concurrent_claims(store: &Store) {
    let recorder = Recorder::default();
    for i in 0..24 {
        store.create_post(t(i), "ada", incident(&format!("post {i}")), &recorder).await.unwrap();
    }
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = store.claim_messages(t(100), SignedDuration::from_mins(5), 3, "a").await.unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|m| m.id));
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort();
    let total = all.len();
    all.dedup();
    assert_eq!((total, all.len()), (24, 24));
}

/// A notifier that tells a publication's contacts ahead (a part and a message per slot)
/// and, in the publication's transaction, its subscribers (a part and a message more,
/// numbered on). It can wait in `tell_ahead` until it is let go, or fail in `tell`.
#[derive(Default)]
struct TellsAhead {
    /// Signalled on arrival in `tell_ahead`, which then waits for the receiver.
    gate: Option<(tokio::sync::mpsc::UnboundedSender<()>, Mutex<std::sync::mpsc::Receiver<()>>)>,
    /// `tell` cannot tell the rest of a publication.
    cannot_finish: bool,
    /// Message `.1` is given the key of message `.0` (a notifier's mistake).
    repeat: Option<(usize, usize)>,
}

fn later(key: String, recipient: &str, part: u32, at: Timestamp) -> NewMessage {
    NewMessage {
        key,
        channel: Channel::Email,
        sender: "status@example.net".into(),
        recipient: format!("{recipient}@example.net"),
        subject: "published".into(),
        cause: "publication".into(),
        body: Body::Later { part: Some(part), data: format!("{{\"to\":{recipient:?}}}") },
        due: at,
    }
}

impl Notifier for TellsAhead {
    fn tell_ahead(
        &self,
        seq: i64,
        at: Timestamp,
        _: &crate::StoredCampaign,
        slots: &[SlotNotice],
    ) -> Result<Told, String> {
        if let Some((arrived, go)) = &self.gate {
            arrived.send(()).unwrap();
            go.lock().unwrap().recv().unwrap();
        }
        Ok(Told {
            context: String::new(),
            parts: slots.iter().map(|s| format!("{{\"slot\":{:?}}}", s.target)).collect(),
            messages: slots
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let n = match self.repeat {
                        Some((first, again)) if i == again => first,
                        _ => i,
                    };
                    later(format!("{seq}.{n}@test"), &s.target, i as u32, at)
                })
                .collect(),
        })
    }

    fn tell(&self, e: &Event<'_>) -> Result<Told, String> {
        if self.cannot_finish && e.ahead.is_some() {
            return Err("the subscribers' mail cannot be written".into());
        }
        let ahead = e.ahead.unwrap_or_default();
        Ok(Told {
            context: "{\"what\":\"published\"}".into(),
            parts: vec!["{\"part\":\"subscribers\"}".into()],
            messages: vec![later(format!("{}.{}@test", e.seq, ahead.messages), "subscribers", ahead.parts, e.at)],
        })
    }
}

/// A count of raw rows (what is stored, whether it is read or not).
pub(super) async fn rows(store: &Store, sql: &str) -> i64 {
    match &store.pool {
        crate::Pool::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        crate::Pool::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
    }
}

/// Nothing of a publication that has not finished is read: its campaign is a draft
/// without slots or post, and its messages are neither listed, counted, due nor sent.
async fn nothing_published(store: &Store, campaign: &str) {
    assert_eq!(store.campaign(campaign).await.unwrap().unwrap().state, CampaignState::Draft);
    assert!(store.slot_notices(campaign).await.unwrap().is_empty());
    assert!(store.posts_of_campaign(campaign).await.unwrap().is_empty());
    assert_eq!(store.outbox_counts().await.unwrap(), OutboxCounts::default());
    assert!(store.messages(None, 10, None).await.unwrap().is_empty());
    assert_eq!(store.next_due().await.unwrap(), None);
    let held = rows(store, "SELECT MIN(id) FROM outbox").await;
    assert_eq!(store.message(held).await.unwrap(), None, "a held message is not shown");
}

/// A large publication writes its slots and its contacts' messages in batches of short
/// transactions under an event held back: other writes get in between, nothing of it is
/// read until its last transaction, and what one that died half-way left is dropped by
/// the next one.
pub(super) async fn staged_publication(store: &Store) {
    const N: usize = 25_000;
    let slots: Vec<PlannedSlot> =
        (0..N as i64).map(|i| slot(&format!("vm-{i:05}"), 100 + i % 50, 160 + i % 50)).collect();
    planned(store, "os").await;
    let ahead = TellsAhead::default();

    // A publication that dies before its last transaction leaves rows nobody reads.
    let seq = store.begin_publication(t(5), "ada", "os", 1, &maintenance("OS")).await.unwrap();
    let staged = store.stage_publication(t(5), "os", seq, slots.to_vec(), &ahead).await.unwrap();
    assert_eq!(staged.ahead, crate::Ahead { parts: N as u32, messages: N as u32 });
    assert_eq!(staged.notices.len(), N);
    assert_eq!(rows(store, "SELECT COUNT(*) FROM outbox").await, N as i64);
    assert_eq!(rows(store, "SELECT COUNT(*) FROM slot_notices").await, N as i64);
    nothing_published(store, "os").await;
    assert!(store.claim_messages(t(500), SignedDuration::from_mins(5), 10, "a").await.unwrap().is_empty());

    // The next publication drops them and publishes whole, under an event of its own.
    let (campaign, post) =
        store.publish_campaign(t(6), "ada", "os", 1, maintenance("OS"), slots.to_vec(), &ahead).await.unwrap();
    assert_eq!(campaign.state, CampaignState::Published);
    assert_eq!(store.slot_notices("os").await.unwrap().len(), N);
    assert_eq!(store.outbox_counts().await.unwrap().pending, N as u64 + 1);
    assert_eq!(rows(store, "SELECT COUNT(*) FROM outbox").await, N as i64 + 1);
    assert_eq!(rows(store, "SELECT COUNT(*) FROM events WHERE staging IS NOT NULL").await, 0);
    let seq2 = rows(store, "SELECT MAX(seq) FROM events").await;
    assert!(seq2 > seq);
    assert_eq!(rows(store, &format!("SELECT COUNT(*) FROM outbox WHERE event = {seq2}")).await, N as i64 + 1);
    let newest = &store.messages(None, 1, None).await.unwrap()[0];
    let newest = store.message(newest.id).await.unwrap().unwrap();
    assert_eq!(newest.key, format!("{seq2}.{N}@test"), "the subscribers' message is numbered after those ahead");
    let intent = newest.intent.expect("rendered at delivery");
    assert_eq!(
        (intent.context.as_str(), intent.part.as_deref()),
        ("{\"what\":\"published\"}", Some("{\"part\":\"subscribers\"}"))
    );
    let first = store.message(rows(store, "SELECT MIN(id) FROM outbox").await).await.unwrap().unwrap();
    assert_eq!(first.key, format!("{seq2}.0@test"));
    let intent = first.intent.expect("rendered at delivery");
    assert_eq!(
        (intent.context.as_str(), intent.part.as_deref()),
        ("{\"what\":\"published\"}", Some("{\"slot\":\"vm-00000\"}"))
    );
    assert_eq!(post.campaign.as_deref(), Some("os"));

    // The publication that was taken over cannot finish.
    match store.finish_publication(t(7), "ada", "os", 1, &maintenance("OS"), &ahead, &staged).await {
        Err(Error::Conflict(m)) => assert!(m.contains("taken over"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let told = store.outbox_counts().await.unwrap();

    // One that fails in its last transaction drops what it wrote ahead, but its slots,
    // which the next publication of the draft clears, in batches too.
    planned(store, "net").await;
    let cannot = TellsAhead { cannot_finish: true, ..TellsAhead::default() };
    match store.publish_campaign(t(8), "ada", "net", 1, maintenance("Net"), slots.to_vec(), &cannot).await {
        Err(Error::Invalid(m)) => assert!(m.contains("cannot be told") && m.contains("subscribers"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(store.campaign("net").await.unwrap().unwrap().state, CampaignState::Draft);
    assert!(store.slot_notices("net").await.unwrap().is_empty());
    assert_eq!(store.outbox_counts().await.unwrap(), told);
    assert_eq!(rows(store, "SELECT COUNT(*) FROM outbox").await, N as i64 + 1);
    assert_eq!(rows(store, "SELECT COUNT(*) FROM events WHERE staging IS NOT NULL").await, 0);
    assert_eq!(rows(store, "SELECT COUNT(*) FROM slot_notices WHERE campaign = 'net'").await, N as i64);
    // A notifier that gives a message's key twice, in one statement's rows or in two
    // batches, gets the publication refused, nothing of it left.
    planned(store, "dup").await;
    for (repeat, says) in [((3, 7), ".3@test` of event"), ((5, 15_000), "only 999 of 1000 messages")] {
        let twice = TellsAhead { repeat: Some(repeat), ..TellsAhead::default() };
        match store.publish_campaign(t(8), "ada", "dup", 1, maintenance("Dup"), slots.to_vec(), &twice).await {
            Err(Error::Conflict(m)) => assert!(m.contains(says) && m.contains("key"), "{m}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(store.campaign("dup").await.unwrap().unwrap().state, CampaignState::Draft);
        assert_eq!(store.outbox_counts().await.unwrap(), told);
    }
    let few = [slot("x", 60, 90), slot("y", 60, 90)];
    store.publish_campaign(t(9), "ada", "net", 1, maintenance("Net"), few.to_vec(), &ahead).await.unwrap();
    assert_eq!(store.slot_notices("net").await.unwrap().len(), 2);
    assert_eq!(rows(store, "SELECT COUNT(*) FROM slot_notices WHERE campaign = 'net'").await, 2);

    // Other writes get in while a publication is under way, and do not see it.
    planned(store, "db").await;
    let (arrived, mut arrival) = tokio::sync::mpsc::unbounded_channel();
    let (go, wait) = std::sync::mpsc::channel();
    let gated = std::sync::Arc::new(TellsAhead { gate: Some((arrived, Mutex::new(wait))), ..TellsAhead::default() });
    let publishing = tokio::spawn({
        let (store, slots, gated) = (store.clone(), slots.clone(), gated.clone());
        async move { store.publish_campaign(t(10), "ada", "db", 1, maintenance("DB"), slots.to_vec(), &*gated).await }
    });
    arrival.recv().await.expect("the publication tells ahead");
    let meanwhile = store.create_post(t(10), "bob", incident("meanwhile"), &Silent).await.unwrap();
    assert_eq!(store.campaign("db").await.unwrap().unwrap().state, CampaignState::Draft);
    assert!(store.slot_notices("db").await.unwrap().is_empty());
    go.send(()).unwrap();
    let (db, db_post) = publishing.await.unwrap().unwrap();
    assert_eq!(db.state, CampaignState::Published);
    assert!(meanwhile.id < db_post.id, "the other write got in first");
    assert_eq!(store.slot_notices("db").await.unwrap().len(), N);
}
