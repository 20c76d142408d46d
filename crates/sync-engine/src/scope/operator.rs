//! Scoping-filter operators: Entra's spellings, parsed leniently.

use std::fmt;
use std::str::FromStr;

/// A scoping-filter operator, in Entra's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `&`: the attribute's value occurs in the clause value.
    In,
    /// `!&`
    NotIn,
    EndsWith,
    NotEndsWith,
    StartsWith,
    NotStartsWith,
    Equals,
    NotEquals,
    GreaterThan,
    GreaterThanOrEquals,
    LessThan,
    LessThanOrEquals,
    Includes,
    NotIncludes,
    IsTrue,
    IsFalse,
    IsNull,
    IsNotNull,
    RegexMatch,
    NotRegexMatch,
}

impl Operator {
    pub const ALL: [Operator; 20] = [
        Operator::In,
        Operator::NotIn,
        Operator::EndsWith,
        Operator::NotEndsWith,
        Operator::StartsWith,
        Operator::NotStartsWith,
        Operator::Equals,
        Operator::NotEquals,
        Operator::GreaterThan,
        Operator::GreaterThanOrEquals,
        Operator::LessThan,
        Operator::LessThanOrEquals,
        Operator::Includes,
        Operator::NotIncludes,
        Operator::IsTrue,
        Operator::IsFalse,
        Operator::IsNull,
        Operator::IsNotNull,
        Operator::RegexMatch,
        Operator::NotRegexMatch,
    ];

    /// Entra's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::In => "&",
            Operator::NotIn => "!&",
            Operator::EndsWith => "ENDS_WITH",
            Operator::NotEndsWith => "NOT ENDS_WITH",
            Operator::StartsWith => "STARTS_WITH",
            Operator::NotStartsWith => "NOT STARTS_WITH",
            Operator::Equals => "EQUALS",
            Operator::NotEquals => "NOT EQUALS",
            Operator::GreaterThan => "Greater_Than",
            Operator::GreaterThanOrEquals => "Greater_Than_OR_EQUALS",
            Operator::LessThan => "Less_Than",
            Operator::LessThanOrEquals => "Less_Than_OR_EQUALS",
            Operator::Includes => "Includes",
            Operator::NotIncludes => "NOT Includes",
            Operator::IsTrue => "IS TRUE",
            Operator::IsFalse => "IS FALSE",
            Operator::IsNull => "IS NULL",
            Operator::IsNotNull => "IS NOT NULL",
            Operator::RegexMatch => "REGEX MATCH",
            Operator::NotRegexMatch => "NOT REGEX MATCH",
        }
    }

    /// Whether the clause needs a value (all but the `IS …` operators).
    pub fn takes_value(self) -> bool {
        !matches!(
            self,
            Operator::IsTrue | Operator::IsFalse | Operator::IsNull | Operator::IsNotNull
        )
    }

    pub(super) fn is_integer(self) -> bool {
        matches!(
            self,
            Operator::GreaterThan | Operator::GreaterThanOrEquals | Operator::LessThan | Operator::LessThanOrEquals
        )
    }

    pub(super) fn is_regex(self) -> bool {
        matches!(self, Operator::RegexMatch | Operator::NotRegexMatch)
    }
}

/// Upper case with `_`, `-` and whitespace removed: `Greater_Than_OR_EQUALS`,
/// `greater than or equals` and `GREATERTHANOREQUALS` all become the same key.
fn operator_key(s: &str) -> String {
    s.chars()
        .filter(|c| !(c.is_whitespace() || *c == '_' || *c == '-'))
        .flat_map(char::to_uppercase)
        .collect()
}

impl FromStr for Operator {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = operator_key(s);
        Operator::ALL
            .into_iter()
            .find(|op| operator_key(op.as_str()) == key)
            .ok_or_else(|| {
                let names: Vec<&str> = Operator::ALL.iter().map(|o| o.as_str()).collect();
                format!("unknown operator {s:?} (expected one of: {})", names.join(", "))
            })
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
