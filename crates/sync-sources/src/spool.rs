//! A full read spooled to disk: a network source (Graph, LDAP) is read once per cycle, its
//! objects written as JSON lines to a temporary file, and each pass of the cycle reads the
//! file again in pages. Memory holds a few pages, never the directory; the file is deleted
//! when the snapshot is dropped (at the end of the cycle).

use std::io::{BufRead, BufReader, BufWriter, Write};

use sync_engine::EngineError;
use sync_engine::model::SourceObject;
use sync_engine::source::{PageRx, Snapshot};

/// Objects per page a pass sends.
pub const PAGE: usize = 250;

fn io_err(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::Source(format!("spool file: {what}: {e}"))
}

/// Writes a snapshot.
pub struct SpoolWriter {
    file: tempfile::NamedTempFile,
    out: BufWriter<std::fs::File>,
    count: usize,
}

impl SpoolWriter {
    /// A new spool in the system's temporary folder.
    pub fn new() -> Result<SpoolWriter, EngineError> {
        let file = tempfile::Builder::new()
            .prefix("scimd-read-")
            .suffix(".jsonl")
            .tempfile()
            .map_err(|e| io_err("create", e))?;
        let out = BufWriter::new(file.reopen().map_err(|e| io_err("open", e))?);
        Ok(SpoolWriter { file, out, count: 0 })
    }

    pub fn push(&mut self, obj: &SourceObject) -> Result<(), EngineError> {
        serde_json::to_writer(&mut self.out, obj).map_err(|e| io_err("write", e))?;
        self.out.write_all(b"\n").map_err(|e| io_err("write", e))?;
        self.count += 1;
        Ok(())
    }

    /// Objects written so far.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The finished snapshot, with the watermark the next incremental read starts from.
    pub fn finish(mut self, watermark: Option<String>) -> Result<Spool, EngineError> {
        self.out.flush().map_err(|e| io_err("write", e))?;
        Ok(Spool {
            file: self.file,
            count: self.count,
            watermark,
        })
    }
}

/// A finished snapshot: read again, page by page, for every pass.
pub struct Spool {
    file: tempfile::NamedTempFile,
    count: usize,
    watermark: Option<String>,
}

impl Spool {
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

impl Snapshot for Spool {
    fn pages(&self) -> PageRx {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        let file = self.file.reopen();
        tokio::task::spawn_blocking(move || {
            let send_all = || -> Result<(), EngineError> {
                let reader = BufReader::new(file.map_err(|e| io_err("open", e))?);
                let mut page = Vec::with_capacity(PAGE);
                for line in reader.lines() {
                    let line = line.map_err(|e| io_err("read", e))?;
                    page.push(serde_json::from_str(&line).map_err(|e| io_err("parse", e))?);
                    if page.len() == PAGE {
                        let full = std::mem::replace(&mut page, Vec::with_capacity(PAGE));
                        tx.blocking_send(Ok(full))
                            .map_err(|_| io_err("send", "the reader went away"))?;
                    }
                }
                if !page.is_empty() {
                    tx.blocking_send(Ok(page))
                        .map_err(|_| io_err("send", "the reader went away"))?;
                }
                Ok(())
            };
            if let Err(e) = send_all() {
                let _ = tx.blocking_send(Err(e));
            }
        });
        rx
    }

    fn watermark(&self) -> Option<String> {
        self.watermark.clone()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sync_engine::model::ObjectKind;

    use super::*;

    fn obj(i: usize) -> SourceObject {
        SourceObject {
            kind: if i.is_multiple_of(10) {
                ObjectKind::Group
            } else {
                ObjectKind::User
            },
            id: format!("id-{i}"),
            attrs: json!({"displayName": format!("n{i}"), "accountEnabled": !i.is_multiple_of(3)})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            members: if i.is_multiple_of(10) {
                vec![format!("id-{}", i + 1)]
            } else {
                vec![]
            },
            app_roles: vec![],
            deleted: i.is_multiple_of(7),
        }
    }

    #[tokio::test]
    async fn a_spool_replays_every_object_in_order_for_each_pass() {
        let mut w = SpoolWriter::new().unwrap();
        let want: Vec<SourceObject> = (0..PAGE * 2 + 3).map(obj).collect();
        for o in &want {
            w.push(o).unwrap();
        }
        let spool = w.finish(Some("delta-1".into())).unwrap();
        assert_eq!(spool.len(), want.len());
        assert_eq!(spool.watermark().as_deref(), Some("delta-1"));
        for _ in 0..2 {
            let mut rx = spool.pages();
            let mut got = Vec::new();
            let mut sizes = Vec::new();
            while let Some(page) = rx.recv().await {
                let page = page.unwrap();
                sizes.push(page.len());
                got.extend(page);
            }
            assert_eq!(sizes, [PAGE, PAGE, 3]);
            assert_eq!(got, want);
        }
    }
}
