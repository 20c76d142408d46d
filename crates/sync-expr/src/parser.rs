//! Recursive-descent parser with length and depth limits.

use crate::ast::{Constant, Expr, ExprKind, Span};
use crate::error::{ParseError, ParseErrorKind};
use crate::func::Func;
use crate::lexer::{Lexer, Tok, Token};

/// Entra's documented limit on the length of an expression, in characters.
pub const MAX_EXPRESSION_CHARS: usize = 10_000;

/// Default limit on function-call nesting.
pub const MAX_DEPTH: usize = 64;

/// Parser limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Maximum length in characters (Unicode scalar values).
    pub max_chars: usize,
    /// Maximum function-call nesting depth.
    pub max_depth: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            max_chars: MAX_EXPRESSION_CHARS,
            max_depth: MAX_DEPTH,
        }
    }
}

/// Parses and validates an expression with the default limits.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    parse_with(src, &ParseOptions::default())
}

/// Parses and validates an expression with explicit limits.
pub fn parse_with(src: &str, opts: &ParseOptions) -> Result<Expr, ParseError> {
    if let Some((pos, _)) = src.char_indices().nth(opts.max_chars) {
        let len = src.chars().count();
        return Err(ParseError::new(
            pos,
            ParseErrorKind::TooLong {
                len,
                max: opts.max_chars,
            },
        ));
    }
    let mut lexer = Lexer::new(src);
    let tok = lexer.next_token()?;
    let mut p = Parser {
        lexer,
        tok,
        max_depth: opts.max_depth,
    };
    let expr = p.expr(0)?;
    if p.tok.tok != Tok::Eof {
        return Err(p.expected("end of input"));
    }
    check_select_unique(&expr)?;
    Ok(expr)
}

/// `SelectUniqueValue` may only be the root of the tree.
fn check_select_unique(root: &Expr) -> Result<(), ParseError> {
    let mut err = None;
    let mut first = true;
    root.visit(&mut |e| {
        if let ExprKind::Call {
            func: Func::SelectUniqueValue,
            ..
        } = e.kind
            && !first
            && err.is_none()
        {
            err = Some(ParseError::new(e.span.start, ParseErrorKind::NestedSelectUniqueValue));
        }
        first = false;
    });
    err.map_or(Ok(()), Err)
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    tok: Token,
    max_depth: usize,
}

impl Parser<'_> {
    fn bump(&mut self) -> Result<Token, ParseError> {
        let next = self.lexer.next_token()?;
        Ok(std::mem::replace(&mut self.tok, next))
    }

    fn expected(&self, expected: &'static str) -> ParseError {
        ParseError::new(
            self.tok.start,
            ParseErrorKind::Expected {
                expected,
                found: self.tok.tok.describe(),
            },
        )
    }

    /// `operand [op operand]`
    fn expr(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let lhs = self.operand(depth)?;
        let Tok::Op(op) = self.tok.tok else {
            return Ok(lhs);
        };
        self.bump()?;
        let rhs = self.operand(depth)?;
        let span = Span::new(lhs.span.start, rhs.span.end);
        Ok(Expr::new(
            ExprKind::Compare {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            span,
        ))
    }

    fn operand(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let (start, end) = (self.tok.start, self.tok.end);
        let kind = match &self.tok.tok {
            Tok::Attr(name) => ExprKind::Attribute(name.clone()),
            Tok::Str(s) => ExprKind::Str(s.clone()),
            Tok::Num { value, hex } => ExprKind::Number {
                value: *value,
                hex: *hex,
            },
            Tok::Ident(_) => return self.ident(depth),
            _ => return Err(self.expected("an expression")),
        };
        self.bump()?;
        Ok(Expr::new(kind, Span::new(start, end)))
    }

    fn ident(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let token = self.bump()?;
        let Tok::Ident(name) = token.tok else {
            unreachable!("ident() is only called on identifiers")
        };
        if self.tok.tok != Tok::LParen {
            if let Some(c) = Constant::from_name(&name) {
                return Ok(Expr::new(ExprKind::Constant(c), Span::new(token.start, token.end)));
            }
            if Func::from_name(&name).is_some() {
                return Err(self.expected("'(' after the function name"));
            }
            return Err(ParseError::new(token.start, ParseErrorKind::UnknownIdentifier { name }));
        }
        let Some(func) = Func::from_name(&name) else {
            let hint = Func::suggest(&name)
                .map(|f| format!(" (did you mean '{f}'?)"))
                .unwrap_or_default();
            return Err(ParseError::new(
                token.start,
                ParseErrorKind::UnknownFunction { name, hint },
            ));
        };
        if depth >= self.max_depth {
            return Err(ParseError::new(
                token.start,
                ParseErrorKind::TooDeep { max: self.max_depth },
            ));
        }
        self.bump()?; // '('
        let mut args = Vec::new();
        if self.tok.tok == Tok::RParen {
            let close = self.bump()?;
            return self.finish_call(func, args, token.start, close.end);
        }
        loop {
            if matches!(self.tok.tok, Tok::Comma | Tok::RParen) {
                let at = self.tok.start;
                args.push(Expr::new(ExprKind::Empty, Span::new(at, at)));
            } else {
                args.push(self.expr(depth + 1)?);
            }
            match self.tok.tok {
                Tok::Comma => {
                    self.bump()?;
                }
                Tok::RParen => {
                    let close = self.bump()?;
                    return self.finish_call(func, args, token.start, close.end);
                }
                _ => return Err(self.expected("',' or ')'")),
            }
        }
    }

    fn finish_call(&self, func: Func, args: Vec<Expr>, start: usize, end: usize) -> Result<Expr, ParseError> {
        if !func.accepts(args.len()) {
            return Err(ParseError::new(
                start,
                ParseErrorKind::ArgumentCount {
                    function: func.name(),
                    expected: func.arity_text(),
                    found: args.len(),
                },
            ));
        }
        Ok(Expr::new(ExprKind::Call { func, args }, Span::new(start, end)))
    }
}
