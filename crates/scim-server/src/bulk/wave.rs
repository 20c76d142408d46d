//! Waves: the operations of a Bulk request that run together.
//!
//! Run one at a time, a request of 1,000 creates costs 1,000 store commits one after the
//! other. A wave is a run of ready operations, taken in request order, that cannot affect
//! one another: the same method on the same resource type, each on a different resource (a
//! POST's resource is its `userName` or `displayName`, the value that must be unique). A
//! wave's operations are started together in request order, so the SQLite writer applies
//! them in that order within one group commit, and on PostgreSQL they run side by side on
//! the pool. Each keeps its own outcome. With `failOnErrors` the request runs one operation
//! at a time, so that nothing runs after the error that stops it.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use scim_core::ResourceKind;
use scim_core::eval::get_ci_map;
use serde_json::Value;

use super::parse::{Method, Op};

/// Most operations in one wave.
pub(super) const MAX_WAVE: usize = 1000;

/// What a wave's operations must share, and what each must not share with another.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    method: Method,
    kind: ResourceKind,
    /// The resource id, or for a POST the lower-cased uniqueness value.
    target: String,
}

fn key(op: &Op) -> Option<Key> {
    let plan = op.plan.as_ref().ok()?;
    let target = match &plan.id {
        Some(id) => id.clone(),
        None => plan
            .data
            .as_ref()
            .and_then(|d| match d {
                Value::Object(o) => get_ci_map(o, plan.kind.name_attr()),
                _ => None,
            })
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase(),
    };
    Some(Key {
        method: plan.method,
        kind: plan.kind,
        target,
    })
}

/// Takes the next wave from `ready` (the operations whose references are settled, earliest
/// first). A malformed operation, or any operation when `one_at_a_time`, is a wave alone.
pub(super) fn next(ready: &mut BinaryHeap<Reverse<usize>>, ops: &[Op], one_at_a_time: bool) -> Vec<usize> {
    let Some(Reverse(first)) = ready.pop() else {
        return Vec::new();
    };
    let mut wave = vec![first];
    let Some(k) = key(&ops[first]).filter(|_| !one_at_a_time) else {
        return wave;
    };
    let (method, kind) = (k.method, k.kind);
    let mut seen: HashSet<String> = HashSet::from([k.target]);
    while wave.len() < MAX_WAVE {
        let Some(&Reverse(i)) = ready.peek() else { break };
        match key(&ops[i]) {
            Some(k) if k.method == method && k.kind == kind && !seen.contains(&k.target) => {
                seen.insert(k.target);
                ready.pop();
                wave.push(i);
            }
            _ => break,
        }
    }
    wave
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::super::parse::parse_op;
    use super::*;

    fn ops(items: &[Value]) -> Vec<Op> {
        let mut defs = HashMap::new();
        items
            .iter()
            .enumerate()
            .map(|(i, v)| parse_op(i, v, &mut defs, 1 << 20))
            .collect()
    }

    fn waves(items: &[Value], one_at_a_time: bool) -> Vec<Vec<usize>> {
        let ops = ops(items);
        let mut ready: BinaryHeap<Reverse<usize>> = (0..ops.len()).map(Reverse).collect();
        let mut out = Vec::new();
        while !ready.is_empty() {
            out.push(next(&mut ready, &ops, one_at_a_time));
        }
        out
    }

    fn post(name: &str) -> Value {
        json!({"method": "POST", "path": "/Users", "data": {"userName": name}})
    }

    fn patch(path: &str) -> Value {
        json!({"method": "PATCH", "path": path, "data": {"Operations": []}})
    }

    #[test]
    fn a_wave_is_a_run_of_the_same_method_and_type_on_different_resources() {
        let items = [
            post("a"),
            post("b"),
            post("A"), // the same userName as the first, in another case
            post("c"),
            patch("/Users/1"),
            patch("/Users/2"),
            patch("/Groups/1"),
            patch("/Groups/1"),
            json!({"method": "DELETE", "path": "/Users/1"}),
        ];
        let expected: Vec<Vec<usize>> = vec![vec![0, 1], vec![2, 3], vec![4, 5], vec![6], vec![7], vec![8]];
        assert_eq!(waves(&items, false), expected);
    }

    #[test]
    fn a_malformed_operation_and_fail_on_errors_run_alone() {
        let items = [post("a"), json!({"method": "POST"}), post("b"), post("c")];
        assert_eq!(waves(&items, false), vec![vec![0], vec![1], vec![2, 3]]);
        assert_eq!(waves(&items, true), vec![vec![0], vec![1], vec![2], vec![3]]);
    }
}
