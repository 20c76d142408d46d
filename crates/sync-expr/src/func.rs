//! The function registry: names and accepted argument counts.

/// Accepted argument counts of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arity {
    /// Exactly this many.
    Exact(usize),
    /// Between the two bounds, inclusive.
    Range(usize, usize),
    /// At least this many.
    AtLeast(usize),
    /// At least four, and an even number (`Switch`).
    SwitchPairs,
}

macro_rules! functions {
    ($($variant:ident => $name:literal, $arity:expr, $desc:literal;)*) => {
        /// A function of the expression language.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Func {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl Func {
            /// Every function, in alphabetical order.
            pub const ALL: &'static [Func] = &[$(Func::$variant),*];

            /// The function's name as written in expressions (case-sensitive).
            pub fn name(self) -> &'static str {
                match self {
                    $(Func::$variant => $name,)*
                }
            }

            /// Looks a function up by its exact (case-sensitive) name.
            pub fn from_name(name: &str) -> Option<Func> {
                match name {
                    $($name => Some(Func::$variant),)*
                    _ => None,
                }
            }

            pub(crate) fn arity(self) -> Arity {
                match self {
                    $(Func::$variant => $arity,)*
                }
            }

            pub(crate) fn arity_text(self) -> &'static str {
                match self {
                    $(Func::$variant => $desc,)*
                }
            }
        }
    };
}

use Arity::*;

functions! {
    Append => "Append", Exact(2), "2 arguments";
    AppRoleAssignmentsComplex => "AppRoleAssignmentsComplex", Exact(1), "1 argument";
    AssertiveAppRoleAssignmentsComplex => "AssertiveAppRoleAssignmentsComplex", Exact(1), "1 argument";
    BitAnd => "BitAnd", Exact(2), "2 arguments";
    CBool => "CBool", Exact(1), "1 argument";
    CDate => "CDate", Exact(1), "1 argument";
    Coalesce => "Coalesce", AtLeast(1), "at least 1 argument";
    ConvertToBase64 => "ConvertToBase64", Exact(1), "1 argument";
    ConvertToUTF8Hex => "ConvertToUTF8Hex", Exact(1), "1 argument";
    Count => "Count", Exact(1), "1 argument";
    CStr => "CStr", Exact(1), "1 argument";
    DateAdd => "DateAdd", Exact(3), "3 arguments";
    DateDiff => "DateDiff", Exact(3), "3 arguments";
    DateFromNum => "DateFromNum", Exact(1), "1 argument";
    FormatDateTime => "FormatDateTime", Range(3, 4), "3 or 4 arguments";
    Guid => "Guid", Exact(0), "no arguments";
    IgnoreFlowIfNullOrEmpty => "IgnoreFlowIfNullOrEmpty", Exact(1), "1 argument";
    IIF => "IIF", Exact(3), "3 arguments";
    InStr => "InStr", Range(2, 4), "2 to 4 arguments";
    IsNull => "IsNull", Exact(1), "1 argument";
    IsNullOrEmpty => "IsNullOrEmpty", Exact(1), "1 argument";
    IsPresent => "IsPresent", Exact(1), "1 argument";
    IsString => "IsString", Exact(1), "1 argument";
    Item => "Item", Exact(2), "2 arguments";
    Join => "Join", AtLeast(2), "at least 2 arguments";
    Left => "Left", Exact(2), "2 arguments";
    Mid => "Mid", Exact(3), "3 arguments";
    NormalizeDiacritics => "NormalizeDiacritics", Exact(1), "1 argument";
    Not => "Not", Exact(1), "1 argument";
    Now => "Now", Exact(0), "no arguments";
    NumFromDate => "NumFromDate", Exact(1), "1 argument";
    PCase => "PCase", Range(1, 2), "1 or 2 arguments";
    RandomString => "RandomString", Range(5, 6), "5 or 6 arguments";
    Redact => "Redact", Exact(1), "1 argument";
    RemoveDuplicates => "RemoveDuplicates", Exact(1), "1 argument";
    Replace => "Replace", Range(2, 7), "2 to 7 arguments";
    SelectUniqueValue => "SelectUniqueValue", AtLeast(2), "at least 2 arguments";
    SingleAppRoleAssignment => "SingleAppRoleAssignment", Exact(1), "1 argument";
    Split => "Split", Exact(2), "2 arguments";
    StripSpaces => "StripSpaces", Exact(1), "1 argument";
    Switch => "Switch", SwitchPairs, "an even number (at least 4) of arguments";
    ToLower => "ToLower", Range(1, 2), "1 or 2 arguments";
    ToUpper => "ToUpper", Range(1, 2), "1 or 2 arguments";
    Word => "Word", Exact(3), "3 arguments";
}

impl Func {
    /// Whether `n` arguments are accepted.
    pub fn accepts(self, n: usize) -> bool {
        match self.arity() {
            Exact(k) => n == k,
            Range(lo, hi) => (lo..=hi).contains(&n),
            AtLeast(k) => n >= k,
            SwitchPairs => n >= 4 && n.is_multiple_of(2),
        }
    }

    /// A case-insensitive match, used to suggest the right spelling.
    pub(crate) fn suggest(name: &str) -> Option<Func> {
        Func::ALL.iter().copied().find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
