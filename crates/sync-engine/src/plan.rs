//! The pure planning step: source objects + scope decisions + the job's links → actions.
//! No I/O, no clock (time is an input), so every decision is unit-testable and
//! `sync plan` can show exactly what a cycle would do.

use std::collections::{HashMap, HashSet};

use scim_proto::PatchOperation;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::error::EngineError;
use crate::mapping::{self, Mapped, Modified, ObjectMapper, Values};
use crate::model::{ObjectKind, SourceObject};

mod counts;
mod members;
pub use counts::{Counts, Plan, summary};
use members::member_changes;

/// What the engine remembers about a linked object (the JSON in `Link::values`). A group's
/// members are rows of their own in the state store (see [`PlanInput::members`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pushed {
    pub values: Values,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LinkState {
    pub target_id: String,
    pub hash: String,
    pub pushed: Pushed,
    pub disabled: bool,
}

pub type Key = (ObjectKind, String);

/// Why an object is or is not in scope, as the planner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub in_scope: bool,
    /// Disabled or soft-deleted in the source: linked targets are disabled, not deleted.
    pub inactive: bool,
    /// A short reason for the log ("not effectively entitled", …).
    pub reason: String,
    /// Hard-deleted in the source (a tombstone).
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Match on the matching attributes first; create only if nothing matched (and creation
    /// is allowed), otherwise link and update.
    Create {
        body: Json,
        mapped: Mapped,
        matchers: Vec<(String, String)>,
        create_allowed: bool,
        update_allowed: bool,
    },
    Update {
        ops: Vec<PatchOperation>,
        modified: Vec<Modified>,
        pushed: Pushed,
    },
    /// `active = false` (users) because the object left scope or was disabled in the source.
    Disable {
        reason: String,
    },
    Delete {
        reason: String,
    },
    /// Second pass: set or clear the manager reference (a source id, resolved at execution).
    Manager {
        manager: Option<String>,
    },
    /// Second pass: membership changes, as source ids.
    Members {
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// Logged, nothing sent.
    Skip {
        reason: String,
    },
    /// Mapping or matching failed for this object: logged as a failed `action` and escrowed;
    /// the rest of the cycle goes on.
    Fail {
        action: &'static str,
        error: EngineError,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub kind: ObjectKind,
    pub source_id: String,
    pub target_id: Option<String>,
    /// `userName` / `displayName`, for humans.
    pub display: String,
    pub op: Op,
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self.op {
            Op::Create { .. } => "Create",
            Op::Update { .. } => "Update",
            Op::Disable { .. } => "Disable",
            Op::Delete { .. } => "Delete",
            Op::Manager { .. } | Op::Members { .. } => "Update",
            Op::Skip { .. } => "Other",
            Op::Fail { action, .. } => action,
        }
    }

    pub fn is_deletion(&self) -> bool {
        matches!(self.op, Op::Disable { .. } | Op::Delete { .. })
    }

    /// Reference changes run after every object exists.
    pub fn is_second_pass(&self) -> bool {
        matches!(self.op, Op::Manager { .. } | Op::Members { .. })
    }
}

impl Plan {
    pub fn deletions(&self) -> usize {
        self.actions.iter().filter(|a| a.is_deletion()).count()
    }

    pub fn writes(&self) -> usize {
        self.actions
            .iter()
            .filter(|a| !matches!(a.op, Op::Skip { .. } | Op::Fail { .. }))
            .count()
    }
}

pub struct Planner<'a> {
    pub users: &'a ObjectMapper,
    pub groups: Option<&'a ObjectMapper>,
    pub skip_out_of_scope_deletions: bool,
    /// Log out-of-scope objects that were never provisioned (initial cycles, on demand).
    pub log_skips: bool,
}

/// What the planner knows about objects other than the ones it plans (members, managers):
/// every object read in this cycle, and every link the job had when the cycle started.
pub trait Lookup: Sync {
    fn decided(&self, k: &Key) -> Option<Known>;
    /// `Some(disabled)` when the job manages the object.
    fn linked(&self, k: &Key) -> Option<bool>;
}

/// An object's scope, as others' plans need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub in_scope: bool,
    pub deleted: bool,
}

/// A [`Lookup`] over whole maps (tests, and any caller that holds everything anyway).
impl Lookup for (HashMap<Key, Decision>, HashMap<Key, LinkState>) {
    fn decided(&self, k: &Key) -> Option<Known> {
        self.0.get(k).map(|d| Known {
            in_scope: d.in_scope,
            deleted: d.deleted,
        })
    }

    fn linked(&self, k: &Key) -> Option<bool> {
        self.1.get(k).map(|l| l.disabled)
    }
}

/// One chunk of objects to plan.
pub struct PlanInput<'a> {
    pub objects: &'a [SourceObject],
    /// The read is a complete snapshot (objects not read are gone from the source).
    pub complete: bool,
    /// The scope decisions of `objects`.
    pub decisions: &'a HashMap<Key, Decision>,
    /// The links of `objects`.
    pub links: &'a HashMap<Key, LinkState>,
    /// The members the engine has put in the linked groups of `objects`, by group id,
    /// each list sorted and without repeats.
    pub members: &'a HashMap<String, Vec<String>>,
    /// Everything else the plan may refer to.
    pub others: &'a dyn Lookup,
    /// Objects whose escrow back-off has not expired: left for a later cycle.
    pub held: &'a HashSet<Key>,
    pub now: OffsetDateTime,
}

fn display_of(obj: &SourceObject) -> String {
    let attr = |n: &str| obj.attr(n).and_then(Json::as_str).map(str::to_string);
    match obj.kind {
        ObjectKind::User => attr("userPrincipalName").or_else(|| attr("mail")),
        ObjectKind::Group => attr("displayName"),
    }
    .unwrap_or_else(|| obj.id.clone())
}

impl Planner<'_> {
    fn mapper(&self, kind: ObjectKind) -> Option<&ObjectMapper> {
        match kind {
            ObjectKind::User => Some(self.users),
            ObjectKind::Group => self.groups.filter(|g| g.enabled),
        }
    }

    /// Plans every object of the chunk. An object whose mapping or matching fails gets an
    /// [`Op::Fail`] action (logged and escrowed by the cycle); the others are planned as usual.
    /// Links of objects not read are not the chunk's business: see [`Self::plan_gone`].
    pub fn plan(&self, input: &PlanInput<'_>, rng: &mut dyn FnMut() -> u64) -> Plan {
        let mut plan = Plan::default();
        let mut second: Vec<Action> = Vec::new();
        for obj in input.objects {
            plan.counts.read += 1;
            let mut ctx = ObjectPlan {
                input,
                obj,
                link: input.links.get(&(obj.kind, obj.id.clone())),
                first: &mut plan.actions,
                second: &mut second,
                counts: &mut plan.counts,
            };
            self.plan_object(&mut ctx, rng);
        }
        plan.actions.extend(second);
        plan.counts.add_actions(&plan.actions);
        plan
    }

    /// Linked objects a complete read did not find: deleted in the source. `unseen` holds
    /// their keys, target ids and whether the engine disabled them.
    pub fn plan_gone(&self, unseen: &[(Key, String, bool)], held: &HashSet<Key>) -> Vec<Action> {
        let mut gone: Vec<&(Key, String, bool)> = unseen.iter().collect();
        gone.sort_by(|a, b| a.0.cmp(&b.0));
        let mut actions = Vec::new();
        for ((kind, id), target, disabled) in gone {
            let Some(mapper) = self.mapper(*kind) else { continue };
            if held.contains(&(*kind, id.clone())) || already_disabled(mapper, *kind, *disabled) {
                continue;
            }
            actions.push(Action {
                kind: *kind,
                source_id: id.clone(),
                target_id: Some(target.clone()),
                display: id.clone(),
                op: removal(mapper, *kind, "no longer in the source"),
            });
        }
        actions
    }

    fn plan_object(&self, cx: &mut ObjectPlan<'_, '_>, rng: &mut dyn FnMut() -> u64) {
        let (obj, input) = (cx.obj, cx.input);
        let key: Key = (obj.kind, obj.id.clone());
        let Some(mapper) = self.mapper(obj.kind) else { return };
        if input.held.contains(&key) {
            return;
        }
        if obj.deleted {
            if let Some(l) = cx.link
                && !already_disabled(mapper, obj.kind, l.disabled)
            {
                let op = removal(mapper, obj.kind, "deleted in the source");
                cx.push(op);
            }
            return;
        }
        let decision = input.decisions.get(&key).cloned().unwrap_or(Decision {
            in_scope: false,
            inactive: false,
            reason: "no scope decision".into(),
            deleted: false,
        });
        match (cx.link, decision.in_scope) {
            (Some(l), false) => self.plan_out_of_scope(cx, mapper, l, &decision),
            (None, false) => {
                if self.log_skips {
                    cx.push(Op::Skip {
                        reason: decision.reason,
                    });
                }
            }
            (None, true) => {
                cx.counts.in_scope += 1;
                if let Err(error) = plan_create(cx, mapper, rng) {
                    cx.push(Op::Fail {
                        action: "Create",
                        error,
                    });
                }
            }
            (Some(l), true) => {
                cx.counts.in_scope += 1;
                if let Err(error) = plan_update(cx, mapper, l, rng) {
                    cx.push(Op::Fail {
                        action: "Update",
                        error,
                    });
                }
            }
        }
    }

    fn plan_out_of_scope(&self, cx: &mut ObjectPlan<'_, '_>, mapper: &ObjectMapper, l: &LinkState, d: &Decision) {
        if self.skip_out_of_scope_deletions && !d.inactive {
            cx.push(Op::Skip {
                reason: format!("out of scope ({}); skip-out-of-scope-deletions is set", d.reason),
            });
        } else if cx.obj.kind == ObjectKind::User && !l.disabled {
            cx.push(Op::Disable {
                reason: d.reason.clone(),
            });
        } else if cx.obj.kind == ObjectKind::Group && mapper.actions.delete {
            cx.push(Op::Delete {
                reason: d.reason.clone(),
            });
        }
    }
}

/// One object being planned: where its actions go.
struct ObjectPlan<'p, 'a> {
    input: &'p PlanInput<'a>,
    obj: &'p SourceObject,
    link: Option<&'p LinkState>,
    first: &'p mut Vec<Action>,
    /// Reference changes, which run after every object exists.
    second: &'p mut Vec<Action>,
    counts: &'p mut Counts,
}

impl<'p> ObjectPlan<'p, '_> {
    fn action(&self, op: Op) -> Action {
        Action {
            kind: self.obj.kind,
            source_id: self.obj.id.clone(),
            target_id: self.link.map(|l| l.target_id.clone()),
            display: display_of(self.obj),
            op,
        }
    }

    fn push(&mut self, op: Op) {
        let a = self.action(op);
        self.first.push(a);
    }

    fn push_second(&mut self, op: Op) {
        let a = self.action(op);
        self.second.push(a);
    }

    /// Desired members: the group's direct members that are in scope.
    /// An incremental batch holds only changed objects: an object not in it keeps the
    /// scope it had, which is "in scope" exactly when it is linked and not disabled.
    fn in_scope(&self, k: &Key) -> bool {
        match self.known(k) {
            Some(d) => d.in_scope,
            None => !self.input.complete && self.input.others.linked(k).is_some_and(|disabled| !disabled),
        }
    }

    /// An object's scope: one of this chunk's, or any other read in this cycle.
    fn known(&self, k: &Key) -> Option<Known> {
        match self.input.decisions.get(k) {
            Some(d) => Some(Known {
                in_scope: d.in_scope,
                deleted: d.deleted,
            }),
            None => self.input.others.decided(k),
        }
    }

    /// Sorted and without repeats, borrowed from the group (a group of a million members is
    /// not copied to be compared).
    fn wanted_members(&self) -> Vec<&'p str> {
        let obj: &'p SourceObject = self.obj;
        let mut want: Vec<&'p str> = obj
            .members
            .iter()
            .filter(|m| {
                let mut key = (ObjectKind::User, (*m).clone());
                self.in_scope(&key) || {
                    key.0 = ObjectKind::Group;
                    self.in_scope(&key)
                }
            })
            .map(String::as_str)
            .collect();
        want.sort_unstable();
        want.dedup();
        want
    }

    /// A manager out of scope is never provisioned, so the reference is planned only while
    /// the manager is in scope or still linked; when the manager enters scope the reference
    /// follows. A linked manager that leaves scope is only disabled (or its removal held by the
    /// deletion threshold), so its reports keep pointing at it; a manager deleted in the
    /// source is cleared from its reports.
    fn effective_manager(&self, mapped: &mut Mapped) {
        if let Some(m) = &mapped.manager {
            let key = (ObjectKind::User, m.clone());
            let kept = self.input.others.linked(&key).is_some() && !self.gone(&key);
            if !self.in_scope(&key) && !kept {
                mapped.manager = None;
            }
        }
    }

    /// Deleted in the source this cycle: a tombstone, or missing from a complete snapshot.
    /// A reference to it is cleared in the same cycle as its removal.
    fn gone(&self, k: &Key) -> bool {
        match self.known(k) {
            Some(d) => d.deleted,
            None => self.input.complete,
        }
    }
}

fn plan_create(
    cx: &mut ObjectPlan<'_, '_>,
    mapper: &ObjectMapper,
    rng: &mut dyn FnMut() -> u64,
) -> Result<(), EngineError> {
    let obj = cx.obj;
    let mut mapped = mapper.map(obj, false, true, cx.input.now, rng)?;
    cx.effective_manager(&mut mapped);
    let matchers = mapper.matchers(&mapped);
    if matchers.is_empty() {
        return Err(EngineError::Mapping {
            target: "(matching)".into(),
            message: format!(
                "{} {} has no value for any matching attribute",
                obj.kind.as_str(),
                obj.id
            ),
        });
    }
    let body = mapping::create_body(obj.kind, &mapped.values)?;
    let manager = mapped.manager.clone();
    let members = (obj.kind == ObjectKind::Group).then(|| cx.wanted_members());
    cx.push(Op::Create {
        body,
        mapped,
        matchers,
        create_allowed: mapper.actions.create,
        update_allowed: mapper.actions.update,
    });
    if manager.is_some() {
        cx.push_second(Op::Manager { manager });
    }
    if let Some(add) = members.filter(|m| !m.is_empty()) {
        cx.push_second(Op::Members {
            add: add.into_iter().map(str::to_string).collect(),
            remove: vec![],
        });
    }
    Ok(())
}

fn plan_update(
    cx: &mut ObjectPlan<'_, '_>,
    mapper: &ObjectMapper,
    l: &LinkState,
    rng: &mut dyn FnMut() -> u64,
) -> Result<(), EngineError> {
    let obj = cx.obj;
    let mut mapped = mapper.map(obj, false, false, cx.input.now, rng)?;
    cx.effective_manager(&mut mapped);
    let values = mapping::merged_values(&l.pushed.values, &mapped);
    let members = (obj.kind == ObjectKind::Group)
        .then(|| {
            member_changes(
                &cx.wanted_members(),
                cx.input.members.get(&obj.id).map_or(&[], Vec::as_slice),
            )
        })
        .flatten();
    let hash = mapping::hash(&values, mapped.manager.as_deref());
    if hash == l.hash && !l.disabled && members.is_none() {
        cx.counts.unchanged += 1;
        return Ok(());
    }
    let planned = (cx.first.len(), cx.second.len());
    let (mut ops, mut modified) = mapping::diff(&l.pushed.values, &mapped);
    let sets_active = ops.iter().any(|o| o.path.as_deref() == Some("active"));
    if l.disabled
        && obj.kind == ObjectKind::User
        && !sets_active
        && mapped.values.get("active") != Some(&Json::Bool(false))
    {
        // Back in scope: undo our disable. The mapped `active` (if any) was
        // last pushed as true, so the diff alone would send nothing.
        ops.push(PatchOperation {
            op: "replace".into(),
            path: Some("active".into()),
            value: Some(Json::Bool(true)),
        });
        modified.push(Modified {
            name: "active".into(),
            old: Some("false".into()),
            new: Some("true".into()),
        });
    }
    let same_values = ops.is_empty();
    if !ops.is_empty() && mapper.actions.update {
        cx.push(Op::Update {
            ops,
            modified,
            pushed: Pushed {
                values,
                manager: l.pushed.manager.clone(),
            },
        });
    }
    if mapped.manager != l.pushed.manager {
        cx.push_second(Op::Manager {
            manager: mapped.manager.clone(),
        });
    }
    if let Some((add, remove)) = members {
        cx.push_second(Op::Members { add, remove });
    }
    if same_values && (cx.first.len(), cx.second.len()) == planned {
        // What was pushed already matches (a link written before its hash changed form).
        cx.counts.unchanged += 1;
    }
    Ok(())
}

/// A removal would only disable a user the engine has already disabled: nothing to send.
fn already_disabled(mapper: &ObjectMapper, kind: ObjectKind, disabled: bool) -> bool {
    !mapper.actions.delete && kind == ObjectKind::User && disabled
}

/// Delete when the mapping allows it; otherwise users are disabled and groups left alone.
fn removal(mapper: &ObjectMapper, kind: ObjectKind, reason: &str) -> Op {
    if mapper.actions.delete {
        Op::Delete { reason: reason.into() }
    } else if kind == ObjectKind::User {
        Op::Disable { reason: reason.into() }
    } else {
        Op::Skip {
            reason: format!("{reason}; the delete action is off"),
        }
    }
}

/// Parses stored links into the planner's view.
pub fn link_states(links: &[scim_core::ports::sync::Link]) -> HashMap<Key, LinkState> {
    links
        .iter()
        .filter_map(|l| {
            let kind = ObjectKind::parse(&l.kind)?;
            let pushed: Pushed = serde_json::from_str(&l.values).unwrap_or_default();
            Some((
                (kind, l.source_id.clone()),
                LinkState {
                    target_id: l.target_id.clone(),
                    hash: l.hash.clone(),
                    pushed,
                    disabled: l.disabled,
                },
            ))
        })
        .collect()
}
