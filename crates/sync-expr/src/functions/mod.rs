//! Function dispatch and argument conversion helpers.

mod dates;
mod diacritics;
pub(crate) mod logic;
pub(crate) mod random;
mod replace;
pub mod roles;
mod strings;

use time::OffsetDateTime;

use crate::ast::{Expr, ExprKind};
use crate::datefmt;
use crate::error::EvalError;
use crate::eval::{Interp, R, parse_int};
use crate::func::Func;
use crate::value::Value;

static NULL: Value = Value::Null;

/// Evaluated arguments of an eager function.
pub(crate) struct Args {
    func: Func,
    vals: Vec<Value>,
    present: Vec<bool>,
}

impl Args {
    pub(crate) fn name(&self) -> &'static str {
        self.func.name()
    }

    pub(crate) fn len(&self) -> usize {
        self.vals.len()
    }

    /// Argument `i` (0-based); null when missing.
    pub(crate) fn get(&self, i: usize) -> &Value {
        self.vals.get(i).unwrap_or(&NULL)
    }

    /// Whether argument `i` was written (not missing, not an empty argument).
    pub(crate) fn present(&self, i: usize) -> bool {
        self.present.get(i).copied().unwrap_or(false)
    }

    pub(crate) fn type_err(&self, i: usize, expected: &'static str) -> EvalError {
        EvalError::TypeMismatch {
            function: self.name(),
            argument: i + 1,
            expected,
            found: self.get(i).type_name(),
        }
    }

    pub(crate) fn invalid(&self, message: impl Into<String>) -> EvalError {
        EvalError::invalid(self.name(), message)
    }

    /// Text of a single-valued argument; `None` for null.
    pub(crate) fn text(&self, i: usize) -> Result<Option<String>, EvalError> {
        match self.get(i) {
            Value::Null => Ok(None),
            v => v
                .scalar_text()
                .map(Some)
                .ok_or_else(|| self.type_err(i, "a single value")),
        }
    }

    /// An integer argument (number or numeric string); `None` for null or "".
    pub(crate) fn int(&self, i: usize) -> Result<Option<i64>, EvalError> {
        match self.get(i) {
            Value::Null => Ok(None),
            Value::Number(n) => Ok(Some(*n)),
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) => parse_int(s).map(Some).ok_or_else(|| self.type_err(i, "an integer")),
            _ => Err(self.type_err(i, "an integer")),
        }
    }

    /// A required integer argument.
    pub(crate) fn req_int(&self, i: usize, what: &str) -> Result<i64, EvalError> {
        self.int(i)?.ok_or_else(|| self.invalid(format!("{what} is required")))
    }

    /// A date-time argument (date-time or date string); `None` for null or "".
    pub(crate) fn date(&self, i: usize) -> Result<Option<OffsetDateTime>, EvalError> {
        match self.get(i) {
            Value::Null => Ok(None),
            Value::DateTime(dt) => Ok(Some(*dt)),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => datefmt::parse_any(s)
                .map(Some)
                .ok_or_else(|| self.invalid(format!("'{s}' is not a recognized date/time"))),
            _ => Err(self.type_err(i, "a date/time")),
        }
    }
}

/// Calls `func` on unevaluated arguments.
pub(crate) fn call(it: &mut Interp<'_, '_, '_>, func: Func, args: &[Expr]) -> R<Value> {
    use Func::*;
    match func {
        IIF => return logic::iif(it, args),
        Switch => return logic::switch(it, args),
        Coalesce => return logic::coalesce(it, args),
        SelectUniqueValue => return logic::select_unique(it, args),
        IgnoreFlowIfNullOrEmpty => return logic::ignore_flow(it, args),
        _ => {}
    }
    let vals = it.eval_all(args)?;
    let present = args.iter().map(|a| a.kind != ExprKind::Empty).collect();
    let a = Args { func, vals, present };
    let v = match func {
        Append => strings::append(&a),
        AppRoleAssignmentsComplex => roles::complex(&a, crate::value::RolePatchMode::Add),
        AssertiveAppRoleAssignmentsComplex => roles::complex(&a, crate::value::RolePatchMode::Replace),
        BitAnd => logic::bit_and(&a),
        CBool => logic::cbool(&a),
        CDate => dates::cdate(&a),
        ConvertToBase64 => strings::convert_to_base64(&a),
        ConvertToUTF8Hex => strings::convert_to_utf8_hex(&a),
        Count => logic::count(&a),
        CStr => strings::cstr(&a),
        DateAdd => dates::date_add(&a),
        DateDiff => dates::date_diff(&a),
        DateFromNum => dates::date_from_num(&a),
        FormatDateTime => dates::format_date_time(&a, it.env.now),
        Guid => Ok(random::guid(it.env)),
        InStr => strings::instr(&a),
        IsNull => Ok(Value::Bool(logic::is_absent(a.get(0)))),
        IsNullOrEmpty => Ok(Value::Bool(a.get(0).is_null_or_empty())),
        IsPresent => Ok(Value::Bool(!a.get(0).is_null_or_empty())),
        IsString => Ok(Value::Bool(matches!(a.get(0), Value::String(_) | Value::DateTime(_)))),
        Item => logic::item(&a),
        Join => strings::join(&a),
        Left => strings::left(&a),
        Mid => strings::mid(&a),
        NormalizeDiacritics => Ok(a
            .text(0)?
            .map_or(Value::Null, |s| Value::String(diacritics::normalize(&s)))),
        Not => Ok(Value::Bool(!logic::is_true(a.get(0)))),
        Now => Ok(dates::now(it.env.now)),
        NumFromDate => dates::num_from_date(&a),
        PCase => strings::pcase(&a),
        RandomString => random::random_string(&a, it.env),
        Redact => {
            it.redacted = true;
            Ok(a.get(0).clone())
        }
        RemoveDuplicates => logic::remove_duplicates(&a),
        Replace => replace::replace(&a),
        SingleAppRoleAssignment => roles::single(&a),
        Split => strings::split(&a),
        StripSpaces => Ok(a.text(0)?.map_or(Value::Null, |s| Value::String(s.replace(' ', "")))),
        ToLower => strings::change_case(&a, false),
        ToUpper => strings::change_case(&a, true),
        Word => strings::word(&a),
        IIF | Switch | Coalesce | SelectUniqueValue | IgnoreFlowIfNullOrEmpty => {
            unreachable!("lazy functions are dispatched above")
        }
    }?;
    Ok(v)
}
