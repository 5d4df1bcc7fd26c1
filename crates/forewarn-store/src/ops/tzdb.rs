//! The time zone database releases used, and the slots a change put outside their window.

use serde_json::json;

use crate::Error;
use crate::codec::micros;
use crate::types::{TzdbFinding, TzdbRecord};

use super::*;

pub(crate) async fn tzdb_last(c: &mut Conn) -> Result<Option<TzdbRecord>> {
    let row =
        query("SELECT at, release, source FROM tzdb_history ORDER BY id DESC LIMIT 1").fetch_optional(&mut *c).await?;
    row.map(|r| Ok(TzdbRecord { at: ts(&r, "at")?, release: r.try_get("release")?, source: r.try_get("source")? }))
        .transpose()
}

pub(crate) async fn record_tzdb(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    release: &str,
    source: &str,
    findings: &[TzdbFinding],
) -> Result<()> {
    if blank(release) || blank(source) {
        return Err(Error::Invalid("a time zone database needs a release and a source".into()));
    }
    let previous = tzdb_last(c).await?;
    query("INSERT INTO tzdb_history (at, release, source) VALUES ($1, $2, $3)")
        .bind(micros(at))
        .bind(release)
        .bind(source)
        .execute(&mut *c)
        .await?;
    let detail = json!({
        "release": release,
        "source": source,
        "previous": previous.map(|p| json!({ "release": p.release, "source": p.source })),
        "slots_outside_window": findings.len(),
    });
    audit(c, at, actor, "tzdb.change", release, detail).await?;
    for f in findings {
        let detail = json!({
            "plan_version": f.plan_version,
            "target": f.target,
            "message": f.message,
            "release": release,
        });
        audit(c, at, actor, "tzdb.slot_outside_window", &f.campaign, detail).await?;
    }
    Ok(())
}

/// [`record_tzdb`], unless another instance recorded one since `seen` was the last record,
/// or is recording one right now: whether it was recorded.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_tzdb_after(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    release: &str,
    source: &str,
    findings: &[TzdbFinding],
    seen: Option<&TzdbRecord>,
) -> Result<bool> {
    if !alone(c, TZDB_LOCK).await? || tzdb_last(c).await?.as_ref() != seen {
        return Ok(false);
    }
    record_tzdb(c, at, actor, release, source, findings).await?;
    Ok(true)
}
