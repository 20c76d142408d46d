//! No secret reaches the logs: `scimd serve` at trace level (every event of every crate)
//! while SCIM requests carry a bearer token, a wrong token is tried, an OAuth client trades
//! its secret for an access token, and a user with a password is created; none of those
//! strings appears in what the server wrote to stderr (which, not being a terminal, gets no
//! colour codes either).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use std::io::Read;
use std::process::Stdio;

use serde_json::json;

#[test]
fn tokens_secrets_and_passwords_stay_out_of_trace_logs() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/scimd.db", dir.path().display());
    let mut child = common::scimd()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &db,
            "--log-format",
            "text",
        ])
        .env("SCIMD_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = common::read_until_listening(child.stdout.take().unwrap());
    let url = common::line_value(&lines, "SCIM base URL:");
    let token = common::line_value(&lines, "Secret token:");
    let root = url.split("/scim/v2/").next().unwrap().to_string();

    let admin = common::run(&["admin", "token", "issue", "--json", "--database", &db]).1;
    let admin: serde_json::Value = serde_json::from_str(admin.trim()).unwrap();
    let admin_token = admin["token"].as_str().unwrap().to_string();
    let password = "Pa55w0rd-that-must-not-be-logged";
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (client_secret, access_token) = rt.block_on(async {
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{url}/Users"))
            .bearer_auth(&token)
            .header("content-type", "application/scim+json")
            .body(json!({"userName": "ada@example.com", "password": password}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = http
            .get(format!("{url}/Users"))
            .bearer_auth("scimd_wrong-token-value")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        let c: serde_json::Value = http
            .post(format!("{root}/admin/v1/tenants/default/clients"))
            .bearer_auth(&admin_token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let (id, secret) = (c["client_id"].as_str().unwrap(), c["client_secret"].as_str().unwrap());
        let body = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
        let t: serde_json::Value = http
            .post(format!("{root}/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let access = t["access_token"].as_str().unwrap().to_string();
        let r = http
            .get(format!("{url}/Users"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        (secret.to_string(), access)
    });
    common::Server::stop(&mut child);
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(
        log.matches("scim request").count() >= 3,
        "request logging was on: {log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "no colour codes when stderr is not a terminal: {log:?}"
    );
    for (what, secret) in [
        ("the tenant token", token.as_str()),
        ("a wrong token", "scimd_wrong-token-value"),
        ("the admin token", admin_token.as_str()),
        ("the client secret", client_secret.as_str()),
        ("the access token", access_token.as_str()),
        ("the password", password),
    ] {
        assert!(!log.contains(secret), "{what} is in the log");
    }
}
