//! The RFC 7644 §3.4.2.2 filter grammar: AST, recursive-descent parser and printer.
//!
//! Beyond the RFC it accepts what real clients send: operators and keywords in any case,
//! unquoted values (`externalId eq jyoung`, `meta.created gt 2015-10-10T14:38:21Z`), and
//! Entra's `emails[type eq "work"].value eq "x"`, which becomes a value-path filter whose
//! conditions hold on the same element.

use std::fmt;

use crate::lexer::Cursor;
use crate::{MAX_FILTER_DEPTH, MAX_FILTER_LEN, ParseError};

/// `[urn:]name[.sub]`. Names keep the case the client wrote; schemas resolve them
/// case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    pub fn simple(name: &str) -> Self {
        AttrPath {
            urn: None,
            name: name.to_string(),
            sub: None,
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

/// A comparison value. Unquoted values that are not numbers, booleans or null are strings.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    Str(String),
    Num(serde_json::Number),
    Bool(bool),
    Null,
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Str(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
            CompValue::Num(n) => write!(f, "{n}"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Null => f.write_str("null"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `path[filter]`: the inner filter's paths name sub-attributes of one element of `path`.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.print(f, 0)
    }
}

impl Filter {
    /// Prints with the minimum parentheses: precedence 0 = or, 1 = and, 2 = atom.
    fn print(&self, f: &mut fmt::Formatter<'_>, prec: u8) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(a, b) => {
                if prec > 1 {
                    f.write_str("(")?;
                }
                a.print(f, 1)?;
                f.write_str(" and ")?;
                b.print(f, 2)?;
                if prec > 1 {
                    f.write_str(")")?;
                }
                Ok(())
            }
            Filter::Or(a, b) => {
                if prec > 0 {
                    f.write_str("(")?;
                }
                a.print(f, 0)?;
                f.write_str(" or ")?;
                b.print(f, 1)?;
                if prec > 0 {
                    f.write_str(")")?;
                }
                Ok(())
            }
            Filter::Not(inner) => {
                f.write_str("not (")?;
                inner.print(f, 0)?;
                f.write_str(")")
            }
            Filter::ValuePath { path, filter } => {
                write!(f, "{path}[")?;
                filter.print(f, 0)?;
                f.write_str("]")
            }
        }
    }
}

/// Parses a complete filter expression.
pub fn parse_filter(src: &str) -> Result<Filter, ParseError> {
    if src.len() > MAX_FILTER_LEN {
        return Err(ParseError::new(
            MAX_FILTER_LEN,
            format!("filter is {} bytes long; the limit is {MAX_FILTER_LEN}", src.len()),
        ));
    }
    let mut p = Parser {
        cur: Cursor::new(src),
        depth: 0,
        in_brackets: false,
    };
    p.cur.skip_ws();
    if p.cur.at_end() {
        return Err(p.cur.err("empty filter"));
    }
    let f = p.or_expr()?;
    p.cur.skip_ws();
    if !p.cur.at_end() {
        return Err(p.cur.err(format!(
            "expected 'and', 'or' or end of filter, found {}",
            p.cur.found()
        )));
    }
    Ok(f)
}

pub(crate) struct Parser<'a> {
    pub cur: Cursor<'a>,
    depth: usize,
    in_brackets: bool,
}

impl<'a> Parser<'a> {
    pub(crate) fn new_in_brackets(cur: Cursor<'a>) -> Self {
        Parser {
            cur,
            depth: 1,
            in_brackets: true,
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(self
                .cur
                .err(format!("filter nests deeper than {MAX_FILTER_DEPTH} levels")));
        }
        Ok(())
    }

    fn keyword(&mut self, kw: &str) -> bool {
        let w = self.cur.peek_word();
        if w.eq_ignore_ascii_case(kw) {
            self.cur.skip_ws();
            self.cur.pos += w.len();
            true
        } else {
            false
        }
    }

    pub(crate) fn or_expr(&mut self) -> Result<Filter, ParseError> {
        let mut left = self.and_expr()?;
        while self.keyword("or") {
            let right = self.and_expr()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Filter, ParseError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, ParseError> {
        self.cur.skip_ws();
        if self.cur.eat('(') {
            self.enter()?;
            let inner = self.or_expr()?;
            self.cur.skip_ws();
            if !self.cur.eat(')') {
                return Err(self.cur.err(format!("expected ')', found {}", self.cur.found())));
            }
            self.depth -= 1;
            return Ok(inner);
        }
        let save = self.cur.pos;
        if self.keyword("not") {
            self.cur.skip_ws();
            if self.cur.peek() == Some('(') {
                self.enter()?;
                let inner = self.unary()?;
                self.depth -= 1;
                return Ok(Filter::Not(Box::new(inner)));
            }
            // An attribute that happens to be called "not…" is not a keyword.
            self.cur.pos = save;
        }
        self.attr_expr()
    }

    fn attr_expr(&mut self) -> Result<Filter, ParseError> {
        self.cur.skip_ws();
        let start = self.cur.pos;
        let word = self.cur.word();
        if word.is_empty() {
            return Err(self
                .cur
                .err(format!("expected an attribute name or '(', found {}", self.cur.found())));
        }
        let path = parse_attr_word(word, start)?;
        if self.cur.peek() == Some('[') {
            if self.in_brackets {
                return Err(self.cur.err("value filters cannot be nested"));
            }
            if path.sub.is_some() {
                return Err(ParseError::new(
                    start,
                    format!("'{word}' names a sub-attribute; a value filter needs a multi-valued attribute"),
                ));
            }
            self.cur.pos += 1;
            self.enter()?;
            self.in_brackets = true;
            let inner = self.or_expr()?;
            self.in_brackets = false;
            self.cur.skip_ws();
            if !self.cur.eat(']') {
                return Err(self.cur.err(format!("expected ']', found {}", self.cur.found())));
            }
            self.depth -= 1;
            // Entra: `emails[type eq "work"].value eq "x"` = one element with both properties.
            if self.cur.peek() == Some('.') {
                self.cur.pos += 1;
                let sub_start = self.cur.pos;
                let sub = self.cur.word();
                if sub.is_empty() || !valid_name(sub) {
                    return Err(ParseError::new(sub_start, "expected a sub-attribute name after ']'."));
                }
                let cond = self.comparison(AttrPath::simple(sub))?;
                return Ok(Filter::ValuePath {
                    path,
                    filter: Box::new(Filter::And(Box::new(inner), Box::new(cond))),
                });
            }
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(inner),
            });
        }
        if self.in_brackets && path.urn.is_none() && path.sub.is_some() {
            return Err(ParseError::new(
                start,
                format!("'{word}': inside a value filter name a sub-attribute only"),
            ));
        }
        self.comparison(path)
    }

    fn comparison(&mut self, path: AttrPath) -> Result<Filter, ParseError> {
        self.cur.skip_ws();
        let op_start = self.cur.pos;
        let op_word = self.cur.word();
        if op_word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::parse(op_word) else {
            self.cur.pos = op_start;
            return Err(self.cur.err(format!(
                "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after '{path}', found {}",
                self.cur.found()
            )));
        };
        self.cur.skip_ws();
        let value = self.value()?;
        Ok(Filter::Compare { path, op, value })
    }

    fn value(&mut self) -> Result<CompValue, ParseError> {
        match self.cur.peek() {
            None => Err(self.cur.err("expected a comparison value, found end of input")),
            Some('"') => Ok(CompValue::Str(self.cur.string()?)),
            Some(_) => {
                let start = self.cur.pos;
                let tok = self.cur.bare();
                if tok.is_empty() {
                    return Err(ParseError::new(
                        start,
                        format!("expected a comparison value, found {}", self.cur.found()),
                    ));
                }
                Ok(bare_value(tok))
            }
        }
    }
}

fn bare_value(tok: &str) -> CompValue {
    match tok.to_ascii_lowercase().as_str() {
        "true" => return CompValue::Bool(true),
        "false" => return CompValue::Bool(false),
        "null" => return CompValue::Null,
        _ => {}
    }
    if tok.starts_with(|c: char| c.is_ascii_digit() || c == '-')
        && let Ok(serde_json::Value::Number(n)) = serde_json::from_str::<serde_json::Value>(tok)
    {
        return CompValue::Num(n);
    }
    CompValue::Str(tok.to_string())
}

pub(crate) fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Splits `urn:...:name.sub` / `name.sub` / `name` into an [`AttrPath`].
pub(crate) fn parse_attr_word(word: &str, offset: usize) -> Result<AttrPath, ParseError> {
    let (urn, rest, rest_off) = if word.len() > 4 && word[..4].eq_ignore_ascii_case("urn:") {
        match word.rfind(':') {
            Some(i) if i + 1 < word.len() => (Some(word[..i].to_string()), &word[i + 1..], offset + i + 1),
            _ => {
                return Err(ParseError::new(
                    offset,
                    format!("'{word}' is a schema URN without an attribute name"),
                ));
            }
        }
    } else {
        (None, word, offset)
    };
    let mut parts = rest.splitn(2, '.');
    let name = parts.next().unwrap_or_default();
    let sub = parts.next();
    if !valid_name(name) {
        return Err(ParseError::new(
            rest_off,
            format!("'{name}' is not a valid attribute name"),
        ));
    }
    if let Some(sub) = sub
        && !valid_name(sub)
    {
        return Err(ParseError::new(
            rest_off + name.len() + 1,
            format!("'{sub}' is not a valid sub-attribute name"),
        ));
    }
    Ok(AttrPath {
        urn,
        name: name.to_string(),
        sub: sub.map(str::to_string),
    })
}
