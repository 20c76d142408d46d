use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn create_then_get_round_trips_the_hoxhunt_attributes() {
    let s = TestServer::start().await;
    let body = entra_user("alice@contoso.com");
    let r = s.post("/Users", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap();
    let location = r.headers.get("location").unwrap().to_str().unwrap();
    assert_eq!(location, format!("{}/Users/{id}", s.base));
    let g = s.get(&format!("/Users/{id}")).await;
    assert_eq!(g.status, 200);
    for key in [
        "userName",
        "externalId",
        "emails",
        "name",
        "addresses",
        "preferredLanguage",
        ENTERPRISE,
        "active",
    ] {
        assert_eq!(g.body[key], body[key], "{key} round-trips");
    }
    assert_eq!(g.body["meta"]["resourceType"], "User");
    assert!(g.body.get("roles").is_none(), "empty roles are omitted");
    assert_eq!(g.body["schemas"], json!([USER, ENTERPRISE]));
}
