//! Scale benchmark: one tenant grown to 10k, 100k and 1M users (seeded straight through the
//! store), measured at each size against a real `scimd serve`: `userName eq` lookups, index
//! pages read in order (from the start, and from 90 % deep), cursor pages (from the start
//! and from 90 %), and PATCHes adding and removing 100 members in groups of 10, 100k and
//! 1M members. Each row has p50/p99 latency and the server's CPU per request (PostgreSQL:
//! also the database's); the last column is the ratio of the largest size to the smallest,
//! whose target is ≤ 2.
//!
//! ```text
//! cargo build --release -p scimd -p scimd-bench
//! ./target/release/scale-bench --database sqlite:///tmp/scale.db
//! ./target/release/scale-bench --database postgres://postgres@127.0.0.1:5432/test
//! ```

#[allow(dead_code)]
#[path = "../../proc_stat.rs"]
mod proc_stat;

mod measure;
mod phases;
mod seed;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::json;

use measure::{Http, Meter, Server, Stat};
use phases::{LevelCtx, Params, size_label};

#[derive(Debug, Parser)]
#[command(about = "Scale benchmark: lookups, index and cursor pages, group PATCHes at 10k–1M users")]
struct Args {
    /// sqlite://PATH (use a fresh file) or postgres://… (by default a scratch schema is
    /// created in that database and dropped at the end)
    #[arg(long)]
    database: String,
    /// For PostgreSQL: use this existing schema instead of a scratch one (never dropped)
    #[arg(long)]
    pg_schema: Option<String>,
    /// Keep the scratch PostgreSQL schema (its URL is printed)
    #[arg(long)]
    keep: bool,
    /// The scimd binary to serve with
    #[arg(long, default_value = "target/release/scimd")]
    scimd: PathBuf,
    /// Tenant sizes to measure at, ascending
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    levels: Vec<usize>,
    /// Group sizes; each group is seeded at the first level that has enough users
    #[arg(long, value_delimiter = ',', default_value = "10,100000,1000000")]
    groups: Vec<usize>,
    /// `userName eq` lookups per level
    #[arg(long, default_value_t = 2000)]
    lookups: usize,
    /// Pages timed per paging row
    #[arg(long, default_value_t = 50)]
    pages: usize,
    /// Add/remove PATCH pairs per group and level
    #[arg(long, default_value_t = 50)]
    patches: usize,
    /// Concurrent lookups
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Creates in flight while seeding
    #[arg(long, default_value_t = 64)]
    seed_concurrency: usize,
    /// A shell command run after each level's seeding, before measuring, with the
    /// database URL in $SCALE_BENCH_DATABASE (e.g. `psql "$SCALE_BENCH_DATABASE" -c ANALYZE`
    /// on a PostgreSQL server whose autovacuum is off)
    #[arg(long)]
    after_seed: Option<String>,
    /// Print one JSON document instead of the table
    #[arg(long)]
    json: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let postgres = args.database.starts_with("postgres://") || args.database.starts_with("postgresql://");
    if postgres && args.pg_schema.is_none() {
        // The scratch-schema helper of scim-store reads its server from this variable. Set
        // before any thread exists.
        // SAFETY: single-threaded here; nothing reads the environment concurrently.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var(scim_store::testing::PG_ENV, &args.database)
        };
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args, postgres))
}

async fn run(args: Args, postgres: bool) -> anyhow::Result<()> {
    if !args.scimd.is_file() {
        bail!(
            "{} not found: cargo build --release -p scimd (or pass --scimd)",
            args.scimd.display()
        );
    }
    let mut levels = args.levels.clone();
    levels.sort_unstable();
    levels.dedup();
    let mut scratch = None;
    let url = match (postgres, &args.pg_schema) {
        (false, _) => args.database.clone(),
        (true, Some(schema)) => {
            let sep = if args.database.contains('?') { '&' } else { '?' };
            format!("{}{sep}options=-csearch_path%3D{schema}", args.database)
        }
        (true, None) => {
            let s = scim_store::testing::PgScratch::new().await.context("scratch schema")?;
            let url = s.url.clone();
            scratch = Some(s);
            url
        }
    };
    let run_id = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    let opts = scim_store::StoreOptions {
        durability: scim_store::Durability::Normal,
        migrate: true,
        lean: false,
    };
    let store = scim_store::open(&url, &opts).await.context("open the database")?;
    let mut seeder = seed::Seeder::new(store, &run_id).await?;
    let server = Server::start(&args.scimd, &url)?;
    let meter = Meter::new(server.pid(), postgres.then(|| pg_port(&args.database)));
    let http = Arc::new(Http::new(
        &server.addr,
        &seeder.tenant_name,
        &seeder.token,
        args.concurrency,
    )?);
    eprintln!(
        "scimd serve (pid {}) on {}, tenant {}",
        server.pid(),
        server.addr,
        seeder.tenant_name
    );
    let params = Params {
        lookups: args.lookups,
        pages: args.pages,
        patches: args.patches,
        concurrency: args.concurrency,
    };

    let mut results: Vec<(usize, Vec<(String, Stat)>)> = Vec::new();
    let mut seeding = Vec::new();
    for &level in &levels {
        let (made, took) = seeder.users_upto(level, args.seed_concurrency).await?;
        let rate = made as f64 / took.as_secs_f64().max(1e-9);
        eprintln!(
            "seeded {made} users to {level} in {:.1}s ({rate:.0}/s)",
            took.as_secs_f64()
        );
        seeding.push(json!({"level": level, "users_created": made, "seconds": took.as_secs_f64(), "per_s": rate}));
        for &size in &args.groups {
            if size <= level && !seeder.groups.iter().any(|(s, _)| *s == size) {
                let took = seeder.group(size).await?;
                eprintln!("seeded a group of {size} members in {:.1}s", took.as_secs_f64());
                seeding.push(json!({"level": level, "group_members": size, "seconds": took.as_secs_f64()}));
            }
        }
        if let Some(cmd) = &args.after_seed {
            let t = std::time::Instant::now();
            let ok = std::process::Command::new("sh")
                .args(["-c", cmd])
                .env("SCALE_BENCH_DATABASE", &url)
                .status()
                .with_context(|| format!("run {cmd:?}"))?;
            anyhow::ensure!(ok.success(), "--after-seed {cmd:?}: {ok}");
            eprintln!("ran --after-seed in {:.1}s", t.elapsed().as_secs_f64());
        }
        eprintln!("measuring at {level} users…");
        let cx = LevelCtx {
            http: http.clone(),
            meter: &meter,
            run: seeder.run(),
            ids: &seeder.ids,
            groups: &seeder.groups,
        };
        let rows = phases::measure(&cx, &params).await?;
        results.push((level, rows));
    }
    drop(server);
    drop(seeder);
    if args.json {
        print_json(&results, &seeding, postgres);
    } else {
        print_table(&results, postgres);
    }
    if let Some(s) = scratch {
        if args.keep {
            eprintln!("kept the scratch schema: {}", s.url);
            std::mem::forget(s);
        } else {
            drop(s);
        }
    }
    Ok(())
}

fn pg_port(url: &str) -> u16 {
    let rest = url.split("://").nth(1).unwrap_or_default();
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    match host.rsplit_once(':') {
        Some((_, p)) if !host.ends_with(']') => p.parse().unwrap_or(5432),
        _ => 5432,
    }
}

type Getter = fn(&Stat) -> Option<f64>;

/// The figures shown per row: (label, getter).
fn stat_lines(postgres: bool) -> Vec<(&'static str, Getter)> {
    let mut v: Vec<(&'static str, Getter)> = vec![
        ("p50 ms", |s| Some(s.p50)),
        ("p99 ms", |s| Some(s.p99)),
        ("server CPU ms/req", |s| Some(s.cpu_ms)),
    ];
    if postgres {
        v.push(("db CPU ms/req", |s| s.db_cpu_ms));
        v.push(("server+db CPU ms/req", |s| s.db_cpu_ms.map(|d| d + s.cpu_ms)));
    }
    v
}

fn row_names(results: &[(usize, Vec<(String, Stat)>)]) -> Vec<String> {
    // The largest size has every row, in measuring order.
    let mut names: Vec<String> = Vec::new();
    for (_, rows) in results.iter().rev() {
        for (name, _) in rows {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}

fn find<'a>(rows: &'a [(String, Stat)], name: &str) -> Option<&'a Stat> {
    rows.iter().find(|(n, _)| n == name).map(|(_, s)| s)
}

/// The last value over the first, across the levels that have the row.
fn ratio(values: &[Option<f64>]) -> Option<f64> {
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    match (present.first(), present.last()) {
        (Some(a), Some(b)) if present.len() > 1 && *a > 0.0 => Some(b / a),
        _ => None,
    }
}

fn print_table(results: &[(usize, Vec<(String, Stat)>)], postgres: bool) {
    let levels: Vec<usize> = results.iter().map(|(l, _)| *l).collect();
    let ratio_head = match (levels.first(), levels.last()) {
        (Some(a), Some(b)) if levels.len() > 1 => format!("{}/{}", size_label(*b), size_label(*a)),
        _ => "ratio".into(),
    };
    print!("{:<54}", "row");
    for l in &levels {
        print!(" {:>10}", size_label(*l));
    }
    println!(" {:>9}", format!("ratio {ratio_head}"));
    for name in row_names(results) {
        for (label, get) in stat_lines(postgres) {
            print!("{:<54}", format!("{name}: {label}"));
            let vals: Vec<Option<f64>> = results
                .iter()
                .map(|(_, rows)| find(rows, &name).and_then(get))
                .collect();
            for v in &vals {
                print!(" {:>10}", v.map_or("-".into(), |v| format!("{v:.3}")));
            }
            match ratio(&vals) {
                Some(r) => println!(" {:>9} {}", format!("{r:.2}"), if r <= 2.0 { "ok" } else { "MISS" }),
                None => println!(" {:>9}", "-"),
            }
        }
    }
    // Group size against group size, at the largest tenant.
    if let Some((level, rows)) = results.last() {
        let groups: Vec<(&str, &Stat)> = rows
            .iter()
            .filter_map(|(n, s)| n.strip_prefix("group of ").map(|n| (n, s)))
            .collect();
        let sizes: Vec<&str> = groups
            .iter()
            .filter_map(|(n, _)| n.split(':').next())
            .fold(Vec::new(), |mut v, s| {
                if !v.contains(&s) {
                    v.push(s);
                }
                v
            });
        if sizes.len() > 1 {
            println!("\ngroup PATCH by group size, at {} users", size_label(*level));
            print!("{:<54}", "row");
            for s in &sizes {
                print!(" {:>10}", format!("{s} memb."));
            }
            println!(" {:>9}", "largest/smallest");
            for op in ["add 100", "remove 100"] {
                for (label, get) in stat_lines(postgres) {
                    print!("{:<54}", format!("{op}: {label}"));
                    let vals: Vec<Option<f64>> = sizes
                        .iter()
                        .map(|s| {
                            groups
                                .iter()
                                .find(|(n, _)| *n == format!("{s}: {op}"))
                                .and_then(|(_, st)| get(st))
                        })
                        .collect();
                    for v in &vals {
                        print!(" {:>10}", v.map_or("-".into(), |v| format!("{v:.3}")));
                    }
                    match ratio(&vals) {
                        Some(r) => println!(" {:>9} {}", format!("{r:.2}"), if r <= 2.0 { "ok" } else { "MISS" }),
                        None => println!(" {:>9}", "-"),
                    }
                }
            }
        }
    }
}

fn print_json(results: &[(usize, Vec<(String, Stat)>)], seeding: &[serde_json::Value], postgres: bool) {
    let levels: Vec<usize> = results.iter().map(|(l, _)| *l).collect();
    let rows: Vec<serde_json::Value> = row_names(results)
        .into_iter()
        .map(|name| {
            let at: Vec<serde_json::Value> = results
                .iter()
                .map(|(level, rows)| match find(rows, &name) {
                    Some(s) => json!({"level": level, "n": s.n, "p50_ms": s.p50, "p99_ms": s.p99,
                        "server_cpu_ms": s.cpu_ms, "db_cpu_ms": s.db_cpu_ms}),
                    None => json!({"level": level}),
                })
                .collect();
            let ratios: serde_json::Map<String, serde_json::Value> = stat_lines(postgres)
                .into_iter()
                .map(|(label, get)| {
                    let vals: Vec<Option<f64>> = results
                        .iter()
                        .map(|(_, rows)| find(rows, &name).and_then(get))
                        .collect();
                    (label.to_string(), json!(ratio(&vals)))
                })
                .collect();
            json!({"row": name, "levels": at, "ratio_last_over_first": ratios})
        })
        .collect();
    let backend = if postgres { "postgres" } else { "sqlite" };
    println!(
        "{}",
        json!({"backend": backend, "levels": levels, "seeding": seeding, "rows": rows})
    );
}
