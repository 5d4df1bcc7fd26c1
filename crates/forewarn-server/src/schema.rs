//! The bodies of `/api/v1`, as typed structs: what the handlers answer and what they read.
//! The OpenAPI document is derived from them ([`crate::openapi`]), so it cannot drift from
//! what is sent. Field names are the API's: the CLI and other clients read them.
//!
//! Types of the store and the status domain are serialized as they are (their own serde
//! names); the enums among them are described here by schema-only mirrors (`*Name`), which a
//! test checks against the real names.

use forewarn_status::{Component, ComponentKind, ComponentStatus, Impact, Post, PostKind, PostState, Revision, Update};
use forewarn_store::{
    CampaignState, Channel, Message, MessageState, OutboxCounts, PlanSummary, SlotChange, SlotNotice, StoredCampaign,
    Subscriber, Token,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::Config;
use crate::error::{ApiError, ApiResult};

// ---------------------------------------------------------------------------
// The names of enums, for the document only.

/// What a post is.
#[derive(Debug, ToSchema)]
#[schema(as = PostKind, rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum PostKindName {
    Maintenance,
    Incident,
    Notice,
}

/// Where a post stands: maintenance is scheduled, in_progress, completed or cancelled; an
/// incident investigating, identified, monitoring or resolved; a notice published.
#[derive(Debug, ToSchema)]
#[schema(as = PostState, rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum PostStateName {
    Scheduled,
    InProgress,
    Completed,
    Cancelled,
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Published,
}

/// An incident's impact on its components (`none` for other kinds).
#[derive(Debug, ToSchema)]
#[schema(as = Impact, rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum ImpactName {
    None,
    Minor,
    Major,
    Critical,
}

/// A component's status, from best to worst.
#[derive(Debug, ToSchema)]
#[schema(as = ComponentStatus, rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum ComponentStatusName {
    Operational,
    Maintenance,
    Degraded,
    PartialOutage,
    MajorOutage,
}

/// What a component is: a platform service, a rack, a network device.
#[derive(Debug, ToSchema)]
#[schema(as = ComponentKind, rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum ComponentKindName {
    Service,
    Rack,
    Device,
}

/// Where a campaign stands.
#[derive(Debug, ToSchema)]
#[schema(as = CampaignState, rename_all = "snake_case")]
#[allow(dead_code)]
pub(crate) enum CampaignStateName {
    Draft,
    Published,
    Paused,
    Cancelled,
    Completed,
}

/// Where a message of the outbox stands.
#[derive(Debug, ToSchema)]
#[schema(as = MessageState, rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum MessageStateName {
    Pending,
    Sent,
    Dead,
}

/// How a message goes out.
#[derive(Debug, ToSchema)]
#[schema(as = Channel, rename_all = "lowercase")]
#[allow(dead_code)]
pub(crate) enum ChannelName {
    Email,
    Webhook,
}

// ---------------------------------------------------------------------------
// Inventory.

/// What an inventory holds, counted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InventorySummary {
    pub platform: String,
    /// The platform's IANA time zone.
    pub time_zone: String,
    pub customers: usize,
    pub contacts: usize,
    pub projects: usize,
    pub hosts: usize,
    pub racks: usize,
    pub devices: usize,
    pub machines: usize,
    /// Redundancy groups.
    pub groups: usize,
    /// Redundancy groups with several members on one host.
    pub groups_sharing_a_host: Vec<String>,
}

impl InventorySummary {
    pub fn of(inv: &forewarn_model::Inventory) -> InventorySummary {
        let s = inv.summary();
        InventorySummary {
            platform: s.platform,
            time_zone: s.zone,
            customers: s.customers,
            contacts: s.contacts,
            projects: s.projects,
            hosts: s.hosts,
            racks: s.racks,
            devices: s.devices,
            machines: s.machines,
            groups: s.groups,
            groups_sharing_a_host: s.groups_sharing_a_host,
        }
    }

    /// As stored with the inventory.
    pub fn stored(v: &serde_json::Value) -> ApiResult<InventorySummary> {
        serde_json::from_value(v.clone()).map_err(|e| ApiError::internal(format!("stored inventory summary: {e}")))
    }
}

/// An inventory just imported.
#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryImported {
    /// 1 for the first import, then 2, 3, ...
    pub version: i64,
    pub summary: InventorySummary,
}

/// The latest inventory.
#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryShown {
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub imported: Timestamp,
    /// Who imported it.
    pub by: String,
    /// `toml` or `json`.
    pub format: String,
    pub summary: InventorySummary,
}

// ---------------------------------------------------------------------------
// Campaigns and plans.

/// A campaign.
#[derive(Debug, Serialize, ToSchema)]
pub struct Campaign {
    pub id: String,
    pub title: String,
    #[schema(value_type = CampaignStateName)]
    pub state: CampaignState,
    /// The inventory version it was checked against.
    pub inventory_version: i64,
    /// The plan version contacts were told, once published.
    pub published_plan: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated: Timestamp,
}

impl From<&StoredCampaign> for Campaign {
    fn from(c: &StoredCampaign) -> Campaign {
        Campaign {
            id: c.id.clone(),
            title: c.title.clone(),
            state: c.state,
            inventory_version: c.inventory_version,
            published_plan: c.published_plan,
            created: c.created,
            updated: c.updated,
        }
    }
}

/// A campaign with its plan versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignWithPlans {
    #[serde(flatten)]
    pub campaign: Campaign,
    pub plans: Vec<PlanVersion>,
}

/// A campaign just published, with its maintenance post.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignPublished {
    #[serde(flatten)]
    pub campaign: Campaign,
    /// The id of its maintenance post.
    pub post: i64,
}

/// A slot moved by hand (`moved`) or an unscheduled target placed by hand (`placed`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HandMove {
    pub target: String,
    /// The start it had (moves only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The new start (RFC 3339).
    pub to: String,
}

/// What a plan version holds, counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlanStats {
    /// Targets to schedule.
    pub targets: usize,
    pub scheduled: i64,
    pub unscheduled: i64,
    /// When the last slot ends.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completion: Option<Timestamp>,
    /// No plan can end before this.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub lower_bound: Option<Timestamp>,
    /// Notes of the planner.
    pub notes: usize,
    /// When contacts can be told at the earliest (absent in plans of old versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_at: Option<String>,
    /// Slots kept from the published plan (absent in plans of old versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<usize>,
    /// The SHA-256 of the campaign file it was planned from (absent in plans of old versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_sha256: Option<String>,
    /// The slot this version moved by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved: Option<HandMove>,
    /// The unscheduled target this version placed by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed: Option<HandMove>,
}

impl PlanStats {
    /// As stored with the plan.
    pub fn stored(v: &serde_json::Value) -> ApiResult<PlanStats> {
        serde_json::from_value(v.clone()).map_err(|e| ApiError::internal(format!("stored plan summary: {e}")))
    }
}

/// One plan version.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanVersion {
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    pub inventory_version: i64,
    pub summary: PlanStats,
}

impl PlanVersion {
    pub fn of(p: &PlanSummary) -> ApiResult<PlanVersion> {
        Ok(PlanVersion {
            version: p.version,
            created: p.created,
            inventory_version: p.inventory_version,
            summary: PlanStats::stored(&p.summary)?,
        })
    }
}

/// A plan version just made.
#[derive(Debug, Serialize, ToSchema)]
pub struct Planned {
    /// The campaign's id.
    pub campaign: String,
    pub version: i64,
    pub inventory_version: i64,
    pub summary: PlanStats,
}

/// A slot's start and end.
#[derive(Debug, Serialize, ToSchema)]
pub struct Span {
    pub start: String,
    pub end: String,
}

/// A slot that moved between two plan versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovedSlot {
    pub target: String,
    pub from: Span,
    pub to: Span,
}

/// A slot of one plan version only.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotOfOne {
    pub target: String,
    pub start: String,
    pub end: String,
}

/// What changes from plan version `from` to `to`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanDiff {
    pub from: i64,
    pub to: i64,
    pub moved: Vec<MovedSlot>,
    pub no_longer_scheduled: Vec<SlotOfOne>,
    pub newly_scheduled: Vec<SlotOfOne>,
}

// ---------------------------------------------------------------------------
// Messages a write would send.

/// A message as its reader would get it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewMessage {
    #[schema(value_type = ChannelName)]
    pub channel: Channel,
    /// An email address, or a webhook by its place in the configuration (`webhooks[0]`).
    pub recipient: String,
    pub subject: String,
    /// Why it is sent.
    pub cause: String,
    /// The text part of a mail; a webhook's JSON body.
    pub text: String,
}

/// What a write would send (`?preview=true`); nothing was written.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// Always true.
    pub preview: bool,
    /// Always false.
    pub written: bool,
    pub count: usize,
    pub messages: Vec<PreviewMessage>,
}

// ---------------------------------------------------------------------------
// Slots.

/// A slot as its contacts were told it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotNoticeJson {
    pub target: String,
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
    /// The calendar SEQUENCE: raised by every change.
    pub sequence: u32,
    pub cancelled: bool,
    /// A reminder went out.
    pub reminded: bool,
}

impl From<&SlotNotice> for SlotNoticeJson {
    fn from(n: &SlotNotice) -> SlotNoticeJson {
        SlotNoticeJson {
            target: n.target.clone(),
            start: n.start,
            end: n.end,
            sequence: n.sequence,
            cancelled: n.change == SlotChange::Cancelled,
            reminded: n.reminded,
        }
    }
}

/// The slots of a published campaign.
#[derive(Debug, Serialize, ToSchema)]
pub struct Slots {
    pub campaign: String,
    /// The published plan version (null before publication).
    pub plan_version: Option<i64>,
    pub inventory_version: Option<i64>,
    pub slots: Vec<SlotNoticeJson>,
    /// Every target of the published plan.
    pub table: Vec<crate::actions::SlotRow>,
}

/// A slot just moved by hand, published as a new plan version.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotMoved {
    #[serde(flatten)]
    pub slot: SlotNoticeJson,
    pub campaign: String,
    pub plan_version: i64,
}

// ---------------------------------------------------------------------------
// Posts and components.

/// A post as it stands now.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostJson {
    pub id: i64,
    #[schema(value_type = PostKindName)]
    pub kind: PostKind,
    #[schema(value_type = PostStateName)]
    pub state: PostState,
    pub title: String,
    /// Markdown.
    pub body: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends: Option<Timestamp>,
    /// Ids of the affected components.
    pub components: Vec<String>,
    /// The campaign it announces.
    pub campaign: Option<String>,
    #[schema(value_type = ImpactName)]
    pub impact: Impact,
    /// The cancelled maintenance post it replaces.
    pub replaces: Option<i64>,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated: Timestamp,
    /// 1 as first written, +1 for each correction.
    pub revision: u32,
}

impl From<Post> for PostJson {
    fn from(p: Post) -> PostJson {
        PostJson {
            id: p.id,
            kind: p.kind,
            state: p.state,
            title: p.title,
            body: p.body,
            starts: p.starts,
            ends: p.ends,
            components: p.components,
            campaign: p.campaign,
            impact: p.impact,
            replaces: p.replaces,
            created: p.created,
            updated: p.updated,
            revision: p.revision,
        }
    }
}

/// An entry of a post's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateJson {
    pub id: i64,
    /// The post's id.
    pub post: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The state the post moved to, if it moved.
    #[schema(value_type = Option<PostStateName>)]
    pub state: Option<PostState>,
    /// Markdown.
    pub body: String,
    pub author: String,
}

impl From<Update> for UpdateJson {
    fn from(u: Update) -> UpdateJson {
        UpdateJson { id: u.id, post: u.post, at: u.at, state: u.state, body: u.body, author: u.author }
    }
}

/// A correction: the post's fields before it, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionJson {
    pub post: i64,
    /// The revision this correction made (2 for the first).
    pub revision: u32,
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub note: String,
    pub author: String,
    pub title: String,
    pub body: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends: Option<Timestamp>,
}

impl From<Revision> for RevisionJson {
    fn from(r: Revision) -> RevisionJson {
        RevisionJson {
            post: r.post,
            revision: r.revision,
            at: r.at,
            note: r.note,
            author: r.author,
            title: r.title,
            body: r.body,
            starts: r.starts,
            ends: r.ends,
        }
    }
}

/// A post with its updates and corrections.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostWithTimeline {
    #[serde(flatten)]
    pub post: PostJson,
    pub updates: Vec<UpdateJson>,
    pub revisions: Vec<RevisionJson>,
}

/// A component: `status` as the status page shows it, the worse of `manual_status` (set by
/// hand) and `derived_status` (from open incidents and maintenance in progress).
#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentJson {
    pub id: String,
    pub name: String,
    #[schema(value_type = ComponentKindName)]
    pub kind: ComponentKind,
    #[schema(value_type = ComponentStatusName)]
    pub status: ComponentStatus,
    #[schema(value_type = ComponentStatusName)]
    pub manual_status: ComponentStatus,
    #[schema(value_type = ComponentStatusName)]
    pub derived_status: ComponentStatus,
}

impl ComponentJson {
    pub fn of(manual: &Component, shown: &Component, derived: ComponentStatus) -> ComponentJson {
        ComponentJson {
            id: manual.id.clone(),
            name: manual.name.clone(),
            kind: manual.kind,
            status: shown.status,
            manual_status: manual.status,
            derived_status: derived,
        }
    }
}

// ---------------------------------------------------------------------------
// Tokens, the outbox, subscribers.

/// An API token, without its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenJson {
    pub id: i64,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    /// Who created it (`cli`, `operator:NAME`, ...).
    pub created_by: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked: Option<Timestamp>,
    pub revoked_by: Option<String>,
    /// The machine whose agent uses it (`forewarn token create --machine ID`): it reaches the
    /// agent's API only. Absent for an API token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
}

impl From<&Token> for TokenJson {
    fn from(t: &Token) -> TokenJson {
        TokenJson {
            id: t.id,
            name: t.name.clone(),
            created: t.created,
            created_by: t.by.clone(),
            revoked: t.revoked,
            revoked_by: t.revoked_by.clone(),
            machine: t.machine.clone(),
        }
    }
}

/// Every API token.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tokens {
    pub tokens: Vec<TokenJson>,
}

/// A message of the outbox (`payload`: its whole text as sent, in `GET /api/v1/outbox/{id}` only).
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageJson {
    pub id: i64,
    /// Unique: the event and the recipient it is for.
    pub key: String,
    #[schema(value_type = ChannelName)]
    pub channel: Channel,
    pub sender: String,
    /// An email address, or a webhook by its place in the configuration (`webhooks[0]`; its
    /// URL is never shown).
    pub recipient: String,
    pub subject: String,
    pub cause: String,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    #[schema(value_type = MessageStateName)]
    pub state: MessageState,
    /// Attempts that failed so far.
    pub attempts: u32,
    /// The next attempt is not before this.
    #[schema(value_type = String, format = DateTime)]
    pub due: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent: Option<Timestamp>,
    /// The last failure.
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

impl MessageJson {
    /// Without its payload (listings), or with it. A webhook is named by its place in the
    /// configuration ([`Config::shown_recipient`]): its URL may hold a secret.
    pub fn of(config: &Config, m: &Message, payload: bool) -> MessageJson {
        MessageJson {
            id: m.id,
            key: m.key.clone(),
            channel: m.channel,
            sender: m.sender.clone(),
            recipient: config.shown_recipient(m.channel, &m.recipient),
            subject: m.subject.clone(),
            cause: m.cause.clone(),
            created: m.created,
            state: m.state,
            attempts: m.attempts,
            due: m.due,
            sent: m.sent,
            error: m.error.clone(),
            payload: payload.then(|| m.payload.clone()),
        }
    }
}

/// How many messages are in each state.
#[derive(Debug, Serialize, ToSchema)]
pub struct Counts {
    pub pending: u64,
    pub sent: u64,
    pub dead: u64,
}

impl From<OutboxCounts> for Counts {
    fn from(c: OutboxCounts) -> Counts {
        Counts { pending: c.pending, sent: c.sent, dead: c.dead }
    }
}

/// Messages, newest first, with counts by state.
#[derive(Debug, Serialize, ToSchema)]
pub struct Outbox {
    pub counts: Counts,
    pub messages: Vec<MessageJson>,
}

/// Someone who subscribed to the status page by email.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriberJson {
    pub id: i64,
    pub email: String,
    /// Only posts naming one of these (or none) are sent; empty: every post.
    pub components: Vec<String>,
    /// `en` or `de`.
    pub language: String,
    #[schema(value_type = String, format = DateTime)]
    pub created: Timestamp,
    /// When the confirmation link was followed.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub confirmed: Option<Timestamp>,
}

impl From<Subscriber> for SubscriberJson {
    fn from(s: Subscriber) -> SubscriberJson {
        SubscriberJson {
            id: s.id,
            email: s.email,
            components: s.components,
            language: s.language,
            created: s.created,
            confirmed: s.confirmed,
        }
    }
}

/// Every subscriber, confirmed or not.
#[derive(Debug, Serialize, ToSchema)]
pub struct Subscribers {
    pub subscribers: Vec<SubscriberJson>,
}
