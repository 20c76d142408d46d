//! Shared helpers for the table-driven tests.
#![allow(dead_code)]

use std::collections::HashMap;

use sync_expr::{AppRoleAssignment, EvalEnv, EvalError, Outcome, SplitMix64, Value, parse};
use time::OffsetDateTime;
use time::macros::datetime;

/// The fixed clock of every test: the `Now()` of the DateDiff doc examples
/// ("8/25/2021 5:41:18 PM").
pub const NOW: OffsetDateTime = datetime!(2021-08-25 17:41:18.250 UTC);
pub const SEED: u64 = 0x5EED;

/// What a table row expects.
#[derive(Debug, Clone)]
pub enum Want {
    Str(&'static str),
    Num(i64),
    Bool(bool),
    Null,
    Ignore,
    Multi(Vec<&'static str>),
    Val(Value),
    /// An error of this variant (`"InvalidArgument"`, …) naming this function.
    Err(&'static str, &'static str),
}

pub fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

pub fn multi(items: &[&str]) -> Value {
    Value::Multi(items.iter().map(|i| s(i)).collect())
}

pub fn role(id: &str, value: &str, display: &str) -> AppRoleAssignment {
    AppRoleAssignment::new(id, value, display)
}

pub fn kind_name(e: &EvalError) -> &'static str {
    match e {
        EvalError::InvalidArgument { .. } => "InvalidArgument",
        EvalError::TypeMismatch { .. } => "TypeMismatch",
        EvalError::NullCondition { .. } => "NullCondition",
        EvalError::InvalidRegex { .. } => "InvalidRegex",
        EvalError::NoUniqueValue { .. } => "NoUniqueValue",
        EvalError::Unsupported { .. } => "Unsupported",
    }
}

pub type Attrs = Vec<(&'static str, Value)>;

/// Evaluates with the fixed clock, a seeded rng and the given attributes.
pub fn eval(src: &str, attrs: &[(&str, Value)]) -> Result<Outcome, EvalError> {
    let expr = parse(src).unwrap_or_else(|e| panic!("{src}: parse error: {e}"));
    let map: HashMap<String, Value> = attrs.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect();
    let mut rng = SplitMix64::new(SEED);
    let mut next = || rng.next_u64();
    let mut env = EvalEnv::new(NOW, &mut next);
    expr.eval(&map, &mut env)
}

/// Evaluates and returns the value (panics on errors and ignores).
pub fn value(src: &str, attrs: &[(&str, Value)]) -> Value {
    match eval(src, attrs) {
        Ok(Outcome::Value { value, .. }) => value,
        other => panic!("{src}: expected a value, got {other:?}"),
    }
}

fn check(src: &str, attrs: &[(&str, Value)], want: &Want) -> Result<(), String> {
    let got = eval(src, attrs);
    let ok = match (want, &got) {
        (Want::Ignore, Ok(Outcome::Ignore)) => true,
        (Want::Err(kind, func), Err(e)) => {
            kind_name(e) == *kind && e.function() == *func && e.to_string().contains(func)
        }
        (Want::Err(..) | Want::Ignore, _) | (_, Err(_)) | (_, Ok(Outcome::Ignore)) => false,
        (w, Ok(Outcome::Value { value, .. })) => {
            let expected = match w {
                Want::Str(x) => s(x),
                Want::Num(n) => Value::Number(*n),
                Want::Bool(b) => Value::Bool(*b),
                Want::Null => Value::Null,
                Want::Multi(items) => multi(items),
                Want::Val(v) => v.clone(),
                Want::Ignore | Want::Err(..) => unreachable!(),
            };
            *value == expected
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{src} with {attrs:?}: want {want:?}, got {got:?}"))
    }
}

/// Runs every row and fails with the list of failing rows.
pub fn run(rows: &[(&str, Attrs, Want)]) {
    assert!(!rows.is_empty(), "empty table");
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(src, attrs, want)| check(src, attrs, want).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// Shorthand for a row without attributes.
pub fn row(src: &'static str, want: Want) -> (&'static str, Attrs, Want) {
    (src, vec![], want)
}

/// Shorthand for a row with attributes.
pub fn rowa(src: &'static str, attrs: Attrs, want: Want) -> (&'static str, Attrs, Want) {
    (src, attrs, want)
}
