//! `scimd sync stop|start|history`, and the lease every command that provisions takes first,
//! so a job runs on one process at a time.

use std::sync::Arc;

use scim_core::ports::sync::SyncStateStore;
use serde_json::json;
use sync_engine::lease::{self, LEASE_TTL};

use crate::exit::{Exit, LEASE_HELD};
use crate::output::write_lines;

fn clock() -> lease::Clock {
    Arc::new(time::OffsetDateTime::now_utc)
}

/// The lease period of `sync provision` (and `sync run` without `--lease-ttl`).
pub const LEASE_DEFAULT: std::time::Duration = std::time::Duration::from_secs(LEASE_TTL.whole_seconds() as u64);

/// Runs `f` holding the job's lease for `ttl` periods; refuses (exit code 5) while another
/// process holds it.
pub async fn with_lease<T>(
    state: &Arc<dyn SyncStateStore>,
    job: &str,
    ttl: std::time::Duration,
    f: impl std::future::Future<Output = T>,
) -> anyhow::Result<T> {
    let me = lease::worker_id();
    let ttl = time::Duration::try_from(ttl)?;
    let guard = match lease::acquire(state.clone(), job, &me, clock(), ttl).await? {
        Ok(g) => g,
        Err(held) => {
            return Err(Exit::new(
                LEASE_HELD,
                format!(
                    "job {job} is running on {} (its lease holds until {}); nothing was done. Wait for that \
                     cycle to end, or stop that process: a dead process's lease runs out by itself",
                    held.holder, held.until
                ),
            )
            .into());
        }
    };
    let out = f.await;
    guard.release().await;
    Ok(out)
}

/// `sync stop` / `sync start`: the stored Provisioning Status.
pub async fn set_stopped(state: &Arc<dyn SyncStateStore>, job: &str, stopped: bool) -> anyhow::Result<()> {
    state.set_stopped(job, stopped).await?;
    if stopped {
        crate::say!("job {job}: Off; its cycles do not run until `scimd sync start` (a running cycle finishes)");
    } else {
        crate::say!("job {job}: On");
    }
    Ok(())
}

/// `sync history`: one line (or JSON object) per cycle, newest first.
pub async fn history(state: &Arc<dyn SyncStateStore>, job: &str, limit: usize, json_out: bool) -> anyhow::Result<()> {
    let cycles = state.cycles(job, limit).await?;
    if cycles.is_empty() && !json_out {
        crate::say!("job {job} has no cycles yet");
        return Ok(());
    }
    write_lines(cycles.iter().map(|c| {
        let counts: serde_json::Value = serde_json::from_str(&c.counts).unwrap_or_default();
        if json_out {
            return json!({"id": c.cycle_id, "kind": c.kind, "started": c.started, "finished": c.finished,
                          "worker": c.worker, "outcome": c.result, "counts": counts})
            .to_string();
        }
        let summary = counts
            .as_object()
            .map(|m| {
                m.iter()
                    .flat_map(|(action, by)| {
                        by.as_object()
                            .into_iter()
                            .flatten()
                            .map(move |(status, n)| format!("{action} {status} {n}"))
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        format!(
            "{} {} {} → {} {} on {}: {}",
            c.cycle_id,
            c.kind,
            c.started,
            c.finished,
            c.result,
            c.worker,
            if summary.is_empty() {
                "no actions".into()
            } else {
                summary
            }
        )
    }));
    Ok(())
}
