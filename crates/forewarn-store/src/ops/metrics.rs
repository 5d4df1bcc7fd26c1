//! Metrics: how many of each thing there are.

use crate::codec::parse;
use crate::types::{CampaignState, Counts};

use super::*;

pub(crate) async fn counts(c: &mut Conn) -> Result<Counts> {
    let rows = query("SELECT state, COUNT(*) AS n FROM campaigns GROUP BY state").fetch_all(&mut *c).await?;
    let mut by_state: Vec<(CampaignState, i64)> = CampaignState::ALL.into_iter().map(|s| (s, 0)).collect();
    for r in &rows {
        let state: CampaignState = parse(r.try_get("state")?)?;
        let n: i64 = r.try_get("n")?;
        if let Some(entry) = by_state.iter_mut().find(|(s, _)| *s == state) {
            entry.1 = n;
        }
    }
    let posts: i64 = query("SELECT COUNT(*) AS n FROM posts").fetch_one(&mut *c).await?.try_get("n")?;
    Ok(Counts { campaigns_by_state: by_state, posts })
}
