//! Compiles a resolved SCIM filter to parameterised SQL that yields the matching
//! `resources.seq` values. Values are always bound, never spliced.
//!
//! A comparison on an indexed attribute is an index range probe on `value_index`
//! (`tenant_id, rtype, path, val`); `userName`, `externalId`, `id` and `meta` use the
//! resource columns and their indexes. `and`/`or`/`not` become INTERSECT/UNION/EXCEPT, so a
//! query touches only the rows its leaves match; the caller selects `WHERE seq IN (…)`.
//! A value filter whose conditions are all positive is a self-join of the index on
//! `(res, ord)`; `or` inside brackets is distributed. Only `co`, `ew` and `not` read every
//! value of their attribute in the tenant (still an index-only scan, never the documents).

use rusqlite::types::Value as SqlValue;
use scim_core::index::IndexValue;
use scim_core::resolve::{Column, RFilter, Target};
use scim_proto::CompareOp;

pub struct SqlBuf {
    pub sql: String,
    pub params: Vec<SqlValue>,
    tenant: i64,
    rtype: i64,
}

impl SqlBuf {
    pub fn new(tenant: i64, rtype: i64) -> Self {
        SqlBuf {
            sql: String::with_capacity(256),
            params: Vec::with_capacity(8),
            tenant,
            rtype,
        }
    }

    pub fn bind(&mut self, v: SqlValue) -> &mut Self {
        self.params.push(v);
        self.sql.push('?');
        self
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.sql.push_str(s);
        self
    }

    fn scope(&mut self, alias: &str) {
        let (t, k) = (self.tenant, self.rtype);
        self.push(alias).push(".tenant_id = ").bind(t.into());
        self.push(" AND ").push(alias).push(".rtype = ").bind(k.into());
    }
}

pub fn sql_value(v: &IndexValue) -> SqlValue {
    match v {
        IndexValue::Text(s) => SqlValue::Text(s.clone()),
        IndexValue::Int(i) => SqlValue::Integer(*i),
        IndexValue::Real(f) => SqlValue::Real(*f),
        IndexValue::Bool(b) => SqlValue::Integer(*b as i64),
    }
}

fn column(c: Column) -> &'static str {
    match c {
        Column::Id => "r.id",
        Column::ExternalId => "r.external_id",
        Column::NameKey => "r.name_key",
        Column::Created => "r.created",
        Column::LastModified => "r.last_modified",
    }
}

/// Appends `expr <op> value` for a scalar expression such as `r.name_key` or `x0.val`.
fn cmp(b: &mut SqlBuf, expr: &str, op: CompareOp, v: &IndexValue) {
    let val = sql_value(v);
    match op {
        CompareOp::Eq => {
            b.push(expr).push(" = ").bind(val);
        }
        CompareOp::Ne => {
            b.push(expr).push(" <> ").bind(val);
        }
        CompareOp::Gt => {
            b.push(expr).push(" > ").bind(val);
        }
        CompareOp::Ge => {
            b.push(expr).push(" >= ").bind(val);
        }
        CompareOp::Lt => {
            b.push(expr).push(" < ").bind(val);
        }
        CompareOp::Le => {
            b.push(expr).push(" <= ").bind(val);
        }
        CompareOp::Co => {
            b.push("instr(").push(expr).push(", ").bind(val).push(") > 0");
        }
        CompareOp::Sw => {
            // A range, so the index serves it: [v, v + U+10FFFF).
            let text = match v {
                IndexValue::Text(s) => s.clone(),
                other => format!("{other:?}"),
            };
            b.push("(").push(expr).push(" >= ").bind(SqlValue::Text(text.clone()));
            b.push(" AND ")
                .push(expr)
                .push(" < ")
                .bind(SqlValue::Text(format!("{text}\u{10FFFF}")))
                .push(")");
        }
        CompareOp::Ew => {
            let n = match v {
                IndexValue::Text(s) => s.chars().count() as i64,
                _ => 0,
            };
            b.push("substr(")
                .push(expr)
                .push(", ")
                .bind(SqlValue::Integer(-n))
                .push(") = ")
                .bind(val);
        }
    }
}

/// All resources of the scope, as a seq set.
fn all(b: &mut SqlBuf) {
    b.push("SELECT r.seq AS s FROM resources r WHERE ");
    b.scope("r");
}

/// Compiles a filter to a `SELECT … AS s` producing the matching `resources.seq` values.
/// `and`/`or`/`not` become INTERSECT/UNION/EXCEPT over index probes, so the outer query
/// drives from the (usually tiny) matching set instead of scanning the tenant.
pub fn compile(f: &RFilter, b: &mut SqlBuf) {
    match f {
        RFilter::Const(true) => all(b),
        RFilter::Const(false) => {
            b.push("SELECT r.seq AS s FROM resources r WHERE 0");
        }
        RFilter::And(x, y) => compound(x, " INTERSECT ", y, b),
        RFilter::Or(x, y) => compound(x, " UNION ", y, b),
        RFilter::Not(x) => {
            b.push("SELECT s FROM (");
            all(b);
            b.push(" EXCEPT ");
            compile(x, b);
            b.push(")");
        }
        RFilter::Present(t) => present(t, b),
        RFilter::Cmp { target, op, value } => match target {
            Target::Column(c) => {
                b.push("SELECT r.seq AS s FROM resources r WHERE ");
                b.scope("r");
                b.push(" AND ");
                if *op == CompareOp::Ne && *c == Column::ExternalId {
                    b.push("(r.external_id IS NULL OR ");
                    cmp(b, column(*c), *op, value);
                    b.push(")");
                } else {
                    cmp(b, column(*c), *op, value);
                }
            }
            Target::Members => {
                let tenant = b.tenant;
                b.push("SELECT m.group_seq AS s FROM members m WHERE m.tenant_id = ")
                    .bind(SqlValue::Integer(tenant))
                    .push(" AND m.member_id = ")
                    .bind(sql_value(value));
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
                b.push(" AND x.path = ")
                    .bind(SqlValue::Text(path.clone()))
                    .push(" AND ");
                cmp(b, "x.val", *op, value);
            }
            Target::IndexPrefix(_) => {
                b.push("SELECT r.seq AS s FROM resources r WHERE 0");
            }
        },
        RFilter::Element { prefix, filter } => element(prefix, filter, b),
    }
}

fn compound(x: &RFilter, op: &str, y: &RFilter, b: &mut SqlBuf) {
    b.push("SELECT s FROM (");
    compile(x, b);
    b.push(op);
    compile(y, b);
    b.push(")");
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
            let tenant = b.tenant;
            b.push("SELECT DISTINCT m.group_seq AS s FROM members m WHERE m.tenant_id = ")
                .bind(SqlValue::Integer(tenant));
        }
        Target::Index(path) => {
            b.push("SELECT DISTINCT x.res AS s FROM value_index x WHERE ");
            b.scope("x");
            b.push(" AND x.path = ").bind(SqlValue::Text(path.clone()));
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
        .bind(SqlValue::Text(prefix.to_string()));
    b.push(" AND ").push(expr).push(" < ").bind(SqlValue::Text(upper));
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
        b.push(")");
        return;
    }
    let mut leaves = Vec::new();
    if conjuncts(f, &mut leaves) && !leaves.is_empty() {
        b.push("SELECT x0.res AS s FROM value_index x0");
        for (i, leaf) in leaves.iter().enumerate().skip(1) {
            let a = format!("x{i}");
            b.push(" JOIN value_index ")
                .push(&a)
                .push(" ON ")
                .push(&a)
                .push(".res = x0.res AND ");
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
                .bind(SqlValue::Text(path.clone()))
                .push(" AND ");
            cmp(b, &format!("{alias}.val"), *op, value);
        }
        RFilter::Present(Target::Index(path)) => {
            b.push(alias).push(".path = ").bind(SqlValue::Text(path.clone()));
        }
        _ => {
            b.push("0");
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
            target: Target::Index(_),
            op: CompareOp::Ne,
            value,
        } => {
            if let RFilter::Cmp { target, .. } = f {
                let eq = RFilter::Cmp {
                    target: target.clone(),
                    op: CompareOp::Eq,
                    value: value.clone(),
                };
                b.push("NOT ");
                element_expr(&eq, b);
            }
        }
        RFilter::Cmp { .. } | RFilter::Present(_) => {
            b.push("EXISTS (SELECT 1 FROM value_index y WHERE y.res = e.res AND y.ord = e.ord AND ");
            leaf_cond(f, "y", b);
            b.push(")");
        }
        RFilter::Const(v) => {
            b.push(if *v { "1" } else { "0" });
        }
        RFilter::Element { .. } => {
            b.push("0");
        }
    }
}
