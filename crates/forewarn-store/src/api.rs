//! The store's operations, each handed to the backend's `ops` (the same source for both):
//! a mutating one inside a write transaction that commits only if it succeeds, a reading
//! one on a pooled connection.

use forewarn_status::{Component, ComponentStatus, Post, PostState, Revision, Update};
use jiff::Timestamp;

use crate::types::{
    AuditEntry, CampaignState, Correction, Counts, NewCampaign, NewPost, PlanSummary, Session, StoredCampaign,
    StoredInventory, StoredPlan, Token,
};
use crate::{Pool, Result, Store, postgres, sqlite};

/// Runs `ops::$op(conn, args...)` in one transaction of the store's backend.
macro_rules! in_tx {
    ($store:expr, $op:ident($($arg:expr),* $(,)?)) => {
        match &$store.pool {
            Pool::Sqlite(pool) => {
                let mut tx = sqlite::begin(pool).await?;
                let out = sqlite::ops::$op(&mut tx, $($arg),*).await?;
                tx.commit().await?;
                Ok(out)
            }
            Pool::Postgres(pool) => {
                let mut tx = postgres::begin(pool).await?;
                let out = postgres::ops::$op(&mut tx, $($arg),*).await?;
                tx.commit().await?;
                Ok(out)
            }
        }
    };
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

    /// [`Store::import_inventory`] and [`Store::upsert_component`] for each of `components`
    /// not known yet, in one transaction.
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
    /// an update with `update`'s text and state, in one transaction.
    pub async fn change_campaign_state(
        &self,
        at: Timestamp,
        actor: &str,
        id: &str,
        state: CampaignState,
        update: (&str, Option<PostState>),
    ) -> Result<StoredCampaign> {
        in_tx!(self, change_campaign_state(at, actor, id, state, update))
    }

    /// The latest inventory version, if any (cheap: no text).
    pub async fn inventory_version(&self) -> Result<Option<i64>> {
        on_conn!(self, inventory_version())
    }

    /// Whether the database answers, for `/healthz`.
    pub async fn ping(&self) -> Result<()> {
        on_conn!(self, ping())
    }

    // Campaigns.

    /// A new campaign, in state draft. `Conflict` if the id is taken, `NotFound` if the
    /// inventory version is.
    pub async fn create_campaign(&self, at: Timestamp, actor: &str, new: NewCampaign) -> Result<StoredCampaign> {
        in_tx!(self, create_campaign(at, actor, &new))
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
    /// maintenance post (linked to the campaign), together or not at all.
    pub async fn publish_campaign(
        &self,
        at: Timestamp,
        actor: &str,
        campaign: &str,
        plan_version: i64,
        post: NewPost,
    ) -> Result<(StoredCampaign, Post)> {
        in_tx!(self, publish_campaign(at, actor, campaign, plan_version, &post))
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
    /// title or an end before the start; `NotFound` for an unknown campaign or component.
    pub async fn create_post(&self, at: Timestamp, actor: &str, post: NewPost) -> Result<Post> {
        in_tx!(self, create_post(at, actor, &post))
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
    /// of its kind's states) and its `updated` to `at`.
    pub async fn add_update(
        &self,
        at: Timestamp,
        actor: &str,
        post: i64,
        state: Option<PostState>,
        body: &str,
    ) -> Result<Update> {
        in_tx!(self, add_update(at, actor, post, state, body))
    }

    /// A post's timeline, oldest first.
    pub async fn updates(&self, post: i64) -> Result<Vec<Update>> {
        on_conn!(self, updates(post))
    }

    /// Corrects a post: its fields before are kept as a [`Revision`] with `note` (which
    /// must say what was wrong) and its revision goes up by one. `Invalid` if nothing
    /// changes.
    pub async fn correct_post(
        &self,
        at: Timestamp,
        actor: &str,
        post: i64,
        note: &str,
        correction: Correction,
    ) -> Result<Post> {
        in_tx!(self, correct_post(at, actor, post, note, &correction))
    }

    /// A post's corrections, oldest first.
    pub async fn revisions(&self, post: i64) -> Result<Vec<Revision>> {
        on_conn!(self, revisions(post))
    }

    // Components.

    /// Adds a component, or replaces its name, kind and status. New components come last.
    pub async fn upsert_component(&self, at: Timestamp, actor: &str, component: &Component) -> Result<()> {
        in_tx!(self, upsert_component(at, actor, component))
    }

    /// Every component, in the order they were first added.
    pub async fn components(&self) -> Result<Vec<Component>> {
        on_conn!(self, components())
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

    // Tokens.

    /// Keeps an API token by its hash (the caller hashes); returns its id.
    pub async fn create_token(&self, at: Timestamp, actor: &str, name: &str, hash: &str) -> Result<i64> {
        in_tx!(self, create_token(at, actor, name, hash))
    }

    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<Token>> {
        on_conn!(self, token_by_hash(hash))
    }

    /// Every token, oldest first.
    pub async fn tokens(&self) -> Result<Vec<Token>> {
        on_conn!(self, tokens())
    }

    // Operators and sessions.

    /// Adds an operator or replaces their password hash.
    pub async fn set_operator(&self, at: Timestamp, actor: &str, name: &str, password_hash: &str) -> Result<()> {
        in_tx!(self, set_operator(at, actor, name, password_hash))
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

    // Metrics.

    pub async fn counts(&self) -> Result<Counts> {
        on_conn!(self, counts())
    }
}
