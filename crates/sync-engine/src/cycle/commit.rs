//! Chunked commits: the executor hands each chunk's outcomes here, and they are folded over
//! the links and escrows as they stand after the chunks before, and written in one
//! transaction, before the next chunk runs. A crash or Ctrl-C loses at most the chunk in
//! flight; the next cycle finds everything committed before it linked and logged.

use std::collections::HashMap;
use std::sync::Arc;

use scim_core::ports::sync::{ChunkWrite, Escrow, LogRecord, SyncStateStore};

use super::fold::{Folded, LogCtx, fold};
use super::report::Applied;
use super::tables::{HashTable, key_hash};
use crate::error::EngineError;
use crate::execute::{ChunkSink, Outcome, Status, Step};
use crate::notify::{MAX_OBJECTS, ObjectRef};
use crate::plan::{Key, LinkState, link_states};
use crate::quarantine::CycleStats;

/// Folds and commits chunks, and keeps the cycle's totals.
pub(super) struct Committer {
    pub state: Arc<dyn SyncStateStore>,
    pub job: String,
    pub cx: LogCtx,
    pub escrows: HashMap<(String, String), Escrow>,
    /// Records to write with the first chunk (staged deletions).
    pub pending_logs: Vec<LogRecord>,
    /// Keep the steps and outcome of the (one) object: provisioning on demand.
    pub on_demand: bool,
    /// Objects escrowed in this cycle.
    pub escrowed: std::collections::HashSet<(String, String)>,
    /// Set when the cycle should end after the chunk in flight.
    pub stop: Arc<std::sync::atomic::AtomicBool>,
    pub totals: Totals,
    /// The links the job had when the cycle started (the streamed cycle): an object's link
    /// is read from the store only when it is one of them, or when the outcome is of a
    /// reference, whose object may have been linked by an earlier chunk. `None` reads all.
    pub linked: Option<Arc<HashTable<bool>>>,
    /// The previous chunk's write, still running while the next chunk executes.
    writing: Option<tokio::task::JoinHandle<Result<(), scim_core::CoreError>>>,
}

/// What the cycle's report and quarantine need from all chunks together.
#[derive(Debug, Default)]
pub(super) struct Totals {
    pub applied: Applied,
    pub stats: CycleStats,
    pub actions: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>,
    pub requests: u64,
    pub throttled: u64,
    /// The first failed objects, for notifications.
    pub failed: Vec<ObjectRef>,
    pub steps: Vec<Step>,
    pub outcome: Option<(String, String)>,
}

impl Committer {
    pub async fn new(
        job: &super::Job,
        rt: &super::Runtime,
        cx: &LogCtx,
        on_demand: bool,
    ) -> Result<Committer, EngineError> {
        let escrows = rt
            .state
            .escrows(job.name())
            .await
            .map_err(super::state_err)?
            .into_iter()
            .map(|e| ((e.kind.clone(), e.source_id.clone()), e))
            .collect();
        Ok(Committer {
            state: rt.state.clone(),
            job: job.name().to_string(),
            cx: cx.clone(),
            escrows,
            pending_logs: Vec::new(),
            on_demand,
            escrowed: Default::default(),
            stop: rt.stop.clone(),
            totals: Default::default(),
            linked: None,
            writing: None,
        })
    }

    /// Writes what is pending even when no chunk ran (a cycle with nothing to do).
    pub async fn finish(&mut self) -> Result<(), EngineError> {
        if !self.pending_logs.is_empty() {
            self.chunk(Vec::new()).await?;
        }
        self.settle().await
    }

    /// Whether the store may hold a link for the outcome's object. One that was not linked
    /// when the cycle started can only have been linked by this cycle, before its reference.
    fn may_be_linked(&self, o: &Outcome) -> bool {
        match &self.linked {
            None => true,
            Some(linked) => o.action_is_reference() || linked.contains_key(&key_hash(o.kind, &o.source_id)),
        }
    }

    /// Waits for the previous chunk's write: the next fold reads what it wrote.
    async fn settle(&mut self) -> Result<(), EngineError> {
        match self.writing.take() {
            None => Ok(()),
            Some(w) => match w.await {
                Ok(r) => r.map_err(|e| EngineError::State(e.to_string())),
                Err(e) => Err(EngineError::State(format!("the chunk write stopped: {e}"))),
            },
        }
    }

    fn add(&mut self, f: &Folded, outcomes: &[Outcome]) {
        let t = &mut self.totals;
        t.applied.success += f.applied.success;
        t.applied.failure += f.applied.failure;
        t.applied.skipped += f.applied.skipped;
        t.applied.warning += f.applied.warning;
        t.stats.operations += f.stats.operations;
        t.stats.failures += f.stats.failures;
        t.stats.reference_failures += f.stats.reference_failures;
        t.stats.auth_failures += f.stats.auth_failures;
        t.stats.successes += f.stats.successes;
        for (action, by) in &f.actions {
            for (status, n) in by {
                *t.actions
                    .entry(action.clone())
                    .or_default()
                    .entry(status.clone())
                    .or_default() += n;
            }
        }
        t.requests += f.requests;
        t.throttled += f.throttled;
        for o in outcomes.iter().filter(|o| o.status == Status::Failure) {
            if t.failed.len() >= MAX_OBJECTS {
                break;
            }
            t.failed.push(ObjectRef {
                kind: o.kind.as_str().to_string(),
                source_id: o.source_id.clone(),
                display: o.display.clone(),
                error_code: o.error.as_ref().map(|e| e.code().to_string()),
                message: o.error.as_ref().map(|e| e.to_string()),
            });
        }
        if self.on_demand {
            for o in outcomes {
                t.steps.extend(o.steps.iter().cloned());
                if !o.action_is_reference() {
                    t.outcome = Some((o.logged_action.clone(), o.status.as_str().to_string()));
                }
            }
        }
    }

    /// The escrows as they stand after this chunk (the links are in the store).
    fn advance(&mut self, f: &Folded) {
        // Escrows put in this cycle stay out of the map, as in one fold over the whole cycle:
        // a later outcome of the same object (its reference pass) neither clears them nor
        // counts another attempt.
        for k in &f.done_escrow {
            self.escrows.remove(k);
        }
    }
}

#[async_trait::async_trait]
impl ChunkSink for Committer {
    fn stop_requested(&self) -> bool {
        self.stop.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Folds the chunk over the links as the chunks before left them and starts its write;
    /// the write runs while the next chunk executes (a crash loses at most these two).
    async fn chunk(&mut self, mut outcomes: Vec<Outcome>) -> Result<(), EngineError> {
        self.settle().await?;
        // The links as the chunks before left them: the store has them.
        let mut keys: Vec<(String, String)> = outcomes
            .iter()
            .filter(|o| self.may_be_linked(o))
            .map(|o| (o.kind.as_str().to_string(), o.source_id.clone()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let links: HashMap<Key, LinkState> = link_states(
            &self
                .state
                .links_for(&self.job, keys)
                .await
                .map_err(|e| EngineError::State(e.to_string()))?,
        );
        let mut folded = fold(&mut outcomes, &links, &self.escrows, &self.cx);
        // An escrow put in this cycle wins over a later success of the same object's other
        // action (its reference), as within one chunk.
        self.escrowed
            .extend(folded.put_escrow.iter().map(|e| (e.kind.clone(), e.source_id.clone())));
        folded.done_escrow.retain(|k| !self.escrowed.contains(k));
        self.add(&folded, &outcomes);
        self.advance(&folded);
        let mut logs = std::mem::take(&mut self.pending_logs);
        logs.extend(folded.logs);
        let write = ChunkWrite {
            links: folded.links,
            unlink: folded.unlink,
            put_escrow: folded.put_escrow,
            done_escrow: folded.done_escrow,
            logs,
            add_members: folded.add_members,
            remove_members: folded.remove_members,
        };
        let (state, job) = (self.state.clone(), self.job.clone());
        self.writing = Some(tokio::spawn(async move { state.commit_chunk(&job, write).await }));
        Ok(())
    }
}
