//! PostgreSQL's side of the shared filter compiler: `$n` placeholders, typed value-index
//! columns (`vt` text in the "C" collation, `vn` double precision for numbers and
//! booleans), `timestamptz` meta columns, and `ToSql` for the compiler's parameters.

use bytes::BytesMut;
use scim_core::index::IndexValue;
use scim_core::resolve::Column;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::pg_text;
use crate::filter_sql::{Dialect, Param, SqlBuf};

pub struct Postgres;

impl Dialect for Postgres {
    fn placeholder(&self, n: usize, out: &mut String) {
        out.push('$');
        out.push_str(&n.to_string());
    }

    fn value_column(&self, alias: &str, v: &IndexValue) -> String {
        match v {
            IndexValue::Text(_) => format!("{alias}.vt"),
            _ => format!("{alias}.vn"),
        }
    }

    fn index_param(&self, v: &IndexValue) -> Param {
        match v {
            IndexValue::Text(s) => Param::Text(s.clone()),
            IndexValue::Int(i) => Param::Real(*i as f64),
            IndexValue::Real(f) => Param::Real(*f),
            IndexValue::Bool(b) => Param::Real(if *b { 1.0 } else { 0.0 }),
        }
    }

    fn column(&self, c: Column, textual: bool) -> &'static str {
        match (c, textual) {
            (Column::Id, _) => "r.id",
            (Column::ExternalId, _) => "r.external_id",
            (Column::NameKey, _) => "r.name_key",
            (Column::Created, false) => "r.created",
            (Column::LastModified, false) => "r.last_modified",
            // The wire form, for co/sw/ew on a date.
            (Column::Created, true) => {
                r#"to_char(r.created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') COLLATE "C""#
            }
            (Column::LastModified, true) => {
                r#"to_char(r.last_modified AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') COLLATE "C""#
            }
        }
    }

    fn contains(&self, b: &mut SqlBuf, expr: &str, p: Param) {
        b.push("strpos(").push(expr).push(", ").bind(p).push(") > 0");
    }

    fn ends_with(&self, b: &mut SqlBuf, expr: &str, text: &str) {
        let n = text.chars().count() as i64;
        b.push("right(").push(expr).push(", ").bind(Param::Int(n));
        b.push(") = ").bind(Param::Text(text.to_string()));
    }

    fn false_lit(&self) -> &'static str {
        "false"
    }

    fn true_lit(&self) -> &'static str {
        "true"
    }

    fn filtered_tenant_column(&self) -> &'static str {
        "r.tenant_id"
    }

    fn sort_by_index(&self, b: &mut SqlBuf, path: &str, dir: &str) {
        for col in ["vn", "vt"] {
            if col == "vt" {
                b.push(", ");
            }
            b.push("(SELECT s.").push(col);
            b.push(" FROM value_index s WHERE s.tenant_id = r.tenant_id AND s.res = r.seq AND s.path = ")
                .bind(Param::Text(path.to_string()))
                .push(" ORDER BY s.ord LIMIT 1)")
                .push(dir)
                .push(" NULLS LAST");
        }
    }
}

/// Binds as whatever integer, float, text or timestamp type the statement expects.
impl ToSql for Param {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Param::Int(i) if *ty == Type::FLOAT8 => (*i as f64).to_sql(ty, out),
            Param::Int(i) => i.to_sql(ty, out),
            Param::Real(f) => f.to_sql(ty, out),
            Param::Text(s) => pg_text(s).as_ref().to_sql(ty, out),
            Param::Ts(t) => t.datetime().to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        [
            Type::INT4,
            Type::INT8,
            Type::FLOAT8,
            Type::TEXT,
            Type::VARCHAR,
            Type::TIMESTAMPTZ,
        ]
        .contains(ty)
    }

    to_sql_checked!();
}

/// The parameters as the driver takes them.
pub fn params(p: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    p.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}
