//! The request log: batches in, newest first out, filtered by status and time, paged, kept
//! within a count and an age per tenant.

use scim_core::Timestamp;
use scim_core::ports::{RequestEntry, RequestQuery, StatusFilter, TenantId};

use super::{Ctx, at};

cases![
    requests_read_back_newest_first_with_filters,
    pruning_keeps_the_newest_within_count_and_age
];

fn entry(tenant: TenantId, when: Timestamp, status: u16, path: &str) -> RequestEntry {
    RequestEntry {
        tenant,
        at: when,
        method: "POST".into(),
        path: path.into(),
        status,
        latency_us: 1234,
        scim_type: (status == 409).then(|| "uniqueness".to_string()),
        detail: (status >= 400).then(|| format!("failed with {status}")),
        resource_id: Some("r1".into()),
        credential: Some("scimd_1a2b3c4d".into()),
        body: Some(r#"{"userName":"a"}"#.into()),
    }
}

fn q(status: StatusFilter, since: Option<Timestamp>, before: Option<i64>, limit: usize) -> RequestQuery {
    RequestQuery {
        status,
        since,
        before,
        limit,
    }
}

async fn requests_read_back_newest_first_with_filters(c: Ctx) {
    let t = c.tenant("a").await;
    let other = c.tenant("b").await;
    let t1 = at("2026-01-01T00:00:01Z");
    let t2 = at("2026-01-01T00:00:02Z");
    let t3 = at("2026-01-01T00:00:03Z");
    let batch = vec![
        entry(t, t1, 201, "/scim/v2/a/Users"),
        entry(other, t1, 201, "/scim/v2/b/Users"),
        entry(t, t2, 409, "/scim/v2/a/Users"),
        entry(t, t3, 500, "/scim/v2/a/Users?x=1"),
    ];
    c.db.append_requests(batch.clone()).await.unwrap();
    let all = c.db.requests(t, &q(StatusFilter::Any, None, None, 100)).await.unwrap();
    let statuses: Vec<u16> = all.iter().map(|r| r.entry.status).collect();
    assert_eq!(statuses, [500, 409, 201], "newest first, this tenant only");
    assert_eq!(all[1].entry, batch[2], "every field round-trips");
    assert!(all.windows(2).all(|w| w[0].seq > w[1].seq));
    let fours =
        c.db.requests(t, &q(StatusFilter::Class(4), None, None, 100))
            .await
            .unwrap();
    assert_eq!(fours.iter().map(|r| r.entry.status).collect::<Vec<_>>(), [409]);
    let exact =
        c.db.requests(t, &q(StatusFilter::Exact(201), None, None, 100))
            .await
            .unwrap();
    assert_eq!(exact.len(), 1);
    let recent =
        c.db.requests(t, &q(StatusFilter::Any, Some(t2), None, 100))
            .await
            .unwrap();
    assert_eq!(recent.len(), 2, "since is inclusive");
    let page = c.db.requests(t, &q(StatusFilter::Any, None, None, 2)).await.unwrap();
    let rest =
        c.db.requests(t, &q(StatusFilter::Any, None, Some(page[1].seq), 2))
            .await
            .unwrap();
    assert_eq!(
        rest.iter().map(|r| r.entry.status).collect::<Vec<_>>(),
        [201],
        "before pages on"
    );
    assert_eq!(
        c.db.requests(other, &q(StatusFilter::Any, None, None, 100))
            .await
            .unwrap()
            .len(),
        1
    );
    c.db.append_requests(Vec::new()).await.unwrap();
}

async fn pruning_keeps_the_newest_within_count_and_age(c: Ctx) {
    let t = c.tenant("a").await;
    let other = c.tenant("b").await;
    let mut batch: Vec<RequestEntry> = (1..=9)
        .map(|i| entry(t, at(&format!("2026-01-0{i}T00:00:00Z")), 200, &format!("/{i}")))
        .collect();
    batch.push(entry(other, at("2026-01-01T00:00:00Z"), 200, "/other"));
    c.db.append_requests(batch).await.unwrap();
    let removed = c.db.prune_requests(t, 5, at("2026-01-01T00:00:00Z")).await.unwrap();
    assert_eq!(removed, 4, "the count bound");
    let left = c.db.requests(t, &q(StatusFilter::Any, None, None, 100)).await.unwrap();
    let paths: Vec<&str> = left.iter().map(|r| r.entry.path.as_str()).collect();
    assert_eq!(paths, ["/9", "/8", "/7", "/6", "/5"]);
    let removed = c.db.prune_requests(t, 100, at("2026-01-08T00:00:00Z")).await.unwrap();
    assert_eq!(removed, 3, "the age bound");
    assert_eq!(
        c.db.requests(t, &q(StatusFilter::Any, None, None, 100))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        c.db.requests(other, &q(StatusFilter::Any, None, None, 100))
            .await
            .unwrap()
            .len(),
        1,
        "other tenants are untouched"
    );
}
