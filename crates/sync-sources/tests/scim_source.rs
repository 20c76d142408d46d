//! A SCIM server as the source (another scimd tenant), read with paging, then by watermark.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::sync::Arc;
use std::time::Duration;

use scim_client::{ClientOptions, Endpoint, ScimClient};
use serde_json::{Value as Json, json};
use sync_engine::config::JobConfig;
use sync_engine::cycle::{CycleOptions, Job, Runtime, run_cycle};
use sync_engine::execute::{ExecConfig, Executor, NoProgress};
use sync_sources::scim::ScimSource;
use sync_testkit::FaultyTarget;

use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn job(url: &str, token: &str) -> String {
    format!(
        r#"
version = 1
[job]
name = "from-scim"
[source]
type = "scim"
url = "http://unused.example/scim"
token = "unused"
[target]
url = "{url}"
token = "{token}"
[scope]
mode = "all"
[[users.mappings]]
target = "userName"
source = "userPrincipalName"
matching = 1
[[users.mappings]]
target = "name.givenName"
source = "givenName"
[[users.mappings]]
target = "{ENTERPRISE}:department"
source = "department"
[[users.mappings]]
target = "active"
type = "expression"
expression = 'IIF([IsSoftDeleted] = "True", "False", "True")'
[groups]
[[groups.mappings]]
target = "displayName"
source = "displayName"
matching = 1
"#
    )
}

async fn names(c: &ScimClient) -> Vec<String> {
    let l = c.search(Endpoint::Users, None, None, 1, 100).await.unwrap();
    let mut v: Vec<String> = l
        .resources
        .iter()
        .map(|u| u["userName"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_scim_source_syncs_in_full_then_by_watermark() {
    let t = FaultyTarget::start().await;
    let (src_url, src_token) = t.add_tenant("source").await;
    let src = ScimClient::new(&src_url, &src_token, ClientOptions::default()).unwrap();
    let mut ids = Vec::new();
    for (name, dept) in [
        ("ann", "Sales"),
        ("bob", "R&D"),
        ("cid", "Sales"),
        ("dee", "Ops"),
        ("eve", "Ops"),
    ] {
        let u = src
            .create(
                Endpoint::Users,
                &json!({"userName": format!("{name}@src.example"), "name": {"givenName": name}, ENTERPRISE: {"department": dept}}),
            )
            .await
            .unwrap();
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    src.create(
        Endpoint::Groups,
        &json!({"displayName": "Team", "members": [{"value": ids[0]}, {"value": ids[1]}]}),
    )
    .await
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let job = Job::from_config(JobConfig::parse(&job(&t.base_url, &t.token)).unwrap(), dir.path()).unwrap();
    let rt = Runtime {
        // Page size 2: five users take three pages.
        source: Box::new(ScimSource::new(src.clone(), Some(2))),
        executor: Arc::new(Executor {
            client: ScimClient::new(&t.base_url, &t.token, ClientOptions::default()).unwrap(),
            cfg: ExecConfig {
                backoff: Duration::from_millis(10),
                ..Default::default()
            },
        }),
        state: scim_store::open(&format!("sqlite://{}/s.db", dir.path().display()), &Default::default())
            .await
            .unwrap(),
        notify: Default::default(),
        policy: Default::default(),
        stop: Default::default(),
        worker: "e2e-host:1".into(),
    };
    let mut n = 1u64;
    let mut rng = move || {
        n += 1;
        n
    };
    let target = ScimClient::new(&t.base_url, &t.token, ClientOptions::default()).unwrap();

    let r = run_cycle(&job, &rt, NOW, CycleOptions::default(), &NoProgress, &mut rng)
        .await
        .unwrap();
    assert_eq!(r.applied.failure, 0);
    assert_eq!(
        names(&target).await,
        [
            "ann@src.example",
            "bob@src.example",
            "cid@src.example",
            "dee@src.example",
            "eve@src.example"
        ]
    );
    let g = target
        .search(Endpoint::Groups, Some("displayName eq \"Team\""), None, 1, 10)
        .await
        .unwrap();
    assert_eq!(
        g.resources[0]["members"].as_array().map(Vec::len),
        Some(2),
        "members resolved to target ids"
    );
    let source_pages = t
        .requests()
        .iter()
        .filter(|r| r.path_and_query.contains("/source/Users") && r.method == "GET")
        .count();
    assert!(source_pages >= 3, "paged the source: {source_pages} requests");

    // A change in the source travels by watermark: only changed objects are read and sent.
    src.patch(
        Endpoint::Users,
        &ids[2],
        &[scim_proto::PatchOperation {
            op: "replace".into(),
            path: Some(format!("{ENTERPRISE}:department")),
            value: Some(json!("Support")),
        }],
    )
    .await
    .unwrap();
    t.clear_requests();
    let r = run_cycle(&job, &rt, NOW, CycleOptions::default(), &NoProgress, &mut rng)
        .await
        .unwrap();
    assert_eq!(
        r.counts.read, 1,
        "an incremental read returns only the changed user: {:?}",
        r.counts
    );
    let reads: Vec<String> = t.requests().iter().map(|r| r.path_and_query.clone()).collect();
    assert!(
        reads
            .iter()
            .any(|p| p.contains("/source/Users") && p.contains("lastModified")),
        "{reads:?}"
    );
    let writes = t.writes();
    assert_eq!(writes.len(), 1, "one PATCH for one change: {writes:?}");
    let cid = target
        .search(Endpoint::Users, Some("userName eq \"cid@src.example\""), None, 1, 1)
        .await
        .unwrap();
    assert_eq!(cid.resources[0][ENTERPRISE]["department"], Json::from("Support"));

    // A deletion is invisible to a watermark read; the next full read sees it.
    src.delete(Endpoint::Users, &ids[4]).await.unwrap();
    t.clear_requests();
    run_cycle(&job, &rt, NOW, CycleOptions::default(), &NoProgress, &mut rng)
        .await
        .unwrap();
    assert!(t.writes().is_empty(), "incremental: nothing to send");
    let full = CycleOptions {
        full: true,
        ..Default::default()
    };
    run_cycle(&job, &rt, NOW, full, &NoProgress, &mut rng).await.unwrap();
    assert!(
        !names(&target).await.contains(&"eve@src.example".to_string()),
        "deleted after the full read"
    );
}
