//! The API against its own description: schemathesis (PyPI) reads `/api/v1/openapi.json` from
//! the built `forewarn serve` (the sample inventory imported, a campaign planned and
//! published) and sends every operation a bounded number of generated requests, valid and
//! invalid, with the API token. It fails on any 5xx, and on any answer whose status, media
//! type or body the document does not describe. Without schemathesis the test is skipped
//! with a message; under `CI=true` it fails (`.ci/test` installs it).

mod support;

use std::process::{Command, Stdio};

use support::{Serve, TempDir, cannot_run, create_token, python_can};

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");

/// Generated requests per operation and phase: enough to reach every parameter and body
/// field, few enough that the run takes about a minute.
const MAX_EXAMPLES: &str = "10";
/// The same requests every run.
const SEED: &str = "20270222";
/// Each run is stopped after this many seconds (it takes about 25 s).
const RUN_LIMIT: &str = "300";
/// The checks that must pass.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

/// Runs `schemathesis run` on the service's document with `extra` options; gives whether it
/// passed and what it printed.
fn schemathesis(serve: &Serve, token: &str, extra: &[&str], dir: &TempDir) -> (bool, String) {
    let auth = format!("Authorization: Bearer {token}");
    // `timeout` bounds the run (schemathesis's own `--max-time` makes fuzzing repeat until it
    // is spent).
    let out = Command::new("timeout")
        .args([RUN_LIMIT, "python3", "-m", "schemathesis.cli", "run", &serve.url("/api/v1/openapi.json")])
        .args(["--checks", CHECKS, "--max-examples", MAX_EXAMPLES, "--seed", SEED])
        .args(["--phases", "examples,coverage,fuzzing", "--workers", "1", "--no-shrink"])
        .args(["--request-timeout", "30", "--header", &auth])
        .args(["--output-truncate", "false", "--warnings", "off"])
        .args(extra)
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .stdin(Stdio::null())
        .output()
        .expect("run python3 -m schemathesis.cli");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn the_api_answers_as_its_document_says() {
    let test = "schemathesis::the_api_answers_as_its_document_says";
    if let Err(why) = python_can("import schemathesis") {
        cannot_run(test, &format!("{why} (pip install 'schemathesis>=4,<5')"));
        return;
    }
    let tmp = TempDir::new("forewarn-schemathesis");
    let serve = Serve::start(&tmp.path().join("forewarn.db"), &[], &[]);
    // Data to find: an inventory, and a campaign planned and published from it.
    let inventory = std::fs::read(format!("{EXAMPLES}/inventory.toml")).unwrap();
    let r = serve.admin("POST", "/api/v1/inventory?file=inventory.toml", "application/toml", &inventory);
    assert_eq!(r.status, 201, "{}", r.text());
    let campaign = std::fs::read(format!("{EXAMPLES}/os-update.toml")).unwrap();
    let r = serve.admin("POST", "/api/v1/campaigns?file=os-update.toml", "application/toml", &campaign);
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let r = serve.admin("POST", &format!("/api/v1/campaigns/{id}/plan"), "application/json", b"");
    assert_eq!(r.status, 201, "{}", r.text());
    let r = serve.admin("POST", &format!("/api/v1/campaigns/{id}/publish"), "application/json", b"");
    assert_eq!(r.status, 200, "{}", r.text());

    // Every operation but revoking tokens, with the service's token; then revoking tokens
    // alone, with a token of its own (it may revoke itself: then 401, which is documented).
    let (passed, out) = schemathesis(&serve, &serve.token, &["--exclude-operation-id", "revoke_token"], &tmp);
    assert!(passed, "schemathesis found answers the document does not describe:\n{out}");
    let second = create_token(&serve.database, "schemathesis");
    let (passed, more) = schemathesis(&serve, &second, &["--include-operation-id", "revoke_token"], &tmp);
    assert!(passed, "schemathesis found answers the document does not describe:\n{more}");
    eprintln!("schemathesis:\n{}\n{}", summary(&out), summary(&more));
    // It did test the API: every operation but one, then that one.
    assert!(tested(&out).is_some_and(|n| n >= 20), "{out}");
    assert_eq!(tested(&more), Some(1), "{more}");
    assert!(serve.request("GET", "/healthz", &[], b"").status == 200, "the service still answers");
}

/// How many operations a run tested (its summary's `Tested: N`).
fn tested(out: &str) -> Option<usize> {
    out.lines().find_map(|l| l.trim().strip_prefix("Tested:")).and_then(|n| n.trim().parse().ok())
}

/// The last lines of a run: its counts and time.
fn summary(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}
