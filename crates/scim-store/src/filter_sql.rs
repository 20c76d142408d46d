//! Compiles a resolved SCIM filter to parameterised SQL that yields the matching
//! `resources.seq` values of one tenant and type. Values are always bound, never spliced.
//! The compiler is shared; what differs between SQLite and PostgreSQL (placeholders, the
//! value-index columns, string functions, booleans) comes from a [`Dialect`], implemented in
//! `sqlite::dialect` and `postgres::dialect`.
//!
//! A comparison on an indexed attribute is an index range probe on `value_index`
//! (`tenant_id, rtype, path, value`); `userName`, `externalId`, `id` and `meta` use the
//! resource columns and their indexes. `and`/`or`/`not` become INTERSECT/UNION/EXCEPT, so a
//! query touches only the rows its leaves match; the caller selects `WHERE seq IN (…)`.
//! A value filter whose conditions are all positive is a self-join of the index on
//! `(res, ord)`; `or` inside brackets is distributed. Only `co`, `ew` and `not` read every
//! value of their attribute in the tenant (still an index-only scan, never the documents).

use scim_core::index::IndexValue;
use scim_core::ports::{Query, Seek, SortKey};
use scim_core::resolve::{Column, RFilter, Target};
use scim_core::{ResourceKind, Timestamp};
use scim_proto::{CompareOp, SortOrder};

/// A bound parameter, converted to the driver's type by each adapter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Int(i64),
    Real(f64),
    Text(String),
    Ts(Timestamp),
}

/// What differs between the SQL dialects.
pub trait Dialect: Sync {
    /// Appends the placeholder of the `n`th parameter (1-based).
    fn placeholder(&self, n: usize, out: &mut String);
    /// The value-index column that holds values like `v` (`x.val`, or `x.vt` / `x.vn`).
    fn value_column(&self, alias: &str, v: &IndexValue) -> String;
    /// An index value as a parameter for that column.
    fn index_param(&self, v: &IndexValue) -> Param;
    /// A resource column; `textual` when it is used with a string function.
    fn column(&self, c: Column, textual: bool) -> &'static str;
    /// `expr` contains `p` (a bound text parameter).
    fn contains(&self, b: &mut SqlBuf, expr: &str, p: Param);
    /// `expr` ends with `text`.
    fn ends_with(&self, b: &mut SqlBuf, expr: &str, text: &str);
    /// The literal for false (`0`, `false`).
    fn false_lit(&self) -> &'static str;
    fn true_lit(&self) -> &'static str;
    /// ` ORDER BY` terms for the first value of an index path, in direction `dir`.
    fn sort_by_index(&self, b: &mut SqlBuf, path: &str, dir: &str);
    /// The tenant column of the outer page query when a filter drives it. SQLite's planner
    /// must not walk the tenant's index for it (`+r.tenant_id`), PostgreSQL's must use its
    /// `(tenant_id, seq)` key.
    fn filtered_tenant_column(&self) -> &'static str;
}

/// The columns a page query selects, in this order.
pub const PAGE_COLUMNS: &str = "r.id, r.version, r.created, r.last_modified, r.doc";

/// `SELECT <PAGE_COLUMNS> … ORDER BY … LIMIT … OFFSET …` for one page of a query.
pub fn page_query(b: &mut SqlBuf, q: &Query) {
    b.push("SELECT ").push(PAGE_COLUMNS).push(" FROM resources r WHERE ");
    match &q.filter {
        Some(f) => {
            let col = b.dialect().filtered_tenant_column();
            let t = b.tenant;
            b.push(col).push(" = ").bind(Param::Int(t)).push(" AND r.seq IN (");
            compile(f, b);
            b.push(")");
        }
        None => {
            b.scope("r");
        }
    }
    let mut reverse = false;
    if let Some(seek) = q.seek.as_ref().filter(|_| q.sort.seekable()) {
        keyset(b, q, seek);
        reverse = seek.backwards;
    }
    order_clause(q, reverse, b);
    b.push(" LIMIT ").bind(Param::Int(q.count as i64));
    let offset = if q.seek.is_some() {
        0
    } else {
        q.start_index.max(1) as i64 - 1
    };
    b.push(" OFFSET ").bind(Param::Int(offset));
}

/// Whether the page query returns its rows in reverse (a backwards seek); the adapter then
/// reverses them back.
pub fn reversed(q: &Query) -> bool {
    q.sort.seekable() && q.seek.as_ref().is_some_and(|s| s.backwards)
}

/// ` AND (sort, id) > (?, ?)`: the rows after (or before) a position, in the index's order.
fn keyset(b: &mut SqlBuf, q: &Query, seek: &Seek) {
    let ascending = q.order != SortOrder::Descending;
    let op = if ascending != seek.backwards { " > " } else { " < " };
    let id = Param::Text(seek.from.id.clone());
    match &q.sort {
        SortKey::Column(c) if *c != Column::Id => {
            let col = b.dialect().column(*c, false);
            let raw = seek.from.value.clone().unwrap_or_default();
            let value = match c {
                Column::Created | Column::LastModified => ts_or_text(raw),
                _ => Param::Text(raw),
            };
            b.push(" AND (").push(col).push(", r.id)").push(op).push("(");
            b.bind(value).push(", ").bind(id).push(")");
        }
        _ => {
            b.push(" AND r.id").push(op).bind(id);
        }
    }
}

/// `SELECT count(*)` of the resources a filter matches.
pub fn count_query(b: &mut SqlBuf, f: &RFilter) {
    b.push("SELECT count(*) FROM (");
    compile(f, b);
    b.close_derived();
}

fn order_clause(q: &Query, reverse: bool, b: &mut SqlBuf) {
    let dir = if (q.order == SortOrder::Descending) != reverse {
        " DESC"
    } else {
        ""
    };
    match &q.sort {
        // Ids are UUIDv7: creation order, unique, and served by the (tenant, type, id) index.
        SortKey::Created => {
            b.push(" ORDER BY r.id").push(dir);
        }
        SortKey::Column(c) => {
            let col = b.dialect().column(*c, false);
            b.push(" ORDER BY ").push(col).push(dir).push(", r.id").push(dir);
        }
        SortKey::Index(path) => {
            b.push(" ORDER BY ");
            b.dialect().sort_by_index(b, path, dir);
            b.push(", r.id").push(dir);
        }
    }
}

pub struct SqlBuf<'d> {
    pub sql: String,
    pub params: Vec<Param>,
    dialect: &'d dyn Dialect,
    tenant: i64,
    rtype: i64,
    aliases: usize,
}

impl<'d> SqlBuf<'d> {
    pub fn new(dialect: &'d dyn Dialect, tenant: i64, kind: ResourceKind) -> Self {
        SqlBuf {
            sql: String::with_capacity(256),
            params: Vec::with_capacity(8),
            dialect,
            tenant,
            rtype: kind.code(),
            aliases: 0,
        }
    }

    pub fn bind(&mut self, v: Param) -> &mut Self {
        self.params.push(v);
        let n = self.params.len();
        self.dialect.placeholder(n, &mut self.sql);
        self
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.sql.push_str(s);
        self
    }

    pub fn dialect(&self) -> &'d dyn Dialect {
        self.dialect
    }

    /// `alias.tenant_id = ? AND alias.rtype = ?`
    pub fn scope(&mut self, alias: &str) -> &mut Self {
        let (t, k) = (self.tenant, self.rtype);
        self.push(alias).push(".tenant_id = ").bind(Param::Int(t));
        self.push(" AND ").push(alias).push(".rtype = ").bind(Param::Int(k))
    }

    /// `alias.tenant_id = ?`
    pub fn tenant(&mut self, alias: &str) -> &mut Self {
        let t = self.tenant;
        self.push(alias).push(".tenant_id = ").bind(Param::Int(t))
    }

    /// Closes a derived table with a fresh alias (PostgreSQL requires one).
    fn close_derived(&mut self) {
        self.aliases += 1;
        let alias = format!(") AS d{}", self.aliases);
        self.push(&alias);
    }
}

/// `<expr> <op> <value>` for a resource column or a value-index column.
fn cmp(b: &mut SqlBuf, expr: &str, op: CompareOp, val: Param) {
    let sym = match op {
        CompareOp::Eq => " = ",
        CompareOp::Ne => " <> ",
        CompareOp::Gt => " > ",
        CompareOp::Ge => " >= ",
        CompareOp::Lt => " < ",
        CompareOp::Le => " <= ",
        CompareOp::Co => return b.dialect().contains(b, expr, val),
        CompareOp::Sw => {
            // A range, so the index serves it: [v, v + U+10FFFF).
            let text = text_of(&val);
            b.push("(").push(expr).push(" >= ").bind(Param::Text(text.clone()));
            b.push(" AND ")
                .push(expr)
                .push(" < ")
                .bind(Param::Text(format!("{text}\u{10FFFF}")));
            b.push(")");
            return;
        }
        CompareOp::Ew => return b.dialect().ends_with(b, expr, &text_of(&val)),
    };
    b.push(expr).push(sym).bind(val);
}

fn text_of(p: &Param) -> String {
    match p {
        Param::Text(s) => s.clone(),
        Param::Int(i) => i.to_string(),
        Param::Real(f) => f.to_string(),
        Param::Ts(t) => t.to_string(),
    }
}

fn index_cmp(b: &mut SqlBuf, alias: &str, op: CompareOp, v: &IndexValue) {
    let d = b.dialect();
    let col = d.value_column(alias, v);
    cmp(b, &col, op, d.index_param(v));
}

/// A meta date as a timestamp parameter (what `timestamptz` columns compare with), or the
/// text as given when it is not one.
fn ts_or_text(s: String) -> Param {
    match Timestamp::parse(&s) {
        Some(t) => Param::Ts(t),
        None => Param::Text(s),
    }
}

fn column_cmp(b: &mut SqlBuf, c: Column, op: CompareOp, v: &IndexValue) {
    let d = b.dialect();
    let textual = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    let expr = d.column(c, textual);
    let param = match (c, v) {
        (Column::Created | Column::LastModified, IndexValue::Text(s)) if !textual => ts_or_text(s.clone()),
        (_, IndexValue::Text(s)) => Param::Text(s.clone()),
        (_, other) => Param::Text(text_of(&d.index_param(other))),
    };
    cmp(b, expr, op, param);
}

/// All resources of the scope, as a seq set.
fn all(b: &mut SqlBuf) {
    b.push("SELECT r.seq AS s FROM resources r WHERE ");
    b.scope("r");
}

fn nothing(b: &mut SqlBuf) {
    let f = b.dialect().false_lit();
    b.push("SELECT r.seq AS s FROM resources r WHERE ").push(f);
}

/// Compiles a filter to a `SELECT … AS s` producing the matching `resources.seq` values.
/// `and`/`or`/`not` become INTERSECT/UNION/EXCEPT over index probes, so the outer query
/// drives from the (usually tiny) matching set instead of scanning the tenant.
pub fn compile(f: &RFilter, b: &mut SqlBuf) {
    match f {
        RFilter::Const(true) => all(b),
        RFilter::Const(false) => nothing(b),
        RFilter::And(x, y) => compound(x, " INTERSECT ", y, b),
        RFilter::Or(x, y) => compound(x, " UNION ", y, b),
        RFilter::Not(x) => {
            b.push("SELECT s FROM (");
            all(b);
            b.push(" EXCEPT ");
            compile(x, b);
            b.close_derived();
        }
        RFilter::Present(t) => present(t, b),
        RFilter::Cmp { target, op, value } => match target {
            Target::Column(c) => {
                b.push("SELECT r.seq AS s FROM resources r WHERE ");
                b.scope("r");
                b.push(" AND ");
                if *op == CompareOp::Ne && *c == Column::ExternalId {
                    b.push("(r.external_id IS NULL OR ");
                    column_cmp(b, *c, *op, value);
                    b.push(")");
                } else {
                    column_cmp(b, *c, *op, value);
                }
            }
            Target::Members => {
                b.push("SELECT m.group_seq AS s FROM members m WHERE ");
                b.tenant("m").push(" AND m.member_id = ");
                let p = Param::Text(text_of(&b.dialect().index_param(value)));
                b.bind(p);
            }
            Target::Index(path) => {
                if *op == CompareOp::Ne {
                    // `ne` means "has no value equal to": the complement of `eq`.
                    let eq = RFilter::Cmp {
                        target: target.clone(),
                        op: CompareOp::Eq,
                        value: value.clone(),
                    };
                    return compile(&RFilter::Not(Box::new(eq)), b);
                }
                b.push("SELECT x.res AS s FROM value_index x WHERE ");
                b.scope("x");
                b.push(" AND x.path = ").bind(Param::Text(path.clone())).push(" AND ");
                index_cmp(b, "x", *op, value);
            }
            Target::IndexPrefix(_) => nothing(b),
        },
        RFilter::Element { prefix, filter } => element(prefix, filter, b),
    }
}

fn compound(x: &RFilter, op: &str, y: &RFilter, b: &mut SqlBuf) {
    b.push("SELECT s FROM (");
    compile(x, b);
    b.push(op);
    compile(y, b);
    b.close_derived();
}

fn present(t: &Target, b: &mut SqlBuf) {
    match t {
        Target::Column(Column::ExternalId) => {
            b.push("SELECT r.seq AS s FROM resources r WHERE ");
            b.scope("r");
            b.push(" AND r.external_id IS NOT NULL");
        }
        Target::Column(_) => all(b),
        Target::Members => {
            b.push("SELECT DISTINCT m.group_seq AS s FROM members m WHERE ");
            b.tenant("m");
        }
        Target::Index(path) => {
            b.push("SELECT DISTINCT x.res AS s FROM value_index x WHERE ");
            b.scope("x");
            b.push(" AND x.path = ").bind(Param::Text(path.clone()));
        }
        Target::IndexPrefix(prefix) => {
            b.push("SELECT DISTINCT x.res AS s FROM value_index x WHERE ");
            b.scope("x");
            prefix_range(b, "x.path", prefix);
        }
    }
}

/// ` AND path >= 'emails.' AND path < 'emails/'` (`/` follows `.` in ASCII).
fn prefix_range(b: &mut SqlBuf, expr: &str, prefix: &str) {
    let upper = format!("{}/", prefix.trim_end_matches('.'));
    b.push(" AND ")
        .push(expr)
        .push(" >= ")
        .bind(Param::Text(prefix.to_string()));
    b.push(" AND ").push(expr).push(" < ").bind(Param::Text(upper));
}

/// Positive conjunctions of leaves: the self-join shape.
fn conjuncts<'a>(f: &'a RFilter, out: &mut Vec<&'a RFilter>) -> bool {
    match f {
        RFilter::And(x, y) => conjuncts(x, out) && conjuncts(y, out),
        RFilter::Cmp {
            target: Target::Index(_),
            op,
            ..
        } if *op != CompareOp::Ne => {
            out.push(f);
            true
        }
        RFilter::Present(Target::Index(_)) => {
            out.push(f);
            true
        }
        _ => false,
    }
}

fn element(prefix: &str, f: &RFilter, b: &mut SqlBuf) {
    if let RFilter::Or(x, y) = f {
        b.push("SELECT s FROM (");
        element(prefix, x, b);
        b.push(" UNION ");
        element(prefix, y, b);
        b.close_derived();
        return;
    }
    let mut leaves = Vec::new();
    if conjuncts(f, &mut leaves) && !leaves.is_empty() {
        b.push("SELECT x0.res AS s FROM value_index x0");
        for (i, leaf) in leaves.iter().enumerate().skip(1) {
            let a = format!("x{i}");
            b.push(" JOIN value_index ").push(&a).push(" ON ");
            b.push(&a).push(".tenant_id = x0.tenant_id AND ");
            b.push(&a).push(".res = x0.res AND ");
            leaf_cond(leaf, &a, b);
            b.push(" AND ").push(&a).push(".ord = x0.ord");
        }
        b.push(" WHERE ");
        b.scope("x0");
        b.push(" AND ");
        leaf_cond(leaves[0], "x0", b);
        return;
    }
    // General case (`not` inside brackets): elements of this attribute that satisfy it.
    b.push("SELECT DISTINCT e.res AS s FROM value_index e WHERE ");
    b.scope("e");
    prefix_range(b, "e.path", &format!("{prefix}."));
    b.push(" AND ");
    element_expr(f, b);
}

fn leaf_cond(leaf: &RFilter, alias: &str, b: &mut SqlBuf) {
    match leaf {
        RFilter::Cmp {
            target: Target::Index(path),
            op,
            value,
        } => {
            b.push(alias)
                .push(".path = ")
                .bind(Param::Text(path.clone()))
                .push(" AND ");
            index_cmp(b, alias, *op, value);
        }
        RFilter::Present(Target::Index(path)) => {
            b.push(alias).push(".path = ").bind(Param::Text(path.clone()));
        }
        _ => {
            let f = b.dialect().false_lit();
            b.push(f);
        }
    }
}

/// A boolean over one element `(e.res, e.ord)`.
fn element_expr(f: &RFilter, b: &mut SqlBuf) {
    match f {
        RFilter::And(x, y) | RFilter::Or(x, y) => {
            let op = if matches!(f, RFilter::And(..)) { " AND " } else { " OR " };
            b.push("(");
            element_expr(x, b);
            b.push(op);
            element_expr(y, b);
            b.push(")");
        }
        RFilter::Not(x) => {
            b.push("NOT (");
            element_expr(x, b);
            b.push(")");
        }
        RFilter::Cmp {
            target,
            op: CompareOp::Ne,
            value,
        } => {
            let eq = RFilter::Cmp {
                target: target.clone(),
                op: CompareOp::Eq,
                value: value.clone(),
            };
            b.push("NOT ");
            element_expr(&eq, b);
        }
        RFilter::Cmp { .. } | RFilter::Present(_) => {
            b.push("EXISTS (SELECT 1 FROM value_index y WHERE y.tenant_id = e.tenant_id AND y.res = e.res AND y.ord = e.ord AND ");
            leaf_cond(f, "y", b);
            b.push(")");
        }
        RFilter::Const(v) => {
            let lit = if *v {
                b.dialect().true_lit()
            } else {
                b.dialect().false_lit()
            };
            b.push(lit);
        }
        RFilter::Element { .. } => {
            let lit = b.dialect().false_lit();
            b.push(lit);
        }
    }
}
