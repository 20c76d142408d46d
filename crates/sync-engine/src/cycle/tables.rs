//! What a streamed cycle keeps about every object while it plans one chunk at a time: for
//! each object read, whether it is in scope or deleted; for each link the job had, whether
//! the engine disabled it. Keys are 128-bit hashes of (kind, id), so a million objects cost
//! tens of megabytes, not the objects themselves.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use scim_core::ports::sync::LinkKey;

use super::read::Read;
use super::{Job, Runtime, state_err};
use crate::error::EngineError;
use crate::model::ObjectKind;
use crate::plan::{Key, Known, Lookup};
use crate::scope::ScopeIndex;

/// Link keys per page when the cycle walks the job's links.
const LINK_PAGE: usize = 5000;

/// The key a table holds an object by: a 128-bit hash of (kind, id), in two halves so that
/// an entry aligns to 8 bytes (24 bytes with its value instead of 32: at a million objects
/// each table takes 52 MB, not 69).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHash(u64, u64);

impl std::hash::Hash for KeyHash {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

/// The hash a table keys an object by.
pub fn key_hash(kind: ObjectKind, id: &str) -> KeyHash {
    let h = crate::model::hash128(&(kind, id));
    KeyHash((h >> 64) as u64, h as u64)
}

/// The keys are hashes already: the map uses their low bits as they are.
#[derive(Default)]
pub struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes.iter().take(8) {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub type HashTable<V> = HashMap<KeyHash, V, BuildHasherDefault<PreHashed>>;

/// An object read in this cycle: its scope, and how many objects the read held before it
/// (a chunk that ends at read position `n` has planned every object at a lower one).
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub known: Known,
    pub at: u32,
}

#[derive(Default)]
pub struct Tables {
    /// Every object read in this cycle, with its place in the read.
    pub decided: HashTable<Seen>,
    /// Every link the job had when the cycle started: disabled by the engine or not. Shared
    /// with the committer, which reads from the store only links that can exist.
    pub linked: Arc<HashTable<bool>>,
    /// Objects read.
    pub read: usize,
    /// The scope index (assigned mode: group memberships and roles).
    pub index: ScopeIndex,
}

impl Lookup for Tables {
    fn decided(&self, k: &Key) -> Option<Known> {
        self.decided.get(&key_hash(k.0, &k.1)).map(|s| s.known)
    }

    fn linked(&self, k: &Key) -> Option<bool> {
        self.linked.get(&key_hash(k.0, &k.1)).copied()
    }
}

impl Tables {
    /// Walks the job's links and the source (twice in assigned mode: the scope index needs
    /// every group before any user's scope is known).
    pub async fn build(job: &Job, rt: &Runtime, read: &Read<'_>) -> Result<Tables, EngineError> {
        let mut t = Tables::default();
        let mut linked = HashTable::default();
        each_link(job, rt, false, |kind, id| {
            linked.insert(key_hash(kind, id), false);
        })
        .await?;
        each_link(job, rt, true, |kind, id| {
            linked.insert(key_hash(kind, id), true);
        })
        .await?;
        // An incremental cycle reads about as many objects as it has links: sized once, the
        // table never holds its old and new buckets together while it grows.
        t.decided.reserve(linked.len());
        t.linked = Arc::new(linked);
        if job.scope.mode != crate::config::ScopeMode::All {
            let mut pass = read.pass();
            while let Some(page) = pass.next().await? {
                page.iter().for_each(|o| t.index.insert(o));
            }
        }
        let mut pass = read.pass();
        while let Some(page) = pass.next().await? {
            for o in page.iter() {
                let d = job.scope.evaluate(o, &t.index);
                let known = Known {
                    in_scope: d.in_scope,
                    deleted: o.deleted,
                };
                let at = u32::try_from(t.read).unwrap_or(u32::MAX);
                t.decided.insert(key_hash(o.kind, &o.id), Seen { known, at });
                t.read += 1;
            }
        }
        Ok(t)
    }

    /// Where the read holds this object (`None`: not read).
    pub fn position(&self, kind: ObjectKind, id: &str) -> Option<u32> {
        self.decided.get(&key_hash(kind, id)).map(|s| s.at)
    }

    /// Links of objects this cycle did not read (after a complete read: gone from the source).
    /// The keys come from the key index alone; only the unseen ones' links are read whole.
    pub async fn unseen(&self, job: &Job, rt: &Runtime) -> Result<Vec<(Key, LinkKey)>, EngineError> {
        let mut keys = Vec::new();
        each_link(job, rt, false, |kind, id| {
            if !self.decided.contains_key(&key_hash(kind, id)) {
                keys.push((kind.as_str().to_string(), id.to_string()));
            }
        })
        .await?;
        let mut out = Vec::with_capacity(keys.len());
        for part in keys.chunks(LINK_PAGE) {
            let links = rt
                .state
                .link_keys_for(job.name(), part.to_vec())
                .await
                .map_err(state_err)?;
            out.extend(
                links
                    .into_iter()
                    .filter_map(|l| Some(((ObjectKind::parse(&l.kind)?, l.source_id.clone()), l))),
            );
        }
        Ok(out)
    }
}

/// Walks the job's linked objects (or only the disabled ones) a page at a time.
async fn each_link(
    job: &Job,
    rt: &Runtime,
    disabled_only: bool,
    mut f: impl FnMut(ObjectKind, &str),
) -> Result<(), EngineError> {
    let mut after = None;
    loop {
        let page = rt
            .state
            .linked_keys(job.name(), after.take(), LINK_PAGE, disabled_only)
            .await
            .map_err(state_err)?;
        for (kind, id) in &page {
            if let Some(kind) = ObjectKind::parse(kind) {
                f(kind, id);
            }
        }
        match page.last() {
            Some(last) if page.len() == LINK_PAGE => after = Some(last.clone()),
            _ => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_entries_take_24_bytes_and_keys_tell_kinds_apart() {
        assert_eq!(std::mem::size_of::<(KeyHash, Seen)>(), 24);
        assert_eq!(std::mem::size_of::<(KeyHash, bool)>(), 24);
        assert_ne!(key_hash(ObjectKind::User, "a"), key_hash(ObjectKind::Group, "a"));
        let mut t = HashTable::default();
        t.insert(key_hash(ObjectKind::User, "a"), true);
        t.insert(key_hash(ObjectKind::Group, "a"), false);
        assert_eq!(t.get(&key_hash(ObjectKind::User, "a")), Some(&true));
        assert_eq!(t.get(&key_hash(ObjectKind::Group, "a")), Some(&false));
        assert_eq!(t.get(&key_hash(ObjectKind::User, "b")), None);
    }
}
