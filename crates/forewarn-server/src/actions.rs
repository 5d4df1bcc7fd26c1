//! What the JSON API and the admin pages both do, written once: every write with all its
//! checks (dates against the campaign, components that exist, states of the post's kind,
//! an end after the start). The callers only read their input (JSON, a form) and present
//! the result; an error here is the same `ApiError` for both, with the same message.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use forewarn_model::{Campaign, Inventory, parse_campaign, parse_inventory};
use forewarn_planner::Plan;
use forewarn_status::{Component, ComponentKind, ComponentStatus, Post, PostKind, PostState, Update};
use forewarn_store::{
    CampaignState, Confirmation, Correction, Message, NewCampaign, NewPost, PlannedSlot, SlotChange, SlotNotice,
    StoredCampaign, StoredPlan, Subscriber,
};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::App;
use crate::error::{ApiError, ApiResult};
use crate::schema::{InventorySummary, PlanStats};

/// Runs a store write that tells people, for real, or rehearsed (`preview`: rolled back,
/// its messages kept).
macro_rules! told {
    ($app:expr, $preview:expr, $teller:expr, |$store:ident, $notifier:ident| $write:expr) => {{
        if $preview {
            let recording = crate::tell::Recording::new(&$teller);
            {
                let $store = $app.store.rehearsal();
                let $notifier: &dyn forewarn_store::Notifier = &recording;
                $write.await?;
            }
            Told::Rehearsed(recording.take())
        } else {
            let $store = $app.store.clone();
            let $notifier: &dyn forewarn_store::Notifier = &$teller;
            Told::Written($write.await?)
        }
    }};
}

// ---------------------------------------------------------------------------
// Inventory.

/// The longest file name diagnostics repeat.
const FILE_NAME_CHARS: usize = 100;

/// The name a client gave its `what` file (`?file=`) in `format` (`toml` or `json`), as
/// diagnostics name it: its base name only, printable characters only, at most
/// [`FILE_NAME_CHARS`] of them; `{what}.{format}` when none is given or nothing is left. A
/// name whose extension says the other format is refused (415): the name decides how the
/// file is read, and the `Content-Type` must agree.
pub fn file_name(given: Option<&str>, format: &str, what: &str) -> ApiResult<String> {
    let base = given.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base.chars().filter(|c| !c.is_control()).take(FILE_NAME_CHARS).collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." {
        return Ok(format!("{what}.{format}"));
    }
    let lower = clean.to_ascii_lowercase();
    let other = if format == "json" { "toml" } else { "json" };
    if lower.ends_with(&format!(".{other}")) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "the file `{clean}` is {other} by its name, but it was sent as {format}: send it as `application/{other}` \
                 (or name it `.{format}`)"
            ),
        ));
    }
    Ok(clean.to_owned())
}

/// Validates and keeps an inventory file (`format` is `toml` or `json`), adds the components
/// it names, and gives its version and summary.
pub async fn import_inventory(
    app: &App,
    actor: &str,
    format: &str,
    text: String,
) -> ApiResult<(i64, InventorySummary)> {
    import_inventory_as(app, actor, format, &format!("inventory.{format}"), text).await
}

/// [`import_inventory`] of a file its diagnostics call `name` (see [`file_name`]).
pub async fn import_inventory_as(
    app: &App,
    actor: &str,
    format: &str,
    name: &str,
    text: String,
) -> ApiResult<(i64, InventorySummary)> {
    let name = name.to_owned();
    let (inv, text) =
        tokio::task::spawn_blocking(move || (parse_inventory(&name, &text), text)).await.map_err(ApiError::internal)?;
    let inv = inv.map_err(|d| ApiError::diagnostics("inventory", d))?;
    let summary = InventorySummary::of(&inv);
    let stored = serde_json::to_value(&summary).map_err(ApiError::internal)?;
    let version = app
        .store
        .import_inventory_with_components(app.now(), actor, format, &text, &stored, &components_of(&inv))
        .await?;
    app.remember_inventory(version, Arc::new(inv));
    Ok((version, summary))
}

/// The components an inventory names: the platform, its racks and its network devices. New ones
/// start operational; known ones keep their status.
pub fn components_of(inv: &Inventory) -> Vec<Component> {
    let mut out = vec![Component {
        id: "platform".to_owned(),
        name: inv.platform.name.clone(),
        kind: ComponentKind::Service,
        status: ComponentStatus::Operational,
    }];
    let mut racks: Vec<&str> = inv.hosts.iter().map(|h| h.rack.as_str()).collect();
    racks.sort_unstable();
    racks.dedup();
    out.extend(racks.into_iter().map(|r| Component {
        id: format!("rack-{r}"),
        name: format!("Rack {r}"),
        kind: ComponentKind::Rack,
        status: ComponentStatus::Operational,
    }));
    out.extend(inv.devices.iter().map(|d| Component {
        id: d.id.clone(),
        name: format!(
            "{} {}",
            if d.kind == forewarn_model::inventory::DeviceKind::Router { "Router" } else { "Switch" },
            d.id
        ),
        kind: ComponentKind::Device,
        status: ComponentStatus::Operational,
    }));
    out
}

pub fn no_inventory() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "no_inventory",
        "no inventory yet: import one first (POST /api/v1/inventory, or `forewarn inventory import`)",
    )
}

/// How many parsed inventory versions the service keeps: the latest, the one of a campaign
/// being told, and the one before it (whose removed machines a publication still names).
pub(crate) const KEPT_INVENTORIES: usize = 3;

impl App {
    fn remember_inventory(&self, version: i64, inv: Arc<Inventory>) {
        let mut kept = self.inventory.lock().unwrap_or_else(|e| e.into_inner());
        kept.retain(|(v, _)| *v != version);
        kept.push((version, inv));
        if kept.len() > KEPT_INVENTORIES {
            kept.remove(0);
        }
    }

    fn kept_inventory(&self, version: i64) -> Option<Arc<Inventory>> {
        let mut kept = self.inventory.lock().unwrap_or_else(|e| e.into_inner());
        let i = kept.iter().position(|(v, _)| *v == version)?;
        // The most recently used last.
        let entry = kept.remove(i);
        let inv = entry.1.clone();
        kept.push(entry);
        Some(inv)
    }

    /// The inventory of `version` (the latest when `None`), parsed once and kept.
    pub async fn inventory(&self, version: Option<i64>) -> ApiResult<(i64, Arc<Inventory>)> {
        let version = match version {
            Some(v) => v,
            None => self.store.inventory_version().await?.ok_or_else(no_inventory)?,
        };
        if let Some(inv) = self.kept_inventory(version) {
            return Ok((version, inv));
        }
        let _parsing = self.parsing.lock().await;
        if let Some(inv) = self.kept_inventory(version) {
            return Ok((version, inv));
        }
        let stored = self.store.inventory(Some(version)).await?.ok_or_else(no_inventory)?;
        let name = format!("inventory-v{}.{}", stored.version, stored.format);
        let text = stored.text;
        let inv = tokio::task::spawn_blocking(move || parse_inventory(&name, &text))
            .await
            .map_err(ApiError::internal)?
            .map_err(|d| ApiError::internal(format!("stored inventory {} no longer validates: {d}", stored.version)))?;
        let inv = Arc::new(inv);
        self.remember_inventory(stored.version, inv.clone());
        Ok((stored.version, inv))
    }
}

// ---------------------------------------------------------------------------
// Campaigns.

/// Validates a campaign file against the latest inventory and keeps it as a draft.
pub async fn create_campaign(app: &App, actor: &str, format: &str, text: &str) -> ApiResult<StoredCampaign> {
    create_campaign_as(app, actor, &format!("campaign.{format}"), text).await
}

/// [`create_campaign`] of a file its diagnostics call `name` (see [`file_name`]; its
/// extension, or else its first character, says whether it is TOML or JSON).
pub async fn create_campaign_as(app: &App, actor: &str, name: &str, text: &str) -> ApiResult<StoredCampaign> {
    let new = new_campaign(app, name, text).await?;
    Ok(app.store.create_campaign(app.now(), actor, new).await?)
}

/// Runs CPU-heavy work (parsing campaigns and plans, editing and checking them) on the
/// blocking pool, off the async workers that serve every other request meanwhile.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> ApiResult<T> + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)?
}

/// A campaign file checked against the latest inventory, ready to keep.
async fn new_campaign(app: &App, name: &str, text: &str) -> ApiResult<NewCampaign> {
    let (version, inv) = app.inventory(None).await?;
    let (name, text) = (name.to_owned(), text.to_owned());
    blocking(move || {
        let campaign = parse_campaign(&name, &text, &inv).map_err(|d| ApiError::diagnostics("campaign", d))?;
        Ok(NewCampaign { id: campaign.id, title: campaign.title, text, inventory_version: version })
    })
    .await
}

/// Replaces a draft campaign's file with a new one (checked as [`create_campaign`] checks,
/// against the latest inventory; its `id` stays), its earlier text kept in the audit log.
/// Only a draft is edited: a published campaign takes a newer plan instead (409). `name` as
/// for [`create_campaign_as`].
pub async fn edit_campaign(app: &App, actor: &str, id: &str, name: &str, text: &str) -> ApiResult<StoredCampaign> {
    let c = stored_campaign(app, id).await?;
    if c.state != CampaignState::Draft {
        return Err(ApiError::conflict(format!(
            "campaign `{id}` is {}: only a draft is edited; to change a published campaign, plan again \
             (`POST /api/v1/campaigns/{id}/plan`) and publish the newer plan version",
            c.state.as_str()
        )));
    }
    let new = new_campaign(app, name, text).await?;
    if new.id != id {
        let mut e = ApiError::unprocessable(format!(
            "`id`: the file says `{}`, but this is campaign `{id}`: keep `id = \"{id}\"` (a new id is a new \
             campaign: create it instead)",
            new.id
        ));
        e.code = "id_changed";
        return Err(e);
    }
    Ok(app.store.edit_campaign(app.now(), actor, id, new).await?)
}

/// The digest of a campaign file that a plan made from it records (`campaign_sha256` in its
/// summary), so that a plan of a draft's earlier text is not published after an edit.
pub fn campaign_digest(text: &str) -> String {
    crate::auth::hash_secret(text)
}

/// Refuses to publish a plan made from another text of the campaign than its current one.
fn check_plan_of_this_text(c: &StoredCampaign, plan: &StoredPlan) -> ApiResult<()> {
    match plan.summary.get("campaign_sha256").and_then(Value::as_str) {
        Some(d) if d != campaign_digest(&c.text) => Err(ApiError::conflict(format!(
            "plan version {} of campaign `{}` was made before its file was edited: plan again, then publish the \
             new version",
            plan.version, c.id
        ))),
        _ => Ok(()),
    }
}

pub async fn stored_campaign(app: &App, id: &str) -> ApiResult<StoredCampaign> {
    app.store.campaign(id).await?.ok_or_else(|| ApiError::not_found(format!("no campaign `{id}`")))
}

/// The campaign, parsed against the inventory of `version` (the latest when `None`).
pub async fn parsed_campaign(
    app: &App,
    c: &StoredCampaign,
    version: Option<i64>,
) -> ApiResult<(i64, Arc<Inventory>, Campaign)> {
    let (v, inv) = app.inventory(version).await?;
    let file = format!("campaign-{}.{}", c.id, if c.text.trim_start().starts_with('{') { "json" } else { "toml" });
    let text = c.text.clone();
    let read = inv.clone();
    let campaign = blocking(move || {
        parse_campaign(&file, &text, &read).map_err(|d| {
            let mut e = ApiError::diagnostics("campaign", d);
            e.message = format!("{} against inventory version {v}: fix the inventory or the campaign", e.message);
            e
        })
    })
    .await?;
    Ok((v, inv, campaign))
}

/// One plan version of a campaign (the latest when `None`).
pub async fn stored_plan(app: &App, id: &str, version: Option<i64>) -> ApiResult<StoredPlan> {
    stored_campaign(app, id).await?;
    app.store.plan(id, version).await?.ok_or_else(|| match version {
        Some(v) => ApiError::not_found(format!("campaign `{id}` has no plan version {v}")),
        None => {
            ApiError::not_found(format!("campaign `{id}` has no plan yet: POST /api/v1/campaigns/{id}/plan makes one"))
        }
    })
}

/// A new plan version.
#[derive(Clone, Debug)]
pub struct Planned {
    pub version: i64,
    pub inventory_version: i64,
    pub summary: PlanStats,
}

/// Plans the campaign against the latest inventory and keeps the result as a new draft
/// version. A published (or paused) campaign keeps the slots its contacts were told where
/// they still satisfy every constraint, so that a change moves only what it must; `fresh`
/// plans every target anew.
pub async fn plan_campaign(app: &App, actor: &str, id: &str, fresh: bool) -> ApiResult<Planned> {
    let c = stored_campaign(app, id).await?;
    if c.state.is_final() {
        return Err(ApiError::conflict(format!("campaign `{id}` is {}: it is not planned any more", c.state.as_str())));
    }
    let (version, inv, mut campaign) = parsed_campaign(app, &c, None).await?;
    // Notice counts from when contacts can be told at the earliest: the file's publication
    // time, or now if that has passed.
    let publish_at = campaign.publish_at.max(app.now());
    campaign.publish_at = publish_at;
    let keep: Vec<forewarn_planner::Keep> =
        if !fresh && matches!(c.state, CampaignState::Published | CampaignState::Paused) {
            app.store
                .slot_notices(id)
                .await?
                .into_iter()
                .filter(|n| n.change != SlotChange::Cancelled)
                .map(|n| forewarn_planner::Keep { target: n.target, start: n.start.as_second() })
                .collect()
        } else {
            Vec::new()
        };
    let (json_text, summary) = tokio::task::spawn_blocking(move || -> std::io::Result<(String, PlanStats)> {
        let plan = forewarn_planner::plan_keeping(&inv, &campaign, &keep);
        let kept = plan.slots.iter().filter(|s| s.why == forewarn_planner::Why::Kept).count();
        let mut buf = Vec::new();
        plan.write_json(&mut buf, &inv, &campaign)?;
        let summary = PlanStats {
            targets: plan.stats.targets,
            scheduled: i64::try_from(plan.slots.len()).unwrap_or(i64::MAX),
            unscheduled: i64::try_from(plan.unscheduled.len()).unwrap_or(i64::MAX),
            completion: plan.stats.completion,
            lower_bound: plan.stats.lower_bound,
            notes: plan.notes.len(),
            publish_at: Some(publish_at.to_string()),
            kept: Some(kept),
            campaign_sha256: None,
            moved: None,
            placed: None,
        };
        Ok((String::from_utf8_lossy(&buf).into_owned(), summary))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let mut summary = summary;
    summary.campaign_sha256 = Some(campaign_digest(&c.text));
    let stored = serde_json::to_value(&summary).map_err(ApiError::internal)?;
    let v = app.store.add_plan(app.now(), actor, id, version, &json_text, &stored).await?;
    Ok(Planned { version: v, inventory_version: version, summary })
}

/// Publishes a plan version of a draft (the latest when `None`): the campaign becomes
/// published, its maintenance post, rendered from the plan, appears on the status page, and
/// every contact is told their slots, in one transaction. A published or paused campaign
/// takes a newer plan version instead ([`republish`]).
pub async fn publish(app: &App, actor: &str, id: &str, version: Option<i64>) -> ApiResult<(StoredCampaign, Post)> {
    publish_as(app, actor, id, version, false).await?.written()
}

/// What [`publish`] would send, each message as it would go out: every check is made and
/// the whole write rehearsed, then rolled back.
pub async fn preview_publish(
    app: &App,
    actor: &str,
    id: &str,
    version: Option<i64>,
) -> ApiResult<Vec<crate::tell::Shown>> {
    let told = publish_as(app, actor, id, version, true).await?.rehearsed()?;
    app.shown(&told).await
}

async fn publish_as(
    app: &App,
    actor: &str,
    id: &str,
    version: Option<i64>,
    preview: bool,
) -> ApiResult<Told<(StoredCampaign, Post)>> {
    let c = stored_campaign(app, id).await?;
    if matches!(c.state, CampaignState::Published | CampaignState::Paused) {
        // A newer plan version replaces the published one; its post stays.
        let c = match republish(app, actor, &c, version, preview).await? {
            Told::Written(c) => c,
            Told::Rehearsed(m) => return Ok(Told::Rehearsed(m)),
        };
        let post = app.store.posts_of_campaign(id).await?.into_iter().find(|p| p.kind == PostKind::Maintenance);
        let post = post.ok_or_else(|| ApiError::internal(format!("published campaign `{id}` has no post")))?;
        return Ok(Told::Written((c, post)));
    }
    if c.state != CampaignState::Draft {
        return Err(ApiError::conflict(format!(
            "campaign `{id}` is {}: only a draft is published, or a newer plan of a published one",
            c.state.as_str()
        )));
    }
    let mut stored = stored_plan(app, id, version).await?;
    check_plan_of_this_text(&c, &stored)?;
    let (_, inv, campaign) = parsed_campaign(app, &c, Some(stored.inventory_version)).await?;
    let components = campaign_components(app, &inv, &campaign).await?;
    // The plan's text is read once and let go: at 1.34 M machines it is 264 MB.
    let read = read_plan(std::mem::take(&mut stored.json), inv, campaign.clone()).await?;
    let (slots, announcement) = (read.slots, read.announcement);
    check_notice(app.now(), &campaign, stored.version, slots.iter())?;
    let post = NewPost {
        kind: PostKind::Maintenance,
        state: None,
        title: announcement.title,
        body: announcement.body,
        starts: announcement.starts,
        ends: announcement.ends,
        components,
        campaign: Some(id.to_owned()),
        impact: None,
        replaces: None,
    };
    let teller = app.publication_teller(&c, read.unscheduled, stored.inventory_version).await?;
    Ok(told!(app, preview, teller, |store, notifier| store.publish_campaign(
        app.now(),
        actor,
        id,
        stored.version,
        post,
        slots,
        notifier
    )))
}

/// Contacts are told every slot at least the campaign's notice before it starts, counted
/// from the moment they are told (`now`): a slot that starts sooner, or has passed, refuses
/// the publication of its plan version with the dates and what to do.
fn check_notice<'s>(
    now: Timestamp,
    campaign: &Campaign,
    version: i64,
    slots: impl Iterator<Item = &'s PlannedSlot>,
) -> ApiResult<()> {
    let earliest = now + campaign.notice.0;
    let mut early: Vec<&PlannedSlot> = slots.filter(|s| s.start < earliest).collect();
    if early.is_empty() {
        return Ok(());
    }
    early.sort_by_key(|s| (s.start, s.target.clone()));
    let first = early[0];
    let n = early.len();
    let when = if first.start <= now { "has already started" } else { "starts too soon" };
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "too_late",
        format!(
            "plan version {version} of campaign `{}` cannot be published now ({now}): {n} slot{} start{} sooner than \
             its {} notice allows (none may start before {earliest}); the first, `{}` at {}, {when}. Plan the \
             campaign again (the planner counts the notice from now: `forewarn campaign plan {}`) and publish the \
             new version, or move the campaign's range later",
            campaign.id,
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" },
            campaign.notice,
            first.target,
            first.start,
            campaign.id,
        ),
    ))
}

/// A stored plan version read back (never planned again): what is drawn and told of it.
pub async fn stored_plan_read(stored: &StoredPlan, inv: &Arc<Inventory>, campaign: &Campaign) -> ApiResult<Plan> {
    let (json, inv, campaign) = (stored.json.clone(), inv.clone(), campaign.clone());
    tokio::task::spawn_blocking(move || {
        let file: forewarn_planner::PlanFile<'_> = serde_json::from_str(&json).map_err(ApiError::internal)?;
        Plan::from_file(&file, &inv, &campaign).map_err(ApiError::internal)
    })
    .await
    .map_err(ApiError::internal)?
}

/// What publishing reads of a stored plan version, from one parse of its file: the slots,
/// the targets without one (with the reason) and the maintenance post, every date in it
/// from that plan. A plan of a million machines is hundreds of megabytes: read once.
struct ReadPlan {
    slots: Vec<PlannedSlot>,
    unscheduled: Vec<(String, String)>,
    announcement: forewarn_status::announce::NewAnnouncement,
}

async fn read_plan(json: String, inv: Arc<Inventory>, campaign: Campaign) -> ApiResult<ReadPlan> {
    blocking(move || {
        // Read as a stream: the slots straight into `slots` and the plan, never the whole
        // file parsed (at 1.34 M machines that would be more than its 264 MB of text).
        let mut slots = Vec::new();
        let (plan, unscheduled) = Plan::read_stored(&json, &inv, &campaign, |target, start, end| {
            slots.push(PlannedSlot { target: target.to_owned(), start, end })
        })
        .map_err(ApiError::internal)?;
        let mut unscheduled = crate::tell::unscheduled_of_entries(&unscheduled);
        drop(json);
        if campaign.mode == forewarn_model::campaign::Mode::Fleetlock {
            unscheduled = group_machines(&inv, &campaign, unscheduled);
        }
        let announcement = forewarn_status::announce::announcement(&campaign, &plan, &inv, &inv.platform.zone);
        Ok(ReadPlan { slots, unscheduled, announcement })
    })
    .await
}

/// A FleetLock group's machines as its contacts are told them: each with its window (it
/// reboots there when its update arrives), those that never can with the reason.
fn group_machines(inv: &Inventory, campaign: &Campaign, never: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out = never;
    let known: std::collections::HashSet<String> = out.iter().map(|(m, _)| m.clone()).collect();
    for i in campaign.target_machines(inv) {
        let id = &inv.machines[i].id;
        if !known.contains(id) {
            let windows = forewarn_planner::plan::windows_text(inv, campaign.scope, i as u32);
            out.push((id.clone(), format!("inside its maintenance window, {windows}")));
        }
    }
    out.sort();
    out
}

/// What a write that tells people did, or, rehearsed, what its events would have told.
#[derive(Debug)]
pub enum Told<T> {
    Written(T),
    Rehearsed(Vec<(Timestamp, forewarn_store::Told)>),
}

impl<T> Told<T> {
    fn written(self) -> ApiResult<T> {
        match self {
            Told::Written(t) => Ok(t),
            Told::Rehearsed(_) => Err(ApiError::internal("a rehearsal where a write was asked for")),
        }
    }

    fn rehearsed(self) -> ApiResult<Vec<(Timestamp, forewarn_store::Told)>> {
        match self {
            Told::Rehearsed(m) => Ok(m),
            Told::Written(_) => Err(ApiError::internal("a write where a rehearsal was asked for")),
        }
    }
}

/// The components a campaign's maintenance affects: the racks its targets sit on (as the
/// inventory names them, `rack-R`), those the status page lists. While the maintenance is in
/// progress they show "under maintenance".
async fn campaign_components(app: &App, inv: &Inventory, campaign: &Campaign) -> ApiResult<Vec<String>> {
    let mut hosts: Vec<usize> = match campaign.scope {
        forewarn_model::campaign::Scope::Machines => {
            campaign.target_machines(inv).into_iter().map(|m| inv.machines[m].host).collect()
        }
        forewarn_model::campaign::Scope::Hosts => campaign.target_hosts(inv),
    };
    // A host once, then a rack once: a million machines sit on a few thousand hosts.
    hosts.sort_unstable();
    hosts.dedup();
    let mut racks: Vec<String> = hosts.into_iter().map(|h| format!("rack-{}", inv.hosts[h].rack)).collect();
    racks.sort_unstable();
    racks.dedup();
    let known: std::collections::HashSet<String> = app.store.components().await?.into_iter().map(|c| c.id).collect();
    racks.retain(|r| known.contains(r));
    Ok(racks)
}

/// What a campaign's open maintenance posts are told when it moves to a state.
fn state_words(state: CampaignState) -> &'static str {
    match state {
        CampaignState::Paused => "Paused: no new work starts until it is resumed.",
        CampaignState::Published => "Resumed.",
        CampaignState::Cancelled => "Cancelled: the remaining slots will not take place.",
        CampaignState::Completed => "Completed.",
        CampaignState::Draft => "Back to draft.",
    }
}

/// Pauses, resumes (`Published`) or cancels a campaign; its open maintenance posts get an
/// update saying so (and are cancelled with it).
pub async fn change_state(app: &App, actor: &str, id: &str, state: CampaignState) -> ApiResult<StoredCampaign> {
    change_state_because(app, actor, id, state, None).await
}

/// The longest reason for a change of state.
const REASON_CHARS: usize = forewarn_model::text::NOTE;

/// [`change_state`] with the operator's reason: it follows the words of the posts' update
/// and goes into the contacts' cancellation mail, the webhooks' event and the audit log.
/// A cancellation needs one (422 naming `reason`); pausing and resuming may give one. The
/// reason is checked for dates that contradict the campaign, as every update is.
pub async fn change_state_because(
    app: &App,
    actor: &str,
    id: &str,
    state: CampaignState,
    reason: Option<&str>,
) -> ApiResult<StoredCampaign> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let c = stored_campaign(app, id).await?;
    // A move the state does not allow is refused by the store, with the states named.
    if state == CampaignState::Cancelled && c.state.can_move_to(state) && reason.is_none() {
        let mut e = ApiError::unprocessable(
            "`reason` is missing: say why the campaign is cancelled (e.g. {\"reason\": \"the update breaks the \
             storage driver; a new date follows\"}); it goes into the post and the contacts' mail",
        );
        e.code = "reason_required";
        return Err(e);
    }
    if let Some(r) = reason {
        lines("reason", r, REASON_CHARS)?;
    }
    if let Some(r) = reason
        && r.chars().count() > REASON_CHARS
    {
        return Err(ApiError::unprocessable(format!(
            "`reason` has {} characters: keep it under {REASON_CHARS} (a post update can say more)",
            r.chars().count()
        )));
    }
    let to = (state == CampaignState::Cancelled).then_some(PostState::Cancelled);
    if let Some(r) = reason {
        check_dates(app, Some(id), &[r]).await?;
    }
    let words = match reason {
        Some(r) => format!("{}\n\nReason: {r}", state_words(state)),
        None => state_words(state).to_owned(),
    };
    let teller = app.campaign_teller(&c, None).await?;
    Ok(app.store.change_campaign_state_because(app.now(), actor, id, state, (&words, to), reason, &teller).await?)
}

// ---------------------------------------------------------------------------
// Posts.

/// Posts name only components that exist.
async fn check_components(app: &App, ids: &[String]) -> ApiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let known: Vec<String> = app.store.components().await?.into_iter().map(|c| c.id).collect();
    let unknown: Vec<&str> = ids.iter().filter(|id| !known.contains(id)).map(String::as_str).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(ApiError::unprocessable(format!(
        "unknown component{} {}: the components are {}",
        if unknown.len() == 1 { "" } else { "s" },
        unknown.join(", "),
        known.join(", ")
    )))
}

fn check_window(starts: Option<Timestamp>, ends: Option<Timestamp>) -> ApiResult<()> {
    if let (Some(s), Some(e)) = (starts, ends)
        && e <= s
    {
        return Err(ApiError::unprocessable(format!(
            "`ends` ({e}) is not after `starts` ({s}): swap them or fix the date"
        )));
    }
    Ok(())
}

fn nonempty(field: &str, value: &str) -> ApiResult<()> {
    if value.trim().is_empty() {
        return Err(ApiError::unprocessable(format!("`{field}` is empty: give it a value")));
    }
    Ok(())
}

/// One line of text (a title, an id) of at most `max` characters, without control or
/// bidirectional formatting characters (422 naming the field and the limit).
pub fn one_line(field: &str, value: &str, max: usize) -> ApiResult<()> {
    forewarn_model::text::line(value, max).map_err(|e| ApiError::unprocessable(format!("`{field}` {e}")))
}

/// Text that may span lines (a body, a note) of at most `max` characters.
pub fn lines(field: &str, value: &str, max: usize) -> ApiResult<()> {
    forewarn_model::text::multiline(value, max).map_err(|e| ApiError::unprocessable(format!("`{field}` {e}")))
}

/// A post's title, body, components and campaign, within their limits.
fn check_post_text(
    title: Option<&str>,
    body: Option<&str>,
    components: &[String],
    campaign: Option<&str>,
) -> ApiResult<()> {
    use forewarn_model::text::{BODY, ID, TITLE};
    if let Some(t) = title {
        one_line("title", t, TITLE)?;
    }
    if let Some(b) = body {
        lines("body", b, BODY)?;
    }
    for c in components {
        one_line("components", c, ID)?;
    }
    if let Some(c) = campaign {
        one_line("campaign", c, ID)?;
    }
    Ok(())
}

/// The states of a kind, for messages: "scheduled, in_progress, completed, cancelled".
pub fn states(kind: PostKind) -> String {
    kind.states().iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
}

fn check_state(kind: PostKind, state: Option<PostState>) -> ApiResult<()> {
    match state {
        Some(state) if !kind.states().contains(&state) => {
            let article = if kind == PostKind::Incident { "an" } else { "a" };
            Err(ApiError::unprocessable(format!(
                "{article} {kind} post cannot be {state}: it is one of {}",
                states(kind)
            )))
        }
        _ => Ok(()),
    }
}

/// Hand-written text that belongs to a campaign must not name dates outside its range, nor a
/// weekday that does not match its date.
async fn check_dates(app: &App, campaign: Option<&str>, texts: &[&str]) -> ApiResult<()> {
    let Some(id) = campaign else { return Ok(()) };
    let c = stored_campaign(app, id).await?;
    let (_, inv, campaign) = parsed_campaign(app, &c, None).await?;
    let range = forewarn_status::dates::campaign_range(&campaign, &inv.platform.zone);
    let problems: Vec<String> =
        texts.iter().flat_map(|t| forewarn_status::dates::check(t, Some(range))).map(|p| p.to_string()).collect();
    if problems.is_empty() {
        return Ok(());
    }
    let mut e = ApiError::unprocessable(format!(
        "the text contradicts campaign `{id}` ({} to {}): {}",
        range.0,
        range.1,
        problems.join("; ")
    ));
    e.code = "date_conflict";
    Err(e)
}

pub async fn post(app: &App, id: i64) -> ApiResult<Post> {
    app.store.post(id).await?.ok_or_else(|| ApiError::not_found(format!("no post {id}")))
}

/// A new post, after every check.
pub async fn create_post(app: &App, actor: &str, new: NewPost) -> ApiResult<Post> {
    nonempty("title", &new.title)?;
    check_post_text(Some(&new.title), Some(&new.body), &new.components, new.campaign.as_deref())?;
    check_window(new.starts, new.ends)?;
    check_state(new.kind, new.state)?;
    check_components(app, &new.components).await?;
    if let Some(c) = &new.campaign {
        stored_campaign(app, c).await?;
    }
    check_dates(app, new.campaign.as_deref(), &[&new.title, &new.body]).await?;
    Ok(app.store.create_post(app.now(), actor, new, &app.teller().await?).await?)
}

/// Appends an update to a post's timeline, moving it to `state` if given.
pub async fn add_update(app: &App, actor: &str, id: i64, state: Option<PostState>, body: &str) -> ApiResult<Update> {
    nonempty("body", body)?;
    lines("body", body, forewarn_model::text::BODY)?;
    let post = post(app, id).await?;
    check_state(post.kind, state)?;
    check_dates(app, post.campaign.as_deref(), &[body]).await?;
    Ok(app.store.add_update(app.now(), actor, id, state, body, &app.teller().await?).await?)
}

/// A correction: the post changes, its earlier text stays visible with the note.
pub async fn correct_post(app: &App, actor: &str, id: i64, note: &str, correction: Correction) -> ApiResult<Post> {
    nonempty("note", note)?;
    lines("note", note, forewarn_model::text::NOTE)?;
    check_post_text(correction.title.as_deref(), correction.body.as_deref(), &[], None)?;
    let post = post(app, id).await?;
    check_window(correction.starts.or(post.starts), correction.ends.or(post.ends))?;
    check_plan_window(app, &post, &correction).await?;
    let title = correction.title.as_deref().unwrap_or(&post.title);
    let text = correction.body.as_deref().unwrap_or(&post.body);
    check_dates(app, post.campaign.as_deref(), &[title, text, note]).await?;
    Ok(app.store.correct_post(app.now(), actor, id, note, correction, &app.teller().await?).await?)
}

/// A campaign's maintenance post takes its window from the published plan: a correction of
/// its times that disagrees is refused, naming the dates the plan gives.
async fn check_plan_window(app: &App, post: &Post, correction: &Correction) -> ApiResult<()> {
    let (Some(id), PostKind::Maintenance) = (post.campaign.as_deref(), post.kind) else { return Ok(()) };
    if correction.starts.is_none() && correction.ends.is_none() {
        return Ok(());
    }
    let told = app.store.slot_notices(id).await?;
    let kept = told.iter().filter(|n| n.change != SlotChange::Cancelled);
    let (first, last) = (kept.clone().map(|n| n.start).min(), kept.map(|n| n.end).max());
    let agrees = |given: Option<Timestamp>, planned: Option<Timestamp>| given.is_none() || given == planned;
    if agrees(correction.starts, first) && agrees(correction.ends, last) {
        return Ok(());
    }
    let plan = match (first, last) {
        (Some(f), Some(l)) => format!("the plan gives {f} to {l} (its first slot's start and its last slot's end)"),
        _ => "its plan has no slot".to_owned(),
    };
    let mut e = ApiError::unprocessable(format!(
        "post {} announces campaign `{id}`, whose window comes from its plan: {plan}. Move slots (POST \
         /api/v1/campaigns/{id}/slots/TARGET) or publish a newer plan, and the post follows",
        post.id
    ));
    e.code = "plan_conflict";
    Err(e)
}

/// A component's status on the status page.
pub async fn set_component_status(app: &App, actor: &str, id: &str, status: ComponentStatus) -> ApiResult<Component> {
    Ok(app.store.set_component_status(app.now(), actor, id, status).await?)
}

// ---------------------------------------------------------------------------
// Telling people: slots, the outbox, subscribers.

/// Publishes a newer plan version of a published (or paused) campaign: contacts whose
/// slots moved, appeared or went are told, each event's SEQUENCE raised.
async fn republish(
    app: &App,
    actor: &str,
    c: &StoredCampaign,
    version: Option<i64>,
    preview: bool,
) -> ApiResult<Told<StoredCampaign>> {
    let mut stored = stored_plan(app, &c.id, version).await?;
    let published = c.published_plan.unwrap_or(0);
    if stored.version <= published {
        return Err(ApiError::conflict(format!(
            "campaign `{}` is {} with plan version {published}: only a newer plan version replaces it (plan again first)",
            c.id,
            c.state.as_str()
        )));
    }
    let (_, inv, campaign) = parsed_campaign(app, c, Some(stored.inventory_version)).await?;
    // The plan's text is read once and let go: at 1.34 M machines it is 264 MB.
    let read = read_plan(std::mem::take(&mut stored.json), inv, campaign.clone()).await?;
    let slots = read.slots;
    // Slots contacts were told keep their times; what is new or moved needs the notice.
    let told = app.store.slot_notices(&c.id).await?;
    let told: HashMap<&str, Timestamp> =
        told.iter().filter(|n| n.change != SlotChange::Cancelled).map(|n| (n.target.as_str(), n.start)).collect();
    let changed = slots.iter().filter(|s| told.get(s.target.as_str()) != Some(&s.start));
    check_notice(app.now(), &campaign, stored.version, changed)?;
    let post = post_text(read.announcement);
    let teller = app.publication_teller(c, read.unscheduled, stored.inventory_version).await?;
    Ok(told!(app, preview, teller, |store, notifier| store.republish_campaign_and_post(
        app.now(),
        actor,
        &c.id,
        stored.version,
        &slots,
        &post,
        notifier
    )))
}

/// The maintenance post's fields as an announcement gives them.
fn post_text(a: forewarn_status::announce::NewAnnouncement) -> Correction {
    Correction { title: Some(a.title), body: Some(a.body), starts: a.starts, ends: a.ends }
}

/// The slots of a campaign as its contacts were told them.
pub async fn slots(app: &App, id: &str) -> ApiResult<Vec<SlotNotice>> {
    stored_campaign(app, id).await?;
    Ok(app.store.slot_notices(id).await?)
}

/// One row of a campaign's slot table: a target of its published plan with its slot as
/// contacts were told it (`planned` or `cancelled`, with the calendar SEQUENCE), or without
/// a slot (`unscheduled`, with the plan's reason).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct SlotRow {
    pub target: String,
    /// The customer's id; in host campaigns every customer with a machine on the host,
    /// separated by spaces.
    pub customer: String,
    /// The project's id (empty in host campaigns).
    pub project: String,
    pub host: String,
    /// The tier's name (empty in host campaigns).
    pub tier: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub start: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub end: Option<Timestamp>,
    /// `planned`, `cancelled` or `unscheduled`.
    pub state: &'static str,
    pub sequence: Option<i64>,
    /// Why there is no slot (unscheduled), or empty.
    pub reason: String,
}

/// Every target of a campaign's published plan, as [`slot_table`] gives them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotTable {
    /// The published plan version (`None` before publication: then there are no rows).
    pub plan_version: Option<i64>,
    /// The inventory version the plan was made from.
    pub inventory_version: Option<i64>,
    /// The inventory's customers (id, name), for a filter.
    pub customers: Vec<(String, String)>,
    /// Slots by start, then target; then the unscheduled targets in the plan's order.
    pub rows: Vec<SlotRow>,
}

/// The slot of every target of the campaign's published plan as stored (the slots as their
/// contacts were told them, and the plan's unscheduled targets with their reasons), with
/// customer, project, host and tier from the inventory the plan was made from; only those
/// of `customer` when given (422 for a customer that inventory does not have).
pub async fn slot_table(app: &App, id: &str, customer: Option<&str>) -> ApiResult<SlotTable> {
    let c = stored_campaign(app, id).await?;
    let Some(version) = c.published_plan else {
        return Ok(SlotTable { plan_version: None, inventory_version: None, customers: Vec::new(), rows: Vec::new() });
    };
    let plan = stored_plan(app, id, Some(version)).await?;
    let notices = app.store.slot_notices(id).await?;
    let (inventory_version, inv, campaign) = parsed_campaign(app, &c, Some(plan.inventory_version)).await?;
    let customer = customer.map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    let table = tokio::task::spawn_blocking(move || -> ApiResult<SlotTable> {
        let customers: Vec<(String, String)> = inv.customers.iter().map(|c| (c.id.clone(), c.name.clone())).collect();
        let wanted = match &customer {
            None => None,
            Some(want) => match inv.customers.iter().position(|c| &c.id == want) {
                Some(i) => Some(i),
                None => {
                    let known: Vec<&str> = customers.iter().take(20).map(|(id, _)| id.as_str()).collect();
                    let more = if customers.len() > known.len() { ", ..." } else { "" };
                    return Err(ApiError::unprocessable(format!(
                        "`customer`: inventory version {inventory_version} has no customer `{want}`; its customers \
                         are {}{more}",
                        known.join(", ")
                    )));
                }
            },
        };
        let hosts = campaign.scope == forewarn_model::campaign::Scope::Hosts;
        // In host campaigns: the customers with machines on each host, in inventory order.
        let mut on_host: Vec<Vec<usize>> = Vec::new();
        if hosts {
            on_host = vec![Vec::new(); inv.hosts.len()];
            for m in &inv.machines {
                let list = &mut on_host[m.host];
                let k = inv.customer_index_of(m);
                if !list.contains(&k) {
                    list.push(k);
                }
            }
            for list in &mut on_host {
                list.sort_unstable();
            }
        }
        // A target's customer, project, host and tier, unless the filter leaves it out.
        let about = |target: &str| -> Option<(String, String, String, String)> {
            if hosts {
                let Some(h) = inv.host_position(target) else {
                    return wanted.is_none().then(|| (String::new(), String::new(), target.to_owned(), String::new()));
                };
                let ks = &on_host[h];
                if wanted.is_some_and(|w| !ks.contains(&w)) {
                    return None;
                }
                let names: Vec<&str> = ks.iter().map(|&k| inv.customers[k].id.as_str()).collect();
                return Some((names.join(" "), String::new(), target.to_owned(), String::new()));
            }
            let Some(i) = inv.machine_position(target) else {
                return wanted.is_none().then(|| (String::new(), String::new(), String::new(), String::new()));
            };
            let m = &inv.machines[i];
            if wanted.is_some_and(|w| w != inv.customer_index_of(m)) {
                return None;
            }
            Some((
                inv.customer_of(m).id.clone(),
                inv.project_of(m).id.clone(),
                inv.host_of(m).id.clone(),
                inv.tier_name(m).to_owned(),
            ))
        };
        let mut rows = Vec::with_capacity(notices.len());
        for n in &notices {
            let Some((customer, project, host, tier)) = about(&n.target) else { continue };
            rows.push(SlotRow {
                target: n.target.clone(),
                customer,
                project,
                host,
                tier,
                start: Some(n.start),
                end: Some(n.end),
                state: if n.change == forewarn_store::SlotChange::Cancelled { "cancelled" } else { "planned" },
                sequence: Some(i64::from(n.sequence)),
                reason: String::new(),
            });
        }
        let file: forewarn_planner::PlanFile<'_> = serde_json::from_str(&plan.json).map_err(ApiError::internal)?;
        for u in &file.unscheduled {
            let Some(target) = u.target() else { continue };
            let Some((customer, project, host, tier)) = about(target) else { continue };
            rows.push(SlotRow {
                target: target.to_owned(),
                customer,
                project,
                host,
                tier,
                start: None,
                end: None,
                state: "unscheduled",
                sequence: None,
                reason: u.reason.to_string(),
            });
        }
        Ok(SlotTable { plan_version: Some(version), inventory_version: Some(inventory_version), customers, rows })
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(table)
}

/// The slot table as CSV (RFC 4180: CRLF line ends, fields with a comma, quote or line
/// break quoted, quotes doubled), with a header line.
pub fn slot_csv(rows: &[SlotRow]) -> String {
    fn field(out: &mut String, value: &str) {
        if value.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&value.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(value);
        }
    }
    let mut out = String::from("target,customer,project,host,tier,start,end,state,sequence,reason\r\n");
    for r in rows {
        let start = r.start.map(|t| t.to_string()).unwrap_or_default();
        let end = r.end.map(|t| t.to_string()).unwrap_or_default();
        let sequence = r.sequence.map(|s| s.to_string()).unwrap_or_default();
        let fields =
            [r.target.as_str(), &r.customer, &r.project, &r.host, &r.tier, &start, &end, r.state, &sequence, &r.reason];
        for (i, v) in fields.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, v);
        }
        out.push_str("\r\n");
    }
    out
}

/// A slot moved by hand to `start`: a new plan version with only that slot changed, checked
/// against every constraint, published at once; the target's contacts are told (their
/// calendar event keeps its UID, its SEQUENCE rises). Gives the campaign, the slot as told
/// now and the new plan version.
pub async fn move_slot(
    app: &App,
    actor: &str,
    id: &str,
    target: &str,
    start: Timestamp,
) -> ApiResult<(StoredCampaign, SlotNotice, i64)> {
    move_slot_as(app, actor, id, target, start, false).await?.written()
}

/// What [`move_slot`] would send, rehearsed and rolled back.
pub async fn preview_move_slot(
    app: &App,
    actor: &str,
    id: &str,
    target: &str,
    start: Timestamp,
) -> ApiResult<Vec<crate::tell::Shown>> {
    let told = move_slot_as(app, actor, id, target, start, true).await?.rehearsed()?;
    app.shown(&told).await
}

/// The code of the conflict a move gets when another change of its campaign was published
/// while it was being made (through another instance: the moves of one queue in
/// `App::moves`).
const MOVED_MEANWHILE: &str = "changed_meanwhile";

/// A move is made from the published plan and published only if that is still the
/// published one when it is written: the database decides, whichever instances the moves
/// came through, and the second of two moves made from the same plan loses (it would undo
/// the first). The loser is made again once on the newly published plan when that left its
/// target's slot where it was (another slot moved: the operator's move still means what it
/// meant), and refused (409) when its target's slot moved too (someone else moved the same
/// slot a moment ago; the operator looks before deciding again), or when it loses twice.
async fn move_slot_as(
    app: &App,
    actor: &str,
    id: &str,
    target: &str,
    start: Timestamp,
    preview: bool,
) -> ApiResult<Told<(StoredCampaign, SlotNotice, i64)>> {
    // The moves of this process queue here and so never lose to each other.
    let _one_at_a_time = app.moves.lock().await;
    let first = match move_once(app, actor, id, target, start, preview, None).await {
        Err(Lost { was }) => was,
        Ok(done) => return done,
    };
    match move_once(app, actor, id, target, start, preview, Some(&first)).await {
        Ok(done) => done,
        Err(Lost { .. }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            MOVED_MEANWHILE,
            format!(
                "campaign `{id}` changed meanwhile, twice (other moves, through other instances), while \
                 `{target}` was being moved: it was not moved; look at the campaign again and retry"
            ),
        )),
    }
}

/// A move lost to another change published meanwhile; `was` is where the target's slot was
/// in the plan it was made from (empty: it had none).
struct Lost {
    was: String,
}

/// One attempt of [`move_slot_as`]; `before`: where the slot was when the first attempt lost
/// (a second attempt goes on only if it is still there).
async fn move_once(
    app: &App,
    actor: &str,
    id: &str,
    target: &str,
    start: Timestamp,
    preview: bool,
    before: Option<&str>,
) -> Result<ApiResult<Told<(StoredCampaign, SlotNotice, i64)>>, Lost> {
    let mut was = String::new();
    let result = move_attempt(app, actor, id, target, start, preview, before, &mut was).await;
    match result {
        Err(e) if e.code == MOVED_MEANWHILE => Err(Lost { was }),
        other => Ok(other),
    }
}

#[allow(clippy::too_many_arguments)]
async fn move_attempt(
    app: &App,
    actor: &str,
    id: &str,
    target: &str,
    start: Timestamp,
    preview: bool,
    before: Option<&str>,
    slot_was: &mut String,
) -> ApiResult<Told<(StoredCampaign, SlotNotice, i64)>> {
    let c = stored_campaign(app, id).await?;
    let Some(published) =
        c.published_plan.filter(|_| matches!(c.state, CampaignState::Published | CampaignState::Paused))
    else {
        return Err(ApiError::conflict(format!(
            "campaign `{id}` is {}: only the slots of a published or paused campaign are moved",
            c.state.as_str()
        )));
    };
    let mut stored = stored_plan(app, id, Some(published)).await?;
    let (_, inv, campaign) = parsed_campaign(app, &c, Some(stored.inventory_version)).await?;
    // Reading, editing and checking the plan takes time in proportion to its size: off the
    // async workers.
    let json = std::mem::take(&mut stored.json);
    let (target_owned, actor_owned, now) = (target.to_owned(), actor.to_owned(), app.now());
    let (text, was, placed) =
        blocking(move || moved_plan(&json, &inv, &campaign, &target_owned, start, &actor_owned, now)).await?;
    if let Some(before) = before.filter(|b| *b != was) {
        let (from, to) =
            (if before.is_empty() { "no slot" } else { before }, if was.is_empty() { "none" } else { &was });
        return Err(ApiError::conflict(format!(
            "the slot of `{target}` was moved meanwhile by someone else (from {from} to {to}, plan version \
             {published} of campaign `{id}`): it was not moved to {start}; look at it again and move it if that is \
             still right"
        )));
    }
    slot_was.clone_from(&was);
    let mut summary = stored.summary.clone();
    if placed {
        let count = |v: &Value| v.as_i64().unwrap_or(0);
        summary["scheduled"] = json!(count(&summary["scheduled"]) + 1);
        summary["unscheduled"] = json!((count(&summary["unscheduled"]) - 1).max(0));
        summary["placed"] = json!({ "target": target, "to": start.to_string() });
    } else {
        summary["moved"] = json!({ "target": target, "from": was, "to": start.to_string() });
    }
    let (_, inv, campaign) = parsed_campaign(app, &c, Some(stored.inventory_version)).await?;
    let read = read_plan(text.clone(), inv, campaign).await?;
    let (slots, post) = (read.slots, post_text(read.announcement));
    let teller = app.publication_teller(&c, read.unscheduled, stored.inventory_version).await?;
    let plan = (stored.inventory_version, text.as_str(), &summary);
    // Published only if `published` still is the published version: else another change
    // came first (through another instance), and this move, made from the older plan, lost.
    let lost = |e: forewarn_store::Error| match e {
        forewarn_store::Error::Conflict(message) => ApiError::new(StatusCode::CONFLICT, MOVED_MEANWHILE, message),
        e => ApiError::from(e),
    };
    let (c, version) = match told!(app, preview, teller, |store, notifier| async {
        store.move_slot(app.now(), actor, id, published, plan, &slots, &post, notifier).await.map_err(lost)
    }) {
        Told::Written(done) => done,
        Told::Rehearsed(m) => return Ok(Told::Rehearsed(m)),
    };
    let notice = app
        .store
        .slot_notices(id)
        .await?
        .into_iter()
        .find(|n| n.target == target)
        .ok_or_else(|| ApiError::internal("the moved slot was not kept"))?;
    Ok(Told::Written((c, notice, version)))
}

/// The published plan `json` with `target`'s slot moved to `start` (or placed there, when it
/// had none) by `actor` at `now`, checked against every constraint: its text, where the slot
/// was (empty when placed), and whether it was placed.
fn moved_plan(
    json: &str,
    inv: &Inventory,
    campaign: &Campaign,
    target: &str,
    start: Timestamp,
    actor: &str,
    now: Timestamp,
) -> ApiResult<(String, String, bool)> {
    let mut plan: Value = serde_json::from_str(json).map_err(ApiError::internal)?;
    let id = &campaign.id;
    let end = start + campaign.slot_length().0;
    let is_target = |s: &Value| s.get("machine").or_else(|| s.get("host")).and_then(Value::as_str) == Some(target);
    // A target without a slot is placed by hand: it leaves the unscheduled list for a slot,
    // checked like any move.
    let unscheduled = plan.get_mut("unscheduled").and_then(Value::as_array_mut);
    let placed = unscheduled.and_then(|list| list.iter().position(is_target).map(|i| list.remove(i)));
    let entries =
        plan.get_mut("slots").and_then(Value::as_array_mut).ok_or_else(|| ApiError::internal("plan without slots"))?;
    if placed.is_some() {
        let key = if campaign.scope == forewarn_model::campaign::Scope::Hosts { "host" } else { "machine" };
        let kinds: Vec<&str> = campaign.activities.iter().map(|a| a.kind.as_str()).collect();
        entries.push(json!({ key: target, "activities": kinds, "start": "", "end": "" }));
    }
    let Some(entry) = entries.iter_mut().find(|s| is_target(s)) else {
        return Err(ApiError::not_found(format!(
            "campaign `{id}` has neither a slot nor an unscheduled entry for `{target}` in its published plan"
        )));
    };
    let was = entry.get("start").and_then(Value::as_str).unwrap_or("").to_owned();
    if was.parse::<Timestamp>().is_ok_and(|w| w <= now) {
        return Err(ApiError::conflict(format!(
            "the slot of `{target}` started at {was} already: a slot that has begun is not moved"
        )));
    }
    let earliest = now + campaign.notice.0;
    if start < earliest {
        return Err(ApiError::unprocessable(format!(
            "`{target}` cannot move to {start}: its contacts are told at least the campaign's {} notice ahead, so \
             the earliest start now is {earliest}",
            campaign.notice
        )));
    }
    entry["start"] = json!(start.to_string());
    entry["end"] = json!(end.to_string());
    entry["reason"] = json!(match &placed {
        Some(_) => format!("placed by {actor}: the planner found no slot"),
        None => format!("moved by {actor} from {was}"),
    });
    entries.sort_by(|a, b| {
        let key = |s: &Value| {
            (
                s.get("start").and_then(Value::as_str).and_then(|t| t.parse::<Timestamp>().ok()),
                s.get("machine").or_else(|| s.get("host")).and_then(Value::as_str).map(str::to_owned),
            )
        };
        key(a).cmp(&key(b))
    });
    let text = serde_json::to_string_pretty(&plan).map_err(ApiError::internal)?;
    let file: forewarn_planner::PlanFile<'_> = serde_json::from_str(&text).map_err(ApiError::internal)?;
    let violations: Vec<String> =
        forewarn_planner::check::check(inv, campaign, &file).into_iter().map(|v| v.to_string()).collect();
    if !violations.is_empty() {
        let mut lines = violations;
        lines.sort_by_key(|l| !l.contains(target));
        lines.truncate(10);
        return Err(ApiError::unprocessable(format!("`{target}` cannot move to {start}: {}", lines.join("; "))));
    }
    Ok((text, was, placed.is_some()))
}

/// Sends a dead message again.
pub async fn retry_message(app: &App, actor: &str, id: i64) -> ApiResult<Message> {
    Ok(app.store.retry_message(app.now(), actor, id).await?)
}

/// Someone asks to be told about the status page's posts: a confirmation request goes out.
pub async fn subscribe(app: &App, email: &str, components: &[String], language: &str) -> ApiResult<Subscriber> {
    let teller = app.teller().await?;
    Ok(app.store.subscribe(app.now(), email, components, language, &teller).await?)
}

/// Why a signed link does not work, as the person who followed it reads it.
fn bad_link(e: forewarn_notify::LinkError) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_link", format!("{e}"))
}

/// Follows a confirmation link: applies the choices of the one request it was sent for.
pub async fn confirm_subscription(app: &App, token: &str) -> ApiResult<Confirmation> {
    let site = app.mail_site().await?;
    let request = forewarn_notify::links::verify_confirm(&site.secret, token, app.now()).map_err(bad_link)?;
    Ok(app.store.confirm_subscription(app.now(), request).await?)
}

/// The subscription an unsubscribe link names, while it lasts (`None`: it ended, or the link
/// came in a message to an earlier subscription of the address).
pub async fn unsubscribe_link(app: &App, token: &str) -> ApiResult<Option<Subscriber>> {
    let site = app.mail_site().await?;
    let link = forewarn_notify::links::verify_unsubscribe(&site.secret, token, app.now()).map_err(bad_link)?;
    Ok(app.store.subscription(link.subscriber, link.sent).await?)
}

/// Follows an unsubscribe link: the subscription it named, now ended (`None`: it had ended).
pub async fn unsubscribe(app: &App, token: &str) -> ApiResult<Option<Subscriber>> {
    let site = app.mail_site().await?;
    let link = forewarn_notify::links::verify_unsubscribe(&site.secret, token, app.now()).map_err(bad_link)?;
    Ok(app.store.unsubscribe(app.now(), link.subscriber, link.sent).await?)
}

/// Reminds contacts of the slots that start within the configured time (nothing when it
/// is zero); gives how many slots.
pub async fn send_reminders(app: &App) -> ApiResult<usize> {
    if app.config.reminder.is_zero() {
        return Ok(0);
    }
    let teller = published_teller(app).await?;
    Ok(app.store.send_reminders(app.now(), app.config.reminder, &teller).await?)
}

/// Tells webhooks of the slots of published campaigns that started or finished by the
/// schedule (their planned start or end has passed); gives how many started and how many
/// finished.
pub async fn record_slot_progress(app: &App) -> ApiResult<(usize, usize)> {
    let teller = published_teller(app).await?;
    Ok(app.store.slot_progress(app.now(), &teller).await?)
}

/// Moves maintenance posts by the schedule (in progress when the first slot or the window
/// starts, completed when the last one ends) and completes campaigns whose last slot ended;
/// gives how many posts and campaigns moved.
pub async fn advance_posts(app: &App) -> ApiResult<usize> {
    let teller = published_teller(app).await?;
    Ok(app.store.advance_posts(app.now(), &teller).await?)
}

/// A teller that knows every published campaign's inventory: for the writes of the
/// service itself (reminders, slot progress), which cover all of them at once.
async fn published_teller(app: &App) -> ApiResult<crate::tell::Teller> {
    let mut teller = app.teller().await?;
    for c in app.store.campaigns().await? {
        if c.state == CampaignState::Published {
            let one = app.campaign_teller(&c, None).await?;
            teller.add_campaign(&c.id, one);
        }
    }
    Ok(teller)
}
