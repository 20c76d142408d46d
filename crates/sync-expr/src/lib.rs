//! Microsoft Entra ID's attribute-mapping expression language: parser,
//! printer and a pure evaluator.
//!
//! ```
//! use std::collections::HashMap;
//! use sync_expr::{EvalEnv, Outcome, SplitMix64, Value, parse};
//! use time::macros::datetime;
//!
//! let expr = parse(r#"Append([userPrincipalName], ".test")"#).unwrap();
//! assert_eq!(expr.attributes(), vec!["userPrincipalName".to_string()]);
//!
//! let mut user = HashMap::new();
//! user.insert("userPrincipalName".to_string(), Value::from("John.Doe@contoso.com"));
//! let mut rng = SplitMix64::new(7);
//! let mut next = || rng.next_u64();
//! let mut env = EvalEnv::new(datetime!(2021-07-02 15:33:38 UTC), &mut next);
//! let out = expr.eval(&user, &mut env).unwrap();
//! assert_eq!(out, Outcome::Value { value: Value::from("John.Doe@contoso.com.test"), redacted: false });
//! ```
//!
//! The crate does no I/O and reads no clock or OS randomness: time, random
//! words and the `SelectUniqueValue` uniqueness check come from [`EvalEnv`].

mod ast;
mod datefmt;
mod error;
mod eval;
mod func;
mod functions;
mod lexer;
mod parser;
mod value;

pub use ast::{CompareOp, Constant, Expr, ExprKind, Span};
pub use error::{EvalError, ParseError, ParseErrorKind};
pub use eval::{EvalEnv, Outcome, Source, SplitMix64};
pub use func::Func;
pub use functions::random::SPECIAL_CHARACTERS;
pub use functions::roles;
pub use parser::{MAX_DEPTH, MAX_EXPRESSION_CHARS, ParseOptions, parse, parse_with};
pub use value::{AppRoleAssignment, RolePatchMode, Value};

/// Formats a date-time with a .NET custom or standard format string (en-US,
/// UTC), as `FormatDateTime` does.
pub fn format_date_time(dt: time::OffsetDateTime, format: &str) -> Result<String, String> {
    datefmt::format(dt, format)
}
