//! The change feed and webhooks with real server processes: `scimd events tail`, and a
//! server killed with SIGKILL in the middle of a delivery that, restarted, delivers every
//! event in order (SQLite, and PostgreSQL when `SCIMD_TEST_PG_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::HeaderMap;
use common::{Server, bootstrap_token, post, run, send};
use reqwest::Method;
use scim_store::testing::PgScratch;
use serde_json::{Value, json};
use tokio::sync::mpsc;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A server on a fresh SQLite file, with its bootstrap token and the default tenant's URL.
/// The server is dropped (stopped) before the directory that holds its database.
struct Fresh {
    _server: Server,
    token: String,
    db: String,
    base: String,
    _dir: tempfile::TempDir,
}

fn fresh() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/scimd.db", dir.path().display());
    let server = Server::start(&db, &[]);
    let token = bootstrap_token(&server);
    let base = format!("http://{}/scim/v2/default", server.addr);
    Fresh {
        _server: server,
        token,
        db,
        base,
        _dir: dir,
    }
}

fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": true})
}

#[test]
fn events_tail_prints_the_feed_in_order() {
    let Fresh { token, db, base, .. } = &fresh();
    let (status, created) = post(&format!("{base}/Users"), token, &user("t@x.io"));
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let off = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let client = reqwest::Client::new();
    let url = format!("{base}/Users/{id}");
    let (status, _) = rt().block_on(send(&client, Method::PATCH, &url, token, Some(&off), None));
    assert_eq!(status, 200);

    let (ok, out, err) = run(&["events", "tail", "default", "--json", "--no-follow", "--database", db]);
    assert!(ok, "{err}");
    let events: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["user.created", "user.deactivated"]);
    assert_eq!(events[1]["resource"]["id"], id);
    assert_eq!(events[0]["tenant"], "default");
    let (ok, out, _) = run(&[
        "events",
        "tail",
        "default",
        "--after",
        "1",
        "--no-follow",
        "--database",
        db,
    ]);
    assert!(ok);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("user.deactivated") && out.contains(id), "{out}");
    let (ok, _, err) = run(&["events", "tail", "nobody", "--no-follow", "--database", db]);
    assert!(!ok && err.contains("no tenant named"), "{err}");
}

/// `events tail` without `--no-follow` keeps printing events as they commit.
#[test]
fn events_tail_follows_new_events() {
    use std::io::{BufRead, BufReader};
    let Fresh { token, db, base, .. } = &fresh();
    let mut tail = common::scimd()
        .args(["events", "tail", "default", "--json", "--database", db])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(tail.stdout.take().unwrap()).lines();
    for name in ["f1@x.io", "f2@x.io"] {
        let (status, _) = post(&format!("{base}/Users"), token, &user(name));
        assert_eq!(status, 201);
        let line = lines.next().expect("a line per event").unwrap();
        let e: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(e["data"]["userName"], name);
    }
    let _ = tail.kill();
    let _ = tail.wait();
}

/// `tenant requests` shows the request log from a shell, filtered by status.
#[test]
fn tenant_requests_shows_what_the_idp_sent() {
    let Fresh { token, db, base, .. } = &fresh();
    for _ in 0..2 {
        post(&format!("{base}/Users"), token, &user("dup@x.io"));
    }
    // The log is written in the background: ask until the conflict is there.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let line = loop {
        let (ok, out, err) = run(&[
            "tenant",
            "requests",
            "default",
            "--status",
            "409",
            "--json",
            "--database",
            db,
        ]);
        assert!(ok, "{err}");
        if let Some(l) = out.lines().next() {
            break l.to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the conflict never reached the log"
        );
    };
    let e: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        (e["status"].as_u64(), e["scimType"].as_str()),
        (Some(409), Some("uniqueness")),
        "{e}"
    );
    assert!(e["body"].as_str().unwrap().contains("dup@x.io"));
    let (ok, out, _) = run(&["tenant", "requests", "default", "--database", db]);
    assert!(
        ok && out.lines().count() == 2 && out.contains("409") && out.contains("201"),
        "{out}"
    );
    let (ok, _, err) = run(&["tenant", "requests", "default", "--status", "teapot", "--database", db]);
    assert!(!ok && err.contains("--status"), "{err}");
    let (ok, _, err) = run(&["tenant", "requests", "default", "--since", "whenever", "--database", db]);
    assert!(!ok && err.contains("--since"), "{err}");
}

/// What the receiver got: the message id, the event's seq, and whether the signature held.
struct Got {
    seq: i64,
    verified: bool,
}

/// A receiver that never answers its first request (the server is killed while it waits)
/// and answers every later one with 200.
async fn receiver(secret: Arc<std::sync::Mutex<String>>) -> (String, mpsc::UnboundedReceiver<Got>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let held = Arc::new(AtomicBool::new(false));
    let handler = move |headers: HeaderMap, body: String| {
        let (tx, held, secret) = (tx.clone(), held.clone(), secret.clone());
        async move {
            let key = secret.lock().unwrap().clone();
            let verified = standardwebhooks::Webhook::new(&key)
                .map(|w| w.verify(body.as_bytes(), &headers).is_ok())
                .unwrap_or(false);
            let seq = serde_json::from_str::<Value>(&body).unwrap()["seq"].as_i64().unwrap();
            let _ = tx.send(Got { seq, verified });
            if !held.swap(true, Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            axum::http::StatusCode::OK
        }
    };
    let app = axum::Router::new().route("/hook", axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Got>) -> Got {
    tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("a delivery within a minute")
        .expect("receiver running")
}

fn killed_mid_delivery(db: &str) {
    let rt = rt();
    let flags = ["--webhook-allow-loopback-http", "--webhook-lease", "2s"];
    let mut server = Server::start(db, &flags);
    let token = bootstrap_token(&server);
    let (ok, out, err) = run(&["admin", "token", "issue", "--json", "--database", db]);
    assert!(ok, "{err}");
    let admin: Value = serde_json::from_str(out.trim()).unwrap();
    let admin = admin["token"].as_str().unwrap().to_string();
    let secret = Arc::new(std::sync::Mutex::new(String::new()));
    let (url, mut rx) = rt.block_on(receiver(secret.clone()));
    let client = reqwest::Client::new();
    let hooks = format!("http://{}/admin/v1/tenants/default/webhooks", server.addr);
    let (status, hook) = rt.block_on(async {
        let r = client
            .post(&hooks)
            .bearer_auth(&admin)
            .json(&json!({ "url": url }))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    });
    assert_eq!(status, 201, "{hook}");
    *secret.lock().unwrap() = hook["secret"].as_str().unwrap().to_string();
    let base = format!("http://{}/scim/v2/default", server.addr);
    for i in 0..5 {
        let (status, body) = post(&format!("{base}/Users"), &token, &user(&format!("k{i}@x.io")));
        assert_eq!(status, 201, "{body}");
    }
    // The first event is in flight (the receiver holds it): kill the server now.
    let first = rt.block_on(next(&mut rx));
    assert_eq!(first.seq, 1);
    server.signal("-9");
    let _ = server.child.wait();
    drop(server);

    let restarted = Server::start(db, &flags);
    let base = format!("http://{}/scim/v2/default", restarted.addr);
    let (status, _) = post(&format!("{base}/Users"), &token, &user("after@x.io"));
    assert_eq!(status, 201);
    let mut seen = vec![first];
    while seen.last().map(|g| g.seq) != Some(6) {
        seen.push(rt.block_on(next(&mut rx)));
    }
    assert!(
        seen.iter().all(|g| g.verified),
        "every delivery is signed with the endpoint's secret"
    );
    let seqs: Vec<i64> = seen.iter().map(|g| g.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "in order: {seqs:?}");
    let mut unique = seqs.clone();
    unique.dedup();
    assert_eq!(unique, [1, 2, 3, 4, 5, 6], "nothing lost: {seqs:?}");
    assert_eq!(seqs[..2], [1, 1], "the event in flight at the kill is delivered again");
}

#[test]
fn a_killed_server_resumes_webhook_delivery_in_order_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    killed_mid_delivery(&format!("sqlite://{}/scimd.db", dir.path().display()));
}

#[test]
fn a_killed_server_resumes_webhook_delivery_in_order_on_postgres() {
    let rt = rt();
    let Some(pg) = rt.block_on(PgScratch::new()) else {
        eprintln!("SCIMD_TEST_PG_URL is not set; not run on PostgreSQL");
        return;
    };
    killed_mid_delivery(&pg.url);
}
