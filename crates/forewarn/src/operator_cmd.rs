//! `forewarn operator add|list|remove`: the operators who log in to the admin pages, each with
//! a password read from standard input and kept only as its argon2id hash. A new password
//! and a removal end the operator's sessions.

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
    /// Every operator, a line each: name, when added, when last given a password.
    List {
        /// `sqlite://PATH` or `postgres://...`
        #[arg(long, env = "FOREWARN_DATABASE")]
        database: String,
    },
    /// Remove an operator: their sessions end at once; the audit log keeps what they did.
    Remove {
        /// The name they log in with.
        name: String,
        /// `sqlite://PATH` or `postgres://...`
        #[arg(long, env = "FOREWARN_DATABASE")]
        database: String,
    },
}

async fn open(database: &str) -> anyhow::Result<Store> {
    Store::open(database)
        .await
        .with_context(|| format!("cannot open the database `{}`", forewarn_server::config::redact(database)))
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
    let (name, database) = match cmd {
        OperatorCommand::Add { name, database } => (name, database),
        OperatorCommand::List { database } => {
            let operators = runtime()?.block_on(async {
                let store = open(&database).await?;
                let list = store.operators().await?;
                store.close().await;
                anyhow::Ok(list)
            })?;
            if operators.is_empty() {
                println!("no operators: add one with `forewarn operator add --name NAME`");
            }
            for (name, created, updated) in operators {
                println!("{name}  added {created}, password set {updated}");
            }
            return Ok(Outcome::Ok);
        }
        OperatorCommand::Remove { name, database } => {
            let removed = runtime()?.block_on(async {
                let store = open(&database).await?;
                let removed = store.remove_operator(crate::clock::now(), "cli", &name).await;
                store.close().await;
                anyhow::Ok(removed)
            })?;
            return match removed {
                Ok(()) => {
                    println!("operator `{name}` removed; their sessions are ended");
                    Ok(Outcome::Ok)
                }
                Err(forewarn_store::Error::NotFound(why)) => {
                    eprintln!("{why}: `forewarn operator list` shows who there is");
                    Ok(Outcome::Findings)
                }
                Err(e) => Err(e.into()),
            };
        }
    };
    check_name(&name)?;
    let password = read_password(&name)?;
    auth::check_password_strength(&password).map_err(|e| anyhow::anyhow!("{e}; the operator was not added"))?;
    let hash = auth::hash_password(&password).map_err(anyhow::Error::msg)?;
    let known = runtime()?.block_on(async {
        let store = open(&database).await?;
        let known = store.operator_hash(&name).await?.is_some();
        store.set_operator(crate::clock::now(), "cli", &name, &hash).await?;
        store.close().await;
        anyhow::Ok(known)
    })?;
    if known {
        println!("operator `{name}` has a new password; their sessions are ended");
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
