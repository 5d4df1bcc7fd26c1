//! Plan versions of a campaign.

use serde_json::json;

use crate::Error;
use crate::codec::{json_text, micros, parse};
use crate::types::{CampaignState, PlanSummary, StoredPlan};

use super::*;

pub(crate) async fn add_plan(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    campaign: &str,
    inventory_version: i64,
    plan_json: &str,
    summary: &Value,
) -> Result<i64> {
    require_inventory(c, inventory_version).await?;
    // Taking the number locks the campaign's row: concurrent planners queue here.
    let row = query(
        "UPDATE campaigns SET plan_count = plan_count + 1, updated = $1 WHERE id = $2 RETURNING plan_count, state",
    )
    .bind(micros(at))
    .bind(campaign)
    .fetch_optional(&mut *c)
    .await?
    .ok_or_else(|| Error::NotFound(format!("campaign `{campaign}`")))?;
    let version: i64 = row.try_get("plan_count")?;
    let state: CampaignState = parse(row.try_get("state")?)?;
    if state.is_final() {
        return Err(Error::Invalid(format!("campaign `{campaign}` is {state}: it is not planned any more")));
    }
    query(
        "INSERT INTO plans (campaign, version, created, actor, inventory_version, json, summary) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(campaign)
    .bind(version)
    .bind(micros(at))
    .bind(actor)
    .bind(inventory_version)
    .bind(plan_json)
    .bind(json_text(summary))
    .execute(&mut *c)
    .await?;
    let detail = json!({ "version": version, "inventory_version": inventory_version, "summary": summary });
    audit(c, at, actor, "plan.add", campaign, detail).await?;
    Ok(version)
}

pub(crate) async fn plan(c: &mut Conn, campaign: &str, version: Option<i64>) -> Result<Option<StoredPlan>> {
    const COLUMNS: &str =
        "SELECT campaign, version, created, actor, inventory_version, json, summary FROM plans WHERE campaign = $1";
    let row = match version {
        Some(v) => query(&format!("{COLUMNS} AND version = $2")).bind(campaign).bind(v).fetch_optional(&mut *c).await?,
        None => {
            query(&format!("{COLUMNS} ORDER BY version DESC LIMIT 1")).bind(campaign).fetch_optional(&mut *c).await?
        }
    };
    row.map(|r| {
        Ok(StoredPlan {
            campaign: r.try_get("campaign")?,
            version: r.try_get("version")?,
            created: ts(&r, "created")?,
            actor: r.try_get("actor")?,
            inventory_version: r.try_get("inventory_version")?,
            json: r.try_get("json")?,
            summary: json_col(&r, "summary")?,
        })
    })
    .transpose()
}

pub(crate) async fn plans(c: &mut Conn, campaign: &str) -> Result<Vec<PlanSummary>> {
    let rows = query(
        "SELECT campaign, version, created, actor, inventory_version, summary FROM plans \
         WHERE campaign = $1 ORDER BY version DESC",
    )
    .bind(campaign)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PlanSummary {
                campaign: r.try_get("campaign")?,
                version: r.try_get("version")?,
                created: ts(r, "created")?,
                actor: r.try_get("actor")?,
                inventory_version: r.try_get("inventory_version")?,
                summary: json_col(r, "summary")?,
            })
        })
        .collect()
}
