//! A byte cursor shared by the filter and path parsers. The SCIM grammar is contextual
//! (bare values after an operator, `.sub` after a bracket), so the parsers pull tokens
//! from the cursor on demand instead of lexing up front.

use crate::ParseError;

pub(crate) struct Cursor<'a> {
    pub src: &'a str,
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(src: &'a str) -> Self {
        Cursor { src, pos: 0 }
    }

    pub fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    pub fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    pub fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    pub fn err(&self, message: impl Into<String>) -> ParseError {
        ParseError::new(self.pos, message)
    }

    /// Describes what stands at the cursor, for "expected X, found Y" messages.
    pub fn found(&self) -> String {
        match self.peek() {
            None => "end of input".to_string(),
            Some(_) => {
                let word: String = self.rest().chars().take(16).collect();
                format!("'{word}'")
            }
        }
    }

    /// Reads a run of attribute-path characters: letters, digits, `-`, `_`, `.`, `:`, `$`.
    pub fn word(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '$') {
                self.pos += 1;
            } else {
                break;
            }
        }
        &self.src[start..self.pos]
    }

    /// Peeks at the next word (after whitespace) without consuming it.
    pub fn peek_word(&mut self) -> &'a str {
        let save = self.pos;
        self.skip_ws();
        let w = self.word();
        self.pos = save;
        w
    }

    /// Reads a JSON string literal starting at the opening quote.
    pub fn string(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        debug_assert_eq!(self.peek(), Some('"'));
        self.pos += 1;
        let mut escaped = false;
        while let Some(c) = self.peek() {
            self.pos += c.len_utf8();
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                let lit = &self.src[start..self.pos];
                return serde_json::from_str::<String>(lit)
                    .map_err(|e| ParseError::new(start, format!("invalid string literal: {e}")));
            }
        }
        Err(ParseError::new(start, "unterminated string literal"))
    }

    /// Reads an unquoted value token: everything up to whitespace, `)` or `]`.
    pub fn bare(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || c == ')' || c == ']' {
                break;
            }
            self.pos += c.len_utf8();
        }
        &self.src[start..self.pos]
    }
}
