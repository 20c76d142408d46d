//! A SCIM source: reads users and groups from another SCIM 2.0 server (for example a scimd
//! tenant) with `startIndex`/`count` paging.
//!
//! Each resource becomes a source object whose attributes carry both the SCIM names
//! (`userName`, `active`, `name.givenName`, …) and the Microsoft Graph names mappings are
//! usually written against (`userPrincipalName`, `accountEnabled`, `givenName`, `surname`,
//! `mail`, `department`, `manager`, …), so an Entra-style job file works unchanged.
//!
//! Watermark: the newest `meta.lastModified` seen. `read_changes` asks for
//! `meta.lastModified gt "<watermark>"`; deletions are not visible that way, so the engine
//! also reads complete snapshots.

use std::path::Path;

use async_trait::async_trait;
use scim_client::{ClientOptions, Endpoint, ScimClient};
use serde_json::{Map, Value};
use sync_engine::config::SecretRef;
use sync_engine::validate::Checks;

use sync_engine::EngineError;
use sync_engine::model::{ObjectKind, SourceBatch, SourceObject};
use sync_engine::source::Source;

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// `[source] type = "scim"`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScimSpec {
    /// The SCIM base URL (the one that holds `/Users`).
    pub url: String,
    /// A bearer token or OAuth client credentials, as for the target.
    #[serde(flatten)]
    pub secret: SecretRef,
    #[serde(default)]
    pub page_size: Option<u32>,
}

pub(crate) fn check(spec: &ScimSpec, checks: &mut Checks) {
    checks.url("source.url", &spec.url);
    checks.secret("source", &spec.secret);
    if let Some(n) = spec.page_size
        && !(1..=1000).contains(&n)
    {
        checks.err(format!("source.page_size = {n}: must be 1 to 1000"));
    }
}

pub(crate) fn open(spec: &ScimSpec, dir: &Path) -> Result<ScimSource, EngineError> {
    let creds = spec.secret.credentials("source", dir)?;
    let client = ScimClient::with_credentials(&spec.url, creds, ClientOptions::default())
        .map_err(|e| EngineError::Config(format!("source.url: {e}")))?;
    Ok(ScimSource::new(client, spec.page_size))
}

/// The secret can be read here.
pub(crate) fn environment(spec: &ScimSpec, dir: &Path) -> Result<(), Vec<String>> {
    spec.secret
        .credentials("source", dir)
        .map(|_| ())
        .map_err(|e| vec![crate::config_message(e)])
}

pub struct ScimSource {
    client: ScimClient,
    page_size: u64,
}

impl ScimSource {
    pub fn new(client: ScimClient, page_size: Option<u32>) -> ScimSource {
        ScimSource {
            client,
            page_size: page_size.unwrap_or(200).clamp(1, 1000) as u64,
        }
    }

    async fn read_kind(
        &self,
        ep: Endpoint,
        filter: Option<&str>,
        out: &mut Vec<SourceObject>,
        wm: &mut Option<String>,
    ) -> Result<(), EngineError> {
        let mut start = 1u64;
        loop {
            let page = self
                .client
                .search(ep, filter, None, start, self.page_size)
                .await
                .map_err(|e| EngineError::Source(format!("{} {}: {e}", self.client.base_url(), ep.path())))?;
            let n = page.resources.len() as u64;
            for r in page.resources {
                if let Some(lm) = r.pointer("/meta/lastModified").and_then(Value::as_str)
                    && wm.as_deref().is_none_or(|w| lm > w)
                {
                    *wm = Some(lm.to_string());
                }
                match ep {
                    Endpoint::Users => out.push(user(&r)?),
                    Endpoint::Groups => out.push(group(&r)?),
                }
            }
            // Stop on a short or empty page, or when the server says we have it all.
            if n == 0 || start + n > page.total_results {
                return Ok(());
            }
            start += n;
        }
    }
}

fn id_of(r: &Value) -> Result<String, EngineError> {
    r.get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| EngineError::Source(format!("a SCIM resource without an id: {}", truncate(&r.to_string()))))
}

fn truncate(s: &str) -> &str {
    &s[..s.floor_char_boundary(120)]
}

/// The element of a multi-valued attribute with `type` = `ty`, else the primary, else the first.
fn pick<'a>(items: Option<&'a Value>, ty: &str) -> Option<&'a Value> {
    let items = items?.as_array()?;
    items
        .iter()
        .find(|e| {
            e.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case(ty))
        })
        .or_else(|| items.iter().find(|e| e.get("primary") == Some(&Value::Bool(true))))
        .or_else(|| items.first())
}

fn user(r: &Value) -> Result<SourceObject, EngineError> {
    let id = id_of(r)?;
    let mut attrs = Map::new();
    if let Some(obj) = r.as_object() {
        for (k, v) in obj {
            if k != "meta" && k != "schemas" {
                attrs.insert(k.clone(), v.clone());
            }
        }
    }
    let mut alias = |graph: &str, v: Option<&Value>| {
        if let Some(v) = v.filter(|v| !v.is_null()) {
            attrs.insert(graph.to_string(), v.clone());
        }
    };
    alias("userPrincipalName", r.get("userName"));
    alias("accountEnabled", r.get("active"));
    alias("givenName", r.pointer("/name/givenName"));
    alias("surname", r.pointer("/name/familyName"));
    alias("name.givenName", r.pointer("/name/givenName"));
    alias("name.familyName", r.pointer("/name/familyName"));
    alias("jobTitle", r.get("title"));
    alias("mail", pick(r.get("emails"), "work").and_then(|e| e.get("value")));
    alias(
        "mobilePhone",
        pick(r.get("phoneNumbers"), "mobile").and_then(|e| e.get("value")),
    );
    let work = pick(r.get("addresses"), "work");
    alias("country", work.and_then(|a| a.get("country")));
    alias("city", work.and_then(|a| a.get("locality")));
    alias("streetAddress", work.and_then(|a| a.get("streetAddress")));
    alias("postalCode", work.and_then(|a| a.get("postalCode")));
    if let Some(ext) = r.get(ENTERPRISE) {
        alias("department", ext.get("department"));
        alias("division", ext.get("division"));
        alias("companyName", ext.get("organization"));
        alias("employeeId", ext.get("employeeNumber"));
        alias("costCenter", ext.get("costCenter"));
        alias("manager", ext.pointer("/manager/value"));
    }
    Ok(SourceObject {
        kind: ObjectKind::User,
        id,
        attrs,
        members: Vec::new(),
        app_roles: Vec::new(),
        deleted: false,
    })
}

fn group(r: &Value) -> Result<SourceObject, EngineError> {
    let id = id_of(r)?;
    let mut attrs = Map::new();
    for k in ["displayName", "externalId"] {
        if let Some(v) = r.get(k) {
            attrs.insert(k.to_string(), v.clone());
        }
    }
    let members = r
        .get("members")
        .and_then(Value::as_array)
        .map(|ms| {
            ms.iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(SourceObject {
        kind: ObjectKind::Group,
        id,
        attrs,
        members,
        app_roles: Vec::new(),
        deleted: false,
    })
}

#[async_trait]
impl Source for ScimSource {
    fn describe(&self) -> String {
        format!("scim:{}", self.client.base_url())
    }

    async fn read_all(&self) -> Result<SourceBatch, EngineError> {
        let mut objects = Vec::new();
        let mut wm = None;
        self.read_kind(Endpoint::Users, None, &mut objects, &mut wm).await?;
        self.read_kind(Endpoint::Groups, None, &mut objects, &mut wm).await?;
        Ok(SourceBatch {
            objects,
            complete: true,
            watermark: wm,
        })
    }

    async fn read_changes(&self, watermark: &str) -> Result<Option<SourceBatch>, EngineError> {
        let filter = format!("meta.lastModified gt {}", Value::String(watermark.to_string()));
        let mut objects = Vec::new();
        let mut wm = Some(watermark.to_string());
        self.read_kind(Endpoint::Users, Some(&filter), &mut objects, &mut wm)
            .await?;
        self.read_kind(Endpoint::Groups, Some(&filter), &mut objects, &mut wm)
            .await?;
        Ok(Some(SourceBatch {
            objects,
            complete: false,
            watermark: wm,
        }))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn scim_user_gets_graph_aliases() {
        let u = super::user(&json!({
            "id": "u1", "userName": "a@x.io", "active": false, "title": "Boss",
            "name": {"givenName": "A", "familyName": "B"},
            "emails": [{"type": "home", "value": "h@x.io"}, {"type": "work", "value": "w@x.io"}],
            "addresses": [{"type": "work", "country": "FI", "locality": "Oulu"}],
            super::ENTERPRISE: {"department": "Sales", "manager": {"value": "u0"}},
            "meta": {"lastModified": "2026-01-01T00:00:00Z"}
        }))
        .unwrap();
        let a = &u.attrs;
        assert_eq!(a["userPrincipalName"], "a@x.io");
        assert_eq!(a["accountEnabled"], false);
        assert_eq!(a["mail"], "w@x.io");
        assert_eq!(a["givenName"], "A");
        assert_eq!(a["surname"], "B");
        assert_eq!(a["country"], "FI");
        assert_eq!(a["city"], "Oulu");
        assert_eq!(a["department"], "Sales");
        assert_eq!(a["manager"], "u0");
        assert_eq!(a["jobTitle"], "Boss");
        assert!(!a.contains_key("meta"));
        assert!(u.is_disabled());
    }

    #[test]
    fn scim_group_members() {
        let g =
            super::group(&json!({"id": "g", "displayName": "Sales", "members": [{"value": "u1"}, {"value": "u2"}]}))
                .unwrap();
        assert_eq!(g.members, ["u1", "u2"]);
        assert!(super::group(&json!({"displayName": "x"})).is_err(), "an id is required");
    }
}
