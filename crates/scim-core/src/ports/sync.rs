//! The provisioning engine's state port: links (source object → target id and the values
//! last pushed), job status (watermark, quarantine, last cycle), escrows and the
//! provisioning log. It lives here, beside the server's ports, so one store backend serves
//! both and SQL stays in `scim-store`.

use async_trait::async_trait;

use crate::error::Result;
use crate::time_fmt::Timestamp;

/// What the engine knows about one source object it manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// `user` or `group`.
    pub kind: String,
    pub source_id: String,
    pub target_id: String,
    /// Hash of `values`, to skip unchanged objects without comparing documents.
    pub hash: String,
    /// The values last pushed, as a JSON object keyed by target path.
    pub values: String,
    /// The engine disabled the target object (scope loss or disabled in the source).
    pub disabled: bool,
    pub updated: Timestamp,
}

/// A link without its values: what a cycle indexes for every managed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkKey {
    pub kind: String,
    pub source_id: String,
    pub target_id: String,
    pub disabled: bool,
}

/// A failed object action waiting for a later cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escrow {
    pub kind: String,
    pub source_id: String,
    pub action: String,
    pub error_code: String,
    pub message: String,
    pub attempts: u32,
    pub first_failed: Timestamp,
    pub next_attempt: Timestamp,
}

/// A job's persistent status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobStatus {
    pub job: String,
    /// Where the next incremental read continues.
    pub watermark: Option<String>,
    /// Set once an initial cycle completed.
    pub initial_done: bool,
    /// Quarantine reason (`EncounteredQuarantineException`, …) while quarantined.
    pub quarantine_reason: Option<String>,
    pub quarantine_since: Option<Timestamp>,
    /// When the next cycle may run (quarantine back-off).
    pub next_run: Option<Timestamp>,
    /// Quarantine attempts so far (drives the +6 h, +12 h, +24 h, daily schedule).
    pub quarantine_attempts: u32,
    /// The job was disabled after 4 weeks of quarantine.
    pub disabled: bool,
    /// JSON summary of the last cycle.
    pub last_cycle: Option<String>,
    /// When the source was last read in full (incremental reads cannot see deletions).
    pub full_read_at: Option<Timestamp>,
    pub updated: Timestamp,
}

/// One record of the provisioning log: one object action in one cycle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogRecord {
    pub job: String,
    pub cycle_id: String,
    pub change_id: String,
    pub at: Timestamp,
    pub kind: String,
    pub source_id: String,
    pub target_id: Option<String>,
    /// Create, Update, Disable, Delete, StagedDelete, Other.
    pub action: String,
    /// Success, Failure, Skipped, Warning.
    pub status: String,
    /// JSON array of steps.
    pub steps: String,
    /// JSON array of modified properties (redacted where asked).
    pub modified: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// How long the action took (its requests, retries and waits).
    pub duration_ms: u64,
    /// `cycle`, `on_demand` or `restart` (the initial cycle after `sync restart --clear-state`).
    pub initiated_by: String,
    /// The object's name in the source (`userPrincipalName`, `mail`, group `displayName`).
    pub source_display: String,
    /// The object's name on the target (`userName`, group `displayName`), when known.
    pub target_display: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub job: String,
    pub cycle_id: Option<String>,
    pub status: Option<String>,
    pub limit: usize,
}

/// What one chunk of a cycle leaves in the state store: written in one transaction, so a
/// crash keeps every chunk committed before it and none of the one in flight.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkWrite {
    pub links: Vec<Link>,
    pub unlink: Vec<(String, String)>,
    pub put_escrow: Vec<Escrow>,
    pub done_escrow: Vec<(String, String)>,
    pub logs: Vec<LogRecord>,
    /// Memberships the chunk put on the target: each group's source id with its members'.
    pub add_members: Vec<(String, Vec<String>)>,
    /// Memberships the chunk took off the target.
    pub remove_members: Vec<(String, Vec<String>)>,
}

/// What `sync restart` clears.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClearScope {
    /// Links and watermark: the next cycle is an initial one and re-matches everything.
    pub state: bool,
    pub escrow: bool,
    pub quarantine: bool,
}

/// Who runs a job now, and until when their lease holds without renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The worker: `host:pid`.
    pub holder: String,
    pub until: Timestamp,
}

/// What [`SyncStateStore::claim_lease`] got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseClaim {
    /// The caller holds the lease until the time it asked for.
    Acquired,
    /// Another worker holds it.
    Held(Lease),
}

/// A job's stored controls: the On/Off state and the current lease.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobControl {
    /// Provisioning Status Off (`scimd sync stop`).
    pub stopped: bool,
    pub lease: Option<Lease>,
    /// The running cycle's progress (JSON: pass, processed, total, rate, ETA), while one runs.
    pub progress: Option<String>,
}

/// One cycle of a job, for `scimd sync history`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleRecord {
    pub job: String,
    pub cycle_id: String,
    /// `initial`, `incremental` or `on_demand`.
    pub kind: String,
    pub started: Timestamp,
    pub finished: Timestamp,
    /// `host:pid` of the process that ran it.
    pub worker: String,
    /// `succeeded`, `partially_failed`, `failed`, …
    pub result: String,
    /// JSON object: counts of actions by kind and status.
    pub counts: String,
}

#[async_trait]
pub trait SyncStateStore: Send + Sync + 'static {
    async fn links(&self, job: &str) -> Result<Vec<Link>>;
    /// The links of these objects (`(kind, source id)`); unknown keys are left out.
    async fn links_for(&self, job: &str, keys: Vec<(String, String)>) -> Result<Vec<Link>>;
    /// The keys and target ids (no values) of these objects' links.
    async fn link_keys_for(&self, job: &str, keys: Vec<(String, String)>) -> Result<Vec<LinkKey>>;
    /// One page of the job's linked objects, as `(kind, source id)` in that order, after
    /// `after`: all of them, or (`disabled_only`) those the engine disabled. Answered from
    /// the key index alone, so walking a million links reads megabytes, not the links.
    async fn linked_keys(
        &self,
        job: &str,
        after: Option<(String, String)>,
        limit: usize,
        disabled_only: bool,
    ) -> Result<Vec<(String, String)>>;
    /// Inserts or replaces links (keyed by job, kind, source id).
    async fn put_links(&self, job: &str, links: Vec<Link>) -> Result<()>;
    async fn remove_links(&self, job: &str, keys: Vec<(String, String)>) -> Result<()>;
    async fn status(&self, job: &str) -> Result<JobStatus>;
    async fn put_status(&self, status: JobStatus) -> Result<()>;
    async fn escrows(&self, job: &str) -> Result<Vec<Escrow>>;
    /// Replaces the escrow entries of the given objects; `remove` lists objects that succeeded.
    async fn put_escrows(&self, job: &str, put: Vec<Escrow>, remove: Vec<(String, String)>) -> Result<()>;
    async fn append_log(&self, records: Vec<LogRecord>) -> Result<()>;
    /// Links, unlinks, escrows, memberships and log records of one chunk, in one
    /// transaction. Memberships are written before unlinks, and unlinking an object drops
    /// the memberships it is the group or the member of (the target forgets a deleted
    /// object's memberships too).
    async fn commit_chunk(&self, job: &str, chunk: ChunkWrite) -> Result<()>;
    /// The members the engine has put in these groups (source ids): each group that has
    /// any, in group order, with its members in order.
    async fn members_of(&self, job: &str, groups: Vec<String>) -> Result<Vec<(String, Vec<String>)>>;
    async fn log(&self, q: LogQuery) -> Result<Vec<LogRecord>>;
    async fn jobs(&self) -> Result<Vec<JobStatus>>;
    async fn clear(&self, job: &str, scope: ClearScope) -> Result<()>;
    /// Notification throttling: records `now` as the job's last notice of `kind` and returns
    /// true, unless a notice of that kind was recorded after `since` (then nothing changes
    /// and it returns false). Atomic, so processes sharing a database send one notice.
    async fn claim_notice(&self, job: &str, kind: &str, now: Timestamp, since: Timestamp) -> Result<bool>;
    /// Takes or renews the job's lease for `holder` until `until`: granted when nobody holds
    /// it, `holder` does, or the holder's lease ran out before `now`. Atomic across processes.
    async fn claim_lease(&self, job: &str, holder: &str, now: Timestamp, until: Timestamp) -> Result<LeaseClaim>;
    /// Gives the lease up if `holder` has it.
    async fn release_lease(&self, job: &str, holder: &str) -> Result<()>;
    /// Provisioning Status On (`false`) or Off (`true`).
    async fn set_stopped(&self, job: &str, stopped: bool) -> Result<()>;
    async fn control(&self, job: &str) -> Result<JobControl>;
    /// Stores (or with `None` clears) the running cycle's progress.
    async fn set_progress(&self, job: &str, progress: Option<String>) -> Result<()>;
    async fn append_cycle(&self, cycle: CycleRecord) -> Result<()>;
    /// The job's cycles, newest first.
    async fn cycles(&self, job: &str, limit: usize) -> Result<Vec<CycleRecord>>;
}
