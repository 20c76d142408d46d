//! The streamed cycle's planning: after the first passes built the [`Tables`], the source
//! is read once more and planned a chunk at a time (`run.rs` runs the chunks). Deletions
//! (objects that left scope, links the read did not find) wait for the end, so the deletion
//! threshold sees them all before any is sent. References run right after their chunk when
//! every object they name has a target id (a large membership change: when every member it
//! adds was read by then), else at the end.

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use super::read::{Page, Pass, Read};
use super::tables::Tables;
use super::{Job, Runtime, state_err};
use crate::error::EngineError;
use crate::execute::{Session, windowed};
use crate::model::{ObjectKind, SourceObject};
use crate::plan::{Action, Counts, Decision, Key, LinkState, Lookup, Op, PlanInput, Planner, link_states};
use crate::scope::ScopeReason;

/// One chunk planned.
#[derive(Default)]
pub(super) struct Planned {
    /// Creates, updates, skips and failures: run now.
    pub objects: Vec<Action>,
    /// Disables and deletes of objects that left scope or were deleted: run at the end.
    pub deletions: Vec<Action>,
    /// Manager and membership changes.
    pub references: Vec<Action>,
    pub counts: Counts,
    /// Objects read for this chunk.
    pub read: usize,
    /// Objects read for this chunk and those before it.
    pub through: usize,
}

/// Plans the source chunk by chunk (the planning half of a streamed cycle).
pub(super) struct Chunks<'a> {
    pub job: &'a Job,
    pub rt: &'a Runtime,
    pub tables: &'a Tables,
    pub complete: bool,
    pub planner: Planner<'a>,
    /// Objects whose escrow back-off has not passed.
    pub held: &'a HashSet<Key>,
    pub now: OffsetDateTime,
    /// Objects per chunk (at least).
    pub size: usize,
    pass: Pass,
    /// What is left of the last page read.
    rest: Option<Page>,
    /// Objects read so far.
    through: usize,
}

/// Objects planned together at least: the actions they give run in chunks of the job's
/// `chunk_size`, but the target snapshot and Bulk are decided over at least this many.
pub const PLAN_OBJECTS: usize = 1000;

/// Objects planned between two yields to the chunk that runs meanwhile.
const PLAN_SLICE: usize = 100;

/// A chunk's weight: its objects and their group members. A chunk stops at this many, so
/// the member lists of a few large groups make a chunk of their own.
pub const MAX_CHUNK_WEIGHT: usize = 50_000;

impl<'a> Chunks<'a> {
    pub fn new(
        job: &'a Job,
        rt: &'a Runtime,
        read: &Read<'_>,
        tables: &'a Tables,
        held: &'a HashSet<Key>,
        planner: Planner<'a>,
        now: OffsetDateTime,
    ) -> Chunks<'a> {
        Chunks {
            job,
            rt,
            tables,
            complete: read.complete,
            planner,
            held,
            now,
            size: rt.executor.cfg.chunk.max(PLAN_OBJECTS),
            pass: read.pass(),
            rest: None,
            through: 0,
        }
    }

    /// The next chunk, or `None` after the last.
    pub async fn next(&mut self, rng: &mut (dyn FnMut() -> u64 + Send)) -> Result<Option<Planned>, EngineError> {
        let Some(pages) = self.take_objects().await? else {
            return Ok(None);
        };
        let n = pages.iter().map(|p| p.len()).sum();
        self.through += n;
        let mut decisions: HashMap<Key, Decision> = HashMap::with_capacity(n);
        for part in pages.iter().flat_map(|p| p.chunks(PLAN_SLICE)) {
            decisions.extend(part.iter().map(|o| {
                let d = self.job.scope.evaluate(o, &self.tables.index);
                let decision = Decision {
                    in_scope: d.in_scope,
                    inactive: d.reason == ScopeReason::NotActive,
                    reason: d.reason.describe().to_string(),
                    deleted: o.deleted,
                };
                ((o.kind, o.id.clone()), decision)
            }));
            tokio::task::yield_now().await;
        }
        // Only objects linked when the cycle started have a link: an initial cycle reads none.
        let keys = decisions
            .keys()
            .filter(|k| self.tables.linked(k).is_some())
            .map(|(k, id)| (k.as_str().to_string(), id.clone()))
            .collect();
        let links = link_states(
            &self
                .rt
                .state
                .links_for(self.job.name(), keys)
                .await
                .map_err(state_err)?,
        );
        let members = self.members(&links).await?;
        let mut out = Planned {
            read: n,
            through: self.through,
            ..Default::default()
        };
        for part in pages.iter().flat_map(|p| p.chunks(PLAN_SLICE)) {
            let input = PlanInput {
                objects: part,
                complete: self.complete,
                decisions: &decisions,
                links: &links,
                members: &members,
                others: self.tables,
                held: self.held,
                now: self.now,
            };
            let plan = self.planner.plan(&input, rng);
            // The chunk that runs meanwhile is polled by this task too: planning yields
            // often, so its next request or commit never waits for a whole chunk's plan.
            tokio::task::yield_now().await;
            out.counts.add(&plan.counts);
            for a in plan.actions {
                if a.is_second_pass() {
                    out.references.push(a);
                } else if a.is_deletion() {
                    out.deletions.push(a);
                } else {
                    out.objects.push(a);
                }
            }
        }
        Ok(Some(out))
    }
}

impl Chunks<'_> {
    /// The members the engine has put in the linked groups among `links`.
    async fn members(&self, links: &HashMap<Key, LinkState>) -> Result<HashMap<String, Vec<String>>, EngineError> {
        let groups: Vec<String> = links
            .keys()
            .filter(|(k, _)| *k == ObjectKind::Group)
            .map(|(_, id)| id.clone())
            .collect();
        let rows = self
            .rt
            .state
            .members_of(self.job.name(), groups)
            .await
            .map_err(state_err)?;
        Ok(rows
            .into_iter()
            .map(|(g, mut ms)| {
                ms.sort_unstable();
                ms.dedup();
                (g, ms)
            })
            .collect())
    }

    /// Pages (or parts of pages) holding the next `size` objects, or fewer when their
    /// members weigh more than [`MAX_CHUNK_WEIGHT`]; `None` at the end of the read.
    async fn take_objects(&mut self) -> Result<Option<Vec<Page>>, EngineError> {
        let (mut pages, mut n, mut weight) = (Vec::new(), 0, 0);
        while n < self.size && weight < MAX_CHUNK_WEIGHT {
            let mut page = match self.rest.take() {
                Some(p) => p,
                None => match self.pass.next().await? {
                    Some(p) => p,
                    None => break,
                },
            };
            let take;
            (take, weight) = fits(&page, (n, weight), self.size, MAX_CHUNK_WEIGHT);
            n += take;
            pages.push(page.split_front(take));
            if !page.is_empty() {
                self.rest = Some(page);
            }
        }
        Ok((!pages.is_empty()).then_some(pages))
    }
}

/// How many of `objects` join a chunk that holds `n` objects weighing `weight` so far, and
/// the weight after: objects until the chunk has `size` of them or weighs `max_weight`
/// (always at least one, so a chunk of one heavy group still moves on).
pub fn fits(
    objects: &[SourceObject],
    (n, mut weight): (usize, usize),
    size: usize,
    max_weight: usize,
) -> (usize, usize) {
    let mut take = 0;
    for o in objects {
        if (take > 0 || n > 0) && (n + take >= size || weight >= max_weight) {
            break;
        }
        weight += 1 + o.members.len();
        take += 1;
    }
    (take, weight)
}

/// The objects an action names besides itself: a create's or a reference's manager, and
/// the members a membership change adds or removes.
/// A member's kind comes from `others` (a group read or linked as a group), else user.
pub(super) fn referenced(a: &Action, others: &dyn Lookup) -> Vec<Key> {
    use crate::model::ObjectKind::{Group, User};
    let member = |m: &String| {
        let g = (Group, m.clone());
        if others.decided(&g).is_some() || others.linked(&g).is_some() {
            g
        } else {
            (User, m.clone())
        }
    };
    match &a.op {
        Op::Create { mapped, .. } => mapped.manager.iter().map(|m| (User, m.clone())).collect(),
        Op::Manager { manager } => manager.iter().map(|m| (User, m.clone())).collect(),
        Op::Members { add, remove } if !windowed(a) => add.iter().chain(remove).map(member).collect(),
        _ => Vec::new(),
    }
}

/// Target ids, from the state store, of the objects `actions` name (and of the actions'
/// own objects), for the session to resolve references with.
/// Keys the `session` knows already are not read again.
pub(super) async fn targets(
    job: &Job,
    rt: &Runtime,
    actions: &[Action],
    others: &dyn Lookup,
    session: Option<&Session>,
) -> Result<HashMap<Key, String>, EngineError> {
    let mut keys: HashSet<Key> = HashSet::new();
    for a in actions {
        keys.extend(referenced(a, others));
        if a.target_id.is_none() && a.is_second_pass() {
            keys.insert((a.kind, a.source_id.clone()));
        }
    }
    if let Some(s) = session {
        keys.retain(|k| s.target_of(k).is_none());
    }
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let wanted = keys.into_iter().map(|(k, id)| (k.as_str().to_string(), id)).collect();
    let links = rt.state.link_keys_for(job.name(), wanted).await.map_err(state_err)?;
    Ok(target_ids(links))
}

/// Link keys as the session knows them: each object's target id by kind and source id.
fn target_ids(links: Vec<scim_core::ports::sync::LinkKey>) -> HashMap<Key, String> {
    links
        .into_iter()
        .filter_map(|l| Some(((ObjectKind::parse(&l.kind)?, l.source_id), l.target_id)))
        .collect()
}

/// Whether a large membership change can run right after its chunk: its group has a target
/// id and every member it adds was read in this chunk or an earlier one (`through` objects
/// in all), so each has run its create. Otherwise it waits for the end of the cycle.
pub(super) fn settled(a: &Action, session: &Session, tables: &Tables, through: usize) -> bool {
    use crate::model::ObjectKind::{Group, User};
    let Op::Members { add, .. } = &a.op else {
        return false;
    };
    let read_before = |kind, m: &str| tables.position(kind, m).is_some_and(|at| (at as usize) < through);
    windowed(a) && has_target(a, session) && add.iter().all(|m| read_before(User, m) || read_before(Group, m))
}

/// Whether the action's own object has a target id (linked, or created in this session).
fn has_target(a: &Action, session: &Session) -> bool {
    a.target_id.is_some() || session.target_of(&(a.kind, a.source_id.clone())).is_some()
}

/// Target ids of members, from the job's links in the state store.
pub(super) struct StateResolver {
    state: std::sync::Arc<dyn scim_core::ports::sync::SyncStateStore>,
    job: String,
    /// Lookups at once: each holds a read connection (with its page cache) while it runs,
    /// and many large groups' requests look up together.
    reads: tokio::sync::Semaphore,
}

/// Read connections [`StateResolver`] uses at once.
const RESOLVER_READS: usize = 4;

impl StateResolver {
    pub fn new(job: &Job, rt: &Runtime) -> StateResolver {
        StateResolver {
            state: rt.state.clone(),
            job: job.name().to_string(),
            reads: tokio::sync::Semaphore::new(RESOLVER_READS),
        }
    }
}

#[async_trait::async_trait]
impl crate::execute::Resolve for StateResolver {
    async fn targets(&self, ids: &[String]) -> Result<HashMap<Key, String>, EngineError> {
        let keys = ["user", "group"]
            .iter()
            .flat_map(|k| ids.iter().map(move |id| (k.to_string(), id.clone())))
            .collect();
        let _read = self
            .reads
            .acquire()
            .await
            .map_err(|e| EngineError::State(e.to_string()))?;
        let links = self.state.link_keys_for(&self.job, keys).await.map_err(state_err)?;
        Ok(target_ids(links))
    }
}

/// Whether every object a reference names has a target id by now (else it waits for the
/// end of the cycle, when every object that will exist does).
pub(super) fn resolvable(a: &Action, session: &Session) -> bool {
    use crate::model::ObjectKind::{Group, User};
    if windowed(a) {
        return false;
    }
    has_target(a, session)
        && match &a.op {
            Op::Manager { manager } => manager.iter().all(|m| session.target_of(&(User, m.clone())).is_some()),
            Op::Members { add, .. } => add.iter().all(|m| {
                session.target_of(&(User, m.clone())).is_some() || session.target_of(&(Group, m.clone())).is_some()
            }),
            _ => true,
        }
}

/// Deletions of linked objects a complete read did not find.
pub(super) async fn gone(
    job: &Job,
    rt: &Runtime,
    read: &Read<'_>,
    tables: &Tables,
    held: &HashSet<Key>,
) -> Result<Vec<Action>, EngineError> {
    if !read.complete {
        return Ok(Vec::new());
    }
    let unseen: Vec<(Key, String, bool)> = tables
        .unseen(job, rt)
        .await?
        .into_iter()
        .map(|(k, l)| (k, l.target_id, l.disabled))
        .collect();
    Ok(job.planner(false).plan_gone(&unseen, held))
}

/// One object of the read (provisioning on demand).
pub(super) async fn find(read: &Read<'_>, kind: ObjectKind, id: &str) -> Result<Option<SourceObject>, EngineError> {
    let mut pass = read.pass();
    while let Some(page) = pass.next().await? {
        if let Some(o) = page.iter().find(|o| o.kind == kind && o.id == id) {
            return Ok(Some(o.clone()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{fits, settled};
    use crate::cycle::tables::{Seen, Tables, key_hash};
    use crate::execute::{Executor, WINDOWED_MEMBERS};
    use crate::model::{ObjectKind, SourceObject};
    use crate::plan::{Action, Known, Op};

    /// A group of more members than the window, read after all but its last member.
    #[test]
    fn a_large_membership_runs_after_its_chunk_once_every_added_member_was_read() {
        let n = WINDOWED_MEMBERS + 5;
        let mut tables = Tables::default();
        for i in 0..n {
            let known = Known {
                in_scope: true,
                deleted: false,
            };
            let seen = Seen { known, at: i as u32 };
            tables
                .decided
                .insert(key_hash(ObjectKind::User, &format!("u{i}")), seen);
        }
        let client = scim_client::ScimClient::new("http://127.0.0.1:9/scim/v2", "t", Default::default())
            .expect("a client needs no connection");
        let session = Arc::new(Executor {
            client,
            cfg: Default::default(),
        })
        .session(crate::config::BulkMode::Auto);
        let members = |k: usize| Action {
            kind: ObjectKind::Group,
            source_id: "g".into(),
            target_id: Some("tg".into()),
            display: "g".into(),
            op: Op::Members {
                add: (0..k).map(|i| format!("u{i}")).collect(),
                remove: vec![],
            },
        };
        let large = members(n);
        assert!(
            settled(&large, &session, &tables, n),
            "every member read by the end of this chunk"
        );
        assert!(
            !settled(&large, &session, &tables, n - 1),
            "the last member comes in the next chunk"
        );
        let mut unknown = members(n);
        if let Op::Members { add, .. } = &mut unknown.op {
            add.push("not-read".into());
        }
        assert!(
            !settled(&unknown, &session, &tables, n),
            "a member this cycle did not read"
        );
        let mut new_group = members(n);
        new_group.target_id = None;
        assert!(
            !settled(&new_group, &session, &tables, n),
            "the group itself has no target id"
        );
        assert!(
            !settled(&members(10), &session, &tables, n),
            "small ones follow `resolvable`"
        );
    }

    fn obj(members: usize) -> SourceObject {
        SourceObject {
            kind: if members > 0 {
                ObjectKind::Group
            } else {
                ObjectKind::User
            },
            id: "x".into(),
            attrs: Default::default(),
            members: vec!["m".into(); members],
            app_roles: vec![],
            deleted: false,
        }
    }

    #[test]
    fn a_chunk_stops_at_its_size_or_its_weight_and_always_takes_one() {
        let users: Vec<_> = (0..10).map(|_| obj(0)).collect();
        assert_eq!(fits(&users, (0, 0), 4, 100), (4, 4), "size");
        assert_eq!(fits(&users, (3, 3), 4, 100), (1, 4), "the rest of a started chunk");
        assert_eq!(fits(&users, (4, 4), 4, 100), (0, 4), "a full chunk takes none");
        let groups = [obj(30), obj(30), obj(30), obj(0)];
        assert_eq!(fits(&groups, (0, 0), 100, 50), (2, 62), "weight: members count");
        assert_eq!(fits(&[obj(500)], (0, 0), 100, 50), (1, 501), "one heavy group alone");
        assert_eq!(
            fits(&[obj(500)], (1, 60), 100, 50),
            (0, 60),
            "not added to a heavy chunk"
        );
    }
}
