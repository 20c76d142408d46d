//! `scimd demo`: the one-command tour. It starts a SCIM server in-process on an ephemeral
//! port, creates a tenant, and syncs a bundled sample directory into it with the Hoxhunt
//! mapping: an initial cycle, then an incremental one after some directory changes.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use scim_client::{ClientOptions, ScimClient};
use sync_engine::config::JobConfig;
use sync_engine::cycle::{CycleOptions, Job, Runtime, run_cycle};
use sync_engine::source::MemorySource;
use sync_engine::source::sample::{SAMPLE_ASSIGNED_GROUP, sample_directory};

use crate::sync_cmd::runtime;
use crate::sync_output::{CliProgress, print_report};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Users in the sample directory
    #[arg(long, default_value_t = 300)]
    pub users: usize,
    /// Groups in the sample directory
    #[arg(long, default_value_t = 24)]
    pub groups: usize,
    /// Keep the server running afterwards so you can explore it (Ctrl-C stops)
    #[arg(long)]
    pub keep_running: bool,
    /// Only write the sample directory (Microsoft Graph JSON) to this file and exit
    #[arg(long, value_name = "FILE")]
    pub export_directory: Option<std::path::PathBuf>,
}

/// The demo job: the Hoxhunt attribute table, users assigned through the awareness group.
fn job_toml(url: &str, token: &str) -> String {
    format!(
        r#"
version = 1
[job]
name = "demo"
concurrency = 8
[source]
type = "file"
path = "sample-directory.json"
[target]
url = "{url}"
token = "{token}"
[scope]
mode = "assigned"
groups = ["{SAMPLE_ASSIGNED_GROUP}"]
[safety]
deletion_threshold_percent = 30
{users}{groups}
"#,
        users = sync_engine::presets::HOXHUNT_USER_MAPPINGS,
        groups = sync_engine::presets::GROUP_MAPPINGS,
    )
}

/// Runs one cycle now, with a progress bar unless `quiet`, and prints its summary.
async fn cycle(job: &Job, rt: &Runtime, rng: &mut (dyn FnMut() -> u64 + Send), quiet: bool) -> anyhow::Result<()> {
    let progress = CliProgress::new(quiet);
    let report = run_cycle(
        job,
        rt,
        time::OffsetDateTime::now_utc(),
        CycleOptions::default(),
        &progress,
        rng,
    )
    .await?;
    progress.finish();
    print_report(&report);
    Ok(())
}

pub async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.export_directory {
        let json = sync_sources::file::to_graph_json(&sample_directory(args.users, args.groups, 42));
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", path.display()))?;
        crate::say!(
            "wrote {} users and {} groups to {}",
            args.users,
            args.groups,
            path.display()
        );
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let db = format!("sqlite://{}/demo.db", dir.path().display());
    let db = scim_store::open(&db, &Default::default())
        .await
        .context("opening the demo database")?;
    let store: Arc<dyn scim_core::ports::Store> = db;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = scim_server::ServerConfig::new(&format!("http://{addr}"));
    let out = crate::cli::create_tenant(&store, "demo", &config.public_url).await?;
    let url = out["scim_url"].as_str().unwrap_or_default().to_string();
    let token = out["token"].as_str().unwrap_or_default().to_string();
    let limits = config.limits.clone();
    let app = scim_server::router(store.clone(), config);
    let server = tokio::spawn(async move { scim_server::serve(listener, app, &limits, std::future::pending()).await });
    crate::say!("scimd demo: a SCIM server is running in this process");
    crate::say!("  Tenant URL:   {url}");
    crate::say!("  Secret Token: {token}");

    let cfg = JobConfig::parse(&job_toml(&url, &token))?;
    sync_sources::validate(&cfg)?;
    let job = Job::from_config(cfg, dir.path())?;
    let mut directory = sample_directory(args.users, args.groups, 42);
    let source = Arc::new(MemorySource::new("sample-directory", directory.clone()));
    let state = scim_store::open(
        &format!("sqlite://{}/demo-sync.db", dir.path().display()),
        &Default::default(),
    )
    .await?;
    let client = ScimClient::new(&url, &token, ClientOptions::default())?;
    let rt = runtime(&job, Box::new(source.clone()), state, client)?;
    let users = directory
        .iter()
        .filter(|o| o.kind == sync_engine::model::ObjectKind::User)
        .count();
    crate::say!(
        "\nInitial cycle: {users} users and {} groups in the sample directory; users are assigned through \"{SAMPLE_ASSIGNED_GROUP}\".",
        directory.len() - users
    );
    let mut rng = {
        let mut s = sync_expr::SplitMix64::new(7);
        move || s.next_u64()
    };
    cycle(&job, &rt, &mut rng, false).await?;

    // Some directory changes among assigned users: five department moves, one disabled account.
    let assigned: std::collections::HashSet<String> = directory
        .iter()
        .find(|o| o.attrs.get("displayName").and_then(|v| v.as_str()) == Some(SAMPLE_ASSIGNED_GROUP))
        .map(|g| g.members.iter().cloned().collect())
        .unwrap_or_default();
    let targets = directory
        .iter_mut()
        .filter(|o| o.kind == sync_engine::model::ObjectKind::User && assigned.contains(&o.id) && !o.is_disabled());
    for (i, o) in targets.take(6).enumerate() {
        if i < 5 {
            o.attrs.insert("department".into(), "Customer Success".into());
        } else {
            o.attrs.insert("accountEnabled".into(), false.into());
        }
    }
    source.set(directory);
    crate::say!("\nIncremental cycle after 5 department changes and 1 disabled account:");
    cycle(&job, &rt, &mut rng, false).await?;
    crate::say!("\nA third cycle with no directory change sends nothing:");
    cycle(&job, &rt, &mut rng, true).await?;

    crate::say!("\nTry it:");
    crate::say!("  curl -s -H 'Authorization: Bearer {token}' '{url}/Users?count=2'");
    crate::say!("  curl -s -H 'Authorization: Bearer {token}' '{url}/Groups?excludedAttributes=members'");
    if args.keep_running {
        crate::say!("\nThe server keeps running; Ctrl-C stops it.");
        let _ = tokio::signal::ctrl_c().await;
    }
    server.abort();
    Ok(())
}
