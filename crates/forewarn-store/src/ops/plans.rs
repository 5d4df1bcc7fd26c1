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
         VALUES ($1, $2, $3, $4, $5, '', $6)",
    )
    .bind(campaign)
    .bind(version)
    .bind(micros(at))
    .bind(actor)
    .bind(inventory_version)
    .bind(json_text(summary))
    .execute(&mut *c)
    .await?;
    written_in_pieces(c, plan_json, |n, piece| {
        query("INSERT INTO plan_pieces (campaign, version, n, text) VALUES ($1, $2, $3, $4)")
            .bind(campaign)
            .bind(version)
            .bind(n)
            .bind(piece)
    })
    .await?;
    let detail = json!({ "version": version, "inventory_version": inventory_version, "summary": summary });
    audit(c, at, actor, "plan.add", campaign, detail).await?;
    Ok(version)
}

/// The most of a text (a plan's, an inventory's) one row of its pieces holds, in bytes.
const PIECE: usize = 4 << 20;

/// `text` cut into pieces of at most [`PIECE`] bytes, each ending on a character (none
/// for an empty text).
fn pieces(mut rest: &str) -> impl Iterator<Item = &str> {
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(PIECE);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

/// `text` written in pieces of at most [`PIECE`] bytes: the statement `piece(n, text)` inserts
/// piece n = 0, 1, ...
pub(super) async fn written_in_pieces<'q>(
    c: &mut Conn,
    text: &'q str,
    piece: impl Fn(i64, &'q str) -> Query<'q>,
) -> Result<()> {
    for (n, text) in pieces(text).enumerate() {
        piece(n as i64, text).execute(&mut *c).await?;
    }
    Ok(())
}

/// A text kept in pieces: `head` (what was kept whole before the pieces), then the `text` of
/// the row `piece(n)` selects for n = 0, 1, ... until there is none, each row read and let
/// go before the next.
pub(super) async fn joined_pieces<'q>(c: &mut Conn, head: String, piece: impl Fn(i64) -> Query<'q>) -> Result<String> {
    let mut text = head;
    for n in 0_i64.. {
        let Some(row) = piece(n).fetch_optional(&mut *c).await? else {
            break;
        };
        text.push_str(row.try_get::<&str, _>("text")?);
    }
    Ok(text)
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
    let Some(r) = row else { return Ok(None) };
    let mut plan = StoredPlan {
        campaign: r.try_get("campaign")?,
        version: r.try_get("version")?,
        created: ts(&r, "created")?,
        actor: r.try_get("actor")?,
        inventory_version: r.try_get("inventory_version")?,
        json: r.try_get("json")?,
        summary: json_col(&r, "summary")?,
    };
    drop(r);
    let (campaign, version) = (plan.campaign.clone(), plan.version);
    plan.json = joined_pieces(c, std::mem::take(&mut plan.json), |n| {
        query("SELECT text FROM plan_pieces WHERE campaign = $1 AND version = $2 AND n = $3")
            .bind(campaign.clone())
            .bind(version)
            .bind(n)
    })
    .await?;
    Ok(Some(plan))
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
