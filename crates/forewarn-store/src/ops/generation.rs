//! The generation: how many writes changed what the public pages show, shared by every
//! instance on the database, so that each can tell when its rendered pages are stale.

use super::*;

pub(crate) async fn bump_generation(c: &mut Conn) -> Result<i64> {
    let row = query("UPDATE generation SET n = n + 1 WHERE id = 1 RETURNING n").fetch_one(&mut *c).await?;
    Ok(row.try_get("n")?)
}

pub(crate) async fn generation(c: &mut Conn) -> Result<i64> {
    let row = query("SELECT n FROM generation WHERE id = 1").fetch_one(&mut *c).await?;
    Ok(row.try_get("n")?)
}
