//! What a plan holds, counted: per chunk, per cycle, and by action for `sync plan`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Action, Op};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub read: usize,
    pub in_scope: usize,
    pub create: usize,
    pub update: usize,
    pub disable: usize,
    pub delete: usize,
    pub references: usize,
    pub skip: usize,
    pub unchanged: usize,
    /// Objects whose mapping or matching failed.
    pub failed: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub counts: Counts,
    /// Objects the job manages before this cycle (for the percentage threshold).
    pub managed: usize,
}

impl Counts {
    /// Counts planned actions by kind.
    pub fn add_actions(&mut self, actions: &[Action]) {
        for a in actions {
            match &a.op {
                Op::Create { .. } => self.create += 1,
                Op::Update { .. } => self.update += 1,
                Op::Disable { .. } => self.disable += 1,
                Op::Delete { .. } => self.delete += 1,
                Op::Manager { .. } | Op::Members { .. } => self.references += 1,
                Op::Skip { .. } => self.skip += 1,
                Op::Fail { .. } => self.failed += 1,
            }
        }
    }

    /// Adds another chunk's counts.
    pub fn add(&mut self, o: &Counts) {
        self.read += o.read;
        self.in_scope += o.in_scope;
        self.create += o.create;
        self.update += o.update;
        self.disable += o.disable;
        self.delete += o.delete;
        self.references += o.references;
        self.skip += o.skip;
        self.unchanged += o.unchanged;
        self.failed += o.failed;
    }
}

/// Counts of a plan by action, for `sync plan` summaries.
pub fn summary(plan: &Plan) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for a in &plan.actions {
        *m.entry(a.name()).or_insert(0) += 1;
    }
    m
}
