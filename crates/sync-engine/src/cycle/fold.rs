//! The outcome fold: what a cycle's executed actions mean for the state store (links to
//! keep or drop, escrows to put or clear, log records) and for quarantine (the cycle's
//! statistics). Pure: no I/O, time is an input.

use std::collections::HashMap;

use scim_core::ports::sync::{Escrow, Link, LogRecord};
use time::OffsetDateTime;

use super::report::Applied;
use crate::error::EngineError;
use crate::execute::{Outcome, Status, Step};
use crate::mapping::{self, Modified};
use crate::model::ObjectKind;
use crate::plan::{Key, LinkState, Pushed};
use crate::quarantine::CycleStats;

/// Escrow back-off: the first retry is the next cycle, then 1 h, 4 h, 24 h.
pub fn escrow_wait(attempts: u32) -> time::Duration {
    match attempts {
        0 | 1 => time::Duration::ZERO,
        2 => time::Duration::hours(1),
        3 => time::Duration::hours(4),
        _ => time::Duration::hours(24),
    }
}

/// Where log records of one cycle belong.
#[derive(Debug, Clone)]
pub struct LogCtx {
    pub job: String,
    pub cycle_id: String,
    pub now: OffsetDateTime,
    /// `cycle`, `on_demand` or `restart`.
    pub initiated_by: String,
}

impl LogCtx {
    /// A record for one object; steps, modified properties and the error are filled in by
    /// the caller.
    pub fn record(
        &self,
        kind: &str,
        source_id: &str,
        target_id: Option<String>,
        action: &str,
        status: Status,
    ) -> LogRecord {
        LogRecord {
            duration_ms: 0,
            initiated_by: self.initiated_by.clone(),
            source_display: source_id.to_string(),
            target_display: None,
            job: self.job.clone(),
            cycle_id: self.cycle_id.clone(),
            change_id: uuid::Uuid::now_v7().to_string(),
            at: scim_core::Timestamp::new(self.now),
            kind: kind.to_string(),
            source_id: source_id.to_string(),
            target_id,
            action: action.to_string(),
            status: status.as_str().to_string(),
            steps: "[]".into(),
            modified: "[]".into(),
            error_code: None,
            error_message: None,
        }
    }
}

/// Fills a record's steps, modified properties and error.
pub fn with_detail(mut r: LogRecord, steps: &[Step], modified: &[Modified], err: Option<&EngineError>) -> LogRecord {
    r.steps = serde_json::to_string(steps).unwrap_or_default();
    r.modified = serde_json::to_string(modified).unwrap_or_default();
    r.error_code = err.map(|e| e.code().to_string());
    r.error_message = err.map(|e| e.to_string());
    r
}

/// What the state store must record after a cycle's actions ran.
#[derive(Debug, Default)]
pub struct Folded {
    pub links: Vec<Link>,
    pub unlink: Vec<(String, String)>,
    pub put_escrow: Vec<Escrow>,
    pub done_escrow: Vec<(String, String)>,
    pub logs: Vec<LogRecord>,
    /// Memberships put on the target: each group's source id with its members'.
    pub add_members: Vec<(String, Vec<String>)>,
    /// Memberships taken off the target.
    pub remove_members: Vec<(String, Vec<String>)>,
    pub stats: CycleStats,
    pub applied: Applied,
    /// Outcomes by logged action and status.
    pub actions: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>,
    pub requests: u64,
    pub throttled: u64,
}

/// Folds the outcomes over the links and escrows the job had before them. The groups'
/// member lists move out of the outcomes into the fold (a large group's are not copied).
pub fn fold(
    outcomes: &mut [Outcome],
    old: &HashMap<Key, LinkState>,
    escrows: &HashMap<(String, String), Escrow>,
    cx: &LogCtx,
) -> Folded {
    let mut f = Folded::default();
    let mut merged: HashMap<Key, LinkState> = HashMap::new();
    for o in outcomes.iter_mut() {
        f.requests += o.requests as u64;
        f.throttled += o.throttled as u64;
        count(&mut f, o);
        let key = (o.kind.as_str().to_string(), o.source_id.clone());
        if o.status == Status::Failure {
            f.put_escrow.push(escrow(o, escrows.get(&key), cx.now));
        } else if escrows.contains_key(&key) {
            f.done_escrow.push(key.clone());
        }
        if o.unlink {
            f.unlink.push(key);
            merged.remove(&(o.kind, o.source_id.clone()));
        } else if let Some(target) = &o.target_id
            && o.status != Status::Failure
        {
            merge_link(&mut merged, old, o, target);
            if o.kind == ObjectKind::Group {
                let rows = [
                    (&mut f.add_members, std::mem::take(&mut o.members_added)),
                    (&mut f.remove_members, std::mem::take(&mut o.members_removed)),
                ];
                for (list, members) in rows.into_iter().filter(|(_, m)| !m.is_empty()) {
                    list.push((o.source_id.clone(), members));
                }
            }
        }
        let mut r = cx.record(
            o.kind.as_str(),
            &o.source_id,
            o.target_id.clone(),
            &o.logged_action,
            o.status,
        );
        r.duration_ms = o.duration_ms;
        r.source_display = o.display.clone();
        r.target_display = target_display(o, old);
        f.logs.push(with_detail(r, &o.steps, &o.modified, o.error.as_ref()));
    }
    let now = scim_core::Timestamp::new(cx.now);
    // A link the outcomes left as it was is not written again (a manager set in the create
    // request, a reference that changed nothing): an initial cycle writes each link once.
    f.links = merged
        .into_iter()
        .filter(|(k, l)| old.get(k) != Some(l))
        .map(|((kind, source_id), l)| Link {
            kind: kind.as_str().to_string(),
            source_id,
            values: serde_json::to_string(&l.pushed).unwrap_or_default(),
            target_id: l.target_id,
            hash: l.hash,
            disabled: l.disabled,
            updated: now,
        })
        .collect();
    f
}

/// The object's name on the target: the `userName` (users) or `displayName` (groups) pushed
/// now or before.
fn target_display(o: &Outcome, old: &HashMap<Key, LinkState>) -> Option<String> {
    let attr = match o.kind {
        ObjectKind::User => "userName",
        ObjectKind::Group => "displayName",
    };
    let pushed = old.get(&(o.kind, o.source_id.clone())).map(|l| &l.pushed.values);
    o.values
        .as_ref()
        .and_then(|v| v.get(attr))
        .or_else(|| pushed.and_then(|v| v.get(attr)))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

fn count(f: &mut Folded, o: &Outcome) {
    *f.actions
        .entry(o.logged_action.clone())
        .or_default()
        .entry(o.status.as_str().to_string())
        .or_default() += 1;
    match o.status {
        Status::Success => f.applied.success += 1,
        Status::Failure => f.applied.failure += 1,
        Status::Skipped => f.applied.skipped += 1,
        Status::Warning => f.applied.warning += 1,
    }
    f.stats.operations += 1;
    if o.status == Status::Failure {
        f.stats.failures += 1;
        if o.reference {
            f.stats.reference_failures += 1;
        }
        if let Some(EngineError::Target { status: 401 | 403, .. }) = &o.error {
            f.stats.auth_failures += 1;
        }
    } else if o.status != Status::Skipped {
        f.stats.successes += 1;
    }
}

fn escrow(o: &Outcome, prev: Option<&Escrow>, now: OffsetDateTime) -> Escrow {
    let attempts = prev.map_or(0, |e| e.attempts) + 1;
    Escrow {
        kind: o.kind.as_str().to_string(),
        source_id: o.source_id.clone(),
        action: o.logged_action.clone(),
        error_code: o.error.as_ref().map(|e| e.code().to_string()).unwrap_or_default(),
        message: o.error.as_ref().map(|e| e.to_string()).unwrap_or_default(),
        attempts,
        first_failed: prev.map_or_else(|| scim_core::Timestamp::new(now), |e| e.first_failed),
        next_attempt: scim_core::Timestamp::new(now + escrow_wait(attempts)),
    }
}

/// Applies a successful outcome to the object's link (several outcomes, such as a create
/// and its manager reference, touch one link).
fn merge_link(merged: &mut HashMap<Key, LinkState>, old: &HashMap<Key, LinkState>, o: &Outcome, target: &str) {
    let k = (o.kind, o.source_id.clone());
    let entry = merged.entry(k.clone()).or_insert_with(|| {
        old.get(&k).cloned().unwrap_or(LinkState {
            target_id: target.to_string(),
            hash: String::new(),
            pushed: Pushed::default(),
            disabled: false,
        })
    });
    entry.target_id = target.to_string();
    if let Some(v) = &o.values {
        entry.pushed.values = v.clone();
    }
    if let Some(m) = &o.manager {
        entry.pushed.manager = m.clone();
    }
    if let Some(d) = o.disabled {
        entry.disabled = d;
    }
    entry.hash = mapping::hash(&entry.pushed.values, entry.pushed.manager.as_deref());
}

#[cfg(test)]
mod tests;
