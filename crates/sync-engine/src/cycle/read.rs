//! How a cycle reads its source: a streaming source (a file) is read again for each pass,
//! page by page, and never held whole; a network source is read once into a snapshot on disk
//! that each pass reads again; any other source is read once and its batch replayed for each
//! pass.

use std::ops::{Deref, Range};
use std::sync::Arc;

use crate::error::EngineError;
use crate::model::{SourceBatch, SourceObject};
use crate::source::{PageRx, Snapshot, Source};

/// Where a cycle's objects come from.
pub enum Input<'s> {
    /// Read in pages, once per pass; the first pass's pages are already on their way.
    Stream(&'s dyn Source, std::sync::Mutex<Option<PageRx>>),
    /// Read once (an incremental read, or a source that cannot stream).
    Batch(Arc<Vec<SourceObject>>),
    /// Read once into a snapshot the source keeps (on disk), replayed for each pass.
    Snapshot(Box<dyn Snapshot>),
}

/// One read of the source: its objects, and what the read means.
pub struct Read<'s> {
    pub input: Input<'s>,
    /// A complete snapshot: linked objects not in it are gone from the source.
    pub complete: bool,
    pub watermark: Option<String>,
}

impl<'s> Read<'s> {
    pub fn batch(batch: SourceBatch) -> Read<'static> {
        Read {
            input: Input::Batch(Arc::new(batch.objects)),
            complete: batch.complete,
            watermark: batch.watermark,
        }
    }

    /// A full read: streamed when the source can, else one `read_all`.
    pub async fn full(source: &'s dyn Source) -> Result<Read<'s>, EngineError> {
        if let Some(snapshot) = source.snapshot().await? {
            return Ok(Read {
                watermark: snapshot.watermark(),
                input: Input::Snapshot(snapshot),
                complete: true,
            });
        }
        if let Some(first) = source.stream() {
            return Ok(Read {
                input: Input::Stream(source, std::sync::Mutex::new(Some(first))),
                complete: true,
                watermark: None,
            });
        }
        Ok(Read::batch(source.read_all().await?))
    }

    /// A new pass over the objects, from the first.
    pub fn pass(&self) -> Pass {
        match &self.input {
            Input::Stream(s, first) => {
                let first = first.lock().ok().and_then(|mut f| f.take());
                Pass::Stream(first.or_else(|| s.stream()))
            }
            Input::Batch(objects) => Pass::Batch(objects.clone(), 0),
            Input::Snapshot(s) => Pass::Stream(Some(s.pages())),
        }
    }
}

/// A run of objects: a page a streaming source sent, or a stretch of a replayed batch.
pub struct Page {
    objects: Arc<Vec<SourceObject>>,
    range: Range<usize>,
}

impl Page {
    /// Splits off the first `n` objects (all of them when there are fewer).
    pub fn split_front(&mut self, n: usize) -> Page {
        let end = (self.range.start + n).min(self.range.end);
        let front = Page {
            objects: self.objects.clone(),
            range: self.range.start..end,
        };
        self.range.start = end;
        front
    }
}

impl Deref for Page {
    type Target = [SourceObject];

    fn deref(&self) -> &[SourceObject] {
        &self.objects[self.range.clone()]
    }
}

/// Pages of a batch replayed.
const BATCH_PAGE: usize = 1000;

pub enum Pass {
    Stream(Option<PageRx>),
    Batch(Arc<Vec<SourceObject>>, usize),
}

impl Pass {
    pub async fn next(&mut self) -> Result<Option<Page>, EngineError> {
        match self {
            Pass::Stream(None) => Err(EngineError::Source("the source cannot be read again".into())),
            Pass::Stream(Some(rx)) => match rx.recv().await {
                None => Ok(None),
                Some(Err(e)) => Err(e),
                Some(Ok(objects)) => {
                    let range = 0..objects.len();
                    Ok(Some(Page {
                        objects: Arc::new(objects),
                        range,
                    }))
                }
            },
            Pass::Batch(objects, at) => {
                if *at >= objects.len() {
                    return Ok(None);
                }
                let end = (*at + BATCH_PAGE).min(objects.len());
                let page = Page {
                    objects: objects.clone(),
                    range: *at..end,
                };
                *at = end;
                Ok(Some(page))
            }
        }
    }
}
