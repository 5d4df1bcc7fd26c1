//! Secrets: the installation's secret.

use crate::Error;

use super::*;

pub(crate) async fn secret(c: &mut Conn, candidate: &str) -> Result<String> {
    if blank(candidate) {
        return Err(Error::Invalid("the installation's secret cannot be blank".into()));
    }
    query("INSERT INTO secrets (name, value) VALUES ('installation', $1) ON CONFLICT (name) DO NOTHING")
        .bind(candidate)
        .execute(&mut *c)
        .await?;
    let row = query("SELECT value FROM secrets WHERE name = 'installation'").fetch_one(&mut *c).await?;
    Ok(row.try_get("value")?)
}
