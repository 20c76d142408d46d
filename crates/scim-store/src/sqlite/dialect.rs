//! SQLite's side of the shared filter compiler: `?` placeholders, one dynamically typed
//! `value_index.val` column (numbers compare as numbers, text as bytes), timestamps as
//! fixed-width UTC text.

use rusqlite::types::Value as SqlValue;
use scim_core::index::IndexValue;
use scim_core::resolve::Column;

use crate::filter_sql::{Dialect, Param, SqlBuf};

pub struct Sqlite;

impl Dialect for Sqlite {
    fn placeholder(&self, _n: usize, out: &mut String) {
        out.push('?');
    }

    fn value_column(&self, alias: &str, _v: &IndexValue) -> String {
        format!("{alias}.val")
    }

    fn index_param(&self, v: &IndexValue) -> Param {
        match v {
            IndexValue::Text(s) => Param::Text(s.clone()),
            IndexValue::Int(i) => Param::Int(*i),
            IndexValue::Real(f) => Param::Real(*f),
            IndexValue::Bool(b) => Param::Int(*b as i64),
        }
    }

    fn column(&self, c: Column, _textual: bool) -> &'static str {
        match c {
            Column::Id => "r.id",
            Column::ExternalId => "r.external_id",
            Column::NameKey => "r.name_key",
            Column::Created => "r.created",
            Column::LastModified => "r.last_modified",
        }
    }

    fn contains(&self, b: &mut SqlBuf, expr: &str, p: Param) {
        b.push("instr(").push(expr).push(", ").bind(p).push(") > 0");
    }

    fn ends_with(&self, b: &mut SqlBuf, expr: &str, text: &str) {
        let n = text.chars().count() as i64;
        b.push("substr(").push(expr).push(", ").bind(Param::Int(-n));
        b.push(") = ").bind(Param::Text(text.to_string()));
    }

    fn false_lit(&self) -> &'static str {
        "0"
    }

    fn true_lit(&self) -> &'static str {
        "1"
    }

    fn filtered_tenant_column(&self) -> &'static str {
        "+r.tenant_id"
    }

    fn sort_by_index(&self, b: &mut SqlBuf, path: &str, dir: &str) {
        b.push("(SELECT s.val FROM value_index s WHERE s.res = r.seq AND s.path = ")
            .bind(Param::Text(path.to_string()))
            .push(" ORDER BY s.ord LIMIT 1)")
            .push(dir)
            .push(" NULLS LAST");
    }
}

pub fn value(p: Param) -> SqlValue {
    match p {
        Param::Int(i) => SqlValue::Integer(i),
        Param::Real(f) => SqlValue::Real(f),
        Param::Text(s) => SqlValue::Text(s),
        Param::Ts(t) => SqlValue::Text(t.to_string()),
    }
}

/// An index value as stored in `value_index.val`.
pub fn index_value(v: &IndexValue) -> SqlValue {
    value(Sqlite.index_param(v))
}
