//! The evaluator: source lookup, caller-supplied environment, outcome.

use std::collections::{BTreeMap, HashMap};

use time::OffsetDateTime;

use crate::ast::{CompareOp, Expr, ExprKind};
use crate::error::EvalError;
use crate::functions;
use crate::value::Value;

/// Where source attribute values come from. `None` means the attribute is
/// absent (null).
pub trait Source {
    /// The value of `[name]`.
    fn get(&self, name: &str) -> Option<Value>;
}

impl<F: Fn(&str) -> Option<Value>> Source for F {
    fn get(&self, name: &str) -> Option<Value> {
        self(name)
    }
}

impl Source for HashMap<String, Value> {
    fn get(&self, name: &str) -> Option<Value> {
        HashMap::get(self, name).cloned()
    }
}

impl Source for BTreeMap<String, Value> {
    fn get(&self, name: &str) -> Option<Value> {
        BTreeMap::get(self, name).cloned()
    }
}

/// Everything impure the evaluator needs, supplied by the caller: the clock,
/// a random source and the target uniqueness check.
pub struct EvalEnv<'a> {
    /// The current time, used by `Now()` and by time-only formats.
    pub now: OffsetDateTime,
    /// Random 64-bit words, used by `Guid()` and `RandomString()`.
    pub rng: &'a mut dyn FnMut() -> u64,
    /// `SelectUniqueValue`'s check: true when the candidate is not yet used in
    /// the target. Without it `SelectUniqueValue` fails with
    /// [`EvalError::Unsupported`].
    pub is_unique: Option<&'a mut dyn FnMut(&str) -> bool>,
}

impl<'a> EvalEnv<'a> {
    /// An environment without a uniqueness check.
    pub fn new(now: OffsetDateTime, rng: &'a mut dyn FnMut() -> u64) -> Self {
        Self {
            now,
            rng,
            is_unique: None,
        }
    }

    /// Adds the uniqueness check used by `SelectUniqueValue`.
    pub fn with_uniqueness(mut self, check: &'a mut dyn FnMut(&str) -> bool) -> Self {
        self.is_unique = Some(check);
        self
    }

    /// A uniformly distributed integer in `0..n` (`n > 0`).
    pub(crate) fn random_below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let r = (self.rng)();
            if r < zone {
                return r % n;
            }
        }
    }
}

/// A small deterministic generator (SplitMix64) for callers and tests that
/// need a seeded random source.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next word.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The result of evaluating a mapping expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The attribute flows with this value (which may be null).
    Value {
        /// The value.
        value: Value,
        /// `Redact` was applied: logs must show `[Redact]` instead.
        redacted: bool,
    },
    /// `IgnoreFlowIfNullOrEmpty` saw null or empty: the attribute is dropped
    /// from the flow (not set, not cleared).
    Ignore,
}

impl Outcome {
    /// The value, unless the attribute is dropped.
    pub fn value(&self) -> Option<&Value> {
        match self {
            Outcome::Value { value, .. } => Some(value),
            Outcome::Ignore => None,
        }
    }

    /// Consumes the outcome into its value, unless the attribute is dropped.
    pub fn into_value(self) -> Option<Value> {
        match self {
            Outcome::Value { value, .. } => Some(value),
            Outcome::Ignore => None,
        }
    }

    /// Whether the attribute is dropped from the flow.
    pub fn is_ignored(&self) -> bool {
        matches!(self, Outcome::Ignore)
    }

    /// Whether `Redact` was applied.
    pub fn is_redacted(&self) -> bool {
        matches!(self, Outcome::Value { redacted: true, .. })
    }

    /// The text to write to provisioning logs.
    pub fn log_text(&self) -> String {
        match self {
            Outcome::Value { redacted: true, .. } => "[Redact]".to_string(),
            Outcome::Value { value, .. } => value.to_string(),
            Outcome::Ignore => "(ignored)".to_string(),
        }
    }
}

/// Non-value results that unwind the evaluation.
#[derive(Debug)]
pub(crate) enum Flow {
    Ignore,
    Err(EvalError),
}

impl From<EvalError> for Flow {
    fn from(e: EvalError) -> Self {
        Flow::Err(e)
    }
}

pub(crate) type R<T> = Result<T, Flow>;

pub(crate) struct Interp<'s, 'e, 'a> {
    pub source: &'s dyn Source,
    pub env: &'e mut EvalEnv<'a>,
    pub redacted: bool,
}

impl Expr {
    /// Evaluates the expression against a source object.
    pub fn eval(&self, source: &dyn Source, env: &mut EvalEnv<'_>) -> Result<Outcome, EvalError> {
        let mut it = Interp {
            source,
            env,
            redacted: false,
        };
        match it.eval(self) {
            Ok(value) => Ok(Outcome::Value {
                value,
                redacted: it.redacted,
            }),
            Err(Flow::Ignore) => Ok(Outcome::Ignore),
            Err(Flow::Err(e)) => Err(e),
        }
    }

    /// For `SelectUniqueValue(rule1, rule2, …)`: every rule's non-empty value, in rule order
    /// and without repeats, for a caller that checks them against a remote target itself
    /// (the engine, asynchronously). `None` for any other expression.
    pub fn unique_candidates(
        &self,
        source: &dyn Source,
        env: &mut EvalEnv<'_>,
    ) -> Option<Result<Vec<String>, EvalError>> {
        let ExprKind::Call {
            func: crate::func::Func::SelectUniqueValue,
            args,
        } = &self.kind
        else {
            return None;
        };
        let mut it = Interp {
            source,
            env,
            redacted: false,
        };
        Some(crate::functions::logic::unique_candidates(&mut it, args))
    }
}

impl Interp<'_, '_, '_> {
    pub(crate) fn eval(&mut self, e: &Expr) -> R<Value> {
        Ok(match &e.kind {
            ExprKind::Attribute(name) => self.source.get(name).unwrap_or(Value::Null),
            ExprKind::Str(s) => Value::String(s.clone()),
            ExprKind::Number { value, .. } => Value::Number(*value),
            ExprKind::Constant(c) => Value::String(c.name().to_string()),
            ExprKind::Empty => Value::Null,
            ExprKind::Call { func, args } => functions::call(self, *func, args)?,
            ExprKind::Compare { op, lhs, rhs } => {
                let l = self.eval(lhs)?;
                let r = self.eval(rhs)?;
                Value::Bool(compare(*op, &l, &r)?)
            }
        })
    }

    pub(crate) fn eval_all(&mut self, args: &[Expr]) -> R<Vec<Value>> {
        args.iter().map(|a| self.eval(a)).collect()
    }
}

/// Parses `True`/`False` (any case).
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Parses a decimal integer (trimmed) or a `&H` hexadecimal one.
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Some(hex) = t.strip_prefix("&H").or_else(|| t.strip_prefix("&h")) {
        return u64::from_str_radix(hex, 16).ok().and_then(|v| i64::try_from(v).ok());
    }
    t.parse().ok()
}

/// The comparison operators. Numbers compare numerically, date-times
/// chronologically, booleans by truth value, everything else as ordinal
/// (case-sensitive) text; null compares as the empty string.
fn compare(op: CompareOp, l: &Value, r: &Value) -> Result<bool, EvalError> {
    use std::cmp::Ordering;
    let function = op.symbol();
    for (i, v) in [l, r].into_iter().enumerate() {
        if matches!(
            v,
            Value::Multi(_) | Value::AppRoleAssignments(_) | Value::ComplexRoles { .. }
        ) {
            return Err(EvalError::TypeMismatch {
                function,
                argument: i + 1,
                expected: "a single value",
                found: v.type_name(),
            });
        }
    }
    let text = |v: &Value| v.scalar_text().unwrap_or_default();
    let ord: Ordering = match (l, r) {
        (Value::Number(a), Value::Number(b)) => a.cmp(b),
        (Value::DateTime(a), Value::DateTime(b)) => a.cmp(b),
        (Value::Number(a), other) | (other, Value::Number(a)) if parse_int(&text(other)).is_some() => {
            let b = parse_int(&text(other)).unwrap_or_default();
            if matches!(l, Value::Number(_)) {
                a.cmp(&b)
            } else {
                b.cmp(a)
            }
        }
        (Value::DateTime(a), other) | (other, Value::DateTime(a))
            if crate::datefmt::parse_any(&text(other)).is_some() =>
        {
            let b = crate::datefmt::parse_any(&text(other)).unwrap_or(*a);
            if matches!(l, Value::DateTime(_)) {
                a.cmp(&b)
            } else {
                b.cmp(a)
            }
        }
        (Value::Bool(_), _) | (_, Value::Bool(_)) => match (parse_bool(&text(l)), parse_bool(&text(r))) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => text(l).cmp(&text(r)),
        },
        _ => text(l).cmp(&text(r)),
    };
    Ok(match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
    })
}
