//! Load benchmark for `scimd serve`, in the request shapes Entra ID sends.
//!
//! For each phase it prints throughput, latency percentiles and the **server's CPU time per
//! request**, read from `/proc/PID/stat` before and after the phase. CPU per request is the
//! figure that holds on a small, noisy machine where this load generator shares the cores.
//!
//! ```text
//! cargo run --release -p scimd-bench -- --url http://127.0.0.1:8080/scim/v2/default --token scimd_…
//! ```

mod proc_stat;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(about = "Load benchmark for scimd serve: req/s, p50/p99 and server CPU per request")]
struct Args {
    /// Tenant SCIM base URL (the Tenant URL); give it once per replica to spread the load
    /// over several servers on one database (requests go round-robin)
    #[arg(long, required = true)]
    url: Vec<String>,
    /// Secret token of the tenant
    #[arg(long)]
    token: String,
    /// Server process ids (default: the processes listening on the URLs' ports)
    #[arg(long)]
    pid: Vec<u32>,
    /// Also count the CPU of the database's processes with this command name (`postgres`)
    #[arg(long)]
    db_process: Option<String>,
    /// Concurrent connections
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Users to create (also the size of the group filled by the group-add phase)
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Requests in the lookup, PATCH and group-GET phases
    #[arg(long, default_value_t = 10_000)]
    requests: usize,
    /// Requests in the list phase (100 users per page)
    #[arg(long, default_value_t = 500)]
    pages: usize,
    /// Members added per group PATCH
    #[arg(long, default_value_t = 100)]
    members_per_patch: usize,
    /// Users put into the group by the group-add phase (default: all of them). Deleting a
    /// user bumps the version of every group it is in, so this shapes the delete phase too.
    #[arg(long)]
    group_members: Option<usize>,
    /// Print one JSON object per phase instead of the table
    #[arg(long)]
    json: bool,
}

/// Targets from the issue, in milliseconds of server CPU per request.
const TARGETS: &[(&str, f64)] = &[
    ("create", 0.2),
    ("lookup", 0.1),
    ("patch", 0.3),
    ("list-page", 5.0),
    ("group-add", 5.0),
    ("group-get", 0.1),
    ("delete", 0.1),
];

struct Ctx {
    client: reqwest::Client,
    bases: Vec<String>,
    next_base: AtomicUsize,
    auth: String,
    run: String,
}

#[derive(Debug)]
struct PhaseResult {
    name: &'static str,
    requests: usize,
    errors: usize,
    wall: Duration,
    latencies_us: Vec<u64>,
    cpu_ms: Option<f64>,
    db_cpu_ms: Option<f64>,
}

impl PhaseResult {
    fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bases: Vec<String> = args.url.iter().map(|u| u.trim_end_matches('/').to_string()).collect();
    let pids: Vec<u32> = if args.pid.is_empty() {
        bases.iter().filter_map(|b| proc_stat::pid_listening_on(b)).collect()
    } else {
        args.pid.clone()
    };
    if pids.len() < bases.len() {
        eprintln!("note: not every server process was found; pass --pid to get CPU per request");
    }
    let probe_cpu = Cpu {
        pids: pids.clone(),
        db: args.db_process.clone(),
    };
    let pid = &probe_cpu;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency * 2)
        .timeout(Duration::from_secs(60))
        .build()?;
    let ctx = Arc::new(Ctx {
        client,
        auth: format!("Bearer {}", args.token),
        bases,
        next_base: AtomicUsize::new(0),
        run: format!(
            "{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_millis()
        ),
    });

    // Test Connection first: fails fast on a wrong URL or token.
    let probe = ctx
        .client
        .get(format!(
            "{}/Users?filter={}",
            ctx.bases[0],
            urlencode("userName eq \"00000000-0000-0000-0000-000000000000\"")
        ))
        .header("authorization", &ctx.auth)
        .send()
        .await
        .context("Test Connection request")?;
    if probe.status() != 200 {
        bail!("Test Connection failed: HTTP {}", probe.status());
    }

    let n = args.users;
    let c = args.concurrency;
    let mut results = Vec::new();
    let run_cpu_before = (pid.server(), pid.database());

    let ids: Arc<Vec<std::sync::OnceLock<String>>> = Arc::new((0..n).map(|_| std::sync::OnceLock::new()).collect());
    let r = phase("create", pid, n, c, {
        let ctx = ctx.clone();
        let ids = ids.clone();
        move |i| {
            let ctx = ctx.clone();
            let ids = ids.clone();
            async move {
                let body = user_body(&ctx.run, i);
                let resp = send(&ctx, reqwest::Method::POST, "/Users", Some(body)).await?;
                if resp.0 != 201 {
                    bail!("create: HTTP {}", resp.0);
                }
                let v: Value = serde_json::from_str(&resp.1)?;
                let _ = ids[i].set(v["id"].as_str().unwrap_or_default().to_string());
                Ok(())
            }
        }
    })
    .await;
    results.push(r);
    let ids: Arc<Vec<String>> = Arc::new(ids.iter().map(|o| o.get().cloned().unwrap_or_default()).collect());
    if ids.iter().any(String::is_empty) {
        bail!("some creates failed; stopping");
    }

    let reqs = args.requests;
    results.push(
        phase("lookup", pid, reqs, c, {
            let ctx = ctx.clone();
            move |i| {
                let ctx = ctx.clone();
                async move {
                    let name = user_name(&ctx.run, (i * 7919) % n);
                    let path = format!("/Users?filter={}", urlencode(&format!("userName eq \"{name}\"")));
                    let resp = send(&ctx, reqwest::Method::GET, &path, None).await?;
                    if resp.0 != 200 || !resp.1.contains("\"totalResults\":1") {
                        bail!("lookup: HTTP {} {}", resp.0, &resp.1[..resp.1.len().min(200)]);
                    }
                    Ok(())
                }
            }
        })
        .await,
    );

    results.push(
        phase("patch", pid, reqs, c, {
            let ctx = ctx.clone();
            let ids = ids.clone();
            move |i| {
                let ctx = ctx.clone();
                let id = ids[(i * 104_729) % n].clone();
                async move {
                    let body = entra_patch(i);
                    let resp = send(&ctx, reqwest::Method::PATCH, &format!("/Users/{id}"), Some(body)).await?;
                    if resp.0 != 200 {
                        bail!("patch: HTTP {}", resp.0);
                    }
                    Ok(())
                }
            }
        })
        .await,
    );

    let max_start = n.saturating_sub(100).max(1);
    results.push(
        phase("list-page", pid, args.pages, c, {
            let ctx = ctx.clone();
            move |i| {
                let ctx = ctx.clone();
                async move {
                    let start = 1 + (i * 997) % max_start;
                    let resp = send(
                        &ctx,
                        reqwest::Method::GET,
                        &format!("/Users?startIndex={start}&count=100"),
                        None,
                    )
                    .await?;
                    if resp.0 != 200 || !resp.1.contains("\"itemsPerPage\":100") {
                        bail!("list: HTTP {}", resp.0);
                    }
                    Ok(())
                }
            }
        })
        .await,
    );

    // One group, filled to `users` members, `members_per_patch` per PATCH.
    let g = send(
        &ctx,
        reqwest::Method::POST,
        "/Groups",
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": format!("bench-{}", ctx.run)}).to_string()),
    )
    .await?;
    if g.0 != 201 {
        bail!("group create: HTTP {} {}", g.0, g.1);
    }
    let gid = serde_json::from_str::<Value>(&g.1)?["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let per = args.members_per_patch.max(1);
    let in_group = args.group_members.unwrap_or(n).min(n);
    let batches = in_group.div_ceil(per);
    results.push(
        phase("group-add", pid, batches, c, {
            let ctx = ctx.clone();
            let ids = ids.clone();
            let gid = gid.clone();
            move |i| {
                let ctx = ctx.clone();
                let members: Vec<Value> = ids[i * per..((i + 1) * per).min(in_group)]
                    .iter()
                    .map(|id| json!({"value": id}))
                    .collect();
                let path = format!("/Groups/{gid}");
                async move {
                    let body = json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "Add", "path": "members", "value": members}]
                    });
                    let resp = send(&ctx, reqwest::Method::PATCH, &path, Some(body.to_string())).await?;
                    if resp.0 != 200 && resp.0 != 204 {
                        bail!("group add: HTTP {}", resp.0);
                    }
                    Ok(())
                }
            }
        })
        .await,
    );

    results.push(
        phase("group-get", pid, reqs, c, {
            let ctx = ctx.clone();
            let path = format!("/Groups/{gid}?excludedAttributes=members");
            move |_| {
                let ctx = ctx.clone();
                let path = path.clone();
                async move {
                    let resp = send(&ctx, reqwest::Method::GET, &path, None).await?;
                    if resp.0 != 200 {
                        bail!("group get: HTTP {}", resp.0);
                    }
                    Ok(())
                }
            }
        })
        .await,
    );

    results.push(
        phase("delete", pid, n, c, {
            let ctx = ctx.clone();
            let ids = ids.clone();
            move |i| {
                let ctx = ctx.clone();
                let id = ids[i].clone();
                async move {
                    let resp = send(&ctx, reqwest::Method::DELETE, &format!("/Users/{id}"), None).await?;
                    if resp.0 != 204 {
                        bail!("delete: HTTP {}", resp.0);
                    }
                    Ok(())
                }
            }
        })
        .await,
    );
    let _ = send(&ctx, reqwest::Method::DELETE, &format!("/Groups/{gid}"), None).await;

    let total = settled_total(pid, run_cpu_before, &results).await;
    report(&results, args.json, c);
    report_total(total, args.json);
    if results.iter().any(|r| r.errors > 0) {
        bail!("some requests failed");
    }
    Ok(())
}

async fn send(ctx: &Ctx, method: reqwest::Method, path: &str, body: Option<String>) -> anyhow::Result<(u16, String)> {
    let mut rb = ctx
        .client
        .request(method, format!("{}{path}", ctx.base()))
        .header("authorization", &ctx.auth);
    if let Some(b) = body {
        rb = rb.header("content-type", "application/scim+json").body(b);
    }
    let resp = rb.send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.text().await?))
}

/// Runs `total` requests at `concurrency`, each built by `make(i)`.
async fn phase<F, Fut>(name: &'static str, cpu: &Cpu, total: usize, concurrency: usize, make: F) -> PhaseResult
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = cpu.server();
    let db_before = cpu.database();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let make = make.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                match make(i).await {
                    Ok(()) => lat.push(t.elapsed().as_micros() as u64),
                    Err(e) => {
                        if errors < 3 {
                            eprintln!("{name}: {e:#}");
                        }
                        errors += 1;
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut latencies_us = Vec::with_capacity(total);
    let mut errors = 0;
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            latencies_us.extend(lat);
            errors += e;
        }
    }
    let wall = started.elapsed();
    let per_request = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if total > 0 => Some((b - a) * 1000.0 / total as f64),
        _ => None,
    };
    let cpu_ms = per_request(cpu_before, cpu.server());
    let db_cpu_ms = per_request(db_before, cpu.database());
    latencies_us.sort_unstable();
    PhaseResult {
        name,
        requests: total,
        errors,
        wall,
        latencies_us,
        cpu_ms,
        db_cpu_ms,
    }
}

impl Ctx {
    /// The next server, round-robin.
    fn base(&self) -> &str {
        &self.bases[self.next_base.fetch_add(1, Ordering::Relaxed) % self.bases.len()]
    }
}

/// Whose CPU a phase counts: the servers, and optionally the database's processes.
struct Cpu {
    pids: Vec<u32>,
    db: Option<String>,
}

impl Cpu {
    fn server(&self) -> Option<f64> {
        if self.pids.is_empty() {
            return None;
        }
        self.pids.iter().map(|p| proc_stat::cpu_seconds(*p)).sum()
    }

    /// CPU seconds of every live process named `db` (exited backends are not counted, so
    /// the pool's long-lived connections are what this measures).
    fn database(&self) -> Option<f64> {
        let name = self.db.as_deref()?;
        let mut total = 0.0;
        for e in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == name {
                total += proc_stat::cpu_seconds(pid).unwrap_or(0.0);
            }
        }
        Some(total)
    }
}

/// Server CPU per request over the whole run, counted once the server has gone quiet.
/// Work a server does after answering (the request log is written in the background) is
/// billed to whichever phase is running then; this figure bills it to the run.
async fn settled_total(cpu: &Cpu, before: (Option<f64>, Option<f64>), results: &[PhaseResult]) -> Option<Total> {
    let (before, db_before) = (before.0?, before.1);
    let mut last = cpu.server()?;
    // Quiet: two 250 ms windows in a row with under 2 ms of CPU; at most 10 s.
    let mut quiet = 0;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = cpu.server()?;
        quiet = if now - last < 0.002 { quiet + 1 } else { 0 };
        last = now;
        if quiet == 2 {
            break;
        }
    }
    let requests: usize = results.iter().map(|r| r.requests).sum();
    let per = |cpu: f64| cpu * 1000.0 / requests as f64;
    let db = db_before.zip(cpu.database()).map(|(a, b)| per(b - a));
    (requests > 0).then(|| Total {
        requests,
        cpu_ms: per(last - before),
        db_cpu_ms: db,
    })
}

struct Total {
    requests: usize,
    cpu_ms: f64,
    db_cpu_ms: Option<f64>,
}

fn report_total(total: Option<Total>, json: bool) {
    let Some(t) = total else { return };
    if json {
        println!(
            "{}",
            json!({"phase": "all", "requests": t.requests, "server_cpu_ms_per_req": t.cpu_ms, "db_cpu_ms_per_req": t.db_cpu_ms})
        );
    } else {
        let db = t.db_cpu_ms.map_or(String::new(), |c| format!("{c:.3}"));
        println!(
            "{:<10} {:>8} {:>54.3} {:>22}   (whole run, once the server is quiet)",
            "all", t.requests, t.cpu_ms, db
        );
    }
}

fn report(results: &[PhaseResult], json: bool, concurrency: usize) {
    if !json {
        println!(
            "{:<10} {:>8} {:>6} {:>9} {:>8} {:>8} {:>14} {:>9} {:>10}",
            "phase", "requests", "errors", "req/s", "p50 ms", "p99 ms", "server CPU ms", "target", "db CPU ms"
        );
    }
    for r in results {
        let rps = r.requests as f64 / r.wall.as_secs_f64().max(1e-9);
        let target = TARGETS.iter().find(|(n, _)| *n == r.name).map(|(_, t)| *t);
        if json {
            println!(
                "{}",
                json!({
                    "phase": r.name, "requests": r.requests, "errors": r.errors, "concurrency": concurrency,
                    "req_per_s": rps, "p50_ms": r.pct(0.5), "p99_ms": r.pct(0.99),
                    "server_cpu_ms_per_req": r.cpu_ms, "target_cpu_ms": target, "db_cpu_ms_per_req": r.db_cpu_ms,
                })
            );
        } else {
            let cpu = r.cpu_ms.map_or("n/a".to_string(), |c| format!("{c:.3}"));
            let mark = match (r.cpu_ms, target) {
                (Some(c), Some(t)) if c <= t => "ok",
                (Some(_), Some(_)) => "MISS",
                _ => "",
            };
            let db = r.db_cpu_ms.map_or(String::new(), |c| format!("{c:.3}"));
            println!(
                "{:<10} {:>8} {:>6} {:>9.0} {:>8.2} {:>8.2} {:>14} {:>6} {:<4} {:>10}",
                r.name,
                r.requests,
                r.errors,
                rps,
                r.pct(0.5),
                r.pct(0.99),
                cpu,
                target.map_or(String::new(), |t| format!("≤{t}")),
                mark,
                db
            );
        }
    }
}

fn user_name(run: &str, i: usize) -> String {
    format!("bench{i}-{run}@contoso.example")
}

/// A user in Entra's create shape with the Hoxhunt attribute set.
fn user_body(run: &str, i: usize) -> String {
    let name = user_name(run, i);
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": format!("bench{i}-{run}"),
        "userName": name,
        "active": "True",
        "displayName": format!("Bench User {i}"),
        "emails": [{"primary": true, "type": "work", "value": name}],
        "name": {"formatted": format!("Bench User {i}"), "familyName": "User", "givenName": format!("Bench{i}")},
        "addresses": [{"type": "work", "country": "FI", "locality": "Helsinki"}],
        "preferredLanguage": "fi-FI",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales", "division": "EMEA"},
        "meta": {"resourceType": "User"},
        "roles": []
    })
    .to_string()
}

/// Entra's default (legacy) PATCH shape: capitalised ops, one attribute each.
fn entra_patch(i: usize) -> String {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "displayName", "value": format!("Patched {i}")},
            {"op": "Replace", "path": "name.familyName", "value": format!("Family{i}")},
            {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": format!("Dept{}", i % 17)},
            {"op": "Replace", "path": "active", "value": if i.is_multiple_of(2) { "False" } else { "True" }}
        ]
    })
    .to_string()
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
