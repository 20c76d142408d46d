//! Conditional, boolean and multi-value functions.

use super::Args;
use crate::ast::Expr;
use crate::error::EvalError;
use crate::eval::{Flow, Interp, R, parse_bool, parse_int};
use crate::func::Func;
use crate::value::Value;

type Res = Result<Value, EvalError>;

/// Null, or an absent (empty) multi-valued attribute.
pub(super) fn is_absent(v: &Value) -> bool {
    matches!(v, Value::Null) || matches!(v, Value::Multi(l) if l.is_empty())
}

/// `True` as a boolean or as text (any case).
pub(super) fn is_true(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => parse_bool(s) == Some(true),
        _ => false,
    }
}

/// Truth value of a condition: booleans, `True`/`False` text, numbers
/// (non-zero is true); null is false.
fn truth(function: &'static str, argument: usize, v: &Value) -> Result<bool, EvalError> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(*n != 0),
        Value::String(s) => parse_bool(s)
            .or_else(|| parse_int(s).map(|n| n != 0))
            .ok_or_else(|| EvalError::invalid(function, format!("'{s}' is not True, False or a number"))),
        other => Err(EvalError::TypeMismatch {
            function,
            argument,
            expected: "a boolean",
            found: other.type_name(),
        }),
    }
}

/// `IIF(condition, valueIfTrue, valueIfFalse)`. As documented, the condition
/// check fails when a source attribute it uses is null or empty: that is
/// reported as [`EvalError::NullCondition`]. Only the chosen branch is
/// evaluated.
pub(super) fn iif(it: &mut Interp<'_, '_, '_>, args: &[Expr]) -> R<Value> {
    let function = Func::IIF.name();
    for attribute in args[0].attributes() {
        if it.source.get(&attribute).is_none_or(|v| v.is_null_or_empty()) {
            return Err(EvalError::NullCondition { function, attribute }.into());
        }
    }
    let cond = it.eval(&args[0])?;
    let branch = if truth(function, 1, &cond)? { &args[1] } else { &args[2] };
    it.eval(branch)
}

fn switch_text(argument: usize, v: &Value) -> Result<String, EvalError> {
    match v {
        Value::Null => Ok(String::new()),
        v => v.scalar_text().ok_or(EvalError::TypeMismatch {
            function: Func::Switch.name(),
            argument,
            expected: "a single value",
            found: v.type_name(),
        }),
    }
}

/// `Switch(source, defaultValue, key1, value1, …)`: case-sensitive text match;
/// a null source matches the key "". Only the selected value is evaluated.
pub(super) fn switch(it: &mut Interp<'_, '_, '_>, args: &[Expr]) -> R<Value> {
    let source = it.eval(&args[0])?;
    let source = switch_text(1, &source)?;
    for (pair, kv) in args[2..].chunks(2).enumerate() {
        let key = it.eval(&kv[0])?;
        if switch_text(3 + 2 * pair, &key)? == source {
            return it.eval(&kv[1]);
        }
    }
    it.eval(&args[1])
}

/// `Coalesce(source1, …, defaultValue)`: the first argument that is not null
/// (an empty multi-valued attribute counts as null; "" does not).
pub(super) fn coalesce(it: &mut Interp<'_, '_, '_>, args: &[Expr]) -> R<Value> {
    for arg in args {
        let v = it.eval(arg)?;
        if !is_absent(&v) {
            return Ok(v);
        }
    }
    Ok(Value::Null)
}

/// `IgnoreFlowIfNullOrEmpty(expression)`: unwinds to [`crate::Outcome::Ignore`].
pub(super) fn ignore_flow(it: &mut Interp<'_, '_, '_>, args: &[Expr]) -> R<Value> {
    let v = it.eval(&args[0])?;
    if v.is_null_or_empty() { Err(Flow::Ignore) } else { Ok(v) }
}

/// `SelectUniqueValue(rule1, rule2, …)`: the first non-empty rule value that
/// the caller's uniqueness check accepts.
pub(super) fn select_unique(it: &mut Interp<'_, '_, '_>, args: &[Expr]) -> R<Value> {
    let function = Func::SelectUniqueValue.name();
    if it.env.is_unique.is_none() {
        return Err(EvalError::Unsupported {
            function,
            message: "no uniqueness check was supplied".to_string(),
        }
        .into());
    }
    let mut candidates = Vec::new();
    for (i, rule) in args.iter().enumerate() {
        let Some(text) = candidate(i, it.eval(rule)?)? else {
            continue;
        };
        let unique = it.env.is_unique.as_mut().is_some_and(|check| check(&text));
        if unique {
            return Ok(Value::String(text));
        }
        candidates.push(text);
    }
    Err(EvalError::NoUniqueValue { function, candidates }.into())
}

/// Every rule's non-empty value, in rule order, for a caller that checks uniqueness itself
/// (against a remote target). A rule that ignores its flow is skipped.
pub(crate) fn unique_candidates(it: &mut Interp<'_, '_, '_>, args: &[Expr]) -> Result<Vec<String>, EvalError> {
    let mut out = Vec::with_capacity(args.len());
    for (i, rule) in args.iter().enumerate() {
        let v = match it.eval(rule) {
            Ok(v) => v,
            Err(Flow::Ignore) => continue,
            Err(Flow::Err(e)) => return Err(e),
        };
        if let Some(text) = candidate(i, v)?
            && !out.contains(&text)
        {
            out.push(text);
        }
    }
    Ok(out)
}

/// A rule's value as a candidate: `None` when empty, an error when not a single value.
fn candidate(i: usize, v: Value) -> Result<Option<String>, EvalError> {
    if v.is_null_or_empty() {
        return Ok(None);
    }
    v.scalar_text().map(Some).ok_or(EvalError::TypeMismatch {
        function: Func::SelectUniqueValue.name(),
        argument: i + 1,
        expected: "a single value",
        found: v.type_name(),
    })
}

/// `CBool(expression)`: non-zero / `True` is true; null and "" are false.
pub(super) fn cbool(a: &Args) -> Res {
    match a.get(0) {
        Value::String(s) if s.is_empty() => Ok(Value::Bool(false)),
        v => truth(a.name(), 1, v).map(Value::Bool),
    }
}

/// `BitAnd(value1, value2)`; null if either is null.
pub(super) fn bit_and(a: &Args) -> Res {
    match (a.int(0)?, a.int(1)?) {
        (Some(x), Some(y)) => Ok(Value::Number(x & y)),
        _ => Ok(Value::Null),
    }
}

/// `Count(attribute)`: number of values; null counts 0, a single value 1.
pub(super) fn count(a: &Args) -> Res {
    let n = match a.get(0) {
        Value::Null => 0,
        Value::Multi(v) => v.len(),
        Value::AppRoleAssignments(v) | Value::ComplexRoles { roles: v, .. } => v.len(),
        _ => 1,
    };
    Ok(Value::Number(i64::try_from(n).unwrap_or(i64::MAX)))
}

/// `Item(attribute, index)`, 1-based; out of range gives null.
pub(super) fn item(a: &Args) -> Res {
    let index = a.req_int(1, "index")?;
    if index < 1 {
        return Err(a.invalid(format!("index is 1-based and must be 1 or more, got {index}")));
    }
    let i = usize::try_from(index - 1).unwrap_or(usize::MAX);
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        Value::Multi(items) => Ok(items.get(i).cloned().unwrap_or(Value::Null)),
        Value::AppRoleAssignments(_) | Value::ComplexRoles { .. } => Err(a.type_err(0, "a multi-valued string")),
        single => Ok(if i == 0 { single.clone() } else { Value::Null }),
    }
}

/// `RemoveDuplicates(attribute)`: keeps the first of equal values, in order.
pub(super) fn remove_duplicates(a: &Args) -> Res {
    fn dedup<T: PartialEq + Clone>(items: &[T]) -> Vec<T> {
        let mut out: Vec<T> = Vec::with_capacity(items.len());
        for x in items {
            if !out.contains(x) {
                out.push(x.clone());
            }
        }
        out
    }
    Ok(match a.get(0) {
        Value::Multi(items) => Value::Multi(dedup(items)),
        Value::AppRoleAssignments(r) => Value::AppRoleAssignments(dedup(r)),
        Value::ComplexRoles { roles, mode } => Value::ComplexRoles {
            roles: dedup(roles),
            mode: *mode,
        },
        other => other.clone(),
    })
}
