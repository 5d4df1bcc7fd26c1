//! The agent's configuration file (TOML): which command runs for each activity kind, the
//! hooks around a slot, and which activities may run again after the agent was killed in the
//! middle of one. It is decided on the machine: the coordinator sends activity kinds, never a
//! command line. Every problem is reported with the file, line and field.
//!
//! ```toml
//! # Activities that may run again after the agent was killed in the middle of one.
//! idempotent = ["os-update"]
//!
//! [activities]
//! os-update = "/usr/local/sbin/os-update --yes"
//! reboot = "systemctl reboot"
//!
//! [hooks]
//! enter = "/usr/local/sbin/drain"
//! leave = "/usr/local/sbin/undrain"
//! ```

use std::collections::BTreeMap;

use forewarn_model::diag::{Diagnostic, Diagnostics, FieldPath};
use forewarn_model::doc::{Document, Format};
use serde::Deserialize;

/// The top-level keys of the file.
const FIELDS: [&str; 3] = ["activities", "hooks", "idempotent"];
/// The keys of `[hooks]`.
const HOOKS: [&str; 2] = ["enter", "leave"];

/// What the agent runs, each with `/bin/sh -c`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentConfig {
    /// The file it was read from, for the reasons it gives.
    pub file: String,
    /// Per activity kind, its command line.
    pub activities: BTreeMap<String, String>,
    /// Run before a slot's activities: exit 0 goes on, 69 postpones the whole slot, anything
    /// else fails it.
    pub enter: Option<String>,
    /// Run after them, whatever they did.
    pub leave: Option<String>,
    /// Activity kinds that may run again when the agent finds one running after a crash; any
    /// other is reported as interrupted instead.
    pub idempotent: Vec<String>,
}

#[derive(Deserialize)]
struct Hooks {
    enter: Option<String>,
    leave: Option<String>,
}

impl AgentConfig {
    /// The command line for activity `kind`, or why there is none (the activity is reported
    /// as failed with it).
    pub fn command(&self, kind: &str) -> Result<&str, String> {
        self.activities.get(kind).map(String::as_str).ok_or_else(|| {
            let known: Vec<&str> = self.activities.keys().map(String::as_str).collect();
            let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
            format!("no command for activity `{kind}` in {}'s [activities] (it has {known})", self.file)
        })
    }

    /// Whether activity `kind` may run again after the agent was killed in the middle of it.
    pub fn is_idempotent(&self, kind: &str) -> bool {
        self.idempotent.iter().any(|k| k == kind)
    }
}

/// A command line: not blank, no NUL (which no shell takes).
fn check_command(doc: &Document<'_>, path: &FieldPath, command: &str, errors: &mut Vec<Diagnostic>) {
    if command.trim().is_empty() {
        errors.push(doc.diag(path, "the command is empty: give the command line to run with /bin/sh -c"));
    } else if command.contains('\0') {
        errors.push(doc.diag(path, "the command contains a NUL character"));
    }
}

/// An activity kind: letters, digits, `-` and `_`, as campaigns name them.
fn check_kind(doc: &Document<'_>, path: &FieldPath, kind: &str, errors: &mut Vec<Diagnostic>) {
    if kind.is_empty() || kind.len() > 64 || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        errors.push(doc.diag(path, format!("`{kind}` is not an activity kind: use letters, digits, `-` and `_`")));
    }
}

/// Reads the agent's configuration file `file` (its text `text`).
pub fn parse_config(file: &str, text: &str) -> Result<AgentConfig, Diagnostics> {
    let doc = Document::parse(file, text, Format::Toml)?;
    let root = FieldPath::root();
    let mut errors = Vec::new();
    for key in doc.top_keys() {
        if !FIELDS.contains(&key.as_str()) {
            errors
                .push(doc.diag(&root.key(&key), format!("unknown key `{key}`: expected one of {}", FIELDS.join(", "))));
        }
    }
    for key in doc.keys_at(&root.key("hooks")).unwrap_or_default() {
        if !HOOKS.contains(&key.as_str()) {
            let message = format!("unknown hook `{key}`: expected one of {}", HOOKS.join(", "));
            errors.push(doc.diag(&root.key("hooks").key(&key), message));
        }
    }
    let activities: BTreeMap<String, String> = doc.table("activities", &mut errors).unwrap_or_default();
    for (kind, command) in &activities {
        let path = root.key("activities").key(kind);
        check_kind(&doc, &path, kind, &mut errors);
        check_command(&doc, &path, command, &mut errors);
    }
    let (mut enter, mut leave) = (None, None);
    if doc.keys_at(&root.key("hooks")).is_some_and(|keys| keys.iter().all(|k| HOOKS.contains(&k.as_str()))) {
        if let Some(hooks) = doc.table::<Hooks>("hooks", &mut errors) {
            (enter, leave) = (hooks.enter, hooks.leave);
        }
    }
    for (name, command) in [("enter", &enter), ("leave", &leave)] {
        if let Some(command) = command {
            check_command(&doc, &root.key("hooks").key(name), command, &mut errors);
        }
    }
    let idempotent: Vec<String> = doc.table("idempotent", &mut errors).unwrap_or_default();
    for (i, kind) in idempotent.iter().enumerate() {
        if !activities.contains_key(kind) {
            let message = format!("`{kind}` has no command under [activities]: name one of the activities it runs");
            errors.push(doc.diag(&root.key("idempotent").index(i), message));
        }
    }
    if !errors.is_empty() {
        return Err(Diagnostics(errors).sorted_by_line());
    }
    Ok(AgentConfig { file: file.to_owned(), activities, enter, leave, idempotent })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"# Activities that may run again after the agent was killed in the middle of one.
idempotent = ["os-update"]

[activities]
os-update = "/usr/local/sbin/os-update --yes"
reboot = "systemctl reboot"

[hooks]
enter = "/usr/local/sbin/drain"
leave = "/usr/local/sbin/undrain"
"#;

    #[test]
    fn a_good_file_says_what_runs_for_each_activity() {
        let c = parse_config("agent.toml", GOOD).unwrap();
        assert_eq!(c.command("os-update"), Ok("/usr/local/sbin/os-update --yes"));
        assert_eq!(c.command("reboot"), Ok("systemctl reboot"));
        assert_eq!(
            c.command("fsck"),
            Err("no command for activity `fsck` in agent.toml's [activities] (it has os-update, reboot)".to_owned())
        );
        assert_eq!(
            (c.enter.as_deref(), c.leave.as_deref()),
            (Some("/usr/local/sbin/drain"), Some("/usr/local/sbin/undrain"))
        );
        assert!(c.is_idempotent("os-update") && !c.is_idempotent("reboot"));
        // An empty file is a valid one: nothing runs, every activity fails with the reason.
        let empty = parse_config("empty.toml", "").unwrap();
        assert_eq!(
            empty.command("reboot"),
            Err("no command for activity `reboot` in empty.toml's [activities] (it has none)".to_owned())
        );
    }

    #[test]
    fn every_problem_is_named_with_its_line_and_field() {
        let text = r#"idempotent = ["fsck"]
command = "rm -rf /"

[activities]
os-update = ""
"bad kind" = "true"

[hooks]
enter = "x"
before = "y"
"#;
        let errors = parse_config("agent.toml", text).unwrap_err().to_string();
        assert_eq!(
            errors,
            "agent.toml:1: idempotent[0]: `fsck` has no command under [activities]: name one of the activities it runs\n\
             agent.toml:2: command: unknown key `command`: expected one of activities, hooks, idempotent\n\
             agent.toml:5: activities.os-update: the command is empty: give the command line to run with /bin/sh -c\n\
             agent.toml:6: activities.bad kind: `bad kind` is not an activity kind: use letters, digits, `-` and `_`\n\
             agent.toml:10: hooks.before: unknown hook `before`: expected one of enter, leave\n\
             5 errors"
        );
        let errors = parse_config("agent.toml", "[activities]\nreboot = 3\n").unwrap_err().to_string();
        assert!(errors.starts_with("agent.toml:2: activities") && errors.contains("string"), "{errors}");
        let errors = parse_config("agent.toml", "[activities\n").unwrap_err().to_string();
        assert!(errors.starts_with("agent.toml:1"), "{errors}");
    }
}
