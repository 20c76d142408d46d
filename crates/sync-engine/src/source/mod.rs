//! Directory sources. A source returns a complete snapshot, or — when it has a watermark —
//! only what changed since the last one (with tombstones for hard deletes).
//!
//! The sources themselves (file, SCIM, Microsoft Graph, LDAP) live in the `sync-sources`
//! crate behind [`Source`] and [`SourceCatalog`]; the engine keeps the memory and sample
//! sources, which the demo and tests use.

use std::path::Path;

use async_trait::async_trait;

pub mod sample;

use crate::config::{JobConfig, SourceConfig};
use crate::error::EngineError;
use crate::model::{ObjectKind, SourceBatch, SourceObject};

/// Pages of a full read, as a streaming source sends them (an error ends the read).
pub type PageRx = tokio::sync::mpsc::Receiver<Result<Vec<SourceObject>, EngineError>>;

#[async_trait]
pub trait Source: Send + Sync {
    /// A short description for logs and `sync status` (e.g. `file:directory.json`).
    fn describe(&self) -> String;

    /// Reads everything: the initial cycle, and every cycle of a source without watermarks.
    async fn read_all(&self) -> Result<SourceBatch, EngineError>;

    /// A full read in pages, for a source that can read itself again cheaply and has no
    /// watermark (a complete snapshot each time): the cycle reads it once per pass and never
    /// holds it whole. `None` (the default): the cycle reads [`Self::read_all`] once.
    fn stream(&self) -> Option<PageRx> {
        None
    }

    /// A full read taken once and replayed for each pass of the cycle, for a source that is
    /// slow or costly to read again (a directory over the network, spooled to disk). When it
    /// gives one, the cycle uses it instead of [`Self::stream`] and [`Self::read_all`].
    async fn snapshot(&self) -> Result<Option<Box<dyn Snapshot>>, EngineError> {
        Ok(None)
    }

    /// Reads the changes since `watermark`. `Ok(None)` means the source cannot do that and
    /// the engine diffs full snapshots instead.
    async fn read_changes(&self, _watermark: &str) -> Result<Option<SourceBatch>, EngineError> {
        Ok(None)
    }

    /// Reads one object, for provision on demand. The default scans a full read.
    async fn read_one(&self, kind: ObjectKind, id: &str) -> Result<Option<SourceObject>, EngineError> {
        Ok(self
            .read_all()
            .await?
            .objects
            .into_iter()
            .find(|o| o.kind == kind && o.id == id))
    }
}

/// A complete read that can be read again, page by page, as often as the cycle needs.
pub trait Snapshot: Send + Sync {
    /// The objects from the first, in pages.
    fn pages(&self) -> PageRx;

    /// Where the next incremental read continues (for example a Graph delta link).
    fn watermark(&self) -> Option<String>;
}

/// The source types a program knows: checks a `[source]` section and opens it.
#[async_trait]
pub trait SourceCatalog: Send + Sync {
    /// Records problems with the section (an unknown type, unknown or bad keys), each naming
    /// its key (`source.page_size = 0: …`), and warnings (a plain-http URL).
    /// `job` is there for checks that depend on the rest of the job (the scope mode).
    fn check(&self, job: &JobConfig, checks: &mut crate::validate::Checks);

    /// Opens the source of `job` (secrets are read here; `dir` is the job file's folder).
    fn open(&self, job: &JobConfig, dir: &Path) -> Result<Box<dyn Source>, EngineError>;

    /// `sync validate`'s checks on this machine: secrets readable, a file present. When the
    /// source is cheap to read (a file), its objects come back for the attribute check.
    async fn environment(&self, cfg: &SourceConfig, dir: &Path) -> Result<Option<SourceBatch>, Vec<String>>;
}

/// A shared source is a source: callers keep a handle (say, to change a memory source
/// between cycles) while the runtime owns another.
#[async_trait]
impl<S: Source + ?Sized> Source for std::sync::Arc<S> {
    fn describe(&self) -> String {
        (**self).describe()
    }

    async fn read_all(&self) -> Result<SourceBatch, EngineError> {
        (**self).read_all().await
    }

    fn stream(&self) -> Option<PageRx> {
        (**self).stream()
    }

    async fn snapshot(&self) -> Result<Option<Box<dyn Snapshot>>, EngineError> {
        (**self).snapshot().await
    }

    async fn read_changes(&self, watermark: &str) -> Result<Option<SourceBatch>, EngineError> {
        (**self).read_changes(watermark).await
    }

    async fn read_one(&self, kind: ObjectKind, id: &str) -> Result<Option<SourceObject>, EngineError> {
        (**self).read_one(kind, id).await
    }
}

/// A source held in memory: the demo's sample directory, and tests.
pub struct MemorySource {
    pub name: String,
    pub objects: std::sync::Mutex<Vec<SourceObject>>,
    /// While set, reads fail with this message (a directory that is down).
    pub failing: std::sync::Mutex<Option<String>>,
}

impl MemorySource {
    pub fn new(name: &str, objects: Vec<SourceObject>) -> MemorySource {
        MemorySource {
            name: name.to_string(),
            objects: std::sync::Mutex::new(objects),
            failing: std::sync::Mutex::new(None),
        }
    }

    /// Makes reads fail with `message` (`None`: read normally again).
    pub fn fail(&self, message: Option<&str>) {
        *self.failing.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = message.map(str::to_string);
    }

    /// Replaces the directory's contents (tests change the source between cycles).
    pub fn set(&self, objects: Vec<SourceObject>) {
        *self.objects.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = objects;
    }
}

#[async_trait]
impl Source for MemorySource {
    fn describe(&self) -> String {
        format!("memory:{}", self.name)
    }

    async fn read_all(&self) -> Result<SourceBatch, EngineError> {
        if let Some(m) = self
            .failing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
        {
            return Err(EngineError::Source(m));
        }
        Ok(SourceBatch {
            objects: self
                .objects
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
            complete: true,
            watermark: None,
        })
    }
}
