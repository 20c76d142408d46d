//! The CLI contract, run against the built `scimd` binary: tenant and token commands,
//! `serve` with bootstrap, auth against a live server, graceful shutdown, and durability
//! of acknowledged writes across `kill -9`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use common::{Server, get, post, run, scimd};
use serde_json::Value;

fn db_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}/scimd.db", dir.path().display())
}

#[test]
fn tenant_create_json_prints_exactly_one_object_with_url_and_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    let (ok, out, err) = run(&[
        "tenant",
        "create",
        "acme",
        "--json",
        "--database",
        &db,
        "--public-url",
        "https://scim.example.com/",
    ]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line: {out}");
    let v: Value = serde_json::from_str(lines[0]).expect("json");
    assert_eq!(v["tenant"], "acme");
    assert_eq!(v["scim_url"], "https://scim.example.com/scim/v2/acme");
    assert!(v["token"].as_str().unwrap().starts_with("scimd_"));
    assert!(
        v["token"]
            .as_str()
            .unwrap()
            .starts_with(v["token_prefix"].as_str().unwrap())
    );

    let (ok, _, err) = run(&["tenant", "create", "acme", "--database", &db]);
    assert!(!ok, "a second tenant with the same name fails");
    assert!(err.contains("already exists"), "{err}");

    let (ok, _, err) = run(&["tenant", "create", "Bad Name!", "--database", &db]);
    assert!(!ok);
    assert!(err.contains("invalid"), "{err}");

    let (ok, out, _) = run(&["tenant", "list", "--json", "--database", &db]);
    assert!(ok);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["tenant"], "acme");
}

#[test]
fn tokens_issue_list_revoke_against_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    let server = Server::start(&db, &["--no-bootstrap"]);
    assert!(
        !server.stdout_lines.iter().any(|l| l.contains("Secret token")),
        "--no-bootstrap creates no tenant"
    );
    let public = format!("http://{}", server.addr);

    // Commands work while the server runs.
    let (ok, out, err) = run(&[
        "tenant",
        "create",
        "acme",
        "--json",
        "--database",
        &db,
        "--public-url",
        &public,
    ]);
    assert!(ok, "{err}");
    let created: Value = serde_json::from_str(out.trim()).unwrap();
    let url = created["scim_url"].as_str().unwrap().to_string();
    let first = created["token"].as_str().unwrap().to_string();

    let (ok, out, err) = run(&[
        "token",
        "issue",
        "acme",
        "--expires-in",
        "90d",
        "--json",
        "--database",
        &db,
    ]);
    assert!(ok, "{err}");
    let issued: Value = serde_json::from_str(out.trim()).unwrap();
    let second = issued["token"].as_str().unwrap().to_string();
    assert!(issued["expires"].as_str().is_some());

    let probe = format!("{url}/Users?filter=userName%20eq%20%22nobody%22");
    assert_eq!(get(&probe, &first).0, 200);
    assert_eq!(get(&probe, &second).0, 200);

    let (ok, out, _) = run(&["token", "list", "acme", "--database", &db]);
    assert!(ok);
    assert_eq!(out.lines().count(), 2);
    assert!(
        !out.contains(&first) && !out.contains(&second),
        "secrets are never listed"
    );

    let prefix = created["token_prefix"].as_str().unwrap();
    let (ok, out, err) = run(&["token", "revoke", "acme", prefix, "--database", &db]);
    assert!(ok, "{err}");
    assert!(out.contains("revoked 1"));
    let (status, body) = get(&probe, &first);
    assert_eq!(status, 401, "a revoked token is refused at once");
    assert_eq!(body["status"], "401");
    assert_eq!(get(&probe, &second).0, 200, "the other token still works");

    let (ok, _, _) = run(&["token", "revoke", "acme", prefix, "--database", &db]);
    assert!(!ok, "revoking nothing is an error");
}

#[test]
fn serve_bootstraps_an_empty_database_once_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    let mut server = Server::start(&db, &[]);
    let token = server
        .stdout_lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("Secret token:").map(|t| t.trim().to_string()))
        .expect("bootstrap prints a token");
    let url = server
        .stdout_lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("SCIM base URL:").map(|t| t.trim().to_string()))
        .expect("bootstrap prints the URL");
    assert!(url.ends_with("/scim/v2/default"));
    let (status, body) = get(&format!("{url}/Users?filter=userName+eq+%22x%22"), &token);
    assert_eq!(status, 200);
    assert_eq!(body["totalResults"], 0);

    server.signal("-TERM");
    let status = server.child.wait().expect("wait");
    assert!(status.success(), "graceful shutdown exits 0, got {status:?}");

    // A second start on the same database does not bootstrap again.
    let again = Server::start(&db, &[]);
    assert!(!again.stdout_lines.iter().any(|l| l.contains("Secret token")));
}

#[test]
fn an_acknowledged_create_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    let server = Server::start(&db, &[]);
    let token = server
        .stdout_lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("Secret token:").map(|t| t.trim().to_string()))
        .unwrap();
    let base = format!("http://{}/scim/v2/default", server.addr);
    let mut ids = Vec::new();
    for i in 0..20 {
        let (status, body) = post(
            &format!("{base}/Users"),
            &token,
            &serde_json::json!({"userName": format!("u{i}@x.example")}),
        );
        assert_eq!(status, 201);
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    server.signal("-KILL");
    drop(server); // waits for the process to be gone

    let again = Server::start(&db, &[]);
    let base = format!("http://{}/scim/v2/default", again.addr);
    for id in &ids {
        let (status, body) = get(&format!("{base}/Users/{id}"), &token);
        assert_eq!(status, 200, "user {id} acknowledged before kill -9 is still there");
        assert!(body["userName"].as_str().unwrap().ends_with("@x.example"));
    }
}

#[test]
fn config_file_and_env_layering() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("scimd.toml");
    let db = db_url(&dir);
    std::fs::write(
        &cfg,
        format!("database = \"{db}\"\npublic_url = \"https://from-file.example\"\n"),
    )
    .unwrap();
    let (ok, out, err) = run(&["tenant", "create", "acme", "--json", "--config", cfg.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("https://from-file.example/scim/v2/acme"), "{out}");
    // The environment beats the file; the flag beats the environment.
    let out = scimd()
        .args(["tenant", "list", "--json", "--config", cfg.to_str().unwrap()])
        .env("SCIMD_PUBLIC_URL", "https://from-env.example")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("https://from-env.example/scim/v2/acme"));
    let out = scimd()
        .args([
            "tenant",
            "list",
            "--json",
            "--config",
            cfg.to_str().unwrap(),
            "--public-url",
            "https://from-flag.example",
        ])
        .env("SCIMD_PUBLIC_URL", "https://from-env.example")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("https://from-flag.example/scim/v2/acme"));

    std::fs::write(&cfg, "databse = \"typo\"\n").unwrap();
    let (ok, _, err) = run(&["tenant", "list", "--config", cfg.to_str().unwrap()]);
    assert!(!ok, "unknown config keys are rejected");
    assert!(err.contains("databse"), "{err}");
}

#[test]
fn migrate_brings_a_sqlite_file_up_to_date_and_no_migrate_refuses_an_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    let (ok, _, err) = run(&["serve", "--listen", "127.0.0.1:0", "--no-migrate", "--database", &db]);
    assert!(!ok);
    assert!(err.contains("scimd migrate"), "{err}");
    let (ok, out, err) = run(&["migrate", "--database", &db]);
    assert!(ok, "{err}");
    assert!(out.contains("from version 0 to"), "{out}");
    let (ok, out, _) = run(&["migrate", "--database", &db]);
    assert!(ok && out.contains("schema is current"), "{out}");
    let server = Server::start(&db, &["--no-migrate"]);
    assert!(server.stdout_lines.iter().any(|l| l.contains("Secret token")));
    let (ok, _, err) = run(&["migrate", "--database", "mysql://x/y"]);
    assert!(!ok && err.contains("unsupported database URL"), "{err}");
}

#[test]
fn serve_refuses_an_unknown_request_log_body_policy() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    let (ok, _, err) = run(&[
        "serve",
        "--database",
        &db,
        "--listen",
        "127.0.0.1:0",
        "--request-log-bodies",
        "some",
    ]);
    assert!(!ok, "the server does not start");
    assert!(err.contains("use failed, all or off"), "{err}");
}

#[test]
fn a_closed_stdout_loses_output_not_the_command() {
    // `scimd tenant create acme | head -1`: the reader is gone before scimd prints.
    let dir = tempfile::tempdir().unwrap();
    let db = db_url(&dir);
    let mut child = scimd()
        .args(["tenant", "create", "acme", "--database", &db])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let (ok, list, _) = run(&["tenant", "list", "--database", &db]);
    assert!(ok && list.contains("acme"), "the tenant was created: {list}");
}
