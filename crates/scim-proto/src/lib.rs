//! SCIM 2.0 wire types (RFC 7644) and the filter / attribute-path grammar.
//!
//! This crate is pure: no I/O, no async, no knowledge of schemas. It turns text into
//! syntax trees (with byte-offset errors) and back, and names the JSON shapes on the wire.

mod filter;
mod json_depth;
mod lexer;
mod path;
mod wire;

pub use filter::{AttrPath, CompValue, CompareOp, Filter, parse_filter};
pub use json_depth::json_depth_exceeds;
pub use path::{PatchPath, parse_attr_path, parse_patch_path};
pub use wire::*;

/// Longest filter expression accepted, in bytes. Longer ones are a 400 `invalidFilter`.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses, brackets and `not` in a filter.
pub const MAX_FILTER_DEPTH: usize = 32;

/// A syntax error in a filter or an attribute path, with the byte offset where it was noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(offset: usize, message: impl Into<String>) -> Self {
        ParseError {
            offset,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

impl std::error::Error for ParseError {}
