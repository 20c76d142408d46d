//! Groups above the streaming threshold: `GET` writes members page by page from the store
//! and the result is still one well-formed resource, with projections honoured.

use serde_json::{Value, json};

use crate::harness::*;

async fn big_group(s: &TestServer, name: &str, n: usize) -> String {
    let g = s.create_group(json!({"displayName": name})).await;
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let members: Vec<Value> = chunk
            .iter()
            .map(|i| json!({"value": format!("00000000-0000-7000-8000-{i:012}"), "display": format!("m{i}")}))
            .collect();
        let r = s
            .patch_ops(
                &format!("/Groups/{g}"),
                json!([{"op": "add", "path": "members", "value": members}]),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.text);
    }
    g
}

#[tokio::test]
async fn a_large_group_streams_all_its_members_as_one_resource() {
    let s = TestServer::start().await;
    let g = big_group(&s, "Everyone", 2500).await;
    let r = s.get(&format!("/Groups/{g}")).await;
    assert_eq!(r.status, 200);
    assert!(r.content_type().starts_with("application/scim+json"));
    assert!(r.headers.get("etag").is_some());
    let members = member_ids(&r.body);
    assert_eq!(members.len(), 2500, "every member, once");
    let mut sorted = members.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 2500);
    assert_eq!(r.body["displayName"], "Everyone");
    assert_eq!(r.body["meta"]["resourceType"], "Group");
    assert_eq!(r.body["members"][0]["display"], "m0");

    let only = s.get(&format!("/Groups/{g}?attributes=members")).await;
    assert_eq!(member_ids(&only.body).len(), 2500);
    assert!(only.body.get("displayName").is_none(), "{}", &only.text[..200]);
    let values = s.get(&format!("/Groups/{g}?attributes=members.value")).await;
    assert_eq!(values.status, 200);
    assert_eq!(member_ids(&values.body).len(), 2500);
    assert!(
        values.body["members"][0].get("display").is_none(),
        "sub-attribute projection applies"
    );
    let none = s.get(&format!("/Groups/{g}?excludedAttributes=members")).await;
    assert!(none.body.get("members").is_none());
    assert_eq!(none.body["displayName"], "Everyone");
    // A group at the threshold is rendered whole, as before.
    let small = big_group(&s, "Few", 1000).await;
    let r = s.get(&format!("/Groups/{small}")).await;
    assert_eq!(member_ids(&r.body).len(), 1000);
}
