//! `scimd sync …`: the provisioning engine's commands.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;
use scim_client::{ClientOptions, ScimClient};
use scim_core::ports::sync::{ClearScope, JobStatus, LogQuery, SyncStateStore};
use serde_json::json;
use sync_engine::config::JobConfig;
use sync_engine::cycle::{CycleOptions, CycleReport, CycleResult, Job, Runtime, run_cycle};
use sync_engine::execute::{ExecConfig, Executor};
use sync_engine::source::{Source, SourceCatalog};
use sync_sources::Catalog;

use crate::exit::{Exit, NEEDS_ADMIN, OBJECTS_FAILED, code_of};
use crate::output::write_lines;
use crate::sync_jobs_cmd::{LEASE_DEFAULT, with_lease};
use crate::sync_output::{CliProgress, log_line, print_plan, print_report};

#[derive(Debug, Subcommand)]
pub enum SyncCmd {
    /// Check a job file: syntax, mappings, expressions, scope, secrets
    Validate { job: PathBuf },
    /// Entra's Test Connection against the job's target, plus a capability report
    TestConnection { job: PathBuf },
    /// Dry run: what the next cycle would do, object by object; changes nothing
    Plan {
        job: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Run cycles: an initial one, then incremental ones on the job's interval
    Run {
        job: PathBuf,
        /// Run one cycle and exit
        #[arg(long)]
        once: bool,
        /// Let this run exceed the deletion threshold
        #[arg(long)]
        allow_deletes: bool,
        /// Run even while quarantine back-off says wait
        #[arg(long)]
        force: bool,
        /// Read the whole source even when an incremental (watermark) read is possible
        #[arg(long)]
        full: bool,
        /// How long the job's lease holds without renewal (how soon another process may
        /// take over the job if this one dies)
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        lease_ttl: std::time::Duration,
    },
    /// Provision one user now, with the step trace (import, scope, match, action)
    Provision {
        job: PathBuf,
        /// The user's source id
        #[arg(long)]
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Job status: last cycle, quarantine, escrows
    Status {
        job: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The provisioning log
    Logs {
        job: Option<PathBuf>,
        /// Job name (when no job file is given)
        #[arg(long = "job")]
        job_name: Option<String>,
        #[arg(long)]
        cycle: Option<String>,
        /// success, failure, skipped, warning
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 200)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Run every job file in a folder on its interval, sharing the jobs with other processes
    /// on the same state database
    Serve(crate::sync_serve::ServeArgs),
    /// Provisioning Status Off: the job's cycles stop (a running one finishes)
    Stop { job: PathBuf },
    /// Provisioning Status On
    Start { job: PathBuf },
    /// The job's cycles, newest first: kind, times, worker, outcome, actions by status
    History {
        job: PathBuf,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Clear state, escrows or quarantine
    Restart {
        job: PathBuf,
        /// Forget links and watermark: the next cycle is an initial one
        #[arg(long)]
        clear_state: bool,
        #[arg(long)]
        clear_escrow: bool,
        #[arg(long)]
        lift_quarantine: bool,
    },
    /// Convert an Entra provisioning schema (Graph's synchronizationSchema JSON) to a job file
    ImportEntra(crate::import_cmd::ImportArgs),
}

pub const DEFAULT_STATE_DB: &str = "scimd-sync.db";

/// A cycle's exit: its result's code, with a line that says what to do.
fn cycle_exit(report: &CycleReport) -> Result<(), Exit> {
    let code = code_of(report.result);
    if code == 0 {
        return Ok(());
    }
    let what = match report.result {
        CycleResult::PartiallyFailed => format!(
            "{} object action(s) failed and are escrowed; see `scimd sync logs JOB --status failure`",
            report.applied.failure
        ),
        CycleResult::DeletionsHeld => format!(
            "{} deletions/disables held back by the deletion threshold; check the source, then run with --allow-deletes",
            report.staged
        ),
        _ => format!(
            "cycle {}: {}",
            report.result.as_str(),
            report
                .quarantine
                .clone()
                .or(report.skipped_reason.clone())
                .unwrap_or_default()
        ),
    };
    Err(Exit::new(code, what))
}

/// `sync plan`: failing objects, or a job that cannot run, show in the exit code.
fn plan_exit(plan: &sync_engine::plan::Plan, status: &JobStatus) -> Result<(), Exit> {
    quarantine_exit(status)?;
    if plan.counts.failed > 0 {
        return Err(Exit::new(
            OBJECTS_FAILED,
            format!("{} object(s) would fail; see the lines marked x", plan.counts.failed),
        ));
    }
    Ok(())
}

fn quarantine_exit(status: &JobStatus) -> Result<(), Exit> {
    if status.disabled {
        return Err(Exit::new(
            NEEDS_ADMIN,
            "the job is disabled after four weeks in quarantine",
        ));
    }
    if let Some(r) = &status.quarantine_reason {
        return Err(Exit::new(NEEDS_ADMIN, format!("the job is quarantined ({r})")));
    }
    Ok(())
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

pub(crate) fn rng() -> impl FnMut() -> u64 + Send {
    use rand::{RngCore, SeedableRng};
    let mut r = rand::rngs::StdRng::from_os_rng();
    move || r.next_u64()
}

/// The state database: the job's `[state] database`, else `scimd-sync.db` beside the job.
pub(crate) fn state_url(cfg: Option<&JobConfig>, dir: &Path, global: Option<&str>) -> String {
    if let Some(db) = cfg.and_then(|c| c.state.database.clone()) {
        return db;
    }
    if let Some(g) = global {
        return g.to_string();
    }
    format!("sqlite://{}", dir.join(DEFAULT_STATE_DB).display())
}

pub(crate) async fn open_state(url: &str) -> anyhow::Result<Arc<dyn SyncStateStore>> {
    let opts = scim_store::StoreOptions {
        lean: true,
        ..Default::default()
    };
    let db = scim_store::open(url, &opts)
        .await
        .with_context(|| format!("opening state database {url}"))?;
    Ok(db)
}

pub fn load_job(path: &Path) -> anyhow::Result<Job> {
    let cfg = JobConfig::load(path)?;
    let warnings = sync_sources::validate(&cfg)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok(Job::from_config(cfg, &dir)?)
}

pub(crate) fn target_client(job: &Job) -> anyhow::Result<ScimClient> {
    let creds = job.cfg.target.secret.credentials("target", &job.dir)?;
    let mut opts = ClientOptions::default();
    if let Some(t) = &job.cfg.target.timeout {
        opts.timeout = sync_engine::config::duration("target.timeout", t)?;
    }
    Ok(ScimClient::with_credentials(&job.cfg.target.url, creds, opts)?)
}

pub(crate) fn source_of(job: &Job) -> anyhow::Result<Box<dyn Source>> {
    Ok(Catalog.open(&job.cfg, &job.dir)?)
}

pub fn runtime(
    job: &Job,
    source: Box<dyn Source>,
    state: Arc<dyn SyncStateStore>,
    client: ScimClient,
) -> anyhow::Result<Runtime> {
    Ok(Runtime {
        source,
        executor: Arc::new(Executor {
            client,
            cfg: ExecConfig {
                concurrency: job.cfg.job.concurrency,
                chunk: job.cfg.job.chunk_size.unwrap_or(sync_engine::execute::DEFAULT_CHUNK),
                ..Default::default()
            },
        }),
        state,
        notify: sync_engine::notify::Notifier::from_config(&job.cfg.notify, &job.dir)?,
        policy: Default::default(),
        stop: Default::default(),
        worker: sync_engine::lease::worker_id(),
    })
}

/// `sync validate`: the job file's own checks, then what this machine must provide (secrets,
/// the source file, the attributes the mappings name).
async fn validate(path: &Path) -> anyhow::Result<()> {
    let cfg = JobConfig::load(path)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let warnings = sync_sources::validate(&cfg)?;
    let problems = sync_engine::validate::check_environment(&cfg, &dir, &Catalog).await;
    for w in &warnings {
        crate::say!("warning: {w}");
    }
    match problems.as_slice() {
        [] => {}
        [one] => bail!("{one}"),
        many => bail!(
            "{} problems:\n{}",
            many.len(),
            many.iter().map(|p| format!("- {p}")).collect::<Vec<_>>().join("\n")
        ),
    }
    Job::from_config(cfg, &dir)?;
    crate::say!("{}: valid", path.display());
    Ok(())
}

/// A stored progress snapshot as `sync status` prints it: `: objects 1200/5000, 240/s, eta 16 s`.
fn progress_text(p: &serde_json::Value) -> String {
    if p.is_null() {
        return String::new();
    }
    let eta = p["eta_seconds"]
        .as_u64()
        .map(|s| format!(", eta {s} s"))
        .unwrap_or_default();
    format!(
        ": {} {}/{}, {}/s{eta}",
        p["pass"].as_str().unwrap_or_default(),
        p["processed"],
        p["total"],
        p["rate"]
    )
}

/// A job file's config and its state database (no secrets needed).
async fn job_state(path: &Path, global_db: Option<&str>) -> anyhow::Result<(JobConfig, Arc<dyn SyncStateStore>)> {
    let cfg = JobConfig::load(path)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let state = open_state(&state_url(Some(&cfg), &dir, global_db)).await?;
    Ok((cfg, state))
}

pub async fn run(cmd: SyncCmd, global_db: Option<&str>) -> anyhow::Result<()> {
    match cmd {
        SyncCmd::Validate { job } => validate(&job).await?,
        SyncCmd::ImportEntra(args) => crate::import_cmd::run(&args)?,
        SyncCmd::TestConnection { job } => {
            let job = load_job(&job)?;
            let client = target_client(&job)?;
            let guid = uuid::Uuid::new_v4().to_string();
            let r = client.test_connection_with(&job.probes(), &guid).await?;
            for p in &r.probes {
                crate::say!("probe: {} → HTTP {}", p.request, p.status);
                crate::say!("  {}", p.detail);
            }
            let yn = |b: Option<bool>| b.map_or("unknown", |b| if b { "yes" } else { "no" });
            crate::say!(
                "capabilities: patch {}, bulk {}, filter {} (max results {}), sort {}, etag {}, auth {}",
                yn(r.patch),
                yn(r.bulk),
                yn(r.filter),
                r.max_results.map_or("?".into(), |n| n.to_string()),
                yn(r.sort),
                yn(r.etag),
                if r.auth_schemes.is_empty() {
                    "?".into()
                } else {
                    r.auth_schemes.join(", ")
                }
            );
            if let Some(e) = r.spc_error {
                crate::say!("  /ServiceProviderConfig: {e}");
            }
            if !r.probe_ok {
                bail!("Test Connection failed");
            }
            crate::say!("Test Connection succeeded");
        }
        SyncCmd::Plan { job, json } => {
            let job = load_job(&job)?;
            let state = open_state(&state_url(Some(&job.cfg), &job.dir, global_db)).await?;
            let rt = runtime(&job, source_of(&job)?, state, target_client(&job)?)?;
            let mut r = rng();
            let (plan, status) = sync_engine::cycle::plan_cycle(&job, &rt, now(), &mut r)
                .await
                .map_err(|e| Exit::new(NEEDS_ADMIN, format!("planning failed [{}]: {e}", e.code())))?;
            print_plan(&plan, json);
            plan_exit(&plan, &status)?;
        }
        SyncCmd::Run {
            job,
            once,
            allow_deletes,
            force,
            full,
            lease_ttl,
        } => {
            let job = load_job(&job)?;
            let state = open_state(&state_url(Some(&job.cfg), &job.dir, global_db)).await?;
            let rt = runtime(&job, source_of(&job)?, state.clone(), target_client(&job)?)?;
            let interval = sync_engine::config::duration("job.interval", &job.cfg.job.interval)?;
            // The first Ctrl-C or SIGTERM ends the cycle after its chunk in flight; the second
            // ends the process at once.
            let stop = rt.stop.clone();
            tokio::spawn(async move {
                crate::sync_serve::shutdown_signal().await;
                eprintln!("stopping after the chunk in flight (again to stop at once)");
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                crate::sync_serve::shutdown_signal().await;
                std::process::exit(crate::exit::INTERRUPTED.into());
            });
            loop {
                let progress = Arc::new(CliProgress::new(false));
                let mut r = rng();
                let opts = CycleOptions {
                    force,
                    allow_deletes,
                    full,
                    ..Default::default()
                };
                let tracker = sync_engine::progress::Tracker::new(progress.clone());
                let result = with_lease(&state, job.name(), lease_ttl, async {
                    let stored = sync_engine::progress::store(state.clone(), job.name(), tracker.clone());
                    let r = run_cycle(&job, &rt, now(), opts, tracker.as_ref(), &mut r).await;
                    stored.finish().await;
                    r
                })
                .await?;
                progress.finish();
                let exit = match result {
                    Ok(report) => {
                        print_report(&report);
                        cycle_exit(&report)
                    }
                    Err(e) => Err(Exit::new(NEEDS_ADMIN, format!("cycle failed [{}]: {e}", e.code()))),
                };
                if once {
                    return exit.map_err(Into::into);
                }
                if let Err(e) = exit {
                    eprintln!("{e}");
                }
                if rt.stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let deadline = tokio::time::Instant::now() + interval;
                while tokio::time::Instant::now() < deadline && !rt.stop.load(std::sync::atomic::Ordering::Relaxed) {
                    tokio::time::sleep(std::time::Duration::from_millis(250).min(interval)).await;
                }
                if rt.stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
            }
        }
        SyncCmd::Provision { job, user, json } => {
            let job = load_job(&job)?;
            let state = open_state(&state_url(Some(&job.cfg), &job.dir, global_db)).await?;
            let rt = runtime(&job, source_of(&job)?, state.clone(), target_client(&job)?)?;
            let mut r = rng();
            let trace = with_lease(
                &state,
                job.name(),
                LEASE_DEFAULT,
                sync_engine::ondemand::provision(&job, &rt, &user, now(), &mut r),
            )
            .await?
            .map_err(|e| Exit::new(NEEDS_ADMIN, format!("provisioning failed [{}]: {e}", e.code())))?;
            if json {
                crate::say!("{}", serde_json::to_string(&trace)?);
            } else {
                for s in &trace.steps {
                    crate::say!("[{}] {}: {}", s.status, s.name, s.detail);
                }
                crate::say!("result: {} {}", trace.action, trace.status);
            }
            if trace.status == "Failure" {
                return Err(Exit::new(OBJECTS_FAILED, format!("{} {} failed", trace.action, trace.user)).into());
            }
            quarantine_exit(&state.status(job.name()).await?)?;
        }
        SyncCmd::Status { job, json } => {
            let (url, only) = match &job {
                Some(p) => {
                    let cfg = JobConfig::load(p)?;
                    let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
                    (state_url(Some(&cfg), &dir, global_db), Some(cfg.job.name.clone()))
                }
                None => (state_url(None, Path::new("."), global_db), None),
            };
            let state = open_state(&url).await?;
            let mut jobs = state.jobs().await?;
            if let Some(name) = &only {
                jobs.retain(|j| &j.job == name);
                if jobs.is_empty() {
                    // Named but never run: its controls (On/Off, a lease) still show.
                    jobs.push(JobStatus {
                        job: name.clone(),
                        ..Default::default()
                    });
                }
            }
            let mut out = Vec::new();
            for j in jobs {
                let control = state.control(&j.job).await?;
                let escrows = state.escrows(&j.job).await?.len();
                let links = state.links(&j.job).await?.len();
                let last: serde_json::Value = j
                    .last_cycle
                    .as_deref()
                    .and_then(|s| serde_json::from_str(s).ok())
                    .unwrap_or_default();
                out.push(json!({
                    "job": j.job, "state": if j.disabled { "disabled" } else if j.quarantine_reason.is_some() { "quarantine" } else { "active" },
                    "quarantine_reason": j.quarantine_reason, "quarantine_since": j.quarantine_since, "next_run": j.next_run,
                    "initial_done": j.initial_done, "managed_objects": links, "escrowed": escrows, "last_cycle": last,
                    "provisioning": if control.stopped { "off" } else { "on" },
                    "running_on": control.lease.as_ref().map(|l| &l.holder), "lease_until": control.lease.as_ref().map(|l| l.until),
                    "progress": control.progress.as_deref().and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok()),
                }));
            }
            if json {
                crate::say!("{}", serde_json::Value::Array(out));
            } else if out.is_empty() {
                crate::say!("no jobs have run against {url}");
            } else {
                for j in out {
                    let last = &j["last_cycle"];
                    let error = last["error"]["code"]
                        .as_str()
                        .map(|c| format!(" [{c}] {}", last["error"]["message"].as_str().unwrap_or_default()))
                        .unwrap_or_default();
                    crate::say!(
                        "{}: {} ({}{}) — {} managed, {} escrowed; last cycle {} {}{error} ({} ok, {} failed){}",
                        j["job"].as_str().unwrap_or_default(),
                        j["state"].as_str().unwrap_or_default(),
                        if j["provisioning"] == "off" { "Off" } else { "On" },
                        j["running_on"]
                            .as_str()
                            .map(|h| format!(", running on {h}{}", progress_text(&j["progress"])))
                            .unwrap_or_default(),
                        j["managed_objects"],
                        j["escrowed"],
                        last["started"].as_str().unwrap_or("never"),
                        last["result"].as_str().unwrap_or_default(),
                        last["applied"]["success"],
                        last["applied"]["failure"],
                        j["quarantine_reason"]
                            .as_str()
                            .map(|r| format!("; quarantine: {r}, next run {}", j["next_run"].as_str().unwrap_or("?")))
                            .unwrap_or_default()
                    );
                }
            }
        }
        SyncCmd::Logs {
            job,
            job_name,
            cycle,
            status,
            limit,
            json,
        } => {
            let (url, name) = match &job {
                Some(p) => {
                    let cfg = JobConfig::load(p)?;
                    let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
                    (state_url(Some(&cfg), &dir, global_db), cfg.job.name.clone())
                }
                None => {
                    let url = state_url(None, Path::new("."), global_db);
                    let name = match job_name {
                        Some(n) => n,
                        None => {
                            let jobs = open_state(&url).await?.jobs().await?;
                            match jobs.as_slice() {
                                [one] => one.job.clone(),
                                [] => bail!("no jobs in {url}"),
                                _ => bail!("several jobs in {url}; pass --job NAME"),
                            }
                        }
                    };
                    (url, name)
                }
            };
            let state = open_state(&url).await?;
            let records = state
                .log(LogQuery {
                    job: name,
                    cycle_id: cycle,
                    status,
                    limit,
                })
                .await?;
            write_lines(records.iter().map(|r| log_line(r, json)));
        }
        SyncCmd::Serve(args) => crate::sync_serve::serve(args, global_db).await?,
        SyncCmd::Stop { job } => {
            let (cfg, state) = job_state(&job, global_db).await?;
            crate::sync_jobs_cmd::set_stopped(&state, &cfg.job.name, true).await?;
        }
        SyncCmd::Start { job } => {
            let (cfg, state) = job_state(&job, global_db).await?;
            crate::sync_jobs_cmd::set_stopped(&state, &cfg.job.name, false).await?;
        }
        SyncCmd::History { job, limit, json } => {
            let (cfg, state) = job_state(&job, global_db).await?;
            crate::sync_jobs_cmd::history(&state, &cfg.job.name, limit, json).await?;
        }
        SyncCmd::Restart {
            job,
            clear_state,
            clear_escrow,
            lift_quarantine,
        } => {
            if !(clear_state || clear_escrow || lift_quarantine) {
                bail!("say what to clear: --clear-state, --clear-escrow and/or --lift-quarantine");
            }
            let cfg = JobConfig::load(&job)?;
            let dir = job.parent().map(Path::to_path_buf).unwrap_or_default();
            let state = open_state(&state_url(Some(&cfg), &dir, global_db)).await?;
            state
                .clear(
                    &cfg.job.name,
                    ClearScope {
                        state: clear_state,
                        escrow: clear_escrow,
                        quarantine: lift_quarantine,
                    },
                )
                .await?;
            crate::say!("job {}: cleared", cfg.job.name);
        }
    }
    Ok(())
}
