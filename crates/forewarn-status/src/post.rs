//! Posts of the status page: maintenance, incidents and notices, their states, their
//! append-only timeline of updates and their visible corrections; and the platform's
//! components with their status.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What a post is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostKind {
    /// Planned work, usually a published campaign.
    Maintenance,
    /// Something broke.
    Incident,
    /// Anything else worth telling.
    Notice,
}

/// Where a post stands. Which states a kind may take is [`PostKind::states`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostState {
    // Maintenance.
    Scheduled,
    InProgress,
    Completed,
    Cancelled,
    // Incident.
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    // Notice.
    Published,
}

impl PostKind {
    pub const ALL: [PostKind; 3] = [PostKind::Maintenance, PostKind::Incident, PostKind::Notice];

    pub fn name(self) -> &'static str {
        match self {
            PostKind::Maintenance => "maintenance",
            PostKind::Incident => "incident",
            PostKind::Notice => "notice",
        }
    }

    /// The states a post of this kind may take, the first being where it starts.
    pub fn states(self) -> &'static [PostState] {
        use PostState::*;
        match self {
            PostKind::Maintenance => &[Scheduled, InProgress, Completed, Cancelled],
            PostKind::Incident => &[Investigating, Identified, Monitoring, Resolved],
            PostKind::Notice => &[Published],
        }
    }

    pub fn initial_state(self) -> PostState {
        self.states()[0]
    }
}

impl PostState {
    pub const ALL: [PostState; 9] = [
        PostState::Scheduled,
        PostState::InProgress,
        PostState::Completed,
        PostState::Cancelled,
        PostState::Investigating,
        PostState::Identified,
        PostState::Monitoring,
        PostState::Resolved,
        PostState::Published,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PostState::Scheduled => "scheduled",
            PostState::InProgress => "in_progress",
            PostState::Completed => "completed",
            PostState::Cancelled => "cancelled",
            PostState::Investigating => "investigating",
            PostState::Identified => "identified",
            PostState::Monitoring => "monitoring",
            PostState::Resolved => "resolved",
            PostState::Published => "published",
        }
    }

    /// In words, for pages: "in progress".
    pub fn label(self) -> &'static str {
        match self {
            PostState::InProgress => "in progress",
            other => other.name(),
        }
    }

    /// Whether the story of the post is over (completed, cancelled, resolved).
    pub fn is_final(self) -> bool {
        matches!(self, PostState::Completed | PostState::Cancelled | PostState::Resolved)
    }
}

/// How badly an incident hurts what it affects: its components show degraded (minor),
/// partial outage (major) or major outage (critical) until it is resolved; `none` changes
/// no component. Only incidents have an impact other than `none`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    #[default]
    None,
    Minor,
    Major,
    Critical,
}

impl Impact {
    pub const ALL: [Impact; 4] = [Impact::None, Impact::Minor, Impact::Major, Impact::Critical];

    pub fn name(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Minor => "minor",
            Impact::Major => "major",
            Impact::Critical => "critical",
        }
    }

    /// What an open incident of this impact makes of its components.
    pub fn status(self) -> ComponentStatus {
        match self {
            Impact::None => ComponentStatus::Operational,
            Impact::Minor => ComponentStatus::Degraded,
            Impact::Major => ComponentStatus::PartialOutage,
            Impact::Critical => ComponentStatus::MajorOutage,
        }
    }

    /// The impact a new post of `kind` has when none is given: an incident is something
    /// broken, so `minor`; anything else `none`.
    pub fn default_for(kind: PostKind) -> Impact {
        if kind == PostKind::Incident { Impact::Minor } else { Impact::None }
    }
}

impl fmt::Display for Impact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Impact {
    type Err = String;
    fn from_str(s: &str) -> Result<Impact, String> {
        Impact::ALL
            .into_iter()
            .find(|i| i.name() == s)
            .ok_or_else(|| format!("unknown impact `{s}`: expected none, minor, major or critical"))
    }
}

impl fmt::Display for PostKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for PostState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PostKind {
    type Err = String;
    fn from_str(s: &str) -> Result<PostKind, String> {
        PostKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown post kind `{s}`: expected maintenance, incident or notice"))
    }
}

impl FromStr for PostState {
    type Err = String;
    fn from_str(s: &str) -> Result<PostState, String> {
        PostState::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let all: Vec<&str> = PostState::ALL.iter().map(|s| s.name()).collect();
            format!("unknown post state `{s}`: expected one of {}", all.join(", "))
        })
    }
}

/// A post as it stands now (its latest revision).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub id: i64,
    pub kind: PostKind,
    pub state: PostState,
    pub title: String,
    /// Markdown; rendered sanitised.
    pub body: String,
    /// When the work or the incident starts and ends, when known.
    pub starts: Option<Timestamp>,
    pub ends: Option<Timestamp>,
    /// Ids of the affected components.
    pub components: Vec<String>,
    /// The campaign this post announces, if any.
    pub campaign: Option<String>,
    /// An incident's impact on its components (`none` for other kinds).
    #[serde(default)]
    pub impact: Impact,
    /// The (cancelled) maintenance post this one replaces, if any.
    #[serde(default)]
    pub replaces: Option<i64>,
    pub created: Timestamp,
    /// When the post last changed (a new update, a correction, a new state).
    pub updated: Timestamp,
    /// 1 for the post as first written, +1 for each correction.
    pub revision: u32,
}

/// One entry of a post's append-only timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    pub id: i64,
    pub post: i64,
    pub at: Timestamp,
    /// The state the post moved to with this update, if it moved.
    pub state: Option<PostState>,
    /// Markdown.
    pub body: String,
    pub author: String,
}

/// A correction: the post as it was before, and why it changed. Kept and shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub post: i64,
    /// The revision this correction created (2 for the first correction).
    pub revision: u32,
    pub at: Timestamp,
    /// Why: "the date of the host reboot was wrong".
    pub note: String,
    pub author: String,
    /// The post's fields before the correction.
    pub title: String,
    pub body: String,
    pub starts: Option<Timestamp>,
    pub ends: Option<Timestamp>,
}

/// What a component is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentKind {
    /// A platform service (customer-facing: "VM hosting", "object storage").
    Service,
    Rack,
    /// A switch or router of the inventory.
    Device,
}

/// How a component is doing, worst last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    Operational,
    Maintenance,
    Degraded,
    PartialOutage,
    MajorOutage,
}

impl ComponentStatus {
    pub const ALL: [ComponentStatus; 5] = [
        ComponentStatus::Operational,
        ComponentStatus::Maintenance,
        ComponentStatus::Degraded,
        ComponentStatus::PartialOutage,
        ComponentStatus::MajorOutage,
    ];

    /// As written in the API and data attributes: `operational`, `partial_outage`.
    pub fn name(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::Maintenance => "maintenance",
            ComponentStatus::Degraded => "degraded",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::Maintenance => "under maintenance",
            ComponentStatus::Degraded => "degraded performance",
            ComponentStatus::PartialOutage => "partial outage",
            ComponentStatus::MajorOutage => "major outage",
        }
    }
}

impl fmt::Display for ComponentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ComponentStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<ComponentStatus, String> {
        ComponentStatus::ALL.into_iter().find(|c| c.name() == s).ok_or_else(|| {
            format!(
                "unknown component status `{s}`: expected operational, maintenance, degraded, partial_outage or \
                 major_outage"
            )
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// Stable id, used in posts and URLs: `vm-hosting`, `rack-a1`, `sw-core-1`.
    pub id: String,
    pub name: String,
    pub kind: ComponentKind,
    /// As stored: set by an operator (by hand). What the status page shows combines it with
    /// what open incidents and running maintenance make of the component
    /// ([`crate::status::effective`]).
    pub status: ComponentStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_say_what_is_expected() {
        for k in PostKind::ALL {
            assert_eq!(k.name().parse::<PostKind>().unwrap(), k);
            assert_eq!(k.initial_state(), k.states()[0]);
        }
        for s in PostState::ALL {
            assert_eq!(s.name().parse::<PostState>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.name()));
        }
        assert!("outage".parse::<PostKind>().unwrap_err().contains("maintenance, incident or notice"));
        assert!("done".parse::<PostState>().unwrap_err().contains("in_progress"));
        assert!(PostKind::Incident.states().iter().all(|s| !PostKind::Maintenance.states().contains(s)));
        for i in Impact::ALL {
            assert_eq!(i.name().parse::<Impact>().unwrap(), i);
            assert_eq!(serde_json::to_string(&i).unwrap(), format!("\"{}\"", i.name()));
        }
        assert!("high".parse::<Impact>().unwrap_err().contains("none, minor, major or critical"));
        for c in ComponentStatus::ALL {
            assert_eq!(c.name().parse::<ComponentStatus>().unwrap(), c);
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{}\"", c.name()));
        }
        assert!("down".parse::<ComponentStatus>().unwrap_err().contains("partial_outage"));
        assert_eq!(Impact::default_for(PostKind::Incident), Impact::Minor);
        assert_eq!(Impact::default_for(PostKind::Maintenance), Impact::None);
    }
}
