//! The Graph source end to end: a fake Entra tenant over real HTTP → the engine → a real
//! scimd target. An initial cycle and an incremental one with a department change, a
//! disable, a soft and a hard delete, membership added and removed, and assignment by role
//! with a Default Access user left out; then delta links in `mode = "all"`, throttling, token
//! renewal and a refused secret.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use serde_json::{Map, Value, json};
use sync_engine::cycle::CycleOptions;
use sync_testkit::graph::{FakeGraph, Removed};

use common::{ENTERPRISE, Rig};

fn job(g: &FakeGraph, mode: &str) -> String {
    format!(
        r#"
version = 1
[job]
name = "hoxhunt-graph"
[source]
type = "graph"
tenant_id = "{tenant}"
client_id = "{client}"
client_secret = "{secret}"
service_principal_id = "{sp}"
login_url = "{login}"
graph_url = "{graph}"
page_size = 2
[target]
url = "{{TARGET_URL}}"
token = "{{TARGET_TOKEN}}"
[scope]
mode = "{mode}"
[safety]
deletion_threshold = 100
[[users.mappings]]
target = "userName"
source = "userPrincipalName"
matching = 1
[[users.mappings]]
target = "name.givenName"
source = "givenName"
[[users.mappings]]
target = "name.familyName"
source = "surname"
[[users.mappings]]
target = "{ENTERPRISE}:department"
source = "department"
[[users.mappings]]
target = "{ENTERPRISE}:manager"
source = "manager"
[[users.mappings]]
target = "active"
type = "expression"
expression = 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'
[groups]
[[groups.mappings]]
target = "displayName"
source = "displayName"
matching = 1
"#,
        tenant = g.tenant_id,
        client = g.client_id,
        secret = g.client_secret,
        sp = g.service_principal_id,
        login = g.login_url,
        graph = g.graph_url,
    )
}

fn user(local: &str, dept: &str, manager: Option<&str>) -> Map<String, Value> {
    let mut m = json!({
        "userPrincipalName": format!("{local}@contoso.example"),
        "givenName": local, "surname": "Example", "department": dept,
        "accountEnabled": true, "jobTitle": "not mapped, never asked for",
    });
    if let Some(id) = manager {
        m["manager"] = json!(id);
    }
    m.as_object().cloned().unwrap_or_default()
}

/// u1..u8; "Security Awareness" (assigned with the Learner role) holds u1, u2, u3, u8;
/// "Sales" (not assigned) holds u1, u4; u4 holds Admin directly; u5 only Default Access;
/// u6 nothing.
async fn tenant() -> FakeGraph {
    let g = FakeGraph::start(&[("Learner", "Learner"), ("Admin", "Administrator")]).await;
    g.set_member_chunk(2);
    g.edit(|d| {
        d.put_user("u1", user("ann", "Sales", None));
        d.put_user("u2", user("bob", "R&D", Some("u1")));
        d.put_user("u3", user("cid", "R&D", Some("u2")));
        d.put_user("u4", user("dee", "Ops", None));
        d.put_user("u5", user("eve", "Ops", None));
        d.put_user("u6", user("fay", "Ops", None));
        d.put_user("u8", user("hal", "Ops", None));
        d.put_group("g1", "Security Awareness", &["u1", "u2", "u3", "u8"]);
        d.put_group("g2", "Sales", &["u1", "u4"]);
        d.assign("g1", Some("Learner"));
        d.assign("u4", Some("Admin"));
        d.assign("u5", None);
    });
    g
}

fn dept(u: &Value) -> &str {
    u[ENTERPRISE]["department"].as_str().unwrap_or("")
}

#[tokio::test]
async fn graph_to_scimd_initial_then_incremental_in_assigned_mode() {
    let g = tenant().await;
    let rig = Rig::new(&job(&g, "assigned")).await;

    let r = rig.cycle().await;
    let users = rig.users().await;
    let names: Vec<&str> = users.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "ann@contoso.example",
            "bob@contoso.example",
            "cid@contoso.example",
            "dee@contoso.example",
            "hal@contoso.example"
        ],
        "assigned through the Learner group or the Admin role; eve (Default Access) and fay (none) left out"
    );
    assert_eq!(
        users["cid@contoso.example"][ENTERPRISE]["manager"]["value"], users["bob@contoso.example"]["id"],
        "manager resolved to the target id"
    );
    assert_eq!(
        rig.members("Security Awareness").await,
        [
            "ann@contoso.example",
            "bob@contoso.example",
            "cid@contoso.example",
            "hal@contoso.example"
        ],
        "a group split over several delta entries is merged"
    );
    assert!(
        rig.members("Sales").await.is_empty(),
        "an unassigned group is not provisioned"
    );
    assert_eq!(r.counts.read, 9, "7 users and 2 groups: {:?}", r.counts);
    let reqs = g.requests();
    let delta = reqs.iter().find(|q| q.path == "/v1.0/users/delta").unwrap();
    assert_eq!(
        delta.param("$select"),
        Some("id,accountEnabled,userPrincipalName,givenName,surname,department,manager"),
        "only what the mappings read"
    );
    assert_eq!(delta.prefer.as_deref(), Some("odata.maxpagesize=2"));
    assert_eq!(
        reqs.iter().filter(|q| q.path == "/v1.0/users/delta").count(),
        4,
        "seven users in pages of two"
    );
    assert!(reqs.iter().all(|q| q.status == 200), "{reqs:#?}");

    // The changes of a working day.
    g.edit(|d| {
        d.set_user_attr("u2", "department", json!("Sales"));
        d.set_user_attr("u3", "accountEnabled", json!(false));
        d.remove_user("u4", Removed::Changed);
        d.remove_user("u1", Removed::Deleted);
        d.put_user("u7", user("gus", "Ops", Some("u2")));
        d.set_member("g1", "u7", true);
        d.set_member("g1", "u8", false);
    });
    rig.target.clear_requests();
    g.clear_requests();
    rig.cycle().await;
    let users = rig.users().await;
    assert!(
        !users.contains_key("ann@contoso.example"),
        "hard-deleted in Entra: deleted"
    );
    assert_eq!(dept(&users["bob@contoso.example"]), "Sales");
    assert_eq!(
        users["cid@contoso.example"]["active"], false,
        "disabled in Entra: disabled"
    );
    assert_eq!(
        users["dee@contoso.example"]["active"], false,
        "soft-deleted in Entra: disabled, kept"
    );
    assert_eq!(
        users["hal@contoso.example"]["active"], false,
        "left the assigned group: disabled"
    );
    assert_eq!(
        users["gus@contoso.example"]["active"], true,
        "joined the assigned group: created"
    );
    assert_eq!(
        users["gus@contoso.example"][ENTERPRISE]["manager"]["value"],
        users["bob@contoso.example"]["id"]
    );
    let members = rig.members("Security Awareness").await;
    assert!(members.contains(&"gus@contoso.example".to_string()), "{members:?}");
    assert!(!members.contains(&"hal@contoso.example".to_string()), "{members:?}");
    assert!(!members.contains(&"ann@contoso.example".to_string()), "{members:?}");
    // bob: department, and his manager (ann, deleted) removed; cid, dee, hal disabled; gus
    // created; the group gains gus (once gus exists) and loses ann, cid and hal.
    assert_eq!(
        rig.writes(),
        [
            "DELETE Users",
            "PATCH Groups",
            "PATCH Groups",
            "PATCH Users",
            "PATCH Users",
            "PATCH Users",
            "PATCH Users",
            "PATCH Users",
            "POST Users"
        ]
    );
    assert_eq!(
        users["bob@contoso.example"][ENTERPRISE].get("manager"),
        None,
        "ann was bob's manager"
    );
    let reqs = g.requests();
    assert!(
        reqs.iter()
            .any(|q| q.path == "/v1.0/directory/deletedItems/microsoft.graph.user"),
        "the recycle bin is read: soft-deleted users are disabled, not deleted"
    );
}

/// The same working day's changes as above.
fn a_working_day(g: &FakeGraph) {
    g.edit(|d| {
        d.set_user_attr("u2", "department", json!("Sales"));
        d.set_user_attr("u3", "accountEnabled", json!(false));
        d.remove_user("u4", Removed::Changed);
        d.remove_user("u1", Removed::Deleted);
        d.put_user("u7", user("gus", "Ops", Some("u2")));
        d.set_member("g1", "u7", true);
        d.set_member("g1", "u8", false);
    });
}

#[tokio::test]
async fn in_mode_all_the_next_cycle_follows_the_delta_links() {
    let g = tenant().await;
    let rig = Rig::new(&job(&g, "all")).await;
    let r = rig.cycle().await;
    assert_eq!(rig.users().await.len(), 7, "every user: {:?}", r.counts);
    assert_eq!(
        rig.members("Sales").await,
        ["ann@contoso.example", "dee@contoso.example"]
    );

    a_working_day(&g);
    g.clear_requests();
    rig.target.clear_requests();
    let r = rig.cycle().await;
    // Five users changed (ann, bob, cid, dee, gus); both groups lost ann.
    assert_eq!(r.counts.read, 7, "only what changed is read: {:?}", r.counts);
    let reqs = g.requests();
    let deltas: Vec<_> = reqs.iter().filter(|q| q.path.ends_with("/delta")).collect();
    assert!(
        deltas.iter().all(|q| q.param("$select").is_none()),
        "no fresh round: {deltas:#?}"
    );
    assert_eq!(
        deltas.iter().filter(|q| q.param("$deltatoken").is_some()).count(),
        2,
        "users and groups continue from their delta links"
    );
    assert!(
        !reqs.iter().any(|q| q.path.contains("deletedItems")),
        "an incremental read sees soft deletes in the delta"
    );
    let member_reads: Vec<&str> = reqs
        .iter()
        .filter(|q| q.path.ends_with("/members"))
        .map(|q| q.path.as_str())
        .collect();
    assert_eq!(member_reads, ["/v1.0/groups/g1/members", "/v1.0/groups/g2/members"]);

    let users = rig.users().await;
    assert!(!users.contains_key("ann@contoso.example"));
    assert_eq!(dept(&users["bob@contoso.example"]), "Sales");
    assert_eq!(users["cid@contoso.example"]["active"], false);
    assert_eq!(users["dee@contoso.example"]["active"], false, "soft delete: disabled");
    assert_eq!(
        users["hal@contoso.example"]["active"], true,
        "mode = all: still in scope"
    );
    assert_eq!(users["gus@contoso.example"]["active"], true);
    // A disabled member leaves the target group, as in assigned mode.
    assert_eq!(
        rig.members("Security Awareness").await,
        ["bob@contoso.example", "gus@contoso.example"]
    );
    assert!(rig.members("Sales").await.is_empty());

    // Nothing changed: two delta requests, nothing sent.
    g.clear_requests();
    rig.target.clear_requests();
    let r = rig.cycle().await;
    assert_eq!(r.counts.read, 0);
    assert!(rig.writes().is_empty(), "{:?}", rig.writes());
    let paths: Vec<String> = g.requests().iter().map(|q| q.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1.0/servicePrincipals/sp-hoxhunt",
            "/v1.0/servicePrincipals/sp-hoxhunt/appRoleAssignedTo",
            "/v1.0/users/delta",
            "/v1.0/groups/delta"
        ]
    );
}

#[tokio::test]
async fn an_expired_delta_token_falls_back_to_a_full_read() {
    let g = tenant().await;
    let rig = Rig::new(&job(&g, "all")).await;
    rig.cycle().await;
    g.edit(|d| d.set_user_attr("u2", "department", json!("Sales")));
    g.expire_delta_tokens();
    g.clear_requests();
    let r = rig.cycle().await;
    assert_eq!(r.counts.read, 9, "read in full again: {:?}", r.counts);
    let reqs = g.requests();
    assert!(reqs.iter().any(|q| q.status == 410), "{reqs:#?}");
    assert!(
        reqs.iter()
            .any(|q| q.path == "/v1.0/users/delta" && q.param("$select").is_some()),
        "a fresh round"
    );
    assert_eq!(dept(&rig.users().await["bob@contoso.example"]), "Sales");
}

#[tokio::test]
async fn throttling_is_waited_out_and_tokens_are_renewed_before_they_expire() {
    let g = tenant().await;
    // Tokens live 60 s and are renewed a minute early: every request asks for a new one.
    g.set_token_lifetime(60);
    g.throttle("/users/delta", 2, 429, 1);
    g.throttle("/groups/delta", 1, 503, 0);
    let rig = Rig::new(&job(&g, "assigned")).await;
    rig.cycle().await;
    assert_eq!(rig.users().await.len(), 5, "the same result as without throttling");
    let reqs = g.requests();
    let status = |s: u16| reqs.iter().filter(|q| q.status == s).count();
    assert_eq!((status(429), status(503)), (2, 1), "{reqs:#?}");
    let graph_gets = reqs.iter().filter(|q| q.method == "GET").count() as u64;
    assert_eq!(g.tokens_issued(), graph_gets, "a fresh token for every request");
}

#[tokio::test]
async fn a_refused_secret_fails_the_cycle_with_the_reason_and_sends_nothing() {
    let g = tenant().await;
    let text = job(&g, "assigned").replace(&g.client_secret, "not-the-secret");
    let rig = Rig::new(&text).await;
    let err = rig.try_cycle(CycleOptions::default()).await.unwrap_err().to_string();
    assert!(err.contains("Graph sign-in failed (HTTP 401)"), "{err}");
    assert!(err.contains("AADSTS7000215"), "{err}");
    assert!(rig.target.writes().is_empty());
    assert!(
        g.requests().iter().all(|q| q.path.ends_with("/oauth2/v2.0/token")),
        "nothing is asked of Graph without a token"
    );
}
