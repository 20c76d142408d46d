//! The syntax tree and its printer.

use std::fmt::{self, Write as _};

use crate::func::Func;

/// A byte range in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// Builds a span.
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }
}

/// A parsed expression.
///
/// Equality compares structure only and ignores spans, so an expression
/// equals the re-parse of its printed form.
#[derive(Debug, Clone)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Where it was written.
    pub span: Span,
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

impl Eq for Expr {}

/// Named constants that may be written bare (`InStr`'s compare type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Constant {
    /// `vbTextCompare`: case-insensitive.
    VbTextCompare,
    /// `vbBinaryCompare`: case-sensitive.
    VbBinaryCompare,
}

impl Constant {
    /// The constant's name.
    pub fn name(self) -> &'static str {
        match self {
            Constant::VbTextCompare => "vbTextCompare",
            Constant::VbBinaryCompare => "vbBinaryCompare",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "vbTextCompare" => Some(Constant::VbTextCompare),
            "vbBinaryCompare" => Some(Constant::VbBinaryCompare),
            _ => None,
        }
    }
}

/// Comparison operators, allowed in any argument (mostly in `IIF` conditions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl CompareOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
        }
    }
}

/// The node kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    /// `[attributeName]`
    Attribute(String),
    /// `"string constant"` (unescaped content).
    Str(String),
    /// An integer constant; `hex` keeps the `&H` form for printing.
    Number {
        /// The value.
        value: i64,
        /// Written as `&H…`.
        hex: bool,
    },
    /// A bare named constant such as `vbTextCompare`.
    Constant(Constant),
    /// An empty argument (`Switch([a], , "x", "y")`): evaluates to null.
    Empty,
    /// `Function(arg, …)`
    Call {
        /// The function.
        func: Func,
        /// Its arguments, empty ones included.
        args: Vec<Expr>,
    },
    /// `lhs op rhs`
    Compare {
        /// The operator.
        op: CompareOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
}

impl Expr {
    /// Builds a node.
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Self { kind, span }
    }

    /// The source attributes referenced anywhere in the expression, each once,
    /// in order of first appearance.
    pub fn attributes(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        self.visit(&mut |e| {
            if let ExprKind::Attribute(name) = &e.kind
                && !out.iter().any(|n| n == name)
            {
                out.push(name.clone());
            }
        });
        out
    }

    /// The functions called anywhere in the expression, each once, in order of
    /// first appearance.
    pub fn functions(&self) -> Vec<Func> {
        let mut out = Vec::new();
        self.visit(&mut |e| {
            if let ExprKind::Call { func, .. } = &e.kind
                && !out.contains(func)
            {
                out.push(*func);
            }
        });
        out
    }

    /// Pre-order walk over every node.
    pub fn visit(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Call { args, .. } => args.iter().for_each(|a| a.visit(f)),
            ExprKind::Compare { lhs, rhs, .. } => {
                lhs.visit(f);
                rhs.visit(f);
            }
            _ => {}
        }
    }

    fn has_call_arg(&self) -> bool {
        match &self.kind {
            ExprKind::Call { args, .. } => args
                .iter()
                .any(|a| matches!(a.kind, ExprKind::Call { .. } | ExprKind::Compare { .. })),
            _ => false,
        }
    }

    fn write(&self, out: &mut String, indent: Option<usize>) {
        match &self.kind {
            ExprKind::Attribute(name) => {
                out.push('[');
                out.push_str(name);
                out.push(']');
            }
            ExprKind::Str(s) => write_string(out, s),
            ExprKind::Number { value, hex: true } => {
                let _ = write!(out, "&H{value:X}");
            }
            ExprKind::Number { value, hex: false } => {
                let _ = write!(out, "{value}");
            }
            ExprKind::Constant(c) => out.push_str(c.name()),
            ExprKind::Empty => {}
            ExprKind::Compare { op, lhs, rhs } => {
                lhs.write(out, indent);
                out.push(' ');
                out.push_str(op.symbol());
                out.push(' ');
                rhs.write(out, indent);
            }
            ExprKind::Call { func, args } => {
                out.push_str(func.name());
                out.push('(');
                match indent {
                    Some(level) if self.has_call_arg() => {
                        for (i, a) in args.iter().enumerate() {
                            if i > 0 {
                                out.push(',');
                            }
                            out.push('\n');
                            push_indent(out, level + 1);
                            a.write(out, Some(level + 1));
                        }
                        out.push('\n');
                        push_indent(out, level);
                    }
                    _ => {
                        for (i, a) in args.iter().enumerate() {
                            if i > 0 {
                                out.push_str(", ");
                            }
                            a.write(out, indent);
                        }
                    }
                }
                out.push(')');
            }
        }
    }
}

fn push_indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// Writes a string constant with `\` and `"` escaped.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

impl fmt::Display for Expr {
    /// Compact single-line form (`{}`) or an indented multi-line form (`{:#}`);
    /// both parse back to an equal expression.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write(&mut out, f.alternate().then_some(0));
        f.write_str(&out)
    }
}
