//! What `scimd sync` prints: the progress bar of a running cycle, the cycle report, and a
//! plan (as a table or JSON).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use scim_core::ports::sync::LogRecord;
use serde_json::json;
use sync_engine::cycle::CycleReport;
use sync_engine::execute::Progress;
use sync_engine::plan::{Op, Plan};

use crate::output::write_lines;

/// A progress bar on a terminal, plain lines otherwise.
pub struct CliProgress {
    bar: Option<indicatif::ProgressBar>,
    total: AtomicUsize,
    done: AtomicUsize,
    quiet: bool,
}

impl CliProgress {
    pub fn new(quiet: bool) -> CliProgress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            // Hidden until a pass starts, so no empty bar flashes up.
            let b = indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::hidden());
            b.set_style(
                indicatif::ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b
        });
        CliProgress {
            bar,
            total: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            quiet,
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Progress for CliProgress {
    fn started(&self, pass: &str, total: usize) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
        match &self.bar {
            Some(b) => {
                b.set_prefix(pass.to_string());
                b.set_length(total as u64);
                b.set_position(0);
                b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            None if !self.quiet && total > 0 => eprintln!("{pass}: {total} actions"),
            None => {}
        }
    }

    fn advanced(&self, n: usize) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        match &self.bar {
            Some(b) => b.set_position(done as u64),
            None => {
                let total = self.total.load(Ordering::Relaxed).max(1);
                let step = (total / 10).max(1);
                if !self.quiet && (done.is_multiple_of(step) || done == total) {
                    eprintln!("  {done}/{total} ({}%)", done * 100 / total);
                }
            }
        }
    }
}

pub fn print_report(r: &CycleReport) {
    if let Some(why) = &r.skipped_reason {
        crate::say!("cycle skipped: {why}");
        return;
    }
    let c = &r.counts;
    crate::say!(
        "{} cycle {} of job {}: read {}, in scope {}, planned create {} update {} disable {} delete {} references {} unchanged {}",
        r.kind,
        r.cycle_id,
        r.job,
        c.read,
        c.in_scope,
        c.create,
        c.update,
        c.disable,
        c.delete,
        c.references,
        c.unchanged
    );
    crate::say!(
        "applied: {} succeeded, {} failed (escrowed), {} skipped, {} warnings; {} requests, {} throttled (429) waits, {} ms",
        r.applied.success,
        r.applied.failure,
        r.applied.skipped,
        r.applied.warning,
        r.requests,
        r.throttled,
        r.duration_ms
    );
    if r.threshold_tripped {
        crate::say!(
            "deletion threshold exceeded: {} deletions/disables staged (run with --allow-deletes to apply)",
            r.staged
        );
    }
    if let Some(q) = &r.quarantine {
        crate::say!("job is in quarantine: {q}");
    }
    crate::say!("result: {}", r.result.as_str());
}

/// The plan on stdout, one line per action (or one JSON object), until the reader goes away.
pub fn print_plan(plan: &Plan, json_out: bool) {
    write_lines(plan_lines(plan, json_out));
}

fn plan_lines(plan: &Plan, json_out: bool) -> Vec<String> {
    if json_out {
        let actions: Vec<_> = plan
            .actions
            .iter()
            .map(|a| {
                let detail = match &a.op {
                    Op::Create { body, matchers, .. } => json!({"body": body, "match": matchers}),
                    Op::Update { modified, .. } => json!({"modified": modified}),
                    Op::Disable { reason } | Op::Delete { reason } | Op::Skip { reason } => json!({"reason": reason}),
                    Op::Manager { manager } => json!({"manager": manager}),
                    Op::Members { add, remove } => json!({"add": add, "remove": remove}),
                    Op::Fail { error, .. } => json!({"errorCode": error.code(), "errorMessage": error.to_string()}),
                };
                json!({"action": a.name(), "op": format!("{:?}", std::mem::discriminant(&a.op)), "kind": a.kind.as_str(),
                       "source_id": a.source_id, "target_id": a.target_id, "display": a.display, "detail": detail})
            })
            .collect();
        return vec![json!({"counts": plan.counts, "actions": actions}).to_string()];
    }
    let mut out = Vec::with_capacity(plan.actions.len() + 1);
    for a in &plan.actions {
        let who = format!("{} {} ({})", a.kind.as_str(), a.display, a.source_id);
        match &a.op {
            Op::Create { matchers, body, .. } => {
                let m = matchers
                    .first()
                    .map(|(p, v)| format!("{p} = {v:?}"))
                    .unwrap_or_default();
                out.push(format!("+ create-or-match {who}: match on {m}"));
                if let Some(obj) = body.as_object() {
                    for (k, v) in obj.iter().filter(|(k, _)| *k != "schemas") {
                        out.push(format!("    {k}: {v}"));
                    }
                }
            }
            Op::Update { modified, .. } => {
                out.push(format!("~ update {who}"));
                for m in modified {
                    out.push(format!(
                        "    {}: {} -> {}",
                        m.name,
                        m.old.as_deref().unwrap_or("(none)"),
                        m.new.as_deref().unwrap_or("(removed)")
                    ));
                }
            }
            Op::Disable { reason } => out.push(format!("! disable {who}: {reason}")),
            Op::Delete { reason } => out.push(format!("- delete {who}: {reason}")),
            Op::Manager { manager } => out.push(format!(
                "~ manager of {who} -> {}",
                manager.as_deref().unwrap_or("(none)")
            )),
            Op::Members { add, remove } => out.push(format!("~ members of {who}: +{} -{}", add.len(), remove.len())),
            Op::Skip { reason } => out.push(format!("  skip {who}: {reason}")),
            Op::Fail { action, error } => out.push(format!(
                "x {} {who} fails [{}]: {error}",
                action.to_lowercase(),
                error.code()
            )),
        }
    }
    let c = &plan.counts;
    out.push(format!(
        "plan: {} create, {} update, {} disable, {} delete, {} reference changes, {} skipped, {} unchanged, {} failing ({} read, {} in scope)",
        c.create, c.update, c.disable, c.delete, c.references, c.skip, c.unchanged, c.failed, c.read, c.in_scope
    ));
    out
}

/// One provisioning log record, as text or as a JSON object (field names after Graph's
/// `provisioningObjectSummary`).
pub fn log_line(r: &LogRecord, json_out: bool) -> String {
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap_or_default();
    if json_out {
        return json!({"job": r.job, "cycleId": r.cycle_id, "changeId": r.change_id, "at": r.at, "kind": r.kind,
                      "sourceId": r.source_id, "targetId": r.target_id, "action": r.action, "status": r.status,
                      "durationInMilliseconds": r.duration_ms, "initiatedBy": r.initiated_by,
                      "sourceIdentity": {"id": r.source_id, "displayName": r.source_display},
                      "targetIdentity": {"id": r.target_id, "displayName": r.target_display},
                      "steps": parse(&r.steps), "modifiedProperties": parse(&r.modified),
                      "errorCode": r.error_code, "errorMessage": r.error_message})
        .to_string();
    }
    let who = if r.source_display.is_empty() || r.source_display == r.source_id {
        r.source_id.clone()
    } else {
        format!("{} ({})", r.source_display, r.source_id)
    };
    let target = match (&r.target_display, &r.target_id) {
        (Some(d), Some(id)) => format!("{d} ({id})"),
        (None, Some(id)) => id.clone(),
        (Some(d), None) => d.clone(),
        (None, None) => "-".into(),
    };
    let why = match (&r.error_code, r.status.as_str()) {
        (Some(c), _) => format!(" [{c}] {}", r.error_message.as_deref().unwrap_or_default()),
        // A skipped record says why: the last step's detail (the scope reason, the threshold).
        (None, "Skipped") => parse(&r.steps)
            .as_array()
            .and_then(|s| s.last())
            .and_then(|s| s["detail"].as_str())
            .map(|d| format!(": {d}"))
            .unwrap_or_default(),
        _ => String::new(),
    };
    format!(
        "{} {} {} {} {} {who} → {target} {} ms{why}",
        r.at, r.cycle_id, r.action, r.status, r.kind, r.duration_ms
    )
}
