//! The audit log from the CLI: tenant, token and admin-token changes made with `scimd` are
//! recorded with `cli:<user>@<host>`, and `scimd admin audit` shows them (and the admin API's)
//! newest first, filtered by tenant, as JSON or lines.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use common::run;
use serde_json::Value;

#[test]
fn cli_changes_are_audited_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/scimd.db", dir.path().display());
    let ok = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--database", &db]);
        let (ok, out, err) = run(&all);
        assert!(ok, "{args:?}: {err}");
        out
    };
    let created: Value = serde_json::from_str(&ok(&["tenant", "create", "acme", "--json"])).unwrap();
    let issued: Value = serde_json::from_str(&ok(&["token", "issue", "acme", "--expires-in", "7d", "--json"])).unwrap();
    let prefix = issued["token_prefix"].as_str().unwrap();
    ok(&["token", "revoke", "acme", prefix]);
    ok(&["tenant", "rate", "acme", "50/100"]);
    ok(&["admin", "token", "issue"]);
    ok(&["tenant", "create", "globex"]);
    ok(&["tenant", "delete", "globex", "--yes"]);
    // A refused command records nothing.
    let (failed, _, _) = run(&["token", "revoke", "acme", "scimd_nothing", "--database", &db]);
    assert!(!failed);

    let out = ok(&["admin", "audit", "--tenant", "acme", "--json"]);
    let records: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let actions: Vec<&str> = records.iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["tenant.update", "token.revoke", "token.issue", "tenant.create"],
        "{out}"
    );
    assert!(
        records.iter().all(|r| r["actor"].as_str().unwrap().starts_with("cli:")),
        "{out}"
    );
    assert_eq!(records[0]["detail"]["rate_limit"]["per_second"], 50);
    assert_eq!(records[2]["target"], prefix);
    assert_eq!(records[3]["target"], created["token_prefix"]);
    assert!(!out.contains(issued["token"].as_str().unwrap()) && !out.contains(created["token"].as_str().unwrap()));

    let all = ok(&["admin", "audit"]);
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.len(), 7, "{all}");
    assert!(
        lines[0].contains("tenant.delete") && lines[0].contains("globex"),
        "{all}"
    );
    assert!(lines[2].contains("admin_token.issue"), "{all}");
    let newest_seq = lines[0].split('\t').next().unwrap();
    let older = ok(&["admin", "audit", "--before", newest_seq, "--limit", "2"]);
    assert_eq!(older.lines().count(), 2);
    assert!(older.lines().next().unwrap().contains("tenant.create"), "{older}");
    let (bad, _, err) = run(&["admin", "audit", "--limit", "0", "--database", &db]);
    assert!(!bad && err.contains("--limit"), "{err}");
}
