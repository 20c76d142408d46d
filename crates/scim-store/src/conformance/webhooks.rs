//! Webhook endpoints, their delivery state, and the per-tenant leases that make one
//! replica at a time deliver a tenant's events.

use scim_core::ResourceKind;
use scim_core::events::EventType;
use scim_core::ports::{Delivery, NewWebhook};
use serde_json::json;

use super::{Ctx, at, now};

cases![
    an_endpoint_starts_after_the_newest_event_and_keeps_its_state,
    one_holder_at_a_time_leases_a_tenant,
    concurrent_claims_give_one_holder,
    due_endpoints_are_the_holders_with_work,
];

fn hook(url: &str, events: Vec<EventType>) -> NewWebhook {
    NewWebhook {
        url: url.to_string(),
        events,
    }
}

async fn an_endpoint_starts_after_the_newest_event_and_keeps_its_state(c: Ctx) {
    let t = c.tenant("a").await;
    let other = c.tenant("b").await;
    c.create(t, ResourceKind::User, json!({"userName": "h@x.io"}))
        .await
        .unwrap();
    let w =
        c.db.create_webhook(t, hook("https://example.com/hook", vec![EventType::UserDeleted]), now())
            .await
            .unwrap();
    assert!(w.id.starts_with("wh_") && w.secret.starts_with("whsec_"), "{w:?}");
    assert_eq!(w.delivery.delivered, 1, "delivery starts after the newest event");
    assert!(w.wants(EventType::UserDeleted) && !w.wants(EventType::UserCreated));
    let all =
        c.db.create_webhook(t, hook("https://example.com/all", vec![]), now())
            .await
            .unwrap();
    assert!(all.wants(EventType::GroupMembersAdded), "no types: every type");
    assert_eq!(c.db.webhooks(t).await.unwrap(), vec![w.clone(), all.clone()]);
    assert!(c.db.webhooks(other).await.unwrap().is_empty(), "tenants are apart");
    let d = Delivery {
        delivered: 7,
        attempts: 2,
        next_attempt: Some(at("2026-01-01T00:05:00.000000Z")),
        failing_since: Some(now()),
        last_error: Some("HTTP 500".into()),
        last_success: Some(at("2025-12-31T00:00:00.000000Z")),
        failing: true,
    };
    assert!(c.db.reset_delivery(t, &w.id, &d).await.unwrap());
    let stored =
        c.db.webhooks(t)
            .await
            .unwrap()
            .into_iter()
            .find(|x| x.id == w.id)
            .unwrap();
    assert_eq!(stored.delivery, d);
    assert!(
        !c.db.reset_delivery(other, &w.id, &d).await.unwrap(),
        "not another tenant's"
    );
    assert!(!c.db.delete_webhook(other, &w.id).await.unwrap());
    assert!(c.db.delete_webhook(t, &w.id).await.unwrap());
    assert_eq!(c.db.webhooks(t).await.unwrap(), vec![all]);
}

async fn one_holder_at_a_time_leases_a_tenant(c: Ctx) {
    let t = c.tenant("a").await;
    let (a, b) = (c.name("replica-a"), c.name("replica-b"));
    let t0 = at("2026-01-01T00:00:00.000000Z");
    let t1 = at("2026-01-01T00:00:30.000000Z");
    let t2 = at("2026-01-01T00:01:00.000000Z");
    let mine = |v: Vec<i64>| v.contains(&t);
    assert!(
        !mine(c.db.acquire_leases(&a, t0, t1, 1000).await.unwrap()),
        "no endpoint, no lease"
    );
    let w =
        c.db.create_webhook(t, hook("https://example.com/h", vec![]), t0)
            .await
            .unwrap();
    assert!(mine(c.db.acquire_leases(&a, t0, t1, 1000).await.unwrap()));
    assert!(!mine(c.db.acquire_leases(&b, t0, t1, 1000).await.unwrap()), "held by a");
    assert!(mine(c.db.acquire_leases(&a, t0, t1, 1000).await.unwrap()), "a renews");
    let d = Delivery {
        delivered: 1,
        ..Default::default()
    };
    assert!(c.db.record_delivery(t, &w.id, &d, &a, t0).await.unwrap());
    assert!(
        !c.db.record_delivery(t, &w.id, &d, &b, t0).await.unwrap(),
        "b holds no lease"
    );
    // a stops renewing: once its lease runs out, b takes over and a's writes are refused.
    assert!(mine(c.db.acquire_leases(&b, t1, t2, 1000).await.unwrap()));
    assert!(!c.db.record_delivery(t, &w.id, &d, &a, t1).await.unwrap());
    assert!(c.db.record_delivery(t, &w.id, &d, &b, t1).await.unwrap());
    // A clean shutdown hands over at once.
    c.db.release_leases(&a, &[t]).await.unwrap();
    assert!(
        !mine(c.db.acquire_leases(&a, t1, t2, 1000).await.unwrap()),
        "only the holder releases"
    );
    c.db.release_leases(&b, &[t]).await.unwrap();
    assert!(mine(c.db.acquire_leases(&a, t1, t2, 1000).await.unwrap()));
}

async fn concurrent_claims_give_one_holder(c: Ctx) {
    let t = c.tenant("a").await;
    c.db.create_webhook(t, hook("https://example.com/h", vec![]), now())
        .await
        .unwrap();
    let other = c.reopen().await;
    let until = at("2026-01-01T00:00:30.000000Z");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let db = if i % 2 == 0 { c.db.clone() } else { other.clone() };
        let holder = c.name(&format!("r{i}"));
        tasks.push(tokio::spawn(async move {
            db.acquire_leases(&holder, now(), until, 1000).await.unwrap()
        }));
    }
    let mut winners = 0;
    for task in tasks {
        if task.await.unwrap().contains(&t) {
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "exactly one replica holds the tenant");
}

async fn due_endpoints_are_the_holders_with_work(c: Ctx) {
    let t = c.tenant("a").await;
    let (a, b) = (c.name("replica-a"), c.name("replica-b"));
    let until = at("2026-01-01T00:00:30.000000Z");
    let w =
        c.db.create_webhook(t, hook("https://example.com/h", vec![]), now())
            .await
            .unwrap();
    assert!(c.db.acquire_leases(&a, now(), until, 1000).await.unwrap().contains(&t));
    let due = |holder: String, when| {
        let db = c.db.clone();
        async move {
            db.due_webhooks(&holder, when)
                .await
                .unwrap()
                .into_iter()
                .map(|w| w.id)
                .collect::<Vec<_>>()
        }
    };
    assert!(due(a.clone(), now()).await.is_empty(), "nothing after the cursor");
    c.create(t, ResourceKind::User, json!({"userName": "d@x.io"}))
        .await
        .unwrap();
    assert_eq!(due(a.clone(), now()).await, vec![w.id.clone()]);
    assert!(due(b.clone(), now()).await.is_empty(), "not the holder");
    assert!(due(a.clone(), until).await.is_empty(), "the lease ran out");
    let later = Delivery {
        delivered: w.delivery.delivered,
        attempts: 1,
        next_attempt: Some(at("2026-01-01T00:00:10.000000Z")),
        ..Default::default()
    };
    c.db.reset_delivery(t, &w.id, &later).await.unwrap();
    assert!(due(a.clone(), now()).await.is_empty(), "waiting for its next attempt");
    assert_eq!(
        due(a.clone(), at("2026-01-01T00:00:10.000000Z")).await,
        vec![w.id.clone()]
    );
    let failing = Delivery { failing: true, ..later };
    c.db.reset_delivery(t, &w.id, &failing).await.unwrap();
    assert!(
        due(a, at("2026-01-01T00:00:10.000000Z")).await.is_empty(),
        "failing endpoints wait for an operator"
    );
}
