//! List and search parameters (RFC 7644 §3.4.2, §3.4.3) → a store [`Query`] and a
//! [`Projection`].

use scim_proto::{SortOrder, parse_attr_path, parse_filter};
use serde_json::Value;

use crate::error::{CoreError, Result};
use crate::ports::{Query, SortKey};
use crate::project::Projection;
use crate::resolve::{RFilter, Target, resolve_filter};
use crate::schema::ResourceKind;

/// Page size when the client gives no `count`.
pub const DEFAULT_COUNT: u64 = 100;
/// Largest page served; a larger `count` is served as this many (RFC 7644 §3.4.2.4).
pub const MAX_COUNT: u64 = 1000;

/// Most conditions (comparisons and `pr`) one filter may hold. Real clients send one or
/// two; a long `or` chain beyond this would nest past what the store's query planner takes.
pub const MAX_FILTER_CONDITIONS: usize = 200;

fn conditions(f: &scim_proto::Filter) -> usize {
    use scim_proto::Filter;
    match f {
        Filter::Compare { .. } | Filter::Present(_) => 1,
        Filter::And(a, b) | Filter::Or(a, b) => conditions(a) + conditions(b),
        Filter::Not(a) => conditions(a),
        Filter::ValuePath { filter, .. } => conditions(filter),
    }
}

/// Raw list parameters, from a query string or a `/.search` body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListParams {
    pub filter: Option<String>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
    /// RFC 9865: present (even empty) asks for cursor paging.
    pub cursor: Option<String>,
}

impl ListParams {
    /// The field a parameter name (any case) sets.
    fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name.to_ascii_lowercase().as_str() {
            "filter" => &mut self.filter,
            "sortby" => &mut self.sort_by,
            "sortorder" => &mut self.sort_order,
            "startindex" => &mut self.start_index,
            "count" => &mut self.count,
            "attributes" => &mut self.attributes,
            "excludedattributes" => &mut self.excluded_attributes,
            "cursor" => &mut self.cursor,
            _ => return None,
        })
    }

    /// Reads query-string pairs; names are matched case-insensitively.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut p = ListParams::default();
        for (k, v) in pairs {
            let Some(slot) = p.slot(k) else { continue };
            *slot = Some(v.to_string());
        }
        p
    }

    /// Reads a SearchRequest body (`POST /.search`).
    pub fn from_search_body(body: &Value) -> Result<Self> {
        let Value::Object(obj) = body else {
            return Err(CoreError::InvalidSyntax(
                "a SearchRequest body must be a JSON object".into(),
            ));
        };
        let mut p = ListParams::default();
        for (k, v) in obj {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string()))
                    .collect::<Vec<_>>()
                    .join(","),
                Value::Null => continue,
                other => other.to_string(),
            };
            let Some(slot) = p.slot(k) else { continue };
            *slot = Some(text);
        }
        Ok(p)
    }

    /// The cursor fingerprint of this query (see [`crate::cursor::fingerprint`]).
    pub fn fingerprint(&self, kind: ResourceKind) -> String {
        crate::cursor::fingerprint(
            kind,
            self.filter.as_deref(),
            self.sort_by.as_deref(),
            self.sort_order.as_deref(),
        )
    }

    pub fn to_query(&self, kind: ResourceKind) -> Result<(Query, Projection)> {
        if self.cursor.is_some() && self.start_index.as_deref().is_some_and(|s| !s.trim().is_empty()) {
            return Err(CoreError::InvalidValue(
                "give either startIndex (index paging) or cursor (cursor paging), not both".into(),
            ));
        }
        let filter = match self.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(src) => {
                let f = parse_filter(src).map_err(|e| CoreError::filter(src, e))?;
                let n = conditions(&f);
                if n > MAX_FILTER_CONDITIONS {
                    return Err(CoreError::InvalidFilter(format!(
                        "the filter has {n} conditions; the limit is {MAX_FILTER_CONDITIONS}"
                    )));
                }
                Some(resolve_filter(kind, &f)?)
            }
        };
        let start_index = match self.start_index.as_deref() {
            None | Some("") => 1,
            Some(s) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| CoreError::InvalidValue(format!("startIndex must be an integer, got {s:?}")))?
                .max(1) as u64,
        };
        let count = match self.count.as_deref() {
            None | Some("") => DEFAULT_COUNT,
            Some(s) => (s
                .trim()
                .parse::<i64>()
                .map_err(|_| CoreError::InvalidValue(format!("count must be an integer, got {s:?}")))?
                .max(0) as u64)
                .min(MAX_COUNT),
        };
        let order = match self.sort_order.as_deref() {
            None | Some("") => SortOrder::Ascending,
            Some(s) => SortOrder::parse(s).ok_or_else(|| {
                CoreError::InvalidValue(format!("sortOrder must be \"ascending\" or \"descending\", got {s:?}"))
            })?,
        };
        let sort = match self.sort_by.as_deref().map(str::trim) {
            None | Some("") => SortKey::Created,
            Some(s) => sort_key(kind, s)?,
        };
        let projection = Projection::parse(kind, self.attributes.as_deref(), self.excluded_attributes.as_deref())?;
        Ok((
            Query {
                filter,
                sort,
                order,
                start_index,
                count,
                seek: None,
            },
            projection,
        ))
    }
}

fn sort_key(kind: ResourceKind, s: &str) -> Result<SortKey> {
    let path = parse_attr_path(s).map_err(|e| CoreError::InvalidValue(format!("invalid sortBy {s:?}: {e}")))?;
    let probe = scim_proto::Filter::Present(path);
    match resolve_filter(kind, &probe) {
        Ok(RFilter::Present(Target::Column(c))) => Ok(SortKey::Column(c)),
        Ok(RFilter::Present(Target::Index(p))) => Ok(SortKey::Index(p)),
        Ok(RFilter::Present(Target::IndexPrefix(p))) => Ok(SortKey::Index(format!("{p}value"))),
        Ok(_) => Err(CoreError::InvalidValue(format!("cannot sort by {s:?}"))),
        Err(e) => Err(CoreError::InvalidValue(format!("cannot sort by {s:?}: {e}"))),
    }
}
