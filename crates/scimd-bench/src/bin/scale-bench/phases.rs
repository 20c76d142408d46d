//! The rows measured at one tenant size.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

use crate::measure::{Acc, Http, Meter, Rng, Stat, concurrent, urlencode};
use crate::seed::user_name;

pub struct Params {
    pub lookups: usize,
    pub pages: usize,
    pub patches: usize,
    pub concurrency: usize,
}

pub struct LevelCtx<'a> {
    pub http: Arc<Http>,
    pub meter: &'a Meter,
    pub run: &'a str,
    pub ids: &'a [String],
    /// (size, id) of the groups seeded so far; members are `ids[..size]`.
    pub groups: &'a [(usize, String)],
}

pub fn size_label(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n.is_multiple_of(1_000_000) => format!("{}M", n / 1_000_000),
        n if n >= 1000 && n.is_multiple_of(1000) => format!("{}k", n / 1000),
        n => n.to_string(),
    }
}

/// Measures every row at the current size; returns (row name, stat) in report order.
pub async fn measure(cx: &LevelCtx<'_>, p: &Params) -> anyhow::Result<Vec<(String, Stat)>> {
    let n = cx.ids.len();
    let mut rows = Vec::new();
    lookups(cx, 200, p.concurrency, n as u64 ^ 0xdead).await?; // warm-up, not reported
    rows.push((
        "userName eq".to_string(),
        lookups(cx, p.lookups, p.concurrency, n as u64).await?,
    ));
    let (from_start, _) = index_pages(cx, 1, false, p.pages).await?;
    rows.push(("index page, in order from 1".into(), from_start));
    let deep = n * 9 / 10 + 1;
    if deep + 100 <= n {
        let (next, first) = index_pages(cx, deep, true, p.pages).await?;
        if let Some(first) = first {
            rows.push(("index page, at 90%: first".into(), first));
        }
        rows.push(("index page, at 90%: next".into(), next));
    }
    rows.push(("cursor page, from start".into(), cursor_pages(cx, None, p.pages).await?));
    let deep_cursor = walk_cursor(cx, n * 9 / 10).await?;
    rows.push((
        "cursor page, at 90%".into(),
        cursor_pages(cx, Some(deep_cursor), p.pages).await?,
    ));
    for (size, gid) in cx.groups {
        let (add, remove) = group_patches(cx, *size, gid, p.patches).await?;
        rows.push((format!("group of {}: add 100", size_label(*size)), add));
        rows.push((format!("group of {}: remove 100", size_label(*size)), remove));
    }
    Ok(rows)
}

async fn lookups(cx: &LevelCtx<'_>, total: usize, concurrency: usize, seed: u64) -> anyhow::Result<Stat> {
    let n = cx.ids.len();
    let http = cx.http.clone();
    let run = cx.run.to_string();
    concurrent(cx.meter, total, concurrency, move |i| {
        let http = http.clone();
        let pick = Rng::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i as u64).below(n);
        let filter = format!("userName eq \"{}\"", user_name(&run, pick));
        async move {
            let v = http.get_json(&format!("/Users?filter={}", urlencode(&filter))).await?;
            ensure!(v["totalResults"] == 1, "lookup of {filter}: {}", v["totalResults"]);
            Ok(())
        }
    })
    .await
}

/// GET and time one page; the CPU of exactly this request goes to `acc`.
async fn timed_page(cx: &LevelCtx<'_>, path: &str, acc: &mut Acc) -> anyhow::Result<Value> {
    let before = cx.meter.snap();
    let t = Instant::now();
    let v = cx.http.get_json(path).await?;
    acc.record(t.elapsed());
    let after = cx.meter.snap();
    acc.cpu(cx.meter, &before, &after);
    Ok(v)
}

fn items(v: &Value) -> usize {
    v["Resources"].as_array().map_or(0, Vec::len)
}

/// Index pages of 100 read in order from `start` to the end of the list, as Okta's import
/// does, in passes until `pages` pages are timed. With `first_apart`, each pass's first page
/// (which must walk the offset) is kept out of the main row and returned separately.
async fn index_pages(
    cx: &LevelCtx<'_>,
    start: usize,
    first_apart: bool,
    pages: usize,
) -> anyhow::Result<(Stat, Option<Stat>)> {
    let n = cx.ids.len();
    ensure!(
        start + if first_apart { 100 } else { 0 } <= n,
        "the tenant is too small for index pages from {start}"
    );
    let (mut main, mut first) = (Acc::default(), Acc::default());
    if !first_apart {
        cx.http
            .get_json(&format!("/Users?startIndex={start}&count=100"))
            .await?; // warm-up
    }
    let mut timed = 0;
    while timed < pages {
        let mut s = start;
        while s <= n && timed < pages {
            let pass_first = s == start && first_apart;
            let acc = if pass_first { &mut first } else { &mut main };
            let v = timed_page(cx, &format!("/Users?startIndex={s}&count=100"), acc).await?;
            let got = items(&v);
            ensure!(
                v["startIndex"] == s && got == 100.min(n + 1 - s),
                "index page at {s}: {got} items, startIndex {}",
                v["startIndex"]
            );
            if !pass_first {
                timed += 1;
            }
            s += 100;
        }
    }
    Ok((main.finish(cx.meter), first_apart.then(|| first.finish(cx.meter))))
}

fn cursor_path(cursor: Option<&str>, count: usize) -> String {
    match cursor {
        None => format!("/Users?cursor&count={count}"),
        Some(c) => format!("/Users?cursor={}&count={count}", urlencode(c)),
    }
}

/// Follows `nextCursor` (pages of up to 1,000, not timed) until `rows` rows are behind;
/// returns the cursor of the row after them.
async fn walk_cursor(cx: &LevelCtx<'_>, rows: usize) -> anyhow::Result<String> {
    let (mut cursor, mut passed) = (None::<String>, 0);
    let started = Instant::now();
    loop {
        let count = (rows - passed).min(1000);
        let v = cx.http.get_json(&cursor_path(cursor.as_deref(), count)).await?;
        passed += items(&v);
        cursor = Some(
            v["nextCursor"]
                .as_str()
                .context("walking cursor pages: no nextCursor")?
                .to_string(),
        );
        if passed >= rows {
            eprintln!(
                "  walked {passed} rows by cursor in {:.1}s",
                started.elapsed().as_secs_f64()
            );
            return cursor.context("no cursor");
        }
    }
}

/// Cursor pages of 100 from `from` (None: the start), following `nextCursor`, in passes
/// until `pages` are timed.
async fn cursor_pages(cx: &LevelCtx<'_>, from: Option<String>, pages: usize) -> anyhow::Result<Stat> {
    let mut acc = Acc::default();
    cx.http.get_json(&cursor_path(from.as_deref(), 100)).await?; // warm-up
    let mut timed = 0;
    let mut cursor = from.clone();
    while timed < pages {
        let v = timed_page(cx, &cursor_path(cursor.as_deref(), 100), &mut acc).await?;
        timed += 1;
        let got = items(&v);
        cursor = match v["nextCursor"].as_str() {
            Some(c) => {
                ensure!(got == 100, "a cursor page with a next page had {got} items");
                Some(c.to_string())
            }
            None if timed == 1 && got == 0 => bail!("cursor paging returned nothing"),
            None => from.clone(),
        };
    }
    Ok(acc.finish(cx.meter))
}

/// PATCHes adding 100 members to a group and removing them again (or, when every user is
/// already a member, removing 100 and adding them back), so its size stays within 100.
async fn group_patches(cx: &LevelCtx<'_>, size: usize, gid: &str, pairs: usize) -> anyhow::Result<(Stat, Stat)> {
    let n = cx.ids.len();
    let outsiders = n - size >= 100;
    let (lo, span) = if outsiders { (size, n - size) } else { (0, size) };
    ensure!(
        span >= 100,
        "a group of {size} in a tenant of {n}: not 100 users to move"
    );
    let mut rng = Rng::new((size as u64) ^ ((n as u64) << 20));
    let (mut add, mut remove, mut warm_up) = (Acc::default(), Acc::default(), Acc::default());
    let path = format!("/Groups/{gid}");
    // The first pair warms up and is not counted.
    for k in 0..=pairs {
        let first = lo + rng.below(span - 99);
        let value: Vec<Value> = cx.ids[first..first + 100]
            .iter()
            .map(|id| json!({"value": id}))
            .collect();
        let body = |op: &str| {
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": op, "path": "members", "value": value}]
            })
            .to_string()
        };
        let order = if outsiders {
            [("add", 0), ("remove", 1)]
        } else {
            [("remove", 1), ("add", 0)]
        };
        for (op, which) in order {
            let acc = match (k, which) {
                (0, _) => &mut warm_up,
                (_, 0) => &mut add,
                _ => &mut remove,
            };
            let before = cx.meter.snap();
            let t = Instant::now();
            let (status, text) = cx.http.send(reqwest::Method::PATCH, &path, Some(body(op))).await?;
            acc.record(t.elapsed());
            let after = cx.meter.snap();
            acc.cpu(cx.meter, &before, &after);
            ensure!(
                status == 200 || status == 204,
                "group {op}: HTTP {status} {}",
                &text[..text.len().min(300)]
            );
        }
    }
    Ok((add.finish(cx.meter), remove.finish(cx.meter)))
}
