//! Parse-time and evaluation-time errors.

use thiserror::Error;

/// A syntax or validation error, with the byte offset where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind} at byte {pos}")]
pub struct ParseError {
    /// Byte offset into the source text.
    pub pos: usize,
    /// What went wrong.
    pub kind: ParseErrorKind,
}

impl ParseError {
    pub(crate) fn new(pos: usize, kind: ParseErrorKind) -> Self {
        Self { pos, kind }
    }
}

/// The kinds of [`ParseError`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseErrorKind {
    /// A token other than the expected one(s).
    #[error("expected {expected}, found {found}")]
    Expected {
        /// Human description of what was expected, e.g. `',' or ')'`.
        expected: &'static str,
        /// Description of what was found, e.g. `'x'` or `end of input`.
        found: String,
    },
    /// A character that starts no token.
    #[error("unexpected character '{0}'")]
    UnexpectedChar(char),
    /// A `"` string without its closing quote.
    #[error("unterminated string constant")]
    UnterminatedString,
    /// An `[attribute` without its closing bracket.
    #[error("unterminated attribute name (expected ']')")]
    UnterminatedAttribute,
    /// `[]` or `[   ]`.
    #[error("empty attribute name")]
    EmptyAttribute,
    /// A name followed by `(` that is not a function of the language.
    #[error("unknown function '{name}'{hint}")]
    UnknownFunction {
        /// The name as written.
        name: String,
        /// Optional ` (did you mean 'X'?)` suggestion.
        hint: String,
    },
    /// A bare name that is neither a constant nor followed by `(`.
    #[error("unknown identifier '{name}' (expected a function call, [attribute], \"string\" or number)")]
    UnknownIdentifier {
        /// The name as written.
        name: String,
    },
    /// A call with an argument count the function does not accept.
    #[error("function {function} takes {expected}, found {found}")]
    ArgumentCount {
        /// The function's name.
        function: &'static str,
        /// Description of the accepted counts.
        expected: &'static str,
        /// The number of arguments written.
        found: usize,
    },
    /// An integer constant outside the 64-bit range.
    #[error("number constant out of range")]
    NumberOutOfRange,
    /// `SelectUniqueValue` somewhere other than the top level.
    #[error("function SelectUniqueValue must be the top-level expression and can't be nested")]
    NestedSelectUniqueValue,
    /// Source text longer than the limit.
    #[error("expression is {len} characters long, the limit is {max}")]
    TooLong {
        /// Length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Nesting deeper than the limit.
    #[error("expression nests deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
}

/// An evaluation failure. Every variant names the function (or comparison
/// operator) that failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvalError {
    /// An argument has the right type but an unusable value.
    #[error("{function}: invalid argument: {message}")]
    InvalidArgument {
        /// The failing function.
        function: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An argument has a type the function can't use.
    #[error("{function}: argument {argument} must be {expected}, found {found}")]
    TypeMismatch {
        /// The failing function.
        function: &'static str,
        /// 1-based argument position.
        argument: usize,
        /// The expected type.
        expected: &'static str,
        /// The type received.
        found: &'static str,
    },
    /// `IIF` whose condition uses a null or empty source attribute: the
    /// documented "condition check fails".
    #[error("{function}: the condition uses attribute [{attribute}] which is null or empty")]
    NullCondition {
        /// The failing function (`IIF`).
        function: &'static str,
        /// The null or empty attribute.
        attribute: String,
    },
    /// A regular expression that does not compile.
    #[error("{function}: invalid regular expression: {message}")]
    InvalidRegex {
        /// The failing function.
        function: &'static str,
        /// The compiler's message.
        message: String,
    },
    /// `SelectUniqueValue` found no unique candidate: the object must be escrowed.
    #[error("{function}: no candidate value is unique in the target (tried {candidates:?})")]
    NoUniqueValue {
        /// The failing function (`SelectUniqueValue`).
        function: &'static str,
        /// Every non-empty candidate, in rule order.
        candidates: Vec<String>,
    },
    /// The caller did not supply something the function needs.
    #[error("{function}: {message}")]
    Unsupported {
        /// The failing function.
        function: &'static str,
        /// What is missing.
        message: String,
    },
}

impl EvalError {
    /// The name of the function (or operator) that failed.
    pub fn function(&self) -> &'static str {
        match self {
            EvalError::InvalidArgument { function, .. }
            | EvalError::TypeMismatch { function, .. }
            | EvalError::NullCondition { function, .. }
            | EvalError::InvalidRegex { function, .. }
            | EvalError::NoUniqueValue { function, .. }
            | EvalError::Unsupported { function, .. } => function,
        }
    }

    pub(crate) fn invalid(function: &'static str, message: impl Into<String>) -> Self {
        EvalError::InvalidArgument {
            function,
            message: message.into(),
        }
    }
}
