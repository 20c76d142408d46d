//! Attribute paths (`attributes=`, `sortBy`) and PATCH paths (RFC 7644 §3.5.2):
//! `attrPath` or `valuePath ["." subAttr]`, e.g. `emails[type eq "work"].value`.

use crate::filter::{AttrPath, Filter, Parser, parse_attr_word, valid_name};
use crate::lexer::Cursor;
use crate::{MAX_FILTER_LEN, ParseError};

#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute; `attr.sub` is set only when there is no value filter.
    pub attr: AttrPath,
    /// `[filter]` selecting elements of a multi-valued attribute.
    pub filter: Option<Filter>,
    /// The sub-attribute after `]`, as in `emails[type eq "work"].value`.
    pub sub: Option<String>,
}

impl std::fmt::Display for PatchPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Parses a plain attribute path such as `name.givenName` or
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`.
pub fn parse_attr_path(src: &str) -> Result<AttrPath, ParseError> {
    let trimmed = src.trim();
    let lead = src.len() - src.trim_start().len();
    if trimmed.is_empty() {
        return Err(ParseError::new(0, "empty attribute path"));
    }
    let mut cur = Cursor::new(trimmed);
    let word = cur.word();
    if !cur.at_end() {
        return Err(ParseError::new(
            lead + cur.pos,
            format!("unexpected {} in attribute path", cur.found()),
        ));
    }
    parse_attr_word(word, lead)
}

/// Parses a PATCH `path`.
pub fn parse_patch_path(src: &str) -> Result<PatchPath, ParseError> {
    if src.len() > MAX_FILTER_LEN {
        return Err(ParseError::new(
            0,
            format!("path is longer than {MAX_FILTER_LEN} bytes"),
        ));
    }
    let mut cur = Cursor::new(src);
    cur.skip_ws();
    let start = cur.pos;
    let word = cur.word();
    if word.is_empty() {
        return Err(cur.err(format!("expected an attribute path, found {}", cur.found())));
    }
    let attr = parse_attr_word(word, start)?;
    if cur.peek() != Some('[') {
        cur.skip_ws();
        if !cur.at_end() {
            return Err(cur.err(format!("unexpected {} after attribute path", cur.found())));
        }
        return Ok(PatchPath {
            attr,
            filter: None,
            sub: None,
        });
    }
    if attr.sub.is_some() {
        return Err(ParseError::new(
            start,
            format!("'{word}' names a sub-attribute; a value filter needs a multi-valued attribute"),
        ));
    }
    cur.pos += 1;
    let mut parser = Parser::new_in_brackets(cur);
    let filter = parser.or_expr()?;
    let mut cur = parser.cur;
    cur.skip_ws();
    if !cur.eat(']') {
        return Err(cur.err(format!("expected ']', found {}", cur.found())));
    }
    let mut sub = None;
    if cur.eat('.') {
        let s = cur.pos;
        let w = cur.word();
        if !valid_name(w) {
            return Err(ParseError::new(s, "expected a sub-attribute name after '].'"));
        }
        sub = Some(w.to_string());
    }
    cur.skip_ws();
    if !cur.at_end() {
        return Err(cur.err(format!("unexpected {} after path", cur.found())));
    }
    Ok(PatchPath {
        attr,
        filter: Some(filter),
        sub,
    })
}
