use serde_json::json;
use crate::harness::*;

#[tokio::test]
async fn probe() {
    let s = TestServer::start().await;
    let u1 = s.create_user(entra_user("u1@contoso.com")).await;
    let u2 = s.create_user(entra_user("u2@contoso.com")).await;
    let g = s.create_group(entra_group("G")).await;
    let p = format!("/Groups/{g}");
    for ops in [
        json!([{"op":"replace","path":"members","value":[{"value":u1}]},{"op":"add","path":"members","value":[{"value":u2}]}]),
        json!([{"op":"remove","path":"members","value":[{"value":u2}]},{"op":"add","path":"members","value":[{"value":u2}]}]),
        json!([{"op":"add","path":"members","value":[{"value":u1}]},{"op":"remove","path":format!("members[value eq \"{u1}\"]")}]),
        json!([{"op":"add","path":"members","value":[{"value":"ghost"}]}]),
        json!([{"op":"add","path":"members","value":[{"value":g}]}]),
        json!([{"op":"replace","path":"externalId","value":"newext"}]),
        json!([{"op":"add","value":{"members":[{"value":u1}]}}]),
    ] {
        let r = s.patch_ops(&p, ops.clone()).await;
        println!("{ops}\n  -> {} {}\n", r.status, r.text);
    }
    for q in ["/Users?filter=", "/Users?attributes=meta.created", "/Users?excludedAttributes=meta", "/Users?sortBy=emails&attributes=userName",
              "/Groups?filter=externalId+eq+%22newext%22&attributes=displayName", "/Users?attributes=groups", &format!("/Users/{u1}?attributes=groups")] {
        let r = s.get(q).await;
        println!("{q}\n  -> {} {}\n", r.status, &r.text[..r.text.len().min(600)]);
    }
    let r = s.put(&p, &json!({"displayName":"G"})).await;
    println!("PUT {} {}", r.status, r.text);
}
