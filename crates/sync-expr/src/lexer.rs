//! Tokenizer.

use crate::ast::CompareOp;
use crate::error::{ParseError, ParseErrorKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Attr(String),
    Str(String),
    Num { value: i64, hex: bool },
    Ident(String),
    LParen,
    RParen,
    Comma,
    Op(CompareOp),
    Eof,
}

impl Tok {
    /// How the token is named in "found …" messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Attr(name) => format!("attribute [{name}]"),
            Tok::Str(_) => "string constant".to_string(),
            Tok::Num { .. } => "number".to_string(),
            Tok::Ident(name) => format!("'{name}'"),
            Tok::LParen => "'('".to_string(),
            Tok::RParen => "')'".to_string(),
            Tok::Comma => "','".to_string(),
            Tok::Op(op) => format!("'{}'", op.symbol()),
            Tok::Eof => "end of input".to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Self { src, pos: 0 }
    }

    fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_char_at(&self, offset: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(offset)
    }

    fn bump_char(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn err(&self, pos: usize, kind: ParseErrorKind) -> ParseError {
        ParseError::new(pos, kind)
    }

    pub(crate) fn next_token(&mut self) -> Result<Token, ParseError> {
        while self.peek_char().is_some_and(char::is_whitespace) {
            self.bump_char();
        }
        let start = self.pos;
        let Some(c) = self.bump_char() else {
            return Ok(Token {
                tok: Tok::Eof,
                start,
                end: start,
            });
        };
        let tok = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '=' => Tok::Op(CompareOp::Eq),
            '<' => match self.peek_char() {
                Some('>') => {
                    self.bump_char();
                    Tok::Op(CompareOp::Ne)
                }
                Some('=') => {
                    self.bump_char();
                    Tok::Op(CompareOp::Le)
                }
                _ => Tok::Op(CompareOp::Lt),
            },
            '>' => {
                if self.peek_char() == Some('=') {
                    self.bump_char();
                    Tok::Op(CompareOp::Ge)
                } else {
                    Tok::Op(CompareOp::Gt)
                }
            }
            '"' => self.string(start)?,
            '[' => self.attribute(start)?,
            '&' if matches!(self.peek_char(), Some('H' | 'h')) => self.hex(start)?,
            '-' if self.peek_char().is_some_and(|d| d.is_ascii_digit()) => self.number(start)?,
            d if d.is_ascii_digit() => self.number(start)?,
            a if a.is_ascii_alphabetic() || a == '_' => {
                while self.peek_char().is_some_and(|x| x.is_ascii_alphanumeric() || x == '_') {
                    self.bump_char();
                }
                Tok::Ident(self.src[start..self.pos].to_string())
            }
            other => return Err(self.err(start, ParseErrorKind::UnexpectedChar(other))),
        };
        Ok(Token {
            tok,
            start,
            end: self.pos,
        })
    }

    /// After the opening quote. `\\` and `\"` are escapes; a backslash before
    /// any other character is kept as written (regex patterns use that).
    fn string(&mut self, start: usize) -> Result<Tok, ParseError> {
        let mut out = String::new();
        loop {
            match self.bump_char() {
                None => return Err(self.err(start, ParseErrorKind::UnterminatedString)),
                Some('"') => return Ok(Tok::Str(out)),
                Some('\\') => match self.bump_char() {
                    None => return Err(self.err(start, ParseErrorKind::UnterminatedString)),
                    Some(c @ ('\\' | '"')) => out.push(c),
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn attribute(&mut self, start: usize) -> Result<Tok, ParseError> {
        let body_start = self.pos;
        loop {
            match self.bump_char() {
                None => return Err(self.err(start, ParseErrorKind::UnterminatedAttribute)),
                Some(']') => break,
                Some('[') => return Err(self.err(self.pos - 1, ParseErrorKind::UnexpectedChar('['))),
                Some(_) => {}
            }
        }
        let name = self.src[body_start..self.pos - 1].trim();
        if name.is_empty() {
            return Err(self.err(start, ParseErrorKind::EmptyAttribute));
        }
        Ok(Tok::Attr(name.to_string()))
    }

    fn number(&mut self, start: usize) -> Result<Tok, ParseError> {
        while self.peek_char().is_some_and(|d| d.is_ascii_digit()) {
            self.bump_char();
        }
        let text = &self.src[start..self.pos];
        let value = text
            .parse::<i64>()
            .map_err(|_| self.err(start, ParseErrorKind::NumberOutOfRange))?;
        Ok(Tok::Num { value, hex: false })
    }

    fn hex(&mut self, start: usize) -> Result<Tok, ParseError> {
        self.bump_char(); // the H
        let digits_start = self.pos;
        while self.peek_char().is_some_and(|d| d.is_ascii_hexdigit()) {
            self.bump_char();
        }
        if self.pos == digits_start {
            let found = match self.peek_char_at(0) {
                Some(c) => format!("'{c}'"),
                None => "end of input".to_string(),
            };
            return Err(self.err(
                self.pos,
                ParseErrorKind::Expected {
                    expected: "hexadecimal digits after '&H'",
                    found,
                },
            ));
        }
        let value = u64::from_str_radix(&self.src[digits_start..self.pos], 16)
            .ok()
            .and_then(|v| i64::try_from(v).ok())
            .ok_or_else(|| self.err(start, ParseErrorKind::NumberOutOfRange))?;
        Ok(Tok::Num { value, hex: true })
    }
}
