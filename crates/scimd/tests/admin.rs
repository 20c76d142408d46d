//! `scimd admin token …` against a running `scimd serve`: an admin token issued from the
//! shell opens `/admin/v1`, a tenant created there serves SCIM, and revoking the admin token
//! closes the API at once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use common::{Server, get, post, run};
use serde_json::{Value, json};

#[test]
fn an_admin_token_from_the_cli_manages_tenants_over_http_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/scimd.db", dir.path().display());
    let server = Server::start(&db, &["--no-bootstrap"]);
    let admin = format!("http://{}/admin/v1", server.addr);

    let (ok, out, err) = run(&["admin", "token", "issue", "--json", "--database", &db]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON object: {out}");
    let issued: Value = serde_json::from_str(lines[0]).unwrap();
    let token = issued["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("scimdadm_"));

    let (status, created) = post(&format!("{admin}/tenants"), &token, &json!({"name": "fabrikam"}));
    assert_eq!(status, 201, "{created}");
    let scim = created["scim_url"].as_str().unwrap();
    assert!(
        scim.starts_with(&format!("http://{}/scim/v2/fabrikam", server.addr)),
        "{scim}"
    );
    let (status, _) = get(&format!("{scim}/Users"), created["token"].as_str().unwrap());
    assert_eq!(status, 200);

    let (ok, out, _) = run(&["admin", "token", "list", "--database", &db]);
    assert!(ok && out.lines().count() == 1 && !out.contains(&token), "{out}");

    let prefix = issued["token_prefix"].as_str().unwrap();
    let (ok, out, err) = run(&["admin", "token", "revoke", prefix, "--database", &db]);
    assert!(ok && out.contains("revoked 1"), "{out}{err}");
    let (status, body) = get(&format!("{admin}/tenants"), &token);
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")), "{body}");
    let (ok, _, err) = run(&["admin", "token", "revoke", prefix, "--database", &db]);
    assert!(!ok && err.contains("no active admin token"), "{err}");
    let (ok, _, err) = run(&["admin", "token", "issue", "--expires-in", "soon", "--database", &db]);
    assert!(!ok && err.contains("--expires-in"), "{err}");
}

#[test]
fn tenant_delete_needs_yes_and_removes_the_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/scimd.db", dir.path().display());
    let (ok, _, err) = run(&["tenant", "create", "gone", "--database", &db]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["tenant", "delete", "gone", "--database", &db]);
    assert!(!ok && err.contains("--yes"), "{err}");
    let (ok, out, _) = run(&["tenant", "list", "--database", &db]);
    assert!(ok && out.contains("gone"), "still there without --yes: {out}");
    let (ok, out, err) = run(&["tenant", "delete", "gone", "--yes", "--database", &db]);
    assert!(ok && out.contains("deleted"), "{out}{err}");
    let (ok, out, _) = run(&["tenant", "list", "--database", &db]);
    assert!(ok && !out.contains("gone"), "{out}");
    let (ok, _, err) = run(&["tenant", "delete", "gone", "--yes", "--database", &db]);
    assert!(!ok && err.contains("no tenant named"), "{err}");
}
