//! Cursor paging (RFC 9865) beside index paging: walking both ways, opaque and
//! tamper-evident cursors, offset cursors for sorts that cannot seek, discovery.

use serde_json::json;

use crate::harness::*;

async fn seed(s: &TestServer, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let title = format!("t{}", i % 3);
        ids.push(
            s.create_user(json!({"userName": format!("c{:02}@x.io", (i * 7) % n), "title": title}))
                .await,
        );
    }
    ids
}

fn cursor(r: &Resp, name: &str) -> Option<String> {
    r.body.get(name).and_then(|v| v.as_str()).map(str::to_string)
}

#[tokio::test]
async fn cursor_pages_walk_forward_and_back_without_overlap() {
    let s = TestServer::start().await;
    let ids = seed(&s, 25).await;
    let first = s.get("/Users?cursor&count=10").await;
    first.assert_list(25);
    assert!(
        first.body.get("startIndex").is_none(),
        "cursor pages carry no startIndex: {}",
        first.text
    );
    assert!(
        cursor(&first, "previousCursor").is_none(),
        "the first page has no previous"
    );
    let mut walked = first.ids();
    let mut next = cursor(&first, "nextCursor").expect("nextCursor");
    let mut pages = vec![first.ids()];
    loop {
        let r = s.get(&format!("/Users?count=10&cursor={}", enc(&next))).await;
        r.assert_list(25);
        assert!(cursor(&r, "previousCursor").is_some());
        walked.extend(r.ids());
        pages.push(r.ids());
        match cursor(&r, "nextCursor") {
            Some(c) => next = c,
            None => {
                // Back from the last page: the page before it, exactly.
                let prev = cursor(&r, "previousCursor").unwrap();
                let back = s.get(&format!("/Users?count=10&cursor={}", enc(&prev))).await;
                assert_eq!(
                    back.ids(),
                    pages[pages.len() - 2],
                    "previousCursor gives the page before"
                );
                let back2 = s
                    .get(&format!(
                        "/Users?count=10&cursor={}",
                        enc(&cursor(&back, "previousCursor").unwrap())
                    ))
                    .await;
                assert_eq!(back2.ids(), pages[0]);
                assert!(
                    cursor(&back2, "previousCursor").is_none(),
                    "nothing before the first page"
                );
                break;
            }
        }
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
    assert_eq!(walked, ids, "creation order, each once");
    // The same walk by index paging gives the same order.
    let mut by_index = Vec::new();
    for start in [1, 11, 21] {
        by_index.extend(s.get(&format!("/Users?startIndex={start}&count=10")).await.ids());
    }
    assert_eq!(by_index, walked);
}

#[tokio::test]
async fn cursors_follow_sort_and_filter_and_survive_deletes_before_them() {
    let s = TestServer::start().await;
    seed(&s, 20).await;
    let q = format!(
        "filter={}&sortBy=userName&sortOrder=descending&count=4",
        enc("title ne \"t1\"")
    );
    let want = s.get(&format!("/Users?{q}&startIndex=1&count=100")).await;
    let want_ids = want.ids();
    let r = s.get(&format!("/Users?{q}&cursor=")).await;
    let mut got = r.ids();
    // Deleting rows already seen shifts index pages but not cursor pages.
    for id in &got[..2] {
        assert_eq!(s.delete(&format!("/Users/{id}")).await.status, 204);
    }
    let mut next = cursor(&r, "nextCursor");
    while let Some(c) = next {
        let r = s.get(&format!("/Users?{q}&cursor={}", enc(&c))).await;
        assert_eq!(r.status, 200, "{}", r.text);
        got.extend(r.ids());
        next = cursor(&r, "nextCursor");
    }
    assert_eq!(got, want_ids, "no row skipped or repeated");
    // A sort that cannot seek (an attribute) pages by offset inside the cursor.
    let r = s.get("/Users?sortBy=title&cursor&count=5").await;
    let c = cursor(&r, "nextCursor").unwrap();
    let r2 = s.get(&format!("/Users?sortBy=title&count=5&cursor={}", enc(&c))).await;
    let idx = s.get("/Users?sortBy=title&startIndex=6&count=5").await;
    assert_eq!(r2.ids(), idx.ids());
}

#[tokio::test]
async fn cursors_are_tamper_evident_and_bound_to_their_query_and_tenant() {
    let s = TestServer::start().await;
    seed(&s, 6).await;
    let r = s.get("/Users?cursor&count=2").await;
    let c = cursor(&r, "nextCursor").unwrap();
    let mut flipped: Vec<char> = c.chars().collect();
    let mid = flipped.len() / 2;
    flipped[mid] = if flipped[mid] == 'x' { 'y' } else { 'x' };
    let flipped: String = flipped.into_iter().collect();
    s.get(&format!("/Users?cursor={}", enc(&flipped)))
        .await
        .assert_error(400, Some("invalidCursor"));
    s.get("/Users?cursor=not-a-cursor")
        .await
        .assert_error(400, Some("invalidCursor"));
    let other_filter = format!("/Users?filter={}&cursor={}", enc("title pr"), enc(&c));
    s.get(&other_filter).await.assert_error(400, Some("invalidCursor"));
    s.get(&format!("/Groups?cursor={}", enc(&c)))
        .await
        .assert_error(400, Some("invalidCursor"));
    s.get(&format!("/Users?startIndex=3&cursor={}", enc(&c)))
        .await
        .assert_error(400, Some("invalidValue"));
    // Another tenant's server-side key refuses this tenant's cursor.
    let (base, token) = s.other_tenant("beta").await;
    let r = send(
        s.client
            .get(format!("{base}/Users?cursor={}", enc(&c)))
            .bearer_auth(&token),
    )
    .await;
    r.assert_error(400, Some("invalidCursor"));
    // The cursor still works where it belongs, and through /.search too.
    let ok = s.get(&format!("/Users?count=2&cursor={}", enc(&c))).await;
    assert_eq!(ok.ids().len(), 2);
    let search = s.post("/Users/.search", &json!({"cursor": c, "count": 2})).await;
    assert_eq!(search.status, 200, "{}", search.text);
    assert_eq!(search.ids(), ok.ids());
    let count_only = s.get("/Users?cursor&count=0").await;
    count_only.assert_list(6);
    assert!(cursor(&count_only, "nextCursor").is_none());
}

#[tokio::test]
async fn service_provider_config_advertises_both_paging_methods() {
    let s = TestServer::start().await;
    let r = s.get("/ServiceProviderConfig").await;
    let p = &r.body["pagination"];
    assert_eq!(p["cursor"], true, "{}", r.text);
    assert_eq!(p["index"], true);
    assert_eq!(p["defaultPaginationMethod"], "index");
    assert_eq!(p["maxPageSize"], 1000);
    assert!(p["cursorTimeout"].as_u64().unwrap() >= 600);
}

/// Okta reads index pages in order (1, 101, 201, …). The server continues each page from
/// where the previous one ended, so rows deleted behind the reader neither shift rows past
/// it (an offset would skip them) nor cost a longer index walk.
#[tokio::test]
async fn in_order_index_pages_continue_where_the_last_page_ended() {
    let s = TestServer::start().await;
    let ids = seed(&s, 30).await;
    let p1 = s.get("/Users?startIndex=1&count=10").await;
    assert_eq!(p1.ids(), ids[..10]);
    for id in &ids[..3] {
        assert_eq!(s.delete(&format!("/Users/{id}")).await.status, 204);
    }
    let p2 = s.get("/Users?startIndex=11&count=10").await;
    p2.assert_list(27);
    assert_eq!(
        p2.ids(),
        ids[10..20],
        "the page after the last one read, not shifted by the deletes"
    );
    let p3 = s.get("/Users?startIndex=21&count=10").await;
    assert_eq!(p3.ids(), ids[20..30]);
    // A jump (no reader ended there) is served by offset, as RFC 7644 defines it.
    let jump = s.get("/Users?startIndex=5&count=3").await;
    assert_eq!(jump.ids(), ids[7..10]);
    // A different query shares no positions with this one.
    let other = s
        .get(&format!("/Users?filter={}&startIndex=11&count=10", enc("userName pr")))
        .await;
    assert_eq!(other.ids(), ids[13..23]);
}
