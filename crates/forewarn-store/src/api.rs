//! The store's operations, each handed to the backend's `ops` (the same source for both):
//! a mutating one inside a write transaction that commits only if it succeeds, a reading
//! one on a pooled connection.

use forewarn_status::{Component, ComponentStatus, Post, PostState, Revision, Update};
use jiff::Timestamp;

use crate::outbox::{
    Confirmation, Message, MessageState, Notifier, OutboxCounts, PlannedSlot, RetryPolicy, SlotNotice, Subscriber,
};
use crate::types::{
    AuditEntry, CampaignState, Correction, Counts, NewCampaign, NewPost, PlanSummary, Session, StoredCampaign,
    StoredInventory, StoredPlan, Token, TzdbFinding, TzdbRecord,
};
use crate::{Error, Pool, Result, Store, postgres, sqlite};

/// Runs `work`, which keeps a core busy for long (a large fleet's messages), beside
/// `writes`, which waits on the database mostly: on a multi-threaded runtime at the same
/// time, `work` on a thread of its own and `writes` on this one, whose worker hands its
/// queue to another thread meanwhile ([`tokio::task::block_in_place`]), so that the
/// runtime's other tasks do not wait; one after the other elsewhere (`work` first: `writes`
/// may wait for what it hands on).
async fn alongside<F: std::future::Future, T: Send>(writes: F, work: impl FnOnce() -> T + Send) -> (F::Output, T) {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let handle = Handle::current();
    if handle.runtime_flavor() != RuntimeFlavor::MultiThread {
        let worked = work();
        return (writes.await, worked);
    }
    tokio::task::block_in_place(|| {
        std::thread::scope(|s| {
            let work = s.spawn(work);
            let written = handle.block_on(writes);
            (written, work.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        })
    })
}

/// What a publication wrote ahead of its last transaction ([`Store::stage_publication`]).
pub(crate) struct Staged {
    /// Its event, held back until the last transaction releases it.
    pub(crate) seq: i64,
    /// Its slots as the event tells them.
    pub(crate) notices: Vec<SlotNotice>,
    /// How much of the event was told ahead.
    pub(crate) ahead: crate::Ahead,
}

/// Runs `ops::$op(conn, args...)` in one transaction of the store's backend.
macro_rules! in_tx {
    ($store:expr, $op:ident($($arg:expr),* $(,)?)) => {
        match &$store.pool {
            Pool::Sqlite(pool) => {
                let _turn = $store.writers.lock().await;
                let mut tx = sqlite::begin(pool).await?;
                let out = sqlite::ops::$op(&mut tx, $($arg),*).await?;
                if $store.rehearse { tx.rollback().await? } else { tx.commit().await? }
                Ok(out)
            }
            Pool::Postgres(pool) => {
                let mut tx = postgres::begin(pool).await?;
                let out = postgres::ops::$op(&mut tx, $($arg),*).await?;
                if $store.rehearse { tx.rollback().await? } else { tx.commit().await? }
                Ok(out)
            }
        }
    };
}

/// [`in_tx!`] as an expression: the transaction's `Result`.
macro_rules! tx {
    ($store:expr, $op:ident($($arg:expr),* $(,)?)) => {{
        let done: Result<_> = async { in_tx!($store, $op($($arg),*)) }.await;
        done
    }};
}

/// Runs `ops::$op(conn, args...)` on a pooled connection of the store's backend.
macro_rules! on_conn {
    ($store:expr, $op:ident($($arg:expr),* $(,)?)) => {
        match &$store.pool {
            Pool::Sqlite(pool) => sqlite::ops::$op(&mut *pool.acquire().await?, $($arg),*).await,
            Pool::Postgres(pool) => postgres::ops::$op(&mut *pool.acquire().await?, $($arg),*).await,
        }
    };
}

impl Store {
    // Inventory.

    /// Keeps an inventory file (`format` is `toml` or `json`) and its summary as the next
    /// version (1, 2, ...), which it returns.
    pub async fn import_inventory(
        &self,
        at: Timestamp,
        actor: &str,
        format: &str,
        text: &str,
        summary: &serde_json::Value,
    ) -> Result<i64> {
        in_tx!(self, import_inventory(at, actor, format, text, summary))
    }

    /// One inventory version, or the latest with `None`.
    pub async fn inventory(&self, version: Option<i64>) -> Result<Option<StoredInventory>> {
        on_conn!(self, inventory(version))
    }

    /// [`Store::import_inventory`] and the components made those it names (`components`), in
    /// one transaction: new ones added, known ones renamed to the inventory's name, those it
    /// no longer names retired (kept, no longer listed by [`Store::components`]), retired
    /// ones it names again brought back; each change in the audit log (`component.upsert`,
    /// `component.rename`, `component.retire`, `component.unretire`).
    pub async fn import_inventory_with_components(
        &self,
        at: Timestamp,
        actor: &str,
        format: &str,
        text: &str,
        summary: &serde_json::Value,
        components: &[Component],
    ) -> Result<i64> {
        in_tx!(self, import_inventory_with_components(at, actor, format, text, summary, components))
    }

    /// [`Store::set_campaign_state`] and, on each of the campaign's posts that is still open,
    /// an update with `update`'s text and state, in one transaction. On cancellation every
    /// slot its contacts were told and that was not cancelled yet is cancelled (its
    /// sequence goes up by one). `notifier` is told [`What::CampaignStateChanged`]
    /// (the posts with their new updates, the slots, the confirmed subscribers) and its
    /// messages are written to the outbox in the same transaction.
    ///
    /// [`What::CampaignStateChanged`]: crate::What::CampaignStateChanged
    pub async fn change_campaign_state(
        &self,
        at: Timestamp,
        actor: &str,
        id: &str,
        state: CampaignState,
        update: (&str, Option<PostState>),
        notifier: &dyn Notifier,
    ) -> Result<StoredCampaign> {
        in_tx!(self, change_campaign_state(at, actor, id, state, update, None, notifier))
    }

    /// [`Store::change_campaign_state`] because of `reason` (the operator's words): it goes
    /// into the audit row's detail and to `notifier` with the event (contacts' mail,
    /// webhooks); the caller puts it into `update`'s text for the posts.
    #[allow(clippy::too_many_arguments)]
    pub async fn change_campaign_state_because(
        &self,
        at: Timestamp,
        actor: &str,
        id: &str,
        state: CampaignState,
        update: (&str, Option<PostState>),
        reason: Option<&str>,
        notifier: &dyn Notifier,
    ) -> Result<StoredCampaign> {
        in_tx!(self, change_campaign_state(at, actor, id, state, update, reason, notifier))
    }

    /// The latest inventory version, if any (cheap: no text).
    pub async fn inventory_version(&self) -> Result<Option<i64>> {
        on_conn!(self, inventory_version())
    }

    /// Whether the database answers, for `/healthz`.
    pub async fn ping(&self) -> Result<()> {
        on_conn!(self, ping())
    }

    /// Counts one more write that changed what the public pages show (made by any instance);
    /// gives the new count. A separate transaction, after the write committed.
    pub async fn bump_generation(&self) -> Result<i64> {
        in_tx!(self, bump_generation())
    }

    /// How many writes changed what the public pages show ([`Store::bump_generation`]): an
    /// instance whose pages were rendered at another count renders them again.
    pub async fn generation(&self) -> Result<i64> {
        on_conn!(self, generation())
    }

    // Campaigns.

    /// A new campaign, in state draft. `Conflict` if the id is taken, `NotFound` if the
    /// inventory version is.
    pub async fn create_campaign(&self, at: Timestamp, actor: &str, new: NewCampaign) -> Result<StoredCampaign> {
        in_tx!(self, create_campaign(at, actor, &new))
    }

    /// Replaces a draft campaign's file (`new`: its id must be `id`), with an audit row
    /// `campaign.edit` that keeps the old title, text and inventory version. `Conflict` unless
    /// it is a draft, `Invalid` for another id or the same text, `NotFound` for an unknown
    /// campaign or inventory version.
    pub async fn edit_campaign(
        &self,
        at: Timestamp,
        actor: &str,
        id: &str,
        new: NewCampaign,
    ) -> Result<StoredCampaign> {
        in_tx!(self, edit_campaign(at, actor, id, &new))
    }

    pub async fn campaign(&self, id: &str) -> Result<Option<StoredCampaign>> {
        on_conn!(self, campaign(id))
    }

    /// Every campaign, newest first.
    pub async fn campaigns(&self) -> Result<Vec<StoredCampaign>> {
        on_conn!(self, campaigns())
    }

    /// Pauses, resumes, cancels or completes a campaign ([`CampaignState::can_move_to`]);
    /// a draft is published with [`Store::publish_campaign`]. `Invalid` names both states.
    pub async fn set_campaign_state(
        &self,
        at: Timestamp,
        actor: &str,
        id: &str,
        state: CampaignState,
    ) -> Result<StoredCampaign> {
        in_tx!(self, set_campaign_state(at, actor, id, state))
    }

    /// Publishes plan version `plan_version` of a draft campaign and creates its
    /// maintenance post (linked to the campaign), keeps `slots` (the plan's slots) as told
    /// to their contacts (sequence 0), and writes the messages `notifier` gives for
    /// [`What::CampaignPublished`] to the outbox: together or not at all. `Invalid` if a
    /// target has two slots or a slot ends before it starts.
    ///
    /// A large fleet's slots and messages are many: they are written in batches, each in a
    /// short transaction of its own, so that other writes get in between (on SQLite, where
    /// one writer holds the whole database). Nothing of them is read until the last
    /// transaction publishes the campaign and releases its event: the slots are those of a
    /// draft, the messages (told ahead, [`Notifier::tell_ahead`]) those of a held event.
    /// If the publication fails half-way, what it wrote is dropped, or, if the process
    /// dies, dropped by the next publication of the campaign. A rehearsal writes all of it
    /// in one transaction.
    ///
    /// [`What::CampaignPublished`]: crate::What::CampaignPublished
    #[allow(clippy::too_many_arguments)]
    pub async fn publish_campaign(
        &self,
        at: Timestamp,
        actor: &str,
        campaign: &str,
        plan_version: i64,
        post: NewPost,
        slots: Vec<PlannedSlot>,
        notifier: &dyn Notifier,
    ) -> Result<(StoredCampaign, Post)> {
        if self.rehearse {
            return in_tx!(self, publish_campaign(at, actor, campaign, plan_version, &post, &slots, notifier));
        }
        // The slots are checked before any transaction: a million take a tenth of a second.
        crate::outbox::check_slots(&slots)?;
        let seq = self.begin_publication(at, actor, campaign, plan_version, &post).await?;
        let published = async {
            let staged = self.stage_publication(at, campaign, seq, slots, notifier).await?;
            self.finish_publication(at, actor, campaign, plan_version, &post, notifier, &staged).await
        }
        .await;
        if published.is_err() {
            // What it wrote is dropped now if the database lets us, else by the next try.
            let _ = tx!(self, abandon_publication(campaign, seq));
        }
        published
    }

    /// The first step of [`Store::publish_campaign`]: its checks (but the slots'), and an event held back
    /// for it (what an earlier publication of the campaign left half-way is dropped).
    /// Returns the event's number.
    pub(crate) async fn begin_publication(
        &self,
        at: Timestamp,
        actor: &str,
        campaign: &str,
        plan_version: i64,
        post: &NewPost,
    ) -> Result<i64> {
        in_tx!(self, begin_publication(at, actor, campaign, plan_version, post))
    }

    /// The second step of [`Store::publish_campaign`] (event `seq`): its slots and the
    /// messages told ahead to its contacts written in batches, each in a short transaction
    /// of its own, under its event held back.
    pub(crate) async fn stage_publication(
        &self,
        at: Timestamp,
        campaign: &str,
        seq: i64,
        slots: Vec<PlannedSlot>,
        notifier: &dyn Notifier,
    ) -> Result<Staged> {
        /// Rows a batch of parts or messages writes: each batch's transaction is short
        /// (tens of milliseconds).
        const BATCH: usize = 10_000;
        /// Slots a batch writes: their table is kept in the order of their starts, and
        /// they are written in it, so a batch appends to one b-tree (25,000 slots: tens of
        /// milliseconds), while other writes wait their turn between two batches.
        const SLOTS: usize = 25_000;
        let draft = self.campaign(campaign).await?.ok_or_else(|| Error::NotFound(format!("campaign `{campaign}`")))?;
        // The slots become their notices (their targets moved, not copied).
        let notices = SlotNotice::all_new_from(slots)?;
        // The slots are written in the order of their notices, by start then target, which is
        // the order of their table (appending to a b-tree is cheaper than inserting all over
        // it), while the messages to their contacts are told.
        let slots = async {
            loop {
                let cleared = tx!(self, clear_staged_notices(campaign, seq, SLOTS as i64))?;
                if cleared < SLOTS as u64 {
                    break;
                }
            }
            for batch in notices.chunks(SLOTS) {
                tx!(self, stage_notices(campaign, seq, batch))?;
            }
            Ok::<_, Error>(())
        };
        // What was told, written as soon as it is: a batch of parts, then of messages, each a
        // transaction.
        let (told_tx, told_rx) = tokio::sync::oneshot::channel::<std::result::Result<crate::Told, String>>();
        let told = async {
            // Closed only if telling panicked, which `alongside` raises again.
            let told = told_rx.await.map_err(|_| Error::Invalid("telling the contacts stopped".into()))?;
            let told = told
                .map_err(|e| Error::Invalid(format!("nothing was changed, because its people cannot be told: {e}")))?;
            told.check(seq, crate::Ahead::default())?;
            for (i, parts) in told.parts.chunks(BATCH).enumerate() {
                let first = u32::try_from(i * BATCH).map_err(|_| Error::Invalid("too many parts".into()))?;
                tx!(self, stage_told(at, campaign, seq, first, parts, &[]))?;
            }
            for messages in told.messages.chunks(BATCH) {
                tx!(self, stage_told(at, campaign, seq, 0, &[], messages))?;
            }
            Ok::<_, Error>(crate::Ahead {
                parts: u32::try_from(told.parts.len()).map_err(|_| Error::Invalid("too many parts".into()))?,
                messages: u32::try_from(told.messages.len()).map_err(|_| Error::Invalid("too many messages".into()))?,
            })
        };
        // On PostgreSQL both go at once, on connections of their own: the slots keep one
        // server process busy, and what was told is ready before they are all written. SQLite
        // has one writer at a time: the slots, then the rest.
        let writes = async {
            if self.backend() == crate::Backend::Postgres {
                let (slots, told) = tokio::join!(slots, told);
                slots.and(told)
            } else {
                slots.await?;
                told.await
            }
        };
        let (ahead, ()) = alongside(writes, || {
            let _ = told_tx.send(notifier.tell_ahead(seq, at, &draft, &notices));
        })
        .await;
        let ahead = ahead?;
        Ok(Staged { seq, notices, ahead })
    }

    /// The last step of [`Store::publish_campaign`], one short transaction: the campaign is
    /// published, its post created, the rest of its event told and the event released.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn finish_publication(
        &self,
        at: Timestamp,
        actor: &str,
        campaign: &str,
        plan_version: i64,
        post: &NewPost,
        notifier: &dyn Notifier,
        staged: &Staged,
    ) -> Result<(StoredCampaign, Post)> {
        let Staged { seq, notices, ahead } = staged;
        in_tx!(self, finish_publication(at, actor, campaign, plan_version, post, notices, notifier, *seq, *ahead))
    }

    /// Publishes a newer plan version (`slots` are its slots) of a published or paused
    /// campaign. Each slot is compared with what its contacts were told: at the same times
    /// it is unchanged; at other times moved (its sequence goes up by one and it will be
    /// reminded of again); a target not told before is new (sequence 0; a target whose
    /// slot was cancelled earlier comes back as new under its next sequence); a slot told
    /// and missing from `slots` is cancelled (sequence up by one). If anything changed,
    /// `notifier` is told [`What::SlotsChanged`] with the campaign's newest maintenance
    /// post and every slot contacts still expect or that this cancels; if nothing did, no
    /// message is written but the version still becomes the published one.
    ///
    /// `NotFound` for an unknown campaign or plan version; `Invalid` for a campaign in
    /// another state, a version not newer than the published one, or a bad slot.
    ///
    /// [`What::SlotsChanged`]: crate::What::SlotsChanged
    pub async fn republish_campaign(
        &self,
        at: Timestamp,
        actor: &str,
        campaign: &str,
        plan_version: i64,
        slots: &[PlannedSlot],
        notifier: &dyn Notifier,
    ) -> Result<StoredCampaign> {
        in_tx!(self, republish_campaign(at, actor, campaign, plan_version, slots, None, notifier))
    }

    /// [`Store::republish_campaign`], and the campaign's maintenance post follows the new
    /// version: `announcement` is the post as that version renders it; where it differs,
    /// the post gets a new revision (the earlier text kept, the note naming the version),
    /// written and told to subscribers in the same transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn republish_campaign_and_post(
        &self,
        at: Timestamp,
        actor: &str,
        campaign: &str,
        plan_version: i64,
        slots: &[PlannedSlot],
        announcement: &Correction,
        notifier: &dyn Notifier,
    ) -> Result<StoredCampaign> {
        in_tx!(self, republish_campaign(at, actor, campaign, plan_version, slots, Some(announcement), notifier))
    }

    /// A slot moved (or placed) by hand, in one transaction: `plan_json` becomes the next
    /// plan version and is published at once as by [`Store::republish_campaign_and_post`],
    /// provided the campaign's published version is still `published` (else `Conflict`: a
    /// newer plan came in between, and the move would undo it). Gives the campaign and the
    /// new version.
    #[allow(clippy::too_many_arguments)]
    pub async fn move_slot(
        &self,
        at: Timestamp,
        actor: &str,
        campaign: &str,
        published: i64,
        plan: (i64, &str, &serde_json::Value),
        slots: &[PlannedSlot],
        announcement: &Correction,
        notifier: &dyn Notifier,
    ) -> Result<(StoredCampaign, i64)> {
        in_tx!(self, move_slot(at, actor, campaign, published, plan, slots, announcement, notifier))
    }

    /// The slots of a campaign as its contacts were told them, by start, then target:
    /// `Unchanged`, or `Cancelled` for those cancelled. Empty for a campaign never
    /// published (or unknown).
    pub async fn slot_notices(&self, campaign: &str) -> Result<Vec<SlotNotice>> {
        on_conn!(self, slot_notices(campaign))
    }

    /// Reminds contacts of the slots starting after `at` and no later than `at + horizon`,
    /// of campaigns that are published (not paused), not cancelled and not reminded of
    /// yet: marks them reminded and tells `notifier` one [`What::Reminder`] per campaign
    /// (actor `forewarn`, with an audit row `campaign.remind`), in one transaction. Gives
    /// how many slots were reminded of; a slot is reminded of once (again only after it
    /// moved).
    ///
    /// [`What::Reminder`]: crate::What::Reminder
    pub async fn send_reminders(
        &self,
        at: Timestamp,
        horizon: jiff::SignedDuration,
        notifier: &dyn Notifier,
    ) -> Result<usize> {
        in_tx!(self, send_reminders(at, horizon, notifier))
    }

    /// Tells the progress of slots by the schedule (there are no machine agents yet): of
    /// campaigns that are published (not paused, cancelled or completed), the slots not
    /// cancelled whose planned start is at or before `at` and that were not told started
    /// yet are marked started, and those whose planned end is at or before `at` and that
    /// were not told finished yet are marked finished. `notifier` is told, per campaign,
    /// one [`What::SlotsStarted`] and one [`What::SlotsFinished`] (when it has any such
    /// slots; actor `forewarn`, with audit rows `campaign.slots_started` and
    /// `campaign.slots_finished`), all in one transaction. Gives how many slots started
    /// and how many finished; a slot is told started and finished once each (again only
    /// after it moved).
    ///
    /// [`What::SlotsStarted`]: crate::What::SlotsStarted
    /// [`What::SlotsFinished`]: crate::What::SlotsFinished
    pub async fn slot_progress(&self, at: Timestamp, notifier: &dyn Notifier) -> Result<(usize, usize)> {
        in_tx!(self, slot_progress(at, notifier))
    }

    /// Moves maintenance posts by the schedule (until machine agents report real times),
    /// each move an update on the post's timeline at the time it happened (actor
    /// `forewarn`, with its audit row `post.update`), its subscribers told
    /// ([`What::PostUpdated`]):
    /// - a post of no campaign goes from scheduled to in progress once its `starts` is at or
    ///   before `at`, and to completed once its `ends` is;
    /// - the open maintenance posts of a published campaign go to in progress once one of
    ///   its slots was told started ([`Store::slot_progress`]; the update at the first such
    ///   slot's start), and to completed once every slot not cancelled was told finished
    ///   (at the last slot's end); the campaign then becomes completed (audit row
    ///   `campaign.complete`, [`What::CampaignStateChanged`] with the posts' updates).
    ///
    /// Paused campaigns wait. All in one transaction; a post moved meanwhile by someone
    /// else is left as it is. Gives how many posts and campaigns moved.
    ///
    /// [`What::PostUpdated`]: crate::What::PostUpdated
    /// [`What::CampaignStateChanged`]: crate::What::CampaignStateChanged
    pub async fn advance_posts(&self, at: Timestamp, notifier: &dyn Notifier) -> Result<usize> {
        in_tx!(self, advance_posts(at, notifier))
    }

    /// When [`Store::send_reminders`] (with `horizon`; zero: none), [`Store::slot_progress`]
    /// or [`Store::advance_posts`] next has something to do, as seen at `at`: the earliest
    /// reminder, slot start or end, or window start or end of a post of no campaign still to
    /// come; `at` itself when something is due already (a campaign's post to move, a
    /// campaign to complete); `None` when nothing will be. Never later than the first time
    /// one of them would change something, so that a caller may skip them until then.
    pub async fn next_scheduled(&self, at: Timestamp, horizon: jiff::SignedDuration) -> Result<Option<Timestamp>> {
        on_conn!(self, next_scheduled(at, horizon))
    }

    // Plans.

    /// Keeps a plan file (JSON, as written by the planner) as the campaign's next plan
    /// version (1, 2, ...), which it returns. Cancelled and completed campaigns take none.
    pub async fn add_plan(
        &self,
        at: Timestamp,
        actor: &str,
        campaign: &str,
        inventory_version: i64,
        plan_json: &str,
        summary: &serde_json::Value,
    ) -> Result<i64> {
        in_tx!(self, add_plan(at, actor, campaign, inventory_version, plan_json, summary))
    }

    /// One plan version of a campaign, or its latest with `None`.
    pub async fn plan(&self, campaign: &str, version: Option<i64>) -> Result<Option<StoredPlan>> {
        on_conn!(self, plan(campaign, version))
    }

    /// A campaign's plan versions without their files, newest first.
    pub async fn plans(&self, campaign: &str) -> Result<Vec<PlanSummary>> {
        on_conn!(self, plans(campaign))
    }

    // Posts.

    /// A new post at revision 1. `Invalid` for a state its kind cannot take, a blank
    /// title, an end before the start, an impact on a post that is no incident, or a
    /// `replaces` that names no cancelled maintenance post not replaced yet (or is given on
    /// a post that is no maintenance); `NotFound` for an unknown campaign or component.
    /// `notifier` is told [`What::PostCreated`](crate::What::PostCreated) with the
    /// confirmed subscribers, and its messages are written in the same transaction.
    pub async fn create_post(
        &self,
        at: Timestamp,
        actor: &str,
        post: NewPost,
        notifier: &dyn Notifier,
    ) -> Result<Post> {
        in_tx!(self, create_post(at, actor, &post, notifier))
    }

    pub async fn post(&self, id: i64) -> Result<Option<Post>> {
        on_conn!(self, post(id))
    }

    /// Every post, newest first.
    pub async fn posts(&self) -> Result<Vec<Post>> {
        on_conn!(self, posts())
    }

    /// The posts of one campaign, newest first.
    pub async fn posts_of_campaign(&self, campaign: &str) -> Result<Vec<Post>> {
        on_conn!(self, posts_of_campaign(campaign))
    }

    /// Appends an update to a post's timeline, moving the post to `state` if given (one
    /// of its kind's states) and its `updated` to `at`. `notifier` is told
    /// [`What::PostUpdated`](crate::What::PostUpdated) in the same transaction.
    pub async fn add_update(
        &self,
        at: Timestamp,
        actor: &str,
        post: i64,
        state: Option<PostState>,
        body: &str,
        notifier: &dyn Notifier,
    ) -> Result<Update> {
        in_tx!(self, add_update(at, actor, post, state, body, notifier))
    }

    /// The timelines of every post: by post, then oldest first (for the feed).
    pub async fn all_updates(&self) -> Result<Vec<Update>> {
        on_conn!(self, all_updates())
    }

    /// A post's timeline, oldest first.
    pub async fn updates(&self, post: i64) -> Result<Vec<Update>> {
        on_conn!(self, updates(post))
    }

    /// Corrects a post: its fields before are kept as a [`Revision`] with `note` (which
    /// must say what was wrong) and its revision goes up by one. `Invalid` if nothing
    /// changes. `notifier` is told [`What::PostCorrected`](crate::What::PostCorrected) in
    /// the same transaction.
    pub async fn correct_post(
        &self,
        at: Timestamp,
        actor: &str,
        post: i64,
        note: &str,
        correction: Correction,
        notifier: &dyn Notifier,
    ) -> Result<Post> {
        in_tx!(self, correct_post(at, actor, post, note, &correction, notifier))
    }

    /// A post's corrections, oldest first.
    pub async fn revisions(&self, post: i64) -> Result<Vec<Revision>> {
        on_conn!(self, revisions(post))
    }

    // Components.

    /// Adds a component, or replaces its name, kind and status (a retired one comes back).
    /// New components come last.
    pub async fn upsert_component(&self, at: Timestamp, actor: &str, component: &Component) -> Result<()> {
        in_tx!(self, upsert_component(at, actor, component))
    }

    /// Every component in use (not retired), in the order they were first added.
    pub async fn components(&self) -> Result<Vec<Component>> {
        on_conn!(self, components())
    }

    /// Every component, retired ones too: what names the components of older posts.
    pub async fn all_components(&self) -> Result<Vec<Component>> {
        on_conn!(self, all_components())
    }

    pub async fn set_component_status(
        &self,
        at: Timestamp,
        actor: &str,
        id: &str,
        status: ComponentStatus,
    ) -> Result<Component> {
        in_tx!(self, set_component_status(at, actor, id, status))
    }

    // Audit.

    /// The latest `limit` entries of the audit log, newest first.
    pub async fn audit(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        on_conn!(self, audit_log(limit))
    }

    /// The latest `limit` entries of one action (`tzdb.slot_outside_window`), newest first.
    pub async fn audit_of(&self, action: &str, limit: u32) -> Result<Vec<AuditEntry>> {
        on_conn!(self, audit_of(action, limit))
    }

    // The time zone database.

    /// The time zone database the service last started with, if any start recorded one.
    pub async fn tzdb_last(&self) -> Result<Option<TzdbRecord>> {
        on_conn!(self, tzdb_last())
    }

    /// Records the time zone database in use (release and source) and what checking the
    /// published campaigns under it found, in one transaction with its audit rows
    /// (`tzdb.change`, and one `tzdb.slot_outside_window` per finding).
    pub async fn record_tzdb(
        &self,
        at: Timestamp,
        actor: &str,
        release: &str,
        source: &str,
        findings: &[TzdbFinding],
    ) -> Result<()> {
        in_tx!(self, record_tzdb(at, actor, release, source, findings))
    }

    /// [`Store::record_tzdb`] at a start that read `seen` as the last record: unless another
    /// instance (starting at the same time) recorded one since, or is recording one now.
    /// Whether it was recorded.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_tzdb_after(
        &self,
        at: Timestamp,
        actor: &str,
        release: &str,
        source: &str,
        findings: &[TzdbFinding],
        seen: Option<&TzdbRecord>,
    ) -> Result<bool> {
        in_tx!(self, record_tzdb_after(at, actor, release, source, findings, seen))
    }

    // Agents.

    /// Records machine `machine`'s agent, come with token `token` (named `actor` in the
    /// audit log), as it reports itself at `at`. Gives it as recorded.
    pub async fn enrol_agent(
        &self,
        at: Timestamp,
        actor: &str,
        machine: &str,
        token: i64,
        report: &crate::AgentReport,
    ) -> Result<crate::Agent> {
        in_tx!(self, enrol_agent(at, actor, machine, token, report))
    }

    /// Every machine's agent that enrolled, by machine.
    pub async fn agents(&self) -> Result<Vec<crate::Agent>> {
        on_conn!(self, agents())
    }

    // FleetLock and runs.

    /// Machine `machine` asks for group `group`'s lock at `at` as FleetLock node `node` (see
    /// `ops::take_lock`): `decide` is asked, inside the transaction and one grant at a time,
    /// with what holds machines at that instant.
    pub async fn take_lock<R>(
        &self,
        at: Timestamp,
        group: &str,
        machine: &str,
        node: &str,
        deadline: Timestamp,
        decide: impl FnOnce(&crate::Holding) -> std::result::Result<(), R>,
    ) -> Result<crate::Taken<R>> {
        in_tx!(self, take_lock(at, group, machine, node, deadline, decide))
    }

    /// Machine `machine` is seen back (FleetLock `steady-state`): its run of `group`, if
    /// one holds it, ends done with its downtime. `None` when it held nothing.
    pub async fn release_lock(&self, at: Timestamp, group: &str, machine: &str) -> Result<Option<crate::Run>> {
        in_tx!(self, release_lock(at, group, machine))
    }

    /// An operator frees `machine`'s lock of `group` (audited `lock.release`).
    pub async fn release_lock_by_operator(
        &self,
        at: Timestamp,
        actor: &str,
        group: &str,
        machine: &str,
    ) -> Result<crate::Run> {
        in_tx!(self, release_lock_by_operator(at, actor, group, machine))
    }

    /// What holds machines at `at`: every open run, and every slot of a published (or
    /// paused) campaign running then (a read: what a grant counts is read again inside
    /// [`Store::take_lock`]).
    pub async fn holding(&self, at: Timestamp) -> Result<crate::Holding> {
        on_conn!(self, holding(at))
    }

    /// The open run of `campaign` holding `machine`, if any.
    pub async fn open_run(&self, campaign: &str, machine: &str) -> Result<Option<crate::Run>> {
        on_conn!(self, open_run(campaign, machine))
    }

    /// Machine `machine`'s agent asks for work (see `ops::claim_work`): the run it holds
    /// (`true`), or its due slot leased as a new run until `lease_until`, or nothing.
    pub async fn claim_work(
        &self,
        at: Timestamp,
        machine: &str,
        lease_until: Timestamp,
    ) -> Result<Option<(crate::Run, bool)>> {
        in_tx!(self, claim_work(at, machine, lease_until))
    }

    /// Renews an agent's lease of its run; `Conflict` for a stale fencing token.
    pub async fn renew_lease(&self, run: i64, machine: &str, lease_until: Timestamp) -> Result<crate::Run> {
        in_tx!(self, renew_lease(run, machine, lease_until))
    }

    /// An agent's result for its run, applied once; `Conflict` for a stale fencing token.
    pub async fn report_run(
        &self,
        at: Timestamp,
        run: i64,
        machine: &str,
        outcome: &crate::Outcome,
    ) -> Result<crate::Run> {
        in_tx!(self, report_run(at, run, machine, outcome))
    }

    /// Runs whose agent's lease ran out by `at` become lost; gives how many.
    pub async fn expire_leases(&self, at: Timestamp) -> Result<u64> {
        in_tx!(self, expire_leases(at))
    }

    /// Every run of a campaign, by start.
    pub async fn runs(&self, campaign: &str) -> Result<Vec<crate::Run>> {
        on_conn!(self, runs(campaign))
    }

    /// Every open run, of every campaign, by start.
    pub async fn open_runs(&self) -> Result<Vec<crate::Run>> {
        on_conn!(self, open_runs())
    }

    /// The machine whose agent last reported FleetLock id `node`, if one did.
    pub async fn machine_of_node(&self, node: &str) -> Result<Option<String>> {
        on_conn!(self, machine_of_node(node))
    }

    // Tokens.

    /// Keeps an API token by its hash (the caller hashes); returns its id.
    pub async fn create_token(&self, at: Timestamp, actor: &str, name: &str, hash: &str) -> Result<i64> {
        in_tx!(self, create_token(at, actor, name, hash, crate::TokenFor::Api))
    }

    /// Keeps machine `machine`'s token by its hash (the caller hashes, and knows the machine);
    /// returns its id. It authenticates that machine's agent, and nothing else.
    pub async fn create_machine_token(
        &self,
        at: Timestamp,
        actor: &str,
        name: &str,
        hash: &str,
        machine: &str,
    ) -> Result<i64> {
        in_tx!(self, create_token(at, actor, name, hash, crate::TokenFor::Machine(machine)))
    }

    /// Keeps a FleetLock token of group `group` by its hash (the caller hashes, and knows
    /// the group); returns its id. It takes and releases that group's locks, and nothing
    /// else.
    pub async fn create_fleetlock_token(
        &self,
        at: Timestamp,
        actor: &str,
        name: &str,
        hash: &str,
        group: &str,
    ) -> Result<i64> {
        in_tx!(self, create_token(at, actor, name, hash, crate::TokenFor::Fleetlock(group)))
    }

    /// The token with this hash, unless it is unknown or revoked.
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<Token>> {
        on_conn!(self, token_by_hash(hash))
    }

    /// Every token, revoked ones too, oldest first.
    pub async fn tokens(&self) -> Result<Vec<Token>> {
        on_conn!(self, tokens())
    }

    /// Revokes a token: from now on it authenticates nothing; its row stays, marked, with an
    /// audit row `token.revoke`. `NotFound` for an unknown id, `Conflict` if it was revoked
    /// already (naming when and by whom).
    pub async fn revoke_token(&self, at: Timestamp, actor: &str, id: i64) -> Result<Token> {
        in_tx!(self, revoke_token(at, actor, id))
    }

    // Operators and sessions.

    /// Adds an operator or replaces their password hash.
    /// Adds an operator, or gives one a new password, which ends every session they have.
    pub async fn set_operator(&self, at: Timestamp, actor: &str, name: &str, password_hash: &str) -> Result<()> {
        in_tx!(self, set_operator(at, actor, name, password_hash))
    }

    /// Every operator: name, when added, when last given a password; by name.
    pub async fn operators(&self) -> Result<Vec<(String, Timestamp, Timestamp)>> {
        on_conn!(self, operators())
    }

    /// Removes an operator and ends their sessions; audited. `NotFound` for an unknown name.
    pub async fn remove_operator(&self, at: Timestamp, actor: &str, name: &str) -> Result<()> {
        in_tx!(self, remove_operator(at, actor, name))
    }

    pub async fn operator_hash(&self, name: &str) -> Result<Option<String>> {
        on_conn!(self, operator_hash(name))
    }

    /// Keeps a login session of `operator` by the hash of its cookie, with its CSRF token.
    pub async fn create_session(
        &self,
        at: Timestamp,
        session_hash: &str,
        operator: &str,
        csrf: &str,
        expires: Timestamp,
    ) -> Result<()> {
        in_tx!(self, create_session(at, session_hash, operator, csrf, expires))
    }

    /// Records a failed login in the audit log: `operator.login_failed`, the name tried as
    /// its subject, the client's address in its detail (actor `public`).
    pub async fn record_failed_login(&self, at: Timestamp, name: &str, address: &str) -> Result<()> {
        in_tx!(self, record_failed_login(at, name, address))
    }

    /// The session, unless it is unknown or expired at `now`.
    pub async fn session(&self, session_hash: &str, now: Timestamp) -> Result<Option<Session>> {
        on_conn!(self, session(session_hash, now))
    }

    /// Ends a session (logout); whether it existed.
    pub async fn delete_session(&self, session_hash: &str) -> Result<bool> {
        in_tx!(self, delete_session(session_hash))
    }

    /// Forgets the sessions expired at `now`; how many.
    pub async fn delete_expired_sessions(&self, now: Timestamp) -> Result<u64> {
        in_tx!(self, delete_expired_sessions(now))
    }

    // Subscribers.

    /// Someone asks to be told about posts naming one of `components` (none: every post),
    /// in `language` (`en` or `de`). The address is trimmed and must look like one
    /// (`Invalid` naming `email`); unknown components are `NotFound`, named. The request is
    /// kept, and `notifier` is told [`What::SubscriptionRequested`] in the same transaction
    /// (the confirmation request, whose link applies this request's choices). Nothing about
    /// the subscription changes until then: a new address is unconfirmed, and a confirmed
    /// one keeps its choices (anyone may know its address). Nothing at all happens for an
    /// address that was sent a request within the last hour. Audit rows name the actor
    /// `public`.
    ///
    /// [`What::SubscriptionRequested`]: crate::What::SubscriptionRequested
    pub async fn subscribe(
        &self,
        at: Timestamp,
        email: &str,
        components: &[String],
        language: &str,
        notifier: &dyn Notifier,
    ) -> Result<Subscriber> {
        in_tx!(self, subscribe(at, email, components, language, notifier))
    }

    /// The confirmation link of subscription request `request` was followed: the
    /// subscription takes that request's choices and is confirmed (one that had ended starts
    /// anew). Following it again changes nothing; `NotFound` for an unknown request.
    pub async fn confirm_subscription(&self, at: Timestamp, request: i64) -> Result<Confirmation> {
        in_tx!(self, confirm_subscription(at, request))
    }

    /// Subscription `id`, if it is confirmed, has not ended, and had begun when a message
    /// written at `sent` went to it: what an unsubscribe link from that message may end.
    pub async fn subscription(&self, id: i64, sent: Timestamp) -> Result<Option<Subscriber>> {
        on_conn!(self, subscription(id, sent))
    }

    /// Ends the subscription an unsubscribe link from a message written at `sent` names (the
    /// row is kept, marked): the subscription, or `None` when it had ended already or the
    /// link came to an earlier subscription of the address.
    pub async fn unsubscribe(&self, at: Timestamp, id: i64, sent: Timestamp) -> Result<Option<Subscriber>> {
        in_tx!(self, unsubscribe(at, id, sent))
    }

    /// Every subscriber not unsubscribed, confirmed or not, oldest first.
    pub async fn subscribers(&self) -> Result<Vec<Subscriber>> {
        on_conn!(self, subscribers())
    }

    // The outbox.

    /// Takes up to `limit` pending messages due at `at` that nobody holds (or whose lease
    /// ended), oldest due first, and holds them until `at + lease`: nobody else takes them
    /// before, several instances never take the same message at once. With payloads and
    /// intents. `holder` names the claim (a round's own token) for [`Store::renew_claims`].
    /// `Invalid` for a lease that is not positive.
    pub async fn claim_messages(
        &self,
        at: Timestamp,
        lease: jiff::SignedDuration,
        limit: u32,
        holder: &str,
    ) -> Result<Vec<Message>> {
        in_tx!(self, claim_messages(at, lease, limit, holder))
    }

    /// Extends to `until` the lease of those of `ids` that `holder` claimed and that are
    /// still pending; how many those are.
    pub async fn renew_claims(&self, holder: &str, ids: &[i64], until: Timestamp) -> Result<u64> {
        in_tx!(self, renew_claims(holder, ids, until))
    }

    /// Deletes the messages sent before `before` (and the events no message names any
    /// more); how many. Pending and dead messages stay.
    pub async fn prune_sent(&self, before: Timestamp) -> Result<u64> {
        in_tx!(self, prune_sent(before))
    }

    /// Ends every lease; how many there were. Only for a single process starting up (with
    /// SQLite): nobody else can be delivering.
    pub async fn release_claims(&self) -> Result<u64> {
        in_tx!(self, release_claims())
    }

    /// Pending messages were delivered at `at`: sent, leases ended. How many were pending
    /// (the others were marked by someone else first).
    pub async fn mark_sent(&self, ids: &[i64], at: Timestamp) -> Result<u64> {
        in_tx!(self, mark_sent(ids, at))
    }

    /// An attempt at a pending message failed at `at` with `error`: one more attempt
    /// counted, the error kept, the lease ended, and the next attempt due after
    /// [`RetryPolicy::backoff`]. It is dead when the failure is `permanent` or it failed
    /// `max_attempts` times. Gives its state; a message that was not pending any more
    /// (marked by someone else) is left as it is and its state given. `NotFound` for an
    /// unknown id.
    pub async fn mark_failed(
        &self,
        id: i64,
        at: Timestamp,
        error: &str,
        permanent: bool,
        policy: &RetryPolicy,
    ) -> Result<MessageState> {
        in_tx!(self, mark_failed(id, at, error, permanent, policy))
    }

    /// Sends a dead message again (by hand): pending, no attempts, due at `at`, its last
    /// error kept until the next attempt. `Invalid` unless it is dead.
    pub async fn retry_message(&self, at: Timestamp, actor: &str, id: i64) -> Result<Message> {
        in_tx!(self, retry_message(at, actor, id))
    }

    /// Up to `limit` messages, in `state` if given, with ids below `before` if given
    /// (the next page), newest first; without payloads.
    pub async fn messages(&self, state: Option<MessageState>, limit: u32, before: Option<i64>) -> Result<Vec<Message>> {
        on_conn!(self, messages(state, limit, before))
    }

    /// One message, with its payload, or what it is rendered from.
    pub async fn message(&self, id: i64) -> Result<Option<Message>> {
        on_conn!(self, message(id))
    }

    pub async fn outbox_counts(&self) -> Result<OutboxCounts> {
        on_conn!(self, outbox_counts())
    }

    /// When the next pending message is due (a claimed one: when its lease ends, if later);
    /// `None` when nothing is pending. For a delivery loop to sleep until then.
    pub async fn next_due(&self) -> Result<Option<Timestamp>> {
        on_conn!(self, next_due())
    }

    /// The installation's secret (for signing links): `candidate` is kept on the first
    /// call, and what was kept is given ever after, to every instance.
    pub async fn secret(&self, candidate: &str) -> Result<String> {
        in_tx!(self, secret(candidate))
    }

    // Metrics.

    pub async fn counts(&self) -> Result<Counts> {
        on_conn!(self, counts())
    }
}
