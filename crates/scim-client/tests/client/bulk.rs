//! `bulk` and `bulk_limits` against a real scimd.

use scim_client::{BulkMethod, BulkOperation, BulkRequest, Endpoint};
use serde_json::json;

use crate::harness::*;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[tokio::test]
async fn limits_are_read_from_the_service_provider_config() {
    let s = Server::start().await;
    let l = s.client().bulk_limits().await.unwrap();
    assert!(l.supported);
    assert_eq!(l.max_operations, Some(1000));
    assert_eq!(l.max_payload_size, Some(1_048_576));
}

#[tokio::test]
async fn creates_report_ids_conflicts_and_resolve_bulk_id_references() {
    let s = Server::start().await;
    let c = s.client();
    let taken = id_of(&c.create(Endpoint::Users, &user("taken@contoso.com")).await.unwrap());
    let mut report = user("report@contoso.com");
    report[ENTERPRISE] = json!({"manager": {"value": "bulkId:boss"}});
    let req = BulkRequest::new(vec![
        BulkOperation::create(Endpoint::Users, "boss", user("boss@contoso.com")),
        BulkOperation::create(Endpoint::Users, "dup", user("TAKEN@contoso.com")),
        BulkOperation::create(Endpoint::Users, "report", report),
    ]);
    let r = c.bulk(&req).await.unwrap();
    assert_eq!(r.operations.len(), 3, "{r:?}");
    let [boss, dup, rep] = &r.operations[..] else {
        unreachable!()
    };
    assert_eq!((boss.bulk_id.as_deref(), boss.status), (Some("boss"), 201));
    assert!(boss.version.is_some(), "{boss:?}");
    let boss_id = boss.id.clone().expect("an id from the location");
    assert!(
        boss.location
            .as_deref()
            .unwrap()
            .ends_with(&format!("/Users/{boss_id}"))
    );
    let got = c.get(Endpoint::Users, &boss_id, None).await.unwrap().expect("created");
    assert_eq!(got["userName"], "boss@contoso.com");

    assert_eq!((dup.bulk_id.as_deref(), dup.status), (Some("dup"), 409));
    assert_eq!(dup.scim_type.as_deref(), Some("uniqueness"));
    assert!(dup.detail.as_deref().is_some_and(|d| !d.is_empty()), "{dup:?}");
    assert_eq!(dup.id, None);
    let e = dup.error().expect("an error");
    assert_eq!(e.status(), Some(409));
    assert!(!e.is_transient());

    assert_eq!(rep.status, 201, "{rep:?}");
    let got = c
        .get(Endpoint::Users, rep.id.as_deref().unwrap(), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got[ENTERPRISE]["manager"]["value"], boss_id.as_str(), "bulkId resolved");
    let still = c.get(Endpoint::Users, &taken, None).await.unwrap().unwrap();
    assert_eq!(still["userName"], "taken@contoso.com");
}

#[tokio::test]
async fn a_request_over_the_limits_is_413_and_performs_nothing() {
    let s = Server::start().await;
    let c = s.client();
    let ops: Vec<BulkOperation> = (0..1001)
        .map(|i| BulkOperation::create(Endpoint::Users, format!("b{i}"), user(&format!("u{i}@contoso.com"))))
        .collect();
    let err = c.bulk(&BulkRequest::new(ops)).await.unwrap_err();
    assert_eq!(err.status(), Some(413), "{err}");
    assert!(!err.is_transient());
    let list = c.search(Endpoint::Users, None, None, 1, 10).await.unwrap();
    assert_eq!(list.total_results, 0);
}

#[tokio::test]
async fn patch_and_delete_operations() {
    let s = Server::start().await;
    let c = s.client();
    let id = id_of(&c.create(Endpoint::Users, &user("p@contoso.com")).await.unwrap());
    let gone = id_of(&c.create(Endpoint::Users, &user("d@contoso.com")).await.unwrap());
    let req = BulkRequest {
        fail_on_errors: Some(1),
        operations: vec![
            BulkOperation {
                method: BulkMethod::Patch,
                bulk_id: None,
                path: format!("/Users/{id}"),
                version: Some("W/\"1\"".into()),
                data: Some(json!({"schemas": [scim_client::PATCH_OP_SCHEMA],
                    "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]})),
            },
            BulkOperation {
                method: BulkMethod::Delete,
                bulk_id: None,
                path: format!("/Users/{gone}"),
                version: None,
                data: None,
            },
        ],
    };
    let r = c.bulk(&req).await.unwrap();
    let statuses: Vec<u16> = r.operations.iter().map(|o| o.status).collect();
    assert_eq!(statuses, [200, 204], "{r:?}");
    assert_eq!(r.operations[0].id.as_deref(), Some(id.as_str()));
    assert_eq!(
        c.get(Endpoint::Users, &id, None).await.unwrap().unwrap()["title"],
        "Boss"
    );
    assert_eq!(c.get(Endpoint::Users, &gone, None).await.unwrap(), None);
}
