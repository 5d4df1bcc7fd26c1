//! `forewarn operator add`: an operator who logs in to the admin pages, with a password read
//! from standard input and kept only as its argon2id hash.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use clap::Subcommand;
use forewarn_server::auth;
use forewarn_store::Store;

use crate::Outcome;
use crate::serve_cmd::runtime;

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Add an operator for the admin pages, or give one a new password. The password is read
    /// from standard input, one line, at least 12 characters.
    Add {
        /// The name they log in with; the audit log names them `operator:NAME`.
        #[arg(long)]
        name: String,
        /// `sqlite://PATH` or `postgres://...`
        #[arg(long, env = "FOREWARN_DATABASE")]
        database: String,
    },
}

/// Names are what the login form takes and the audit log shows: printable, no spaces.
fn check_name(name: &str) -> anyhow::Result<()> {
    if name.is_empty() {
        bail!("--name is empty: give the name the operator logs in with");
    }
    if name.chars().count() > 64 {
        bail!("--name `{name}` is longer than 64 characters: use a shorter one");
    }
    if let Some(c) = name.chars().find(|c| c.is_whitespace() || c.is_control()) {
        bail!("--name `{}` has {c:?} in it: use letters, digits and punctuation, no spaces", name.escape_debug());
    }
    Ok(())
}

/// One line of standard input without its line end.
fn read_password(name: &str) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password for `{name}` (at least {} characters; it shows as you type): ", auth::MIN_PASSWORD_CHARS);
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    let n = stdin.lock().read_line(&mut line).context("cannot read the password from standard input")?;
    if n == 0 {
        bail!(
            "no password on standard input: send it as one line, e.g. `printf '%s\\n' \"$PASSWORD\" | forewarn operator add --name {name}`"
        );
    }
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    Ok(password.to_owned())
}

pub fn run(cmd: OperatorCommand) -> anyhow::Result<Outcome> {
    let OperatorCommand::Add { name, database } = cmd;
    check_name(&name)?;
    let password = read_password(&name)?;
    auth::check_password_strength(&password).map_err(|e| anyhow::anyhow!("{e}; the operator was not added"))?;
    let hash = auth::hash_password(&password).map_err(anyhow::Error::msg)?;
    let known = runtime()?.block_on(async {
        let store = Store::open(&database)
            .await
            .with_context(|| format!("cannot open the database `{}`", forewarn_server::config::redact(&database)))?;
        let known = store.operator_hash(&name).await?.is_some();
        store.set_operator(crate::clock::now(), "cli", &name, &hash).await?;
        store.close().await;
        anyhow::Ok(known)
    })?;
    if known {
        println!("operator `{name}` has a new password");
    } else {
        println!("operator `{name}` added: they log in at /admin/login");
    }
    Ok(Outcome::Ok)
}

/// A password for the demo's operator: 20 letters and digits from 20 random bytes (100 bits),
/// without look-alikes, in groups of five: `k7nqa-3xw9e-...`.
pub fn demo_password(random: &[u8; 32]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut out = String::with_capacity(23);
    for (i, b) in random.iter().take(20).enumerate() {
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        out.push(ALPHABET[usize::from(*b) % ALPHABET.len()] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names_and_demo_passwords() {
        assert!(check_name("ada").is_ok());
        assert!(check_name("").unwrap_err().to_string().contains("empty"));
        assert!(check_name("ada lovelace").unwrap_err().to_string().contains("no spaces"));
        let p = demo_password(&[255; 32]);
        assert_eq!(p, "99999-99999-99999-99999");
        assert!(auth::check_password_strength(&demo_password(&[0; 32])).is_ok());
    }
}
