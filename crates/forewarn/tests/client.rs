//! forewarn as a client of a running service, end to end: the built binary talks to a running
//! `forewarn demo` over TCP with `--server` and `--token`, as an operator would from a shell.

mod support;

use std::process::{Command, Output};

use support::Demo;

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
    let block = "[[machines]]\nid = \"web01\"\n";
    let at = inventory.find(block).expect("web01 in the sample");
    let end = inventory[at + block.len()..].find("[[").map_or(inventory.len(), |i| at + block.len() + i);
    let dir = std::env::temp_dir().join(format!("forewarn-client-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fewer = dir.join("inventory.toml");
    std::fs::write(&fewer, format!("{}{}", &inventory[..at], &inventory[end..])).unwrap();
    let o = forewarn(&demo, t, &["inventory", "import", fewer.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
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
    let dir = std::env::temp_dir().join(format!("forewarn-client-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "id = \"x\"\ntitle = \"X\"\nsarts = \"2027-01-01T00:00:00Z\"\n").unwrap();
    let o = forewarn(&demo, t, &["campaign", "create", bad.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("campaign.toml:3") && err.contains("sarts"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
    let o = forewarn(&demo, "fw_wrong", &["campaign", "list"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("answered 401"));
    let o = Command::new(BIN).args(["campaign", "list"]).env_remove("FOREWARN_SERVER").output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("give --server URL"));
}
