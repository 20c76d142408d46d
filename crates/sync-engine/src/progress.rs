//! The running cycle's progress in the state database, as Entra's progress bar: the pass,
//! processed and total actions, the rate and the ETA, written at most every
//! [`STORE_EVERY`] by a background task, so `scimd sync status` shows it from any machine.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scim_core::ports::sync::SyncStateStore;
use serde::Serialize;

use crate::execute::Progress;

/// How often the progress is written while it changes.
pub const STORE_EVERY: Duration = Duration::from_secs(2);

/// What is stored (`JobControl::progress`).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub pass: String,
    pub processed: usize,
    pub total: usize,
    /// Actions per second in this pass.
    pub rate: f64,
    pub eta_seconds: Option<u64>,
}

/// The counters a cycle advances, and the progress another observer (a terminal bar) gets.
pub struct Tracker {
    inner: Arc<dyn Progress>,
    pass: Mutex<(String, Instant)>,
    total: AtomicUsize,
    done: AtomicUsize,
}

impl Tracker {
    pub fn new(inner: Arc<dyn Progress>) -> Arc<Tracker> {
        Arc::new(Tracker {
            inner,
            pass: Mutex::new((String::new(), Instant::now())),
            total: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
        })
    }

    pub fn snapshot(&self) -> Snapshot {
        let (pass, since) = self
            .pass
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let (processed, total) = (self.done.load(Ordering::Relaxed), self.total.load(Ordering::Relaxed));
        let secs = since.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { processed as f64 / secs } else { 0.0 };
        let eta_seconds = (rate > 0.0).then(|| (total.saturating_sub(processed) as f64 / rate).ceil() as u64);
        Snapshot {
            pass,
            processed,
            total,
            rate: (rate * 10.0).round() / 10.0,
            eta_seconds,
        }
    }
}

impl Progress for Tracker {
    fn started(&self, pass: &str, total: usize) {
        *self.pass.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = (pass.to_string(), Instant::now());
        self.total.store(total, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
        self.inner.started(pass, total);
    }

    fn advanced(&self, n: usize) {
        self.done.fetch_add(n, Ordering::Relaxed);
        self.inner.advanced(n);
    }
}

/// Writes the tracker's snapshot to the store while it changes, until [`Stored::finish`].
pub struct Stored {
    task: tokio::task::JoinHandle<()>,
    state: Arc<dyn SyncStateStore>,
    job: String,
}

/// Starts storing `tracker`'s progress for `job`.
pub fn store(state: Arc<dyn SyncStateStore>, job: &str, tracker: Arc<Tracker>) -> Stored {
    let (st, name) = (state.clone(), job.to_string());
    let task = tokio::spawn(async move {
        let mut last: Option<Snapshot> = None;
        let mut tick = tokio::time::interval(STORE_EVERY);
        loop {
            tick.tick().await;
            let now = tracker.snapshot();
            if last.as_ref() == Some(&now) || now.pass.is_empty() {
                continue;
            }
            let text = serde_json::to_string(&now).unwrap_or_default();
            if let Err(e) = st.set_progress(&name, Some(text)).await {
                tracing::warn!(job = name, error = %e, "could not store the cycle's progress");
            }
            last = Some(now);
        }
    });
    Stored {
        task,
        state,
        job: job.to_string(),
    }
}

impl Stored {
    /// Stops and clears the stored progress (no cycle is running).
    pub async fn finish(self) {
        self.task.abort();
        if let Err(e) = self.state.set_progress(&self.job, None).await {
            tracing::warn!(job = self.job, error = %e, "could not clear the cycle's progress");
        }
    }
}

impl Drop for Stored {
    fn drop(&mut self) {
        self.task.abort();
    }
}
