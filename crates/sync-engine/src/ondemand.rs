//! Provision on demand: one user, now, with the step trace Entra shows (import, scope,
//! match, action).

use serde::Serialize;
use time::OffsetDateTime;

use crate::cycle::{CycleOptions, Job, Runtime, run_cycle};
use crate::error::EngineError;
use crate::execute::{NoProgress, Step};
use crate::model::ObjectKind;

#[derive(Debug, Clone, Serialize)]
pub struct Trace {
    pub user: String,
    pub steps: Vec<Step>,
    pub action: String,
    pub status: String,
}

pub async fn provision(
    job: &Job,
    rt: &Runtime,
    user: &str,
    now: OffsetDateTime,
    rng: &mut (dyn FnMut() -> u64 + Send),
) -> Result<Trace, EngineError> {
    let opts = CycleOptions {
        only: Some((ObjectKind::User, user.to_string())),
        force: true,
        ..Default::default()
    };
    let report = run_cycle(job, rt, now, opts, &NoProgress, rng).await?;
    let (action, status) = report.outcome.unwrap_or_else(|| ("Other".into(), "Skipped".into()));
    Ok(Trace {
        user: user.to_string(),
        steps: report.steps,
        action,
        status,
    })
}
