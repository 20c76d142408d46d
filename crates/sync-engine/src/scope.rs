//! Scoping: assignment (groups, app roles) and attribute scoping filters.
//!
//! A user is in scope when it is active in the source, assigned to the application (or the
//! job syncs all), effectively entitled (an assignment other than "Default Access"), and it
//! passes the scoping filters. [`CompiledScope::evaluate`] returns the decision together
//! with the step trace that `scimd sync provision` prints, in Entra's wording.
//!
//! Filter semantics (Entra's, plus the choices its docs leave open):
//! - clauses are ANDed within a filter, filters are ORed, no filters = pass; filters apply
//!   to users only;
//! - "scoping filters return false if the value is null / empty": every operator is false
//!   on an absent, null or `""` attribute, *including* the negated ones (`!&`,
//!   `NOT EQUALS`, `NOT Includes`, `NOT STARTS_WITH`, `NOT ENDS_WITH`, `NOT REGEX MATCH`);
//!   the exceptions are `IS NULL` (true) and `IS NOT NULL` (false). `IS FALSE` is false on
//!   null: it needs a stored boolean false (`false` or the string `"false"`, any case);
//! - multi-valued attributes cannot be filtered: a clause on a known multi-valued Graph
//!   attribute is a compile error, and a clause that meets an array at run time is false;
//! - `&` is true when the attribute's value occurs in the clause value (a case-sensitive
//!   substring test the other way round from `Includes`: `department & "Sales,Marketing"`);
//! - `EQUALS`, `Includes`, `STARTS_WITH`, `ENDS_WITH`, `REGEX MATCH` are case-sensitive.
//!   Booleans compare as `True`/`False` case-insensitively, numbers as their JSON text;
//! - `Greater_Than` & co. compare integers: the clause value must be an integer (compile
//!   error otherwise) and an attribute that is not an integer makes the clause false.

use std::collections::HashMap;
use std::fmt;

use regex::Regex;
use serde_json::Value;

use crate::config::{Clause, ScopeConfig, ScopeMode};
use crate::error::EngineError;
use crate::model::{DEFAULT_ACCESS, ObjectKind, SourceObject};

#[cfg(test)]
mod combination_tests;
mod operator;
#[cfg(test)]
mod tests;

pub use operator::Operator;

/// Graph user attributes that are multi-valued (or references/role lists Entra documents as
/// unsupported in scoping filters): a clause on one of them is a configuration error.
const UNFILTERABLE: &[&str] = &[
    "proxyAddresses",
    "otherMails",
    "businessPhones",
    "imAddresses",
    "identities",
    "memberOf",
    "members",
    "appRoleAssignments",
    "assignedLicenses",
    "assignedPlans",
    "provisionedPlans",
    "schools",
    "skills",
    "interests",
    "pastProjects",
    "responsibilities",
];

/// One compiled clause.
#[derive(Debug, Clone)]
pub struct CompiledClause {
    pub attribute: String,
    pub operator: Operator,
    pub value: Option<String>,
    int: Option<i64>,
    regex: Option<Regex>,
}

/// One compiled filter: its clauses are ANDed.
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    /// The filter's title (`name`, or `Scoping filter N`).
    pub name: String,
    pub clauses: Vec<CompiledClause>,
}

/// The job's scope, ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledScope {
    pub mode: ScopeMode,
    /// Assigned groups, by source id or displayName.
    pub groups: Vec<String>,
    /// App role values that qualify; empty = any role except "Default Access".
    pub app_roles: Vec<String>,
    pub filters: Vec<CompiledFilter>,
    /// Flatten nested groups for assignment and inherited roles.
    pub nested: bool,
}

/// Why an assigned user is still not entitled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entitlement {
    /// Every assignment is "Default Access", which never qualifies.
    DefaultAccessOnly,
    /// Assigned with roles, none of them in `app_roles`.
    RoleNotListed,
}

/// The outcome of scope evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeReason {
    InScope,
    /// Disabled, soft-deleted or hard-deleted in the source.
    NotActive,
    /// No assignment at all (not in an assigned group, no app role).
    NotAssigned,
    /// Assigned, but not effectively entitled.
    NotEffectivelyEntitled(Entitlement),
    /// Assigned, but no scoping filter passed.
    FilteredOut,
}

impl ScopeReason {
    /// The stable reason code recorded in the provisioning log.
    pub fn code(self) -> &'static str {
        match self {
            ScopeReason::InScope => "InScope",
            ScopeReason::NotActive => "NotActiveInSource",
            ScopeReason::NotAssigned => "NotAssigned",
            ScopeReason::NotEffectivelyEntitled(_) => "NotEffectivelyEntitled",
            ScopeReason::FilteredOut => "FilteredOutByScopingFilter",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            ScopeReason::InScope => "in scope",
            ScopeReason::NotActive => "not active in the source system",
            ScopeReason::NotAssigned => "not assigned to the application",
            ScopeReason::NotEffectivelyEntitled(Entitlement::DefaultAccessOnly) => {
                "not effectively entitled: the only assignment is Default Access"
            }
            ScopeReason::NotEffectivelyEntitled(Entitlement::RoleNotListed) => {
                "not effectively entitled: no assigned role is one of the required roles"
            }
            ScopeReason::FilteredOut => "out of scope by the scoping filters",
        }
    }
}

/// One line of the step trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeStep {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

impl ScopeStep {
    fn new(name: impl Into<String>, passed: bool, detail: impl Into<String>) -> Self {
        ScopeStep {
            name: name.into(),
            passed,
            detail: detail.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeDecision {
    pub in_scope: bool,
    /// The first reason the object fails, or `InScope`.
    pub reason: ScopeReason,
    /// Every step, in order, also those after the first failure.
    pub steps: Vec<ScopeStep>,
}

#[derive(Debug, Clone)]
struct GroupInfo {
    display_name: String,
    roles: Vec<String>,
}

/// Direct group memberships, built from all source objects once per cycle.
#[derive(Debug, Clone, Default)]
pub struct ScopeIndex {
    groups: HashMap<String, GroupInfo>,
    member_of: HashMap<String, Vec<String>>,
}

impl ScopeIndex {
    pub fn new<'a>(objects: impl IntoIterator<Item = &'a SourceObject>) -> ScopeIndex {
        let mut index = ScopeIndex::default();
        for obj in objects {
            index.insert(obj);
        }
        index
    }

    /// Adds one group's memberships; users and deleted groups are ignored.
    pub fn insert(&mut self, obj: &SourceObject) {
        if obj.kind != ObjectKind::Group || obj.deleted {
            return;
        }
        let display_name = obj.attr("displayName").and_then(Value::as_str).unwrap_or_default();
        self.groups.insert(
            obj.id.clone(),
            GroupInfo {
                display_name: display_name.to_string(),
                roles: obj.app_roles.iter().map(|r| r.value.clone()).collect(),
            },
        );
        for member in &obj.members {
            let groups = self.member_of.entry(member.clone()).or_default();
            if !groups.contains(&obj.id) {
                groups.push(obj.id.clone());
            }
        }
    }

    /// The ids of the groups `id` is a direct member of.
    pub fn groups_of(&self, id: &str) -> &[String] {
        self.member_of.get(id).map(Vec::as_slice).unwrap_or_default()
    }

    /// The groups `id` is a member of directly or through nested groups, nearest first; a
    /// cycle in the nesting is followed once.
    pub fn ancestors_of(&self, id: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut next = 0;
        out.extend(self.groups_of(id).iter().cloned());
        while next < out.len() {
            let parents = self.groups_of(&out[next]).to_vec();
            for p in parents {
                if p != id && !out.contains(&p) {
                    out.push(p);
                }
            }
            next += 1;
        }
        out
    }

    fn name_of(&self, group_id: &str) -> &str {
        self.groups
            .get(group_id)
            .map(|g| g.display_name.as_str())
            .unwrap_or_default()
    }
}

fn config_err(filter: usize, name: &str, clause: usize, msg: impl fmt::Display) -> EngineError {
    EngineError::Config(format!("scope.filters[{filter}] ({name:?}) clauses[{clause}]: {msg}"))
}

fn compile_clause(fi: usize, name: &str, ci: usize, c: &Clause) -> Result<CompiledClause, EngineError> {
    let operator: Operator = c.operator.parse().map_err(|e| config_err(fi, name, ci, e))?;
    let attribute = c.attribute.trim().to_string();
    if attribute.is_empty() {
        return Err(config_err(fi, name, ci, "attribute is empty"));
    }
    if let Some(bad) = UNFILTERABLE.iter().find(|a| a.eq_ignore_ascii_case(&attribute)) {
        return Err(config_err(
            fi,
            name,
            ci,
            format!("{bad} is multi-valued or a reference; scoping filters cannot filter it"),
        ));
    }
    let (mut int, mut regex) = (None, None);
    if operator.takes_value() {
        let Some(value) = &c.value else {
            return Err(config_err(fi, name, ci, format!("operator {operator} needs a value")));
        };
        if operator.is_integer() {
            let n = value.trim().parse::<i64>().map_err(|_| {
                config_err(
                    fi,
                    name,
                    ci,
                    format!("operator {operator} needs an integer value, not {value:?}"),
                )
            })?;
            int = Some(n);
        }
        if operator.is_regex() {
            let re = Regex::new(value)
                .map_err(|e| config_err(fi, name, ci, format!("invalid regular expression {value:?}: {e}")))?;
            regex = Some(re);
        }
    }
    Ok(CompiledClause {
        attribute,
        operator,
        value: c.value.clone(),
        int,
        regex,
    })
}

/// The attribute as a scalar string, or why it has none.
enum Scalar<'a> {
    Null,
    Multi,
    Bool(bool),
    Text(std::borrow::Cow<'a, str>),
}

fn scalar(v: Option<&Value>) -> Scalar<'_> {
    match v {
        None | Some(Value::Null) => Scalar::Null,
        Some(Value::String(s)) if s.is_empty() => Scalar::Null,
        Some(Value::String(s)) => Scalar::Text(s.as_str().into()),
        Some(Value::Bool(b)) => Scalar::Bool(*b),
        Some(Value::Number(n)) => Scalar::Text(n.to_string().into()),
        Some(Value::Array(_) | Value::Object(_)) => Scalar::Multi,
    }
}

impl CompiledClause {
    /// Evaluates the clause against a user.
    pub fn matches(&self, obj: &SourceObject) -> bool {
        self.eval(obj).0
    }

    /// The result and the attribute value as shown in the trace.
    fn eval(&self, obj: &SourceObject) -> (bool, String) {
        let op = self.operator;
        let text = match scalar(obj.attr(&self.attribute)) {
            Scalar::Null => return (op == Operator::IsNull, "null".into()),
            Scalar::Multi => return (false, "multi-valued (cannot be filtered)".into()),
            Scalar::Bool(b) => {
                let shown = if b { "True" } else { "False" };
                let value = self.value.as_deref().unwrap_or_default();
                let r = match op {
                    Operator::IsTrue => b,
                    Operator::IsFalse => !b,
                    Operator::IsNull => false,
                    Operator::IsNotNull => true,
                    Operator::Equals => shown.eq_ignore_ascii_case(value),
                    Operator::NotEquals => !shown.eq_ignore_ascii_case(value),
                    _ => return (self.text_op(shown), shown.into()),
                };
                return (r, shown.into());
            }
            Scalar::Text(t) => t,
        };
        let r = match op {
            Operator::IsTrue => text.eq_ignore_ascii_case("true"),
            Operator::IsFalse => text.eq_ignore_ascii_case("false"),
            Operator::IsNull => false,
            Operator::IsNotNull => true,
            _ => self.text_op(&text),
        };
        (r, format!("{text:?}"))
    }

    fn text_op(&self, attr: &str) -> bool {
        let value = self.value.as_deref().unwrap_or_default();
        let int = || attr.parse::<i64>().ok().zip(self.int);
        match self.operator {
            Operator::In => value.contains(attr),
            Operator::NotIn => !value.contains(attr),
            Operator::EndsWith => attr.ends_with(value),
            Operator::NotEndsWith => !attr.ends_with(value),
            Operator::StartsWith => attr.starts_with(value),
            Operator::NotStartsWith => !attr.starts_with(value),
            Operator::Equals => attr == value,
            Operator::NotEquals => attr != value,
            Operator::Includes => attr.contains(value),
            Operator::NotIncludes => !attr.contains(value),
            Operator::GreaterThan => int().is_some_and(|(a, v)| a > v),
            Operator::GreaterThanOrEquals => int().is_some_and(|(a, v)| a >= v),
            Operator::LessThan => int().is_some_and(|(a, v)| a < v),
            Operator::LessThanOrEquals => int().is_some_and(|(a, v)| a <= v),
            Operator::RegexMatch => self.regex.as_ref().is_some_and(|r| r.is_match(attr)),
            Operator::NotRegexMatch => self.regex.as_ref().is_some_and(|r| !r.is_match(attr)),
            Operator::IsTrue | Operator::IsFalse | Operator::IsNull | Operator::IsNotNull => false,
        }
    }

    /// `department EQUALS Sales`, `jobTitle IS NOT NULL`.
    pub fn describe(&self) -> String {
        match (&self.value, self.operator.takes_value()) {
            (Some(v), true) => format!("{} {} {}", self.attribute, self.operator, v),
            _ => format!("{} {}", self.attribute, self.operator),
        }
    }
}

impl CompiledScope {
    /// Compiles the job's `[scope]`: operators, values, regular expressions.
    pub fn compile(cfg: &ScopeConfig) -> Result<CompiledScope, EngineError> {
        let mut filters = Vec::with_capacity(cfg.filters.len());
        for (fi, f) in cfg.filters.iter().enumerate() {
            let name = match f.name.as_deref().map(str::trim) {
                Some(n) if !n.is_empty() => n.to_string(),
                _ => format!("Scoping filter {}", fi + 1),
            };
            if f.clauses.is_empty() {
                return Err(EngineError::Config(format!(
                    "scope.filters[{fi}] ({name:?}) has no clauses"
                )));
            }
            let clauses = f
                .clauses
                .iter()
                .enumerate()
                .map(|(ci, c)| compile_clause(fi, &name, ci, c))
                .collect::<Result<Vec<_>, _>>()?;
            filters.push(CompiledFilter { name, clauses });
        }
        let groups: Vec<String> = cfg.groups.iter().map(|g| g.trim().to_string()).collect();
        if groups.iter().any(String::is_empty) {
            return Err(EngineError::Config("scope.groups: a group name or id is empty".into()));
        }
        Ok(CompiledScope {
            mode: cfg.mode,
            groups,
            app_roles: cfg.app_roles.iter().map(|r| r.trim().to_string()).collect(),
            filters,
            nested: cfg.nested_groups,
        })
    }

    fn group_listed(&self, id: &str, display_name: &str) -> bool {
        self.groups
            .iter()
            .any(|g| g == id || (!display_name.is_empty() && g.eq_ignore_ascii_case(display_name)))
    }

    fn role_qualifies(&self, value: &str) -> bool {
        value != DEFAULT_ACCESS && (self.app_roles.is_empty() || self.app_roles.iter().any(|r| r == value))
    }

    /// Decides whether `obj` is in scope, with the step trace.
    pub fn evaluate(&self, obj: &SourceObject, index: &ScopeIndex) -> ScopeDecision {
        let mut steps = Vec::new();
        let mut reason = ScopeReason::InScope;
        let mut fail = |r: ScopeReason| {
            if reason == ScopeReason::InScope {
                reason = r;
            }
        };

        let active = !obj.deleted && !obj.is_disabled();
        let detail = if obj.deleted {
            "deleted in the source"
        } else if !active {
            "accountEnabled is false"
        } else {
            "active"
        };
        steps.push(ScopeStep::new("Active in source system", active, detail));
        if !active {
            fail(ScopeReason::NotActive);
        }

        if self.mode == ScopeMode::All {
            steps.push(ScopeStep::new(
                "Scope sync all",
                true,
                "scope mode is all: every user and group is in scope",
            ));
        } else if let Some(r) = self.assignment(obj, index, &mut steps) {
            fail(r);
        }

        if obj.kind == ObjectKind::User && !self.filters.is_empty() {
            let mut any = false;
            for f in &self.filters {
                let mut all = true;
                for c in &f.clauses {
                    let (ok, shown) = c.eval(obj);
                    all &= ok;
                    let detail = format!("{} is {shown}", c.attribute);
                    steps.push(ScopeStep::new(format!("{} {}", f.name, c.describe()), ok, detail));
                }
                any |= all;
            }
            if !any {
                fail(ScopeReason::FilteredOut);
            }
        }
        ScopeDecision {
            in_scope: reason == ScopeReason::InScope,
            reason,
            steps,
        }
    }

    /// Assigned mode: the "Assigned to application" and "User has required role" steps.
    fn assignment(&self, obj: &SourceObject, index: &ScopeIndex, steps: &mut Vec<ScopeStep>) -> Option<ScopeReason> {
        let own_roles = obj.app_roles.iter().map(|r| (r.value.as_str(), None));
        let user_groups: Vec<String> = match (obj.kind, self.nested) {
            (ObjectKind::Group, _) => Vec::new(),
            (ObjectKind::User, true) => index.ancestors_of(&obj.id),
            (ObjectKind::User, false) => index.groups_of(&obj.id).to_vec(),
        };
        let (via_group, inherited): (Option<GroupRef>, Vec<RoleRef>) = match obj.kind {
            ObjectKind::Group => {
                let name = obj.attr("displayName").and_then(Value::as_str).unwrap_or_default();
                (
                    self.group_listed(&obj.id, name).then_some((obj.id.as_str(), name)),
                    Vec::new(),
                )
            }
            ObjectKind::User => {
                let gids = user_groups.as_slice();
                let listed = gids
                    .iter()
                    .map(|g| (g.as_str(), index.name_of(g)))
                    .find(|(id, name)| self.group_listed(id, name));
                let inherited = gids
                    .iter()
                    .filter_map(|g| index.groups.get(g).map(|info| (g, info)))
                    .flat_map(|(g, info)| info.roles.iter().map(move |r| (r.as_str(), Some(g.as_str()))))
                    .collect();
                (listed, inherited)
            }
        };
        let roles: Vec<RoleRef> = own_roles.chain(inherited).collect();
        let show = |(role, group): &RoleRef| match group {
            Some(g) => format!("{role} (through group {})", group_label(index, g)),
            None => role.to_string(),
        };
        let assigned = via_group.is_some() || !roles.is_empty();
        let detail = match via_group {
            Some((id, name)) if obj.kind == ObjectKind::Group => format!("group {name} ({id}) is assigned"),
            Some((id, name)) if !index.groups_of(&obj.id).iter().any(|g| g == id) => {
                format!("member (through nested groups) of assigned group {}", label(id, name))
            }
            Some((id, name)) => format!("direct member of assigned group {}", label(id, name)),
            None if assigned => {
                format!(
                    "app role assignments: {}",
                    roles.iter().map(show).collect::<Vec<_>>().join(", ")
                )
            }
            None => "no app role assignment and not a direct member of an assigned group".to_string(),
        };
        steps.push(ScopeStep::new("Assigned to application", assigned, detail));

        let qualifying = roles.iter().find(|(r, _)| self.role_qualifies(r));
        let (entitled, detail) = if let Some((_, name)) = via_group {
            (
                true,
                format!("assigned through group {name}; a group assignment needs no role"),
            )
        } else if let Some(q) = qualifying {
            (true, format!("role {}", show(q)))
        } else if roles.is_empty() {
            (false, "no role assigned".to_string())
        } else if roles.iter().all(|(r, _)| *r == DEFAULT_ACCESS) {
            (
                false,
                "only Default Access, which never qualifies: not effectively entitled".to_string(),
            )
        } else {
            let names: Vec<String> = roles.iter().map(show).collect();
            (
                false,
                format!("roles {} are not among {:?}", names.join(", "), self.app_roles),
            )
        };
        steps.push(ScopeStep::new("User has required role", entitled, detail));

        if !assigned {
            Some(ScopeReason::NotAssigned)
        } else if entitled {
            None
        } else if roles.iter().all(|(r, _)| *r == DEFAULT_ACCESS) {
            Some(ScopeReason::NotEffectivelyEntitled(Entitlement::DefaultAccessOnly))
        } else {
            Some(ScopeReason::NotEffectivelyEntitled(Entitlement::RoleNotListed))
        }
    }
}

/// An assigned group: (id, displayName).
type GroupRef<'a> = (&'a str, &'a str);
/// A role value and the id of the group it was inherited from, if any.
type RoleRef<'a> = (&'a str, Option<&'a str>);

/// `Name (id)`, or the id alone when the group has no name.
fn label(id: &str, name: &str) -> String {
    if name.is_empty() {
        id.to_string()
    } else {
        format!("{name} ({id})")
    }
}

fn group_label(index: &ScopeIndex, id: &str) -> String {
    match index.name_of(id) {
        "" => id.to_string(),
        name => name.to_string(),
    }
}
