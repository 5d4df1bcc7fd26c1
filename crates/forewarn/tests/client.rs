//! forewarn as a client of a running service, end to end: the built binary talks to a running
//! `forewarn demo` over TCP with `--server` and `--token`, as an operator would from a shell.

mod support;

use std::process::{Command, Output};

use support::{Demo, Serve, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_forewarn");

fn forewarn(demo: &Demo, token: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["--server", &demo.url(""), "--token", token])
        .args(args)
        .env_remove("FOREWARN_SERVER")
        .env_remove("FOREWARN_TOKEN")
        .output()
        .expect("run forewarn")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn an_operator_drives_campaigns_and_posts_from_the_shell() {
    let demo = Demo::start();
    let t = demo.token.as_str();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");

    // The demo's campaign, as a line; and as JSON.
    let o = forewarn(&demo, t, &["campaign", "list"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("campaign `os-update` (published): Operating system update"), "{out}");
    let o = forewarn(&demo, t, &["--json", "campaign", "show", "os-update"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("--json prints JSON");
    assert_eq!(v["state"], "published");
    assert_eq!(v["plans"].as_array().map(Vec::len), Some(1));

    // A new inventory version, then a second campaign planned and published from files.
    let o = forewarn(&demo, t, &["inventory", "import", &format!("{root}/inventory.toml")]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("inventory version 2 imported") && out.contains("33 machines"), "{out}");
    let o = forewarn(&demo, t, &["campaign", "create", &format!("{root}/fsck.toml")]);
    assert!(o.status.success(), "{}", text(&o).1);
    let o = forewarn(&demo, t, &["campaign", "plan", "fsck-2027-02"]);
    let (out, err) = text(&o);
    assert!(o.status.success() && out.contains("plan version 1 of `fsck-2027-02`"), "{out}{err}");
    let o = forewarn(&demo, t, &["campaign", "publish", "fsck-2027-02"]);
    let (out, err) = text(&o);
    assert!(o.status.success() && out.contains("published campaign `fsck-2027-02` (published)"), "{out}{err}");

    // web01 leaves the inventory: planned again, the other slots stay; publishing the new
    // version shows first what it changes and whom it tells, and waits for --yes.
    let inventory = std::fs::read_to_string(format!("{root}/inventory.toml")).unwrap();
    let dir = TempDir::new("forewarn-client-test");
    let fewer = dir.path().join("inventory.toml");
    std::fs::write(&fewer, support::without_machine(&inventory, "web01")).unwrap();
    let o = forewarn(&demo, t, &["inventory", "import", fewer.to_str().unwrap()]);
    drop(dir);
    assert!(o.status.success(), "{}", text(&o).1);
    let o = forewarn(&demo, t, &["campaign", "plan", "fsck-2027-02"]);
    let (out, err) = text(&o);
    assert!(o.status.success() && out.contains("plan version 2") && out.contains("kept as published"), "{out}{err}");
    let o = forewarn(&demo, t, &["campaign", "publish", "fsck-2027-02"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("plan version 2 of `fsck-2027-02` would replace the published version 1"), "{out}");
    assert!(out.contains("0 moved") && out.contains("1 no longer scheduled\n  web01: "), "{out}");
    assert!(
        out.contains("1 message would go out:\n  email to lena@muehlenbach.example: "),
        "web01's contact only: {out}"
    );
    assert!(err.contains("run again with --yes"), "{err}");
    let o = forewarn(&demo, t, &["--json", "campaign", "show", "fsck-2027-02"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["published_plan"], 1, "nothing published without --yes");
    let o = forewarn(&demo, t, &["campaign", "publish", "fsck-2027-02", "--preview"]);
    let (out, err) = text(&o);
    assert!(o.status.success() && out.contains("would go out:"), "{out}{err}");
    let o = forewarn(&demo, t, &["campaign", "publish", "fsck-2027-02", "--yes"]);
    let (out, err) = text(&o);
    assert!(o.status.success() && out.contains("published campaign `fsck-2027-02` (published)"), "{out}{err}");

    // A slot moves from the shell: previewed first (nothing moves), then for real.
    let o = forewarn(&demo, t, &["--json", "campaign", "slots", "fsck-2027-02"]);
    let table: serde_json::Value = serde_json::from_slice(&o.stdout).expect("--json prints JSON");
    let first = table["slots"].as_array().and_then(|s| s.first()).cloned().expect("a slot");
    let (target, start) = (first["target"].as_str().unwrap(), first["start"].as_str().unwrap());
    let start: jiff::Timestamp = start.parse().unwrap();
    let to = (1..=72)
        .map(|h| (start + jiff::SignedDuration::from_hours(h)).to_string())
        .find(|to| {
            forewarn(&demo, t, &["campaign", "move", "fsck-2027-02", target, "--start", to, "--preview"])
                .status
                .success()
        })
        .unwrap_or_else(|| panic!("{target} could not move 1 to 72 hours later"));
    let o = forewarn(&demo, t, &["campaign", "move", "fsck-2027-02", target, "--start", &to, "--preview"]);
    let (out, _) = text(&o);
    assert!(out.contains("would go out:\n  email to "), "{out}");
    let o = forewarn(&demo, t, &["--json", "campaign", "slots", "fsck-2027-02"]);
    let still: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(still["slots"][0], first, "a preview moves nothing");
    let o = forewarn(&demo, t, &["campaign", "move", "fsck-2027-02", target, "--start", &to]);
    let (out, err) = text(&o);
    assert!(o.status.success() && out.contains(&format!("`{target}` of `fsck-2027-02` now {to}")), "{out}{err}");
    assert!(out.contains("SEQUENCE 1"), "{out}");

    let o = forewarn(&demo, t, &["campaign", "pause", "fsck-2027-02"]);
    assert!(text(&o).0.contains("(paused)"));
    let o = forewarn(&demo, t, &["campaign", "publish", "fsck-2027-02"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("answered 409") && err.contains("is paused"), "{err}");

    // A post with a date its campaign contradicts is refused with the conflict shown.
    let o = forewarn(
        &demo,
        t,
        &[
            "post",
            "create",
            "--kind",
            "notice",
            "--title",
            "Filesystem checks",
            "--body",
            "The checks run on Saturday 2027-01-16.",
            "--campaign",
            "fsck-2027-02",
        ],
    );
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("answered 422") && err.contains("2027-01-16"), "{err}");
    let o = forewarn(
        &demo,
        t,
        &["post", "create", "--kind", "notice", "--title", "Filesystem checks", "--body", "They run in February."],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let id = out.split_whitespace().nth(2).expect("created post N ...").to_owned();
    let o = forewarn(&demo, t, &["post", "update", &id, "--body", "All checks passed."]);
    assert!(o.status.success(), "{}", text(&o).1);
    let o = forewarn(
        &demo,
        t,
        &["post", "correct", &id, "--note", "clearer title", "--title", "Filesystem checks in February"],
    );
    let (out, err) = text(&o);
    assert!(o.status.success() && out.contains("revision 2"), "{out}{err}");
    let page = demo.get(&format!("/posts/{id}")).text();
    assert!(page.contains("Filesystem checks in February") && page.contains("clearer title"), "{page}");

    // Invalid files come back with every diagnostic and its line; a wrong token is refused.
    let dir = TempDir::new("forewarn-client");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "id = \"x\"\ntitle = \"X\"\nsarts = \"2027-01-01T00:00:00Z\"\n").unwrap();
    let o = forewarn(&demo, t, &["campaign", "create", bad.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("bad.toml:3") && err.contains("sarts"), "the file as the user named it: {err}");
    drop(dir);
    let o = forewarn(&demo, "fw_wrong", &["campaign", "list"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("answered 401"));
    let o = Command::new(BIN).args(["campaign", "list"]).env_remove("FOREWARN_SERVER").output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("give --server URL"));
}

fn run(serve: &Serve, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(["--server", &serve.base_url, "--token", &serve.token])
        .args(args)
        .env_remove("FOREWARN_SERVER")
        .env_remove("FOREWARN_TOKEN")
        .env_remove("FOREWARN_DATABASE")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run forewarn")
}

/// An operator's day on a real `forewarn serve` from the shell: errors name their files,
/// a draft is edited, the slots come out as CSV, cancelling needs a reason and a
/// confirmation, and a token is listed and revoked.
#[test]
fn an_operator_edits_lists_cancels_and_revokes_from_the_shell() {
    let tmp = TempDir::new("forewarn-ops");
    let serve = Serve::start(&tmp.path().join("forewarn.db"), &["--now", "2027-02-20T09:00:00+01:00"], &[]);
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let campaign = std::fs::read_to_string(format!("{root}/os-update.toml")).unwrap();
    let o = run(&serve, &["inventory", "import", &format!("{root}/inventory.toml")]);
    assert!(o.status.success(), "{}", text(&o).1);

    // A typo in a key: the error names the file as the user called it, with the line.
    let typo = campaign.replacen("strategy = ", "stratgy = ", 1);
    assert_ne!(typo, campaign, "the example changed: fix this test");
    let line = typo.lines().position(|l| l.starts_with("stratgy")).unwrap() + 1;
    let path = tmp.path().join("typo-key.toml");
    std::fs::write(&path, &typo).unwrap();
    let o = run(&serve, &["campaign", "create", path.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("typo-key.toml:{line}")) && err.contains("stratgy"), "{err}");
    assert!(!err.contains("campaign.toml"), "{err}");

    // Created, then edited while a draft; the id stays.
    let good = tmp.path().join("os-update.toml");
    std::fs::write(&good, &campaign).unwrap();
    let o = run(&serve, &["campaign", "create", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o).1);
    let id = "os-update-2027-03";
    let retitled = tmp.path().join("retitled.toml");
    std::fs::write(&retitled, campaign.replace("Operating system update, March 2027", "Kernel update, March 2027"))
        .unwrap();
    let o = run(&serve, &["campaign", "edit", id, retitled.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(
        o.status.success() && out.contains("edited campaign `os-update-2027-03` (draft): Kernel update"),
        "{out}{err}"
    );
    let broken = tmp.path().join("broken-edit.toml");
    std::fs::write(&broken, &typo).unwrap();
    let o = run(&serve, &["campaign", "edit", id, broken.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert!(o.status.code() == Some(1) && err.contains(&format!("broken-edit.toml:{line}")), "{err}");

    let o = run(&serve, &["campaign", "plan", id]);
    assert!(o.status.success(), "{}", text(&o).1);
    let o = run(&serve, &["campaign", "publish", id]);
    assert!(o.status.success(), "{}", text(&o).1);
    let o = run(&serve, &["campaign", "edit", id, good.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert!(o.status.code() == Some(1) && err.contains("answered 409") && err.contains("only a draft"), "{err}");

    // Every machine's slot, as CSV, for one customer.
    let o = run(&serve, &["campaign", "slots", id, "--customer", "harbor", "--csv"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("target,customer,project,host,tier,start,end,state,sequence,reason"));
    let rows: Vec<&str> = lines.collect();
    assert!(!rows.is_empty() && rows.iter().all(|r| r.split(',').nth(1) == Some("harbor")), "{out}");
    let o = run(&serve, &["campaign", "slots", id]);
    let (out, _) = text(&o);
    assert!(out.starts_with(&format!("plan version 1 of `{id}`: 33 targets")), "{out}");

    // Cancelling: a reason is required (clap), and without a terminal, --yes.
    let o = run(&serve, &["campaign", "cancel", id]);
    assert_eq!(o.status.code(), Some(2), "a usage error: {}", text(&o).1);
    assert!(text(&o).1.contains("--reason"));
    let o = run(&serve, &["campaign", "cancel", id, "--reason", "Postponed to April."]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("not cancelled") && err.contains("--yes"), "{err}");
    let o = run(&serve, &["campaign", "show", id]);
    assert!(text(&o).0.contains("(published)"), "nothing happened: {}", text(&o).0);
    let o = run(&serve, &["campaign", "pause", id, "--reason", "The package mirror is out of sync."]);
    assert!(text(&o).0.contains("(paused)"), "{}", text(&o).1);
    let o = run(&serve, &["campaign", "cancel", id, "--reason", "Postponed to April.", "--yes"]);
    let (out, err) = text(&o);
    assert!(o.status.success() && out.contains("(cancelled)"), "{out}{err}");
    let post = support::http(&serve.addr, "GET", "/api/v1/posts", &[], b"").unwrap().json();
    let post_id = post[0]["id"].as_i64().unwrap();
    let page = support::http(&serve.addr, "GET", &format!("/posts/{post_id}"), &[], b"").unwrap().text();
    assert!(page.contains("Postponed to April.") && page.contains("The package mirror is out of sync."), "{page}");

    // Tokens: listed (never the hash), revoked, refused at once.
    let db = serve.database.as_str();
    let token = |args: &[&str]| {
        Command::new(BIN)
            .arg("token")
            .args(args)
            .args(["--database", db])
            .env_remove("FOREWARN_DATABASE")
            .output()
            .unwrap()
    };
    let o = token(&["create", "--name", "ci"]);
    let ci = text(&o).0.lines().last().unwrap().trim().to_owned();
    let o = token(&["list"]);
    let (out, _) = text(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[1].starts_with("2\tci\tcreated ") && lines[1].ends_with("by cli\tactive"), "{out}");
    assert!(!out.contains(&ci[3..]), "no secret in the list");
    let ci_run = |args: &[&str]| {
        Command::new(BIN).args(["--server", &serve.base_url, "--token", &ci]).args(args).output().unwrap()
    };
    assert!(ci_run(&["campaign", "list"]).status.success());
    let o = token(&["revoke", "2"]);
    assert!(o.status.success() && text(&o).0.contains("revoked token 2 (`ci`)"), "{}", text(&o).1);
    let o = ci_run(&["campaign", "list"]);
    assert!(o.status.code() == Some(1) && text(&o).1.contains("answered 401"), "{}", text(&o).1);
    let o = token(&["list"]);
    assert!(text(&o).0.lines().nth(1).unwrap().contains("\trevoked 20"), "{}", text(&o).0);
    let o = token(&["revoke", "2"]);
    assert!(o.status.code() == Some(1) && text(&o).1.contains("revoked already"), "{}", text(&o).1);
    let o = token(&["revoke", "7"]);
    assert!(o.status.code() == Some(1) && text(&o).1.contains("token list"), "{}", text(&o).1);

    // A machine's token: for a machine of the latest inventory only, listed with it, and
    // refused by the admin API.
    let o = token(&["create", "--name", "web01 agent", "--machine", "no-such-vm"]);
    let (out, err) = text(&o);
    assert!(o.status.code() == Some(1) && err.contains("`no-such-vm`") && err.contains("no such machine"), "{err}");
    assert!(out.is_empty(), "no token printed: {out}");
    let o = token(&["create", "--name", "web01 agent", "--machine", "web01"]);
    let (out, err) = text(&o);
    assert!(o.status.success() && err.contains("machine `web01`'s token"), "{err}");
    let agent = out.lines().last().unwrap().trim().to_owned();
    let o = token(&["list"]);
    let (out, _) = text(&o);
    assert!(
        out.lines().nth(2).is_some_and(|l| l.starts_with("3\tweb01 agent\t") && l.ends_with("active\tmachine web01")),
        "{out}"
    );
    let o =
        Command::new(BIN).args(["--server", &serve.base_url, "--token", &agent, "campaign", "list"]).output().unwrap();
    let err = text(&o).1;
    assert!(o.status.code() == Some(1) && err.contains("401") && err.contains("machine `web01`"), "{err}");
}
