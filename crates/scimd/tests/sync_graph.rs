//! The Hoxhunt example with only its `[source]` changed to Microsoft Graph: `scimd sync`
//! reads a fake Entra tenant (real HTTP, Graph's shapes) and provisions a real `scimd serve`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use common::sync::*;
use serde_json::{Value, json};
use sync_testkit::graph::{FakeGraph, Removed};

fn user(local: &str, dept: &str) -> serde_json::Map<String, Value> {
    json!({
        "userPrincipalName": format!("{local}@contoso.example"), "mail": format!("{local}@contoso.example"),
        "givenName": local, "surname": "Example", "department": dept, "officeLocation": "HQ",
        "country": "FI", "preferredLanguage": "fi-FI", "accountEnabled": true,
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn graph_job(dir: &std::path::Path, url: &str, g: &FakeGraph) {
    write_job(dir, url);
    let job = std::fs::read_to_string(dir.join("job.toml")).unwrap();
    let file_source = "type = \"file\"\npath = \"sample-directory.json\"\n";
    assert!(job.contains(file_source));
    let graph = format!(
        "type = \"graph\"\ntenant_id = \"{}\"\nclient_id = \"{}\"\nclient_secret_env = \"GRAPH_CLIENT_SECRET\"\n\
         service_principal_id = \"{}\"\nlogin_url = \"{}\"\ngraph_url = \"{}\"\n",
        g.tenant_id, g.client_id, g.service_principal_id, g.login_url, g.graph_url
    );
    std::fs::write(dir.join("job.toml"), job.replace(file_source, &graph)).unwrap();
}

fn department(server: &Server, user_name: &str) -> Option<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r: Value = reqwest::Client::new()
            .get(format!("{}/Users?filter=userName%20eq%20%22{user_name}%22", server.url))
            .bearer_auth(&server.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["Resources"][0]["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"]
            .as_str()
            .map(str::to_string)
    })
}

#[test]
fn the_hoxhunt_example_reads_entra_through_graph() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let g = rt.block_on(FakeGraph::start(&[]));
    g.edit(|d| {
        for (id, local, dept) in [
            ("u1", "ann", "Sales"),
            ("u2", "bob", "R&D"),
            ("u3", "cid", "Ops"),
            ("u4", "dee", "Ops"),
        ] {
            d.put_user(id, user(local, dept));
        }
        // Ten more members, so that one disable stays under the example's 20 % threshold.
        let more: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
        for m in &more {
            d.put_user(m, user(m, "Support"));
        }
        let mut members = vec!["u1", "u2", "u3"];
        members.extend(more.iter().map(String::as_str));
        d.put_group("g1", "Security Awareness", &members);
        d.assign("g1", None);
        d.assign("u4", None);
    });
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = serve(d);
    graph_job(d, &server.url, &g);
    let env = [
        ("HOXHUNT_SCIM_TOKEN", server.token.as_str()),
        ("GRAPH_CLIENT_SECRET", g.client_secret.as_str()),
    ];
    let (ok, out, err) = run_in(d, &["sync", "validate", "job.toml"], &env);
    assert!(ok, "{out}{err}");

    let (ok, out, err) = run_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert!(ok, "{out}{err}");
    assert!(out.contains("initial cycle"), "{out}");
    assert_eq!(
        users(&server),
        13,
        "the members of Security Awareness; dee (Default Access only) is not"
    );
    let reqs = g.requests();
    let select = reqs
        .iter()
        .find(|q| q.path == "/v1.0/users/delta")
        .and_then(|q| q.param("$select").map(str::to_string))
        .unwrap();
    assert_eq!(
        select,
        "id,accountEnabled,userPrincipalName,mail,givenName,surname,department,officeLocation,country,preferredLanguage"
    );

    g.edit(|d| {
        d.set_user_attr("u2", "department", json!("Sales"));
        d.remove_user("u3", Removed::Changed);
    });
    let (ok, out, err) = run_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert!(ok, "{out}{err}");
    assert!(out.contains("incremental cycle"), "{out}");
    assert_eq!(department(&server, "bob@contoso.example").as_deref(), Some("Sales"));
    assert_eq!(users(&server), 13, "a soft-deleted user is disabled, not deleted");

    // A wrong secret: the cycle stops with Entra's reason, exit code 4 (the source failed).
    let bad = [
        ("HOXHUNT_SCIM_TOKEN", server.token.as_str()),
        ("GRAPH_CLIENT_SECRET", "wrong"),
    ];
    let (code, out, err) = code_in(d, &["sync", "run", "job.toml", "--once"], &bad);
    assert_eq!(code, Some(4), "{out}{err}");
    assert!(
        err.contains("AADSTS7000215") || out.contains("AADSTS7000215"),
        "{out}{err}"
    );
}
