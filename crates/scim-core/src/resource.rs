//! Stored and rendered resources. A resource is stored as the JSON text of its
//! representation without `meta` and `members`; rendering appends those two by string
//! concatenation, so an unprojected GET never parses the document.

use serde_json::{Map, Value};

use crate::error::{CoreError, Result};
use crate::normalize::{Normalized, is_urn};
use crate::schema::ResourceKind;

/// A resource as the store returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    pub kind: ResourceKind,
    pub id: String,
    pub version: i64,
    pub created: crate::Timestamp,
    pub last_modified: crate::Timestamp,
    /// `{"schemas":[…],"id":"…",…}` without `meta` and `members`.
    pub doc: String,
}

impl StoredResource {
    pub fn etag(&self) -> String {
        etag(self.version)
    }

    /// Parses the stored document back into attributes (for PATCH and projection).
    pub fn parse_doc(&self) -> Result<Map<String, Value>> {
        match serde_json::from_str(&self.doc) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(CoreError::Internal(format!(
                "stored document of {} {} is not a JSON object",
                self.kind.name(),
                self.id
            ))),
        }
    }
}

pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// A validated resource ready to be written: document text, uniqueness key and index rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub id: String,
    pub external_id: Option<String>,
    pub name_key: String,
    pub doc: String,
    pub index: Vec<crate::index::IndexEntry>,
}

impl Prepared {
    pub fn new(kind: ResourceKind, id: &str, n: &Normalized) -> Prepared {
        Prepared {
            id: id.to_string(),
            external_id: n.external_id().map(str::to_string),
            name_key: n.name_key(kind),
            doc: doc_text(kind, id, &n.attrs),
            index: crate::index::entries(kind, &n.attrs),
        }
    }
}

/// The `schemas` list: the core schema, then every extension block present.
pub fn schemas_for(kind: ResourceKind, attrs: &Map<String, Value>) -> Vec<Value> {
    let mut out = vec![Value::String(kind.core().id.to_string())];
    for key in attrs.keys().filter(|k| is_urn(k)) {
        out.push(Value::String(key.clone()));
    }
    out
}

/// Builds the stored document text: `schemas`, `id`, then the attributes in input order.
pub fn doc_text(kind: ResourceKind, id: &str, attrs: &Map<String, Value>) -> String {
    let mut doc = Map::with_capacity(attrs.len() + 2);
    doc.insert("schemas".into(), Value::Array(schemas_for(kind, attrs)));
    doc.insert("id".into(), Value::String(id.to_string()));
    for (k, v) in attrs {
        doc.insert(k.clone(), v.clone());
    }
    Value::Object(doc).to_string()
}

/// Strips `schemas` and `id` from a parsed stored document, leaving the attributes.
/// Order-preserving, so re-rendering an unchanged resource gives the same text.
pub fn attrs_of(mut doc: Map<String, Value>) -> Map<String, Value> {
    doc.shift_remove("schemas");
    doc.shift_remove("id");
    doc
}

/// Renders the full representation. `members` is the already-serialised member objects
/// (groups only; `None` omits the attribute).
pub fn render(res: &StoredResource, base_url: &str, members: Option<&[String]>) -> String {
    let doc = res.doc.trim_end();
    let body = doc.strip_suffix('}').unwrap_or(doc);
    let mut out = String::with_capacity(doc.len() + 256 + members.map_or(0, |m| m.iter().map(|s| s.len() + 1).sum()));
    out.push_str(body);
    if let Some(members) = members {
        out.push_str(",\"members\":[");
        for (i, m) in members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(m);
        }
        out.push(']');
    }
    out.push_str(",\"meta\":");
    out.push_str(&meta_json(res, base_url));
    out.push('}');
    out
}

pub fn location(kind: ResourceKind, base_url: &str, id: &str) -> String {
    format!("{base_url}/{}/{id}", kind.endpoint())
}

fn meta_json(res: &StoredResource, base_url: &str) -> String {
    let mut meta = Map::new();
    meta.insert("resourceType".into(), res.kind.name().into());
    meta.insert("created".into(), res.created.to_string().into());
    meta.insert("lastModified".into(), res.last_modified.to_string().into());
    meta.insert("location".into(), location(res.kind, base_url, &res.id).into());
    meta.insert("version".into(), res.etag().into());
    Value::Object(meta).to_string()
}
