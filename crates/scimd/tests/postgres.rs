//! `scimd` on PostgreSQL, with real server processes: migrations and `--no-migrate`, two
//! replicas on one database, and acknowledged writes across `kill -9`. Runs when
//! `SCIMD_TEST_PG_URL` names a server (CI sets it); each test uses its own scratch schema.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use common::{Server, bootstrap_token, run, send};
use reqwest::Method;
use scim_store::testing::PgScratch;
use serde_json::{Value, json};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn scratch(rt: &tokio::runtime::Runtime) -> Option<PgScratch> {
    let s = rt.block_on(PgScratch::new());
    if s.is_none() {
        eprintln!("SCIMD_TEST_PG_URL is not set; PostgreSQL CLI tests not run");
    }
    s
}

#[test]
fn migrate_and_no_migrate() {
    let rt = rt();
    let Some(pg) = scratch(&rt) else { return };
    let (ok, _, err) = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--no-migrate",
        "--database",
        &pg.url,
    ]);
    assert!(!ok, "an unmigrated database is refused with --no-migrate");
    assert!(err.contains("version 0") && err.contains("scimd migrate"), "{err}");
    let (ok, out, err) = run(&["migrate", "--database", &pg.url]);
    assert!(ok, "{err}");
    let latest = out
        .trim()
        .strip_prefix("migrated schema from version 0 to ")
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("{out}"));
    let (ok, out, _) = run(&["migrate", "--database", &pg.url]);
    assert!(
        ok && out.contains(&format!("schema is current (version {latest})")),
        "{out}"
    );
    let server = Server::start(&pg.url, &["--no-migrate"]);
    assert!(server.stdout_lines.iter().any(|l| l.contains("Secret token")));
    let (ok, _, err) = run(&["migrate", "--database", "postgres://nobody@127.0.0.1:1/none"]);
    assert!(!ok && err.contains("cannot connect"), "{err}");
}

#[test]
fn two_replicas_share_uniqueness_members_versions_and_revocation() {
    let rt = rt();
    let Some(pg) = scratch(&rt) else { return };
    let a = Server::start(&pg.url, &["--no-bootstrap"]);
    let b = Server::start(&pg.url, &["--no-bootstrap"]);
    let (ok, out, err) = run(&["tenant", "create", "acme", "--json", "--database", &pg.url]);
    assert!(ok, "{err}");
    let token = serde_json::from_str::<Value>(out.trim()).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let bases = [a.addr.clone(), b.addr.clone()].map(|addr| format!("http://{addr}/scim/v2/acme"));
    let client = reqwest::Client::new();
    rt.block_on(async {
        // Sixteen creates of one userName, split across the replicas: one 201, fifteen 409.
        let mut tasks = Vec::new();
        for i in 0..16 {
            let (client, url, token) = (client.clone(), format!("{}/Users", bases[i % 2]), token.clone());
            tasks.push(tokio::spawn(async move {
                let body = json!({"userName": if i % 3 == 0 { "Race@X.io" } else { "race@x.io" }});
                send(&client, Method::POST, &url, &token, Some(&body), None).await
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            let (status, body) = t.await.unwrap();
            if status == 409 {
                assert_eq!(body["scimType"], "uniqueness", "{body}");
            }
            statuses.push(status);
        }
        statuses.sort();
        assert_eq!(statuses, [vec![201], vec![409; 15]].concat());

        // Concurrent member adds to one group through both replicas lose nothing.
        let (s, g) = send(
            &client,
            Method::POST,
            &format!("{}/Groups", bases[0]),
            &token,
            Some(&json!({"displayName": "G"})),
            None,
        )
        .await;
        assert_eq!(s, 201);
        let gid = g["id"].as_str().unwrap().to_string();
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (client, url, token) = (client.clone(), format!("{}/Groups/{gid}", bases[i % 2]), token.clone());
            tasks.push(tokio::spawn(async move {
                let members: Vec<Value> = (0..5).map(|j| json!({"value": format!("m-{i}-{j}")})).collect();
                let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "add", "path": "members", "value": members}]});
                send(&client, Method::PATCH, &url, &token, Some(&body), None).await.0
            }));
        }
        for t in tasks {
            assert!(matches!(t.await.unwrap(), 200 | 204));
        }
        let (s, g) = send(
            &client,
            Method::GET,
            &format!("{}/Groups/{gid}", bases[1]),
            &token,
            None,
            None,
        )
        .await;
        assert_eq!(s, 200);
        assert_eq!(g["members"].as_array().unwrap().len(), 100, "no member lost");
        assert_eq!(g["meta"]["version"], "W/\"21\"");

        // A version read on one replica is stale on the other after a change there.
        let user_url = |i: usize, id: &str| format!("{}/Users/{id}", bases[i]);
        let (_, u) = send(
            &client,
            Method::POST,
            &format!("{}/Users", bases[0]),
            &token,
            Some(&json!({"userName": "v@x.io"})),
            None,
        )
        .await;
        let uid = u["id"].as_str().unwrap().to_string();
        let etag = u["meta"]["version"].as_str().unwrap().to_string();
        let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "T"}]});
        let (s, _) = send(
            &client,
            Method::PATCH,
            &user_url(1, &uid),
            &token,
            Some(&patch),
            Some(&etag),
        )
        .await;
        assert_eq!(s, 200);
        let (s, body) = send(
            &client,
            Method::PATCH,
            &user_url(0, &uid),
            &token,
            Some(&patch),
            Some(&etag),
        )
        .await;
        assert_eq!(s, 412, "{body}");
    });

    // A token revoked in the database is refused by both replicas at once.
    let prefix = &token[..14];
    let (ok, _, err) = run(&["token", "revoke", "acme", prefix, "--database", &pg.url]);
    assert!(ok, "{err}");
    rt.block_on(async {
        for base in &bases {
            let (s, _) = send(&client, Method::GET, &format!("{base}/Users"), &token, None, None).await;
            assert_eq!(s, 401, "{base}");
        }
    });
}

#[test]
fn an_acknowledged_create_survives_kill_9_on_postgres() {
    let rt = rt();
    let Some(pg) = scratch(&rt) else { return };
    let server = Server::start(&pg.url, &[]);
    let token = bootstrap_token(&server);
    let base = format!("http://{}/scim/v2/default", server.addr);
    let client = reqwest::Client::new();
    let ids: Vec<String> = rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..40 {
            let (client, url, token) = (client.clone(), format!("{base}/Users"), token.clone());
            tasks.push(tokio::spawn(async move {
                let body = json!({"userName": format!("k{i}@x.io")});
                send(&client, Method::POST, &url, &token, Some(&body), None).await
            }));
        }
        let mut ids = Vec::new();
        for t in tasks {
            let (s, body) = t.await.unwrap();
            assert_eq!(s, 201);
            ids.push(body["id"].as_str().unwrap().to_string());
        }
        ids
    });
    server.signal("-KILL");
    drop(server);
    let again = Server::start(&pg.url, &[]);
    let base = format!("http://{}/scim/v2/default", again.addr);
    rt.block_on(async {
        for id in &ids {
            let (s, _) = send(&client, Method::GET, &format!("{base}/Users/{id}"), &token, None, None).await;
            assert_eq!(s, 200, "user {id} acknowledged before kill -9 is still there");
        }
        let (_, list) = send(
            &client,
            Method::GET,
            &format!("{base}/Users?count=0"),
            &token,
            None,
            None,
        )
        .await;
        assert_eq!(list["totalResults"], 40);
    });
}
