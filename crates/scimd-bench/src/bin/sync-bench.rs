//! Provisioning-engine benchmark: an initial sync of a large generated directory into a
//! running `scimd serve`, then an incremental cycle after 1 % of the users changed.
//!
//! ```text
//! cargo run --release -p scimd-bench --bin sync-bench -- --url http://127.0.0.1:8080/scim/v2/default --token scimd_…
//! ```
//! Prints users/s for the initial cycle, the incremental cycle's duration, and the number
//! of requests each cycle sent (the incremental one must send only the changed objects).

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use scim_client::{ClientOptions, ScimClient};
use sync_engine::config::JobConfig;
use sync_engine::cycle::{CycleOptions, Job, Runtime, run_cycle};
use sync_engine::execute::{ExecConfig, Executor, NoProgress};
use sync_engine::model::ObjectKind;
use sync_engine::source::MemorySource;
use sync_engine::source::sample::sample_directory;

#[derive(Debug, Parser)]
#[command(about = "Initial + incremental sync benchmark against scimd serve")]
struct Args {
    /// Target Tenant URL
    #[arg(long)]
    url: String,
    #[arg(long)]
    token: String,
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    #[arg(long, default_value_t = 1_000)]
    groups: usize,
    /// Share of users changed before the incremental cycle, in percent
    #[arg(long, default_value_t = 1.0)]
    change_percent: f64,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// State database (default: a temporary file)
    #[arg(long)]
    state: Option<String>,
}

fn job_toml(url: &str, token: &str, concurrency: usize) -> String {
    format!(
        r#"
version = 1
[job]
name = "sync-bench"
concurrency = {concurrency}
[source]
type = "file"
path = "generated.json"
[target]
url = "{url}"
token = "{token}"
[scope]
mode = "all"
{users}{groups}
"#,
        users = sync_engine::presets::HOXHUNT_USER_MAPPINGS,
        groups = sync_engine::presets::GROUP_MAPPINGS,
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let state_url = args
        .state
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}/sync-bench-state.db", dir.path().display()));
    let cfg = JobConfig::parse(&job_toml(&args.url, &args.token, args.concurrency))?;
    let job = Job::from_config(cfg, dir.path())?;

    let t = Instant::now();
    let mut directory = sample_directory(args.users, args.groups, 2026);
    // A unique suffix per run, so repeated runs against one server do not collide.
    let run = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs()
    );
    for o in directory.iter_mut() {
        match o.kind {
            ObjectKind::User => {
                for k in ["userPrincipalName", "mail"] {
                    if let Some(v) = o.attrs.get(k).and_then(|v| v.as_str()) {
                        let v = v.replacen('@', &format!(".{run}@"), 1);
                        o.attrs.insert(k.into(), v.into());
                    }
                }
            }
            ObjectKind::Group => {
                if let Some(v) = o.attrs.get("displayName").and_then(|v| v.as_str()) {
                    let v = format!("{v} {run}");
                    o.attrs.insert("displayName".into(), v.into());
                }
            }
        }
    }
    let users = directory.iter().filter(|o| o.kind == ObjectKind::User).count();
    let groups = directory.len() - users;
    println!(
        "generated {users} users and {groups} groups in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let source = Arc::new(MemorySource::new("generated", directory.clone()));
    let client = ScimClient::new(&args.url, &args.token, ClientOptions::default())?;
    let lean = scim_store::StoreOptions {
        lean: true,
        ..Default::default()
    };
    let state = scim_store::open(&state_url, &lean).await.context("state database")?;
    let rt = Runtime {
        source: Box::new(source.clone()),
        executor: Arc::new(Executor {
            client,
            cfg: ExecConfig {
                concurrency: args.concurrency,
                ..Default::default()
            },
        }),
        state,
        notify: Default::default(),
        policy: Default::default(),
        stop: Default::default(),
        worker: sync_engine::lease::worker_id(),
    };
    let mut rng = {
        let mut s = sync_expr::SplitMix64::new(1);
        move || s.next_u64()
    };

    let t = Instant::now();
    let initial = run_cycle(
        &job,
        &rt,
        time::OffsetDateTime::now_utc(),
        CycleOptions::default(),
        &NoProgress,
        &mut rng,
    )
    .await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "initial cycle: {} users + {} groups in {secs:.1} s = {:.0} users/s; {} requests, {} failed, {} throttled",
        initial.counts.create.min(users),
        groups,
        users as f64 / secs,
        initial.requests,
        initial.applied.failure,
        initial.throttled
    );
    if initial.applied.failure > 0 {
        bail!("the initial cycle had failures");
    }

    // Change 1 % of the users (department), then run an incremental cycle.
    let step = (100.0 / args.change_percent).round().max(1.0) as usize;
    let mut changed = 0;
    let mut changed_in_scope = 0;
    for (i, o) in directory.iter_mut().filter(|o| o.kind == ObjectKind::User).enumerate() {
        if i % step == 0 {
            o.attrs.insert("department".into(), format!("Moved {i}").into());
            changed += 1;
            // Disabled users are out of scope: their change is rightly not sent.
            if !o.is_disabled() {
                changed_in_scope += 1;
            }
        }
    }
    source.set(directory);
    let t = Instant::now();
    let inc = run_cycle(
        &job,
        &rt,
        time::OffsetDateTime::now_utc(),
        CycleOptions::default(),
        &NoProgress,
        &mut rng,
    )
    .await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "incremental cycle: {changed} users changed ({changed_in_scope} in scope); {secs:.2} s; planned {} updates, sent {} requests ({} unchanged objects skipped)",
        inc.counts.update, inc.requests, inc.counts.unchanged
    );
    if inc.requests as usize != changed_in_scope {
        bail!(
            "the incremental cycle sent {} requests for {changed_in_scope} changed in-scope users",
            inc.requests
        );
    }
    Ok(())
}
