//! What the store takes and gives back: campaigns and their states, inventory and plan
//! versions, the audit log, tokens, operators and sessions. Posts and components are
//! `forewarn_status`'s types.

use std::fmt;
use std::str::FromStr;

use forewarn_status::{Impact, PostKind, PostState};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Which database a [`crate::Store`] talks to, picked by the URL's scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// `sqlite://PATH`: one file, the embedded default.
    Sqlite,
    /// `postgres://...` (or `postgresql://...`): for several coordinator instances.
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An imported inventory as it was given, with the summary the importer computed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredInventory {
    /// 1 for the first import, then 2, 3, ... without gaps.
    pub version: i64,
    pub at: Timestamp,
    pub actor: String,
    /// `toml` or `json`.
    pub format: String,
    pub text: String,
    pub summary: serde_json::Value,
}

/// Where a campaign stands. A draft is published with a plan, a published campaign may be
/// paused and resumed, and completed; anything not yet over may be cancelled
/// ([`CampaignState::can_move_to`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    /// Created, being planned; nobody has been told.
    Draft,
    /// A plan is published and its maintenance post is out.
    Published,
    /// Published, but no new work starts until it is resumed.
    Paused,
    Cancelled,
    Completed,
}

impl CampaignState {
    pub const ALL: [CampaignState; 5] = [
        CampaignState::Draft,
        CampaignState::Published,
        CampaignState::Paused,
        CampaignState::Cancelled,
        CampaignState::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Draft => "draft",
            CampaignState::Published => "published",
            CampaignState::Paused => "paused",
            CampaignState::Cancelled => "cancelled",
            CampaignState::Completed => "completed",
        }
    }

    /// Whether a campaign may go from `self` to `to`: draft → published (by publishing a
    /// plan), published ⇄ paused, draft, published or paused → cancelled, published →
    /// completed.
    pub fn can_move_to(self, to: CampaignState) -> bool {
        use CampaignState::*;
        matches!(
            (self, to),
            (Draft, Published)
                | (Published, Paused)
                | (Paused, Published)
                | (Draft | Published | Paused, Cancelled)
                | (Published, Completed)
        )
    }

    /// Whether the campaign's story is over (cancelled or completed).
    pub fn is_final(self) -> bool {
        matches!(self, CampaignState::Cancelled | CampaignState::Completed)
    }
}

impl fmt::Display for CampaignState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CampaignState {
    type Err = String;
    fn from_str(s: &str) -> Result<CampaignState, String> {
        CampaignState::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            format!("unknown campaign state `{s}`: expected draft, published, paused, cancelled or completed")
        })
    }
}

/// A campaign to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCampaign {
    pub id: String,
    pub title: String,
    /// The campaign file (TOML) as given.
    pub text: String,
    /// The inventory version it is planned against.
    pub inventory_version: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCampaign {
    pub id: String,
    pub title: String,
    pub text: String,
    pub state: CampaignState,
    pub inventory_version: i64,
    pub created: Timestamp,
    /// When the campaign last changed: a new state, a new plan version.
    pub updated: Timestamp,
    /// The plan version contacts were told, once published.
    pub published_plan: Option<i64>,
}

/// One plan version of a campaign, with the plan file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPlan {
    pub campaign: String,
    /// 1, 2, ... per campaign, without gaps.
    pub version: i64,
    pub created: Timestamp,
    /// Who planned it.
    pub actor: String,
    pub inventory_version: i64,
    /// The plan file (JSON).
    pub json: String,
    pub summary: serde_json::Value,
}

/// A plan version without its plan file, for listings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanSummary {
    pub campaign: String,
    pub version: i64,
    pub created: Timestamp,
    pub actor: String,
    pub inventory_version: i64,
    pub summary: serde_json::Value,
}

/// A post to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPost {
    pub kind: PostKind,
    /// `None`: the kind's first state ([`PostKind::initial_state`]).
    pub state: Option<PostState>,
    pub title: String,
    /// Markdown.
    pub body: String,
    pub starts: Option<Timestamp>,
    pub ends: Option<Timestamp>,
    /// Ids of affected components; each must exist.
    pub components: Vec<String>,
    /// The campaign the post belongs to; it must exist.
    pub campaign: Option<String>,
    /// An incident's impact; `None`: its kind's default ([`Impact::default_for`]: `minor`
    /// for an incident). Other kinds have none.
    pub impact: Option<Impact>,
    /// The cancelled maintenance post this (maintenance) post replaces.
    pub replaces: Option<i64>,
}

/// A correction of a post: each field given replaces the current one, `None` keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Correction {
    pub title: Option<String>,
    pub body: Option<String>,
    pub starts: Option<Timestamp>,
    pub ends: Option<Timestamp>,
}

/// One row of the audit log: who changed what and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    /// `inventory.import`; `campaign.create`, `campaign.edit`, `campaign.publish`, `campaign.republish`,
    /// `campaign.pause`, `campaign.resume`, `campaign.cancel`, `campaign.complete`,
    /// `campaign.remind`, `campaign.slots_started`, `campaign.slots_finished`; `plan.add`;
    /// `post.create`, `post.update`, `post.correct`; `component.upsert`, `component.status`; `token.create`, `token.revoke`, `operator.set`,
    /// `session.create`, `operator.login_failed` (subject: the name tried; detail: the address);
    /// `subscriber.request`, `subscriber.update` (no longer written), `subscriber.confirm`,
    /// `subscriber.unsubscribe` (subject: the subscriber's id, actor `public`);
    /// `outbox.retry`; `tzdb.change` (subject: the release), `tzdb.slot_outside_window`
    /// (subject: the campaign; actor `forewarn`).
    pub action: String,
    /// What was changed: a campaign id, a post id, an inventory version, ...
    pub subject: String,
    pub detail: serde_json::Value,
}

/// An API token (its hash stays in the database).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub created: Timestamp,
    /// Who created it (`cli`, `demo`, `operator:NAME`, ...).
    pub by: String,
    /// When it was revoked; a revoked token authenticates nothing.
    pub revoked: Option<Timestamp>,
    pub revoked_by: Option<String>,
    /// The machine whose agent the token is (it reaches the agent's API only); `None` for an
    /// API token.
    pub machine: Option<String>,
    /// The FleetLock group whose locks the token takes and releases (and nothing else);
    /// `None` for other tokens.
    pub fleetlock: Option<String>,
}

/// What a token reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenFor<'a> {
    /// The API, `/api/v1`.
    Api,
    /// One machine's agent, `/agent/v1`.
    Machine(&'a str),
    /// One FleetLock group's locks, `/v1/pre-reboot` and `/v1/steady-state`.
    Fleetlock(&'a str),
}

/// Where a run (a machine down for a campaign) stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Down for the work, or expected to be: it holds its machine.
    Running,
    /// Its agent's lease ran out: the machine may be down, so it still holds it until it
    /// is seen back, its agent reports, or an operator releases it.
    Lost,
    /// Seen back, done.
    Done,
    Failed,
    /// The machine asked for another slot (its activity or hook exited 69).
    Postponed,
    /// Found running after its agent crashed, and not run again (not idempotent).
    Interrupted,
    /// Freed by an operator without the machine being seen back.
    Released,
}

impl RunState {
    pub const ALL: [RunState; 7] = [
        RunState::Running,
        RunState::Lost,
        RunState::Done,
        RunState::Failed,
        RunState::Postponed,
        RunState::Interrupted,
        RunState::Released,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Lost => "lost",
            RunState::Done => "done",
            RunState::Failed => "failed",
            RunState::Postponed => "postponed",
            RunState::Interrupted => "interrupted",
            RunState::Released => "released",
        }
    }

    /// Whether a run in this state still holds its machine.
    pub fn is_open(self) -> bool {
        matches!(self, RunState::Running | RunState::Lost)
    }
}

impl FromStr for RunState {
    type Err = String;
    fn from_str(s: &str) -> Result<RunState, String> {
        RunState::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| format!("unknown run state `{s}`"))
    }
}

/// Each time a machine went down for a campaign: a FleetLock lock from its grant until the
/// machine was seen back (or an operator released it), or an agent's work on its slot from
/// its lease until it reported. Its id is the fencing token the agent reports with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub id: i64,
    pub campaign: String,
    pub machine: String,
    /// The id it asked as, through FleetLock.
    pub node: Option<String>,
    /// `fleetlock` or `agent`.
    pub source: String,
    pub state: RunState,
    pub started: Timestamp,
    /// When it was expected back: its start plus the campaign's activities.
    pub deadline: Timestamp,
    pub finished: Option<Timestamp>,
    /// From the start until the machine was seen back.
    pub downtime_seconds: Option<i64>,
    pub released_by: Option<String>,
    /// An agent's lease: past it without a heartbeat, the run is lost.
    pub lease_until: Option<Timestamp>,
    /// What the agent reported.
    pub exit_status: Option<i32>,
    pub output: Option<String>,
}

impl Run {
    /// Open past its deadline at `now`: shown to operators, never freed by a timeout.
    pub fn is_stuck(&self, now: Timestamp) -> bool {
        self.finished.is_none() && now > self.deadline
    }
}

/// What an agent reports of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// `done`, `failed`, `postponed` or `interrupted`.
    pub state: RunState,
    pub exit_status: Option<i32>,
    /// The tail of the output.
    pub output: String,
    /// When the work began and ended on the machine (its measured duration).
    pub started: Timestamp,
    pub finished: Timestamp,
}

/// What holds machines while a lock is considered: every open run (of any campaign) and
/// every slot of a published campaign running at that instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Holding {
    /// `(campaign, machine, started)`.
    pub runs: Vec<(String, String, Timestamp)>,
    /// `(campaign, target, starts, ends)`: a machine, or a host for a host campaign.
    pub slots: Vec<(String, String, Timestamp, Timestamp)>,
}

/// What asking for a lock came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Taken<R> {
    /// Granted now: a new run.
    Granted(Run),
    /// The machine holds it already (locks are recursive).
    Held(Run),
    /// Refused by the caller's decision.
    Refused(R),
    /// The group's campaign does not take locks in this state.
    Inactive(CampaignState),
}

/// What a machine's agent reports when it enrols.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentReport {
    /// The id the machine gives FleetLock: systemd's app-specific machine id, from
    /// `/etc/machine-id`.
    pub fleetlock_id: Option<String>,
    /// The kernel's boot id: a new one after every boot.
    pub boot_id: String,
    pub version: String,
}

/// A machine's agent as it last enrolled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    pub machine: String,
    /// The id of the token it came with.
    pub token: i64,
    pub report: AgentReport,
    /// When it first enrolled, and when last.
    pub enrolled: Timestamp,
    pub seen: Timestamp,
}

/// An operator's login session.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub operator: String,
    /// The session's CSRF token, compared with the one a form sends.
    pub csrf: String,
    pub expires: Timestamp,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("operator", &self.operator)
            .field("csrf", &"<redacted>")
            .field("expires", &self.expires)
            .finish()
    }
}

/// Figures for `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counts {
    /// Every state, in [`CampaignState::ALL`] order, with zeros.
    pub campaigns_by_state: Vec<(CampaignState, i64)>,
    pub posts: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn campaign_states_round_trip_and_only_the_listed_moves_are_allowed() {
        for s in CampaignState::ALL {
            assert_eq!(s.as_str().parse::<CampaignState>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert!("running".parse::<CampaignState>().unwrap_err().contains("draft, published"));
        let allowed: Vec<(&str, &str)> = CampaignState::ALL
            .into_iter()
            .flat_map(|a| CampaignState::ALL.into_iter().map(move |b| (a, b)))
            .filter(|(a, b)| a.can_move_to(*b))
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(
            allowed,
            [
                ("draft", "published"),
                ("draft", "cancelled"),
                ("published", "paused"),
                ("published", "cancelled"),
                ("published", "completed"),
                ("paused", "published"),
                ("paused", "cancelled"),
            ]
        );
    }

    #[test]
    fn a_session_does_not_show_its_csrf_token() {
        let s = Session { operator: "ada".into(), csrf: "s3cret".into(), expires: Timestamp::UNIX_EPOCH };
        assert!(!format!("{s:?}").contains("s3cret"));
    }
}

/// The time zone database a start of the service resolved zones in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TzdbRecord {
    pub at: Timestamp,
    /// `2026f`; `unknown` for a forced directory that names none.
    pub release: String,
    /// `bundled`, or the TZif directory.
    pub source: String,
}

/// A slot of a published plan that lies outside its target's window under the time zone
/// database now in use (or a campaign that no longer reads at all).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TzdbFinding {
    pub campaign: String,
    pub plan_version: i64,
    /// The machine or host whose slot it is; `None` when the whole campaign is concerned.
    pub target: Option<String>,
    pub message: String,
}
