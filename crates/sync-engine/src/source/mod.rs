//! Directory sources. A source returns a complete snapshot, or — when it has a watermark —
//! only what changed since the last one (with tombstones for hard deletes).

use async_trait::async_trait;

pub mod file;
pub mod sample;

use crate::error::EngineError;
use crate::model::{ObjectKind, SourceBatch, SourceObject};

#[async_trait]
pub trait Source: Send + Sync {
    /// A short description for logs and `sync status` (e.g. `file:directory.json`).
    fn describe(&self) -> String;

    /// Reads everything: the initial cycle, and every cycle of a source without watermarks.
    async fn read_all(&self) -> Result<SourceBatch, EngineError>;

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
