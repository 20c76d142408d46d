//! One cycle's executor state, across its chunks.

use std::collections::HashMap;
use std::sync::Arc;

use super::matching::RunCtx;
use super::{ChunkSink, Executor, Outcome, Progress, Task};
use crate::config::BulkMode;
use crate::error::EngineError;
use crate::model::ObjectKind;
use crate::plan::{Action, Key};

/// Target ids a session keeps between chunks, at most (about 100 bytes each).
pub const KEEP_TARGETS: usize = 10_000;

/// See [`Executor::session`].
pub struct Session {
    pub(super) exec: Arc<Executor>,
    pub(super) bulk: BulkMode,
    pub(super) ctx: Arc<RunCtx>,
}

impl Session {
    /// Adds target ids of objects the next actions refer to (managers, members).
    pub fn know(&self, targets: HashMap<Key, String>) {
        self.ctx
            .links
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(targets);
    }

    /// Where membership changes look up the members the session does not know (set once).
    pub fn resolve_with(&self, resolver: Arc<dyn super::refs::Resolve>) {
        let _ = self.ctx.resolver.set(resolver);
    }

    /// The target id of an object, if it is known to this session.
    pub fn target_of(&self, key: &Key) -> Option<String> {
        self.ctx
            .links
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// After a chunk: forgets the target ids and the managers sent with creates once they
    /// pass [`KEEP_TARGETS`] (the state store has them all). Recent ones stay: the next
    /// chunk's managers are often the last chunk's creates, whose write may still run.
    pub fn forget(&self) {
        self.forget_keeping(&[]);
    }

    /// As [`Session::forget`], but keeps what `waiting` (references that run next) need:
    /// the target ids of their objects and of the objects they name.
    pub fn forget_keeping(&self, waiting: &[Action]) {
        let mut links = self.ctx.links.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if links.len() <= KEEP_TARGETS {
            return;
        }
        let mut keep = HashMap::new();
        let mut keep_set = HashMap::new();
        let mut set = self
            .ctx
            .managers_set
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for a in waiting {
            if let Some((k, v)) = set.remove_entry(&(a.kind, a.source_id.clone())) {
                keep_set.insert(k, v);
            }
            for id in std::iter::once(&a.source_id).chain(named(a)) {
                for kind in [ObjectKind::User, ObjectKind::Group] {
                    if let Some((k, v)) = links.remove_entry(&(kind, id.clone())) {
                        keep.insert(k, v);
                    }
                }
            }
        }
        *links = keep;
        *set = keep_set;
    }

    /// Before a stretch of object actions: reads the target snapshot of a kind once there
    /// are enough creates of it to be worth it (then kept for the rest of the cycle).
    pub async fn prepare(&self, actions: &[Action]) {
        for (kind, cell) in [
            (ObjectKind::User, &self.ctx.users),
            (ObjectKind::Group, &self.ctx.groups),
        ] {
            if cell.get().is_none()
                && let Some(s) = self.exec.snapshot_for(actions, kind).await
            {
                let _ = cell.set(s);
            }
        }
    }

    /// Runs objects' creates, updates, disables and deletes: many creates by Bulk when the
    /// mode allows and the target advertises it, the rest one request each.
    pub async fn objects(&self, actions: Vec<Action>, progress: &dyn Progress) -> Vec<Outcome> {
        let (mut out, single) = self.exec.bulk_pass(actions, &self.ctx, self.bulk, progress).await;
        out.extend(self.exec.run_pass(single, self.ctx.clone(), progress).await);
        out
    }

    /// Runs object actions `chunk` at a time, each chunk's outcomes handed to `sink` before
    /// the next starts; false when the sink asked to stop.
    pub async fn objects_in_chunks(
        &self,
        actions: Vec<Action>,
        chunk: usize,
        progress: &dyn Progress,
        sink: &mut dyn ChunkSink,
    ) -> Result<bool, EngineError> {
        let mut actions = actions.into_iter().peekable();
        while actions.peek().is_some() {
            let part: Vec<Action> = actions.by_ref().take(chunk.max(1)).collect();
            sink.chunk(self.objects(part, progress).await).await?;
            if sink.stop_requested() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Runs reference changes (managers, members); their objects exist by now.
    pub async fn references(&self, actions: Vec<Action>, progress: &dyn Progress) -> Vec<Outcome> {
        let tasks: Vec<Task> = actions.into_iter().map(Task::from).collect();
        self.exec.run_pass(tasks, self.ctx.clone(), progress).await
    }
}

/// The objects a reference names besides its own (source ids).
fn named(a: &Action) -> Vec<&String> {
    use crate::plan::Op;
    match &a.op {
        Op::Manager { manager } => manager.iter().collect(),
        // A large one looks its members up as it goes.
        Op::Members { .. } if super::windowed(a) => Vec::new(),
        Op::Members { add, remove } => add.iter().chain(remove).collect(),
        Op::Create { mapped, .. } => mapped.manager.iter().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Op;

    fn session() -> Session {
        let client = scim_client::ScimClient::new("http://127.0.0.1:9/scim/v2", "t", Default::default())
            .expect("a client needs no connection");
        let exec = Arc::new(Executor {
            client,
            cfg: Default::default(),
        });
        exec.session(BulkMode::Auto)
    }

    fn reference(kind: ObjectKind, id: &str, op: Op) -> Action {
        Action {
            kind,
            source_id: id.into(),
            target_id: None,
            display: id.into(),
            op,
        }
    }

    #[test]
    fn forgetting_keeps_what_the_waiting_references_need() {
        let s = session();
        let user = |i: usize| (ObjectKind::User, format!("u{i}"));
        s.know((0..=KEEP_TARGETS).map(|i| (user(i), format!("t{i}"))).collect());
        s.know(HashMap::from([(
            (ObjectKind::Group, "g1".to_string()),
            "tg".to_string(),
        )]));
        let waiting = [
            reference(
                ObjectKind::User,
                "u1",
                Op::Manager {
                    manager: Some("u2".into()),
                },
            ),
            reference(
                ObjectKind::Group,
                "g1",
                Op::Members {
                    add: vec!["u3".into()],
                    remove: vec!["u4".into(), "gone".into()],
                },
            ),
        ];
        s.forget_keeping(&waiting);
        let known = |k: &Key| s.target_of(k);
        for i in 1..=4 {
            assert_eq!(known(&user(i)), Some(format!("t{i}")), "u{i} is kept");
        }
        assert_eq!(known(&(ObjectKind::Group, "g1".into())), Some("tg".into()));
        assert_eq!(known(&user(5)), None, "the rest is forgotten");
        assert_eq!(s.ctx.links.lock().unwrap().len(), 5);

        // Under the limit nothing is forgotten.
        s.know((10..20).map(|i| (user(i), format!("t{i}"))).collect());
        s.forget_keeping(&[]);
        assert_eq!(known(&user(15)), Some("t15".into()));
    }
}
