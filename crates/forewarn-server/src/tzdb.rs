//! The time zone database under published campaigns. Windows are wall-clock times read
//! through the zone rules of the database in use (`forewarn_model::tz`); when a new tzdb
//! release (or another TZif directory) comes in, a slot planned under the old rules may
//! lie outside its window under the new ones. So at start, when the database differs from
//! the one recorded last time, every published campaign's published plan is checked again
//! against its inventory and campaign (the independent checker), and each slot now outside
//! its window is recorded in the audit log (`tzdb.slot_outside_window`), logged as a
//! warning and shown on the admin campaigns page.
//!
//! Such slots are reported, not moved: moving a slot that can no longer happen as told
//! is the work of execution (a missed slot is moved the same way), which is not built yet.
//! Until then an operator moves it (`POST /api/v1/campaigns/{id}/slots/{target}`).

use forewarn_model::{Campaign, Inventory};
use forewarn_planner::check::{Constraint, check};
use forewarn_store::{CampaignState, StoredCampaign, TzdbFinding};

use crate::App;
use crate::actions;

/// The audit action of a slot found outside its window after the database changed.
pub const OUTSIDE: &str = "tzdb.slot_outside_window";

/// Who acts when the service checks on its own.
const ACTOR: &str = "forewarn";

/// The release of the database in use, as recorded (`unknown` for a forced directory
/// without one), and its source (`bundled` or the directory).
pub fn in_use() -> (String, String) {
    let db = forewarn_model::tz::db();
    (db.release().unwrap_or("unknown").to_owned(), db.source().to_string())
}

/// At start: when the database in use is not the one recorded last time, checks the
/// published campaigns again and records the database with what was found. Returns the
/// findings (none when nothing changed).
pub async fn check_on_start(app: &App) -> Result<Vec<TzdbFinding>, String> {
    let (release, source) = in_use();
    let last = app.store.tzdb_last().await.map_err(|e| format!("time zone database: {e}"))?;
    if last.as_ref().is_some_and(|l| l.release == release && l.source == source) {
        return Ok(Vec::new());
    }
    let findings = recheck(app).await?;
    match &last {
        Some(l) => tracing::info!(
            from = %format!("{}, {}", l.release, l.source),
            to = %format!("{release}, {source}"),
            slots_outside_window = findings.len(),
            "the time zone database changed: published campaigns checked again"
        ),
        None => {
            tracing::info!(tzdb = %format!("{release}, {source}"), slots_outside_window = findings.len(), "time zone database recorded")
        }
    }
    for f in &findings {
        tracing::warn!(
            campaign = %f.campaign,
            plan_version = f.plan_version,
            target = f.target.as_deref().unwrap_or("-"),
            "{}; move it by hand (POST /api/v1/campaigns/{}/slots/TARGET)",
            f.message,
            f.campaign
        );
    }
    let recorded = app
        .store
        .record_tzdb_after(app.now(), ACTOR, &release, &source, &findings, last.as_ref())
        .await
        .map_err(|e| format!("time zone database: {e}"))?;
    if !recorded {
        tracing::info!("another instance starting at the same time recorded the time zone database");
    }
    Ok(findings)
}

/// Every published (or paused) campaign's published plan, checked under the database in use.
async fn recheck(app: &App) -> Result<Vec<TzdbFinding>, String> {
    let campaigns = app.store.campaigns().await.map_err(|e| format!("time zone database: {e}"))?;
    let mut findings = Vec::new();
    for c in campaigns {
        let Some(version) = published(&c) else { continue };
        let plan = match app.store.plan(&c.id, Some(version)).await {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(e) => return Err(format!("time zone database: {e}")),
        };
        let whole =
            |message: String| TzdbFinding { campaign: c.id.clone(), plan_version: version, target: None, message };
        match actions::parsed_campaign(app, &c, Some(plan.inventory_version)).await {
            Err(e) => {
                let mut message = format!("the campaign does not read under this time zone database: {}", e.message);
                for d in e.errors.iter().take(5) {
                    message.push_str("; ");
                    message.push_str(&d.to_string());
                }
                findings.push(whole(message));
            }
            Ok((_, inv, campaign)) => {
                let id = c.id.clone();
                let found =
                    tokio::task::spawn_blocking(move || outside_windows(&id, version, &inv, &campaign, &plan.json))
                        .await
                        .map_err(|e| format!("time zone database: {e}"))?;
                match found {
                    Ok(mut f) => findings.append(&mut f),
                    Err(message) => findings.push(whole(message)),
                }
            }
        }
    }
    Ok(findings)
}

/// The plan version a campaign's contacts were told, while it stands.
fn published(c: &StoredCampaign) -> Option<i64> {
    c.published_plan.filter(|_| matches!(c.state, CampaignState::Published | CampaignState::Paused))
}

/// The slots of a plan file that lie outside their target's window: the checker's window
/// violations, the only ones a time zone database can cause.
pub fn outside_windows(
    campaign_id: &str,
    plan_version: i64,
    inv: &Inventory,
    campaign: &Campaign,
    plan_json: &str,
) -> Result<Vec<TzdbFinding>, String> {
    let file: forewarn_planner::PlanFile<'_> =
        serde_json::from_str(plan_json).map_err(|e| format!("plan version {plan_version} does not read: {e}"))?;
    Ok(check(inv, campaign, &file)
        .into_iter()
        .filter(|v| v.constraint == Constraint::Window)
        .map(|v| TzdbFinding {
            campaign: campaign_id.to_owned(),
            plan_version,
            target: v.target.clone(),
            message: v.to_string(),
        })
        .collect())
}

/// The findings still standing: of the database in use, for a plan version that is still
/// the published one of a campaign that stands.
pub async fn standing(app: &App) -> Result<Vec<forewarn_store::AuditEntry>, forewarn_store::Error> {
    let (release, _) = in_use();
    let found = app.store.audit_of(OUTSIDE, 500).await?;
    let campaigns = app.store.campaigns().await?;
    Ok(found
        .into_iter()
        .filter(|a| a.detail["release"] == release.as_str())
        .filter(|a| {
            campaigns.iter().any(|c| c.id == a.subject && published(c).is_some_and(|v| a.detail["plan_version"] == v))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use forewarn_model::tz::{Tzdb, fixed_tzif};
    use forewarn_model::{parse_campaign, parse_inventory};

    const INVENTORY: &str = r#"
[platform]
name = "p"
time_zone = "Europe/Berlin"
windows = ["Mon 02:00-03:00"]

[[customers]]
id = "c"
name = "C"

[[projects]]
id = "web"
customer = "c"

[[hosts]]
id = "kvm01"
rack = "r1"

[[machines]]
id = "web01"
project = "web"
tier = "production"
host = "kvm01"
"#;

    const CAMPAIGN: &str = r#"
id = "os"
title = "OS update"
starts = "2027-03-01T00:00:00Z"
ends = "2027-03-08T00:00:00Z"
publish_at = "2027-02-01T00:00:00Z"
notice = "24h"
activities = [{ kind = "reboot", duration = "30m" }]
"#;

    #[test]
    fn a_slot_planned_under_old_rules_is_found_outside_its_window_under_new_ones() {
        // Berlin at +01:00 in March 2027: the window is 01:00-02:00 UTC, and so is the slot.
        let inv = parse_inventory("inventory.toml", INVENTORY).unwrap();
        let campaign = parse_campaign("os.toml", CAMPAIGN, &inv).unwrap();
        let plan = r#"{"campaign": "os", "slots": [
            {"machine": "web01", "start": "2027-03-01T01:00:00Z", "end": "2027-03-01T01:30:00Z",
             "activities": ["reboot"], "reason": "earliest"}], "unscheduled": []}"#;
        let found = outside_windows("os", 2, &inv, &campaign, plan).unwrap();
        assert_eq!(found, [], "fits under the bundled rules");

        // The same files, resolved with rules in which Berlin keeps +03:00: the window is
        // 23:00-00:00 UTC now, and the slot lies outside it.
        let db = Tzdb::from_tzif(
            "/tz",
            Some("2099a".into()),
            vec![("Europe/Berlin".into(), fixed_tzif(3 * 3600, "+03", "<+03>-3"))],
        )
        .unwrap();
        let berlin = db.get("Europe/Berlin").unwrap();
        let mut moved = inv.clone();
        moved.platform.zone = forewarn_model::Zone::from_tz("Europe/Berlin", berlin);
        let found = outside_windows("os", 2, &moved, &campaign, plan).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].campaign.as_str(), found[0].plan_version), ("os", 2));
        assert_eq!(found[0].target.as_deref(), Some("web01"));
        assert!(found[0].message.starts_with("web01: window: "), "{}", found[0].message);

        assert!(outside_windows("os", 2, &inv, &campaign, "{").unwrap_err().contains("plan version 2"));
    }
}
