//! `scimd sync serve`: every job file in a folder, each on its interval, on one or several
//! processes sharing one state database. Files are rescanned: added ones start, changed
//! ones are reloaded (after their running cycle), removed ones stop. Before a cycle the
//! process takes the job's lease, so a job runs on one process at a time, and a dead
//! process's jobs are taken over once its leases run out. SIGTERM or Ctrl-C: no new cycles;
//! the running ones finish, then the process exits.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use scim_core::ports::sync::SyncStateStore;
use sync_engine::cycle::{CycleOptions, Job, Runtime, run_cycle};
use sync_engine::execute::NoProgress;
use sync_engine::lease;
use sync_engine::schedule::{Due, due};
use time::OffsetDateTime;

use crate::sync_cmd::{load_job, open_state, rng, runtime, source_of, state_url, target_client};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The folder of job files (`*.toml`)
    #[arg(long, default_value = "jobs")]
    pub jobs: PathBuf,
    /// How often the folder is rescanned for added, changed and removed files
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub scan_every: Duration,
    /// How long a job's lease holds without renewal: the longest a dead process's job waits
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub lease_ttl: Duration,
}

/// A loaded job file.
struct Entry {
    text: String,
    job: Arc<Job>,
    rt: Arc<Runtime>,
    state: Arc<dyn SyncStateStore>,
    next_check: OffsetDateTime,
    running: Option<tokio::task::JoinHandle<OffsetDateTime>>,
}

/// How long to wait before looking again at a job another process holds.
const HELD_RECHECK: time::Duration = time::Duration::seconds(5);

pub async fn serve(args: ServeArgs, global_db: Option<&str>) -> anyhow::Result<()> {
    let me = lease::worker_id();
    let ttl = time::Duration::try_from(args.lease_ttl).context("--lease-ttl")?;
    if !args.jobs.is_dir() {
        anyhow::bail!("--jobs {}: not a folder", args.jobs.display());
    }
    crate::say!("sync serve: worker {me}, jobs in {}", args.jobs.display());
    let mut entries: HashMap<PathBuf, Entry> = HashMap::new();
    let mut draining: Vec<tokio::task::JoinHandle<OffsetDateTime>> = Vec::new();
    let mut states: HashMap<String, Arc<dyn SyncStateStore>> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut last_scan: Option<std::time::Instant> = None;
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut shutdown => break,
        }
        if last_scan.is_none_or(|t| t.elapsed() >= args.scan_every) {
            scan(&args.jobs, global_db, &mut entries, &mut draining, &mut states).await;
            last_scan = Some(std::time::Instant::now());
        }
        for entry in entries.values_mut() {
            reap(entry).await;
            let now = OffsetDateTime::now_utc();
            if entry.running.is_none() && entry.next_check <= now {
                entry.running = Some(tokio::spawn(attempt(
                    entry.job.clone(),
                    entry.rt.clone(),
                    entry.state.clone(),
                    me.clone(),
                    ttl,
                )));
            }
        }
    }
    crate::say!("sync serve: stopping; running cycles end after their chunk in flight");
    for e in entries.values() {
        e.rt.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    for (_, e) in entries {
        if let Some(h) = e.running {
            let _ = h.await;
        }
    }
    for h in draining {
        let _ = h.await;
    }
    crate::say!("sync serve: stopped");
    Ok(())
}

/// SIGTERM or Ctrl-C.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Takes a finished attempt's next check time.
async fn reap(entry: &mut Entry) {
    if entry.running.as_ref().is_some_and(|h| h.is_finished())
        && let Some(h) = entry.running.take()
    {
        entry.next_check = h.await.unwrap_or_else(|_| OffsetDateTime::now_utc() + HELD_RECHECK);
    }
}

/// Loads added and changed job files, drops removed ones (a running cycle finishes).
async fn scan(
    dir: &Path,
    global_db: Option<&str>,
    entries: &mut HashMap<PathBuf, Entry>,
    draining: &mut Vec<tokio::task::JoinHandle<OffsetDateTime>>,
    states: &mut HashMap<String, Arc<dyn SyncStateStore>>,
) {
    let files = job_files(dir);
    let gone: Vec<PathBuf> = entries.keys().filter(|p| !files.contains(p)).cloned().collect();
    for p in gone {
        if let Some(e) = entries.remove(&p) {
            crate::say!("job {}: file removed; no more cycles", e.job.name());
            draining.extend(e.running);
        }
    }
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if entries.get(&path).is_some_and(|e| e.text == text) {
            continue;
        }
        match load(&path, global_db, states).await {
            Ok((job, rt, state)) => {
                if let Some(other) = entries.iter().find(|(p, e)| **p != path && e.job.name() == job.name()) {
                    eprintln!(
                        "{}: job name {:?} is also used by {}; ignored",
                        path.display(),
                        job.name(),
                        other.0.display()
                    );
                    continue;
                }
                let old = entries.remove(&path);
                crate::say!(
                    "job {}: {}",
                    job.name(),
                    if old.is_some() {
                        "file changed; reloaded"
                    } else {
                        "loaded"
                    }
                );
                entries.insert(
                    path,
                    Entry {
                        text,
                        job: Arc::new(job),
                        rt: Arc::new(rt),
                        state,
                        next_check: old.as_ref().map_or(OffsetDateTime::now_utc(), |o| o.next_check),
                        // A cycle of the old version still running keeps this one waiting.
                        running: old.and_then(|o| o.running),
                    },
                );
            }
            Err(e) => eprintln!("{}: not loaded: {e:#}", path.display()),
        }
    }
}

fn job_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

async fn load(
    path: &Path,
    global_db: Option<&str>,
    states: &mut HashMap<String, Arc<dyn SyncStateStore>>,
) -> anyhow::Result<(Job, Runtime, Arc<dyn SyncStateStore>)> {
    let job = load_job(path)?;
    let url = state_url(Some(&job.cfg), &job.dir, global_db);
    let state = match states.get(&url) {
        Some(s) => s.clone(),
        None => {
            let s = open_state(&url).await?;
            states.insert(url, s.clone());
            s
        }
    };
    let rt = runtime(&job, source_of(&job)?, state.clone(), target_client(&job)?)?;
    Ok((job, rt, state))
}

/// One look at a job: if it is due and this process gets its lease, one cycle. Returns when
/// to look again.
async fn attempt(
    job: Arc<Job>,
    rt: Arc<Runtime>,
    state: Arc<dyn SyncStateStore>,
    me: String,
    ttl: time::Duration,
) -> OffsetDateTime {
    match try_cycle(&job, &rt, &state, &me, ttl).await {
        Ok(next) => next,
        Err(e) => {
            eprintln!("job {}: {e:#}", job.name());
            OffsetDateTime::now_utc() + HELD_RECHECK
        }
    }
}

async fn try_cycle(
    job: &Job,
    rt: &Runtime,
    state: &Arc<dyn SyncStateStore>,
    me: &str,
    ttl: time::Duration,
) -> anyhow::Result<OffsetDateTime> {
    let interval = time::Duration::try_from(sync_engine::config::duration("job.interval", &job.cfg.job.interval)?)?;
    let when = |state: Arc<dyn SyncStateStore>| async move {
        let now = OffsetDateTime::now_utc();
        let last = state
            .cycles(job.name(), 1)
            .await?
            .first()
            .map(|c| c.finished.datetime());
        let status = state.status(job.name()).await?;
        let control = state.control(job.name()).await?;
        anyhow::Ok(due(last, interval, job.cfg.job.enabled, &status, &control, now))
    };
    let now = OffsetDateTime::now_utc();
    match when(state.clone()).await? {
        Due::Now => {}
        Due::At(t) => return Ok(t),
        Due::Off => return Ok(now + HELD_RECHECK),
    }
    let clock: lease::Clock = Arc::new(OffsetDateTime::now_utc);
    let guard = match lease::acquire(state.clone(), job.name(), me, clock, ttl).await? {
        Ok(g) => g,
        Err(_) => return Ok(now + HELD_RECHECK),
    };
    // Another process may have finished a cycle between the look and the lease.
    if when(state.clone()).await? != Due::Now {
        guard.release().await;
        return Ok(OffsetDateTime::now_utc() + HELD_RECHECK);
    }
    let tracker = sync_engine::progress::Tracker::new(Arc::new(NoProgress));
    let stored = sync_engine::progress::store(state.clone(), job.name(), tracker.clone());
    let mut r = rng();
    let result = run_cycle(
        job,
        rt,
        OffsetDateTime::now_utc(),
        CycleOptions::default(),
        tracker.as_ref(),
        &mut r,
    )
    .await;
    stored.finish().await;
    guard.release().await;
    match result {
        Ok(report) => crate::say!(
            "job {}: cycle {} {} {} ({} ok, {} failed) in {} ms",
            job.name(),
            report.cycle_id,
            report.kind,
            report.result.as_str(),
            report.applied.success,
            report.applied.failure,
            report.duration_ms
        ),
        Err(e) => crate::say!("job {}: cycle failed [{}]: {e}", job.name(), e.code()),
    }
    Ok(OffsetDateTime::now_utc() + interval)
}
