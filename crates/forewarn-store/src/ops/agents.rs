//! Machines' agents as they enrolled.

use serde_json::json;

use crate::codec::micros;
use crate::types::{Agent, AgentReport};

use super::super::FOR_UPDATE;
use super::*;

const AGENT: &str = "SELECT machine, token, fleetlock_id, boot_id, version, enrolled, seen FROM agents";

fn agent_from_row(r: &DbRow) -> Result<Agent> {
    Ok(Agent {
        machine: r.try_get("machine")?,
        token: r.try_get("token")?,
        report: AgentReport {
            fleetlock_id: r.try_get("fleetlock_id")?,
            boot_id: r.try_get("boot_id")?,
            version: r.try_get("version")?,
        },
        enrolled: ts(r, "enrolled")?,
        seen: ts(r, "seen")?,
    })
}

/// Records machine `machine`'s agent (with token `token`) as it reports itself at `at`; the
/// first enrolment, and a change of the id it gives FleetLock, are audited (with the token's
/// name as the actor). A new boot id is the machine seen back: the locks it holds are
/// released ([`release_lock`]). Gives the agent as recorded.
pub(crate) async fn enrol_agent(
    c: &mut Conn,
    at: Timestamp,
    actor: &str,
    machine: &str,
    token: i64,
    report: &AgentReport,
) -> Result<Agent> {
    let before = query(&format!("{AGENT} WHERE machine = $1{FOR_UPDATE}"))
        .bind(machine)
        .fetch_optional(&mut *c)
        .await?
        .as_ref()
        .map(agent_from_row)
        .transpose()?;
    let row = query(
        "INSERT INTO agents (machine, token, fleetlock_id, boot_id, version, enrolled, seen) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (machine) DO UPDATE SET token = $2, fleetlock_id = $3, boot_id = $4, version = $5, seen = $6 \
         RETURNING machine, token, fleetlock_id, boot_id, version, enrolled, seen",
    )
    .bind(machine)
    .bind(token)
    .bind(report.fleetlock_id.as_deref())
    .bind(&report.boot_id)
    .bind(&report.version)
    .bind(micros(at))
    .fetch_one(&mut *c)
    .await?;
    let agent = agent_from_row(&row)?;
    // Seen back after a boot: every lock the machine held since before now is released, its
    // downtime from the grant until this first report after the boot.
    if before.as_ref().is_some_and(|b| b.report.boot_id != report.boot_id) {
        let held = query("SELECT campaign FROM runs WHERE machine = $1 AND finished IS NULL AND started <= $2")
            .bind(machine)
            .bind(micros(at))
            .fetch_all(&mut *c)
            .await?;
        for row in &held {
            let campaign: String = row.try_get("campaign")?;
            release_lock(c, at, &campaign, machine).await?;
        }
    }
    let changed = before.as_ref().is_none_or(|b| b.report.fleetlock_id != report.fleetlock_id);
    if changed {
        let detail = json!({
            "fleetlock_id": report.fleetlock_id,
            "before": before.as_ref().map(|b| b.report.fleetlock_id.clone()),
            "version": report.version,
        });
        audit(c, at, actor, "agent.enrol", machine, detail).await?;
    }
    Ok(agent)
}

/// Every machine's agent that enrolled, by machine.
pub(crate) async fn agents(c: &mut Conn) -> Result<Vec<Agent>> {
    let rows = query(&format!("{AGENT} ORDER BY machine")).fetch_all(&mut *c).await?;
    rows.iter().map(agent_from_row).collect()
}
