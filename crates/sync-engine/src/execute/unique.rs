//! `SelectUniqueValue` against the target: just before a create, each candidate (in rule
//! order) is checked — taken in this run already, in the target snapshot, or by a live
//! `filter=<path> eq "<value>"` — and the first free one goes into the create. When none is
//! free the object fails with `MappingEvaluationFailed` and is escrowed, as in Entra.

use std::borrow::Cow;

use scim_client::Endpoint;
use serde_json::Value as Json;

use super::matching::RunCtx;
use super::{Executor, Outcome, Status, step, target_error};
use crate::error::EngineError;
use crate::mapping::{self, Mapped};
use crate::model::ObjectKind;

/// The filter Entra sends for `path eq value`: `userName eq "…"`, and for a filtered path
/// `emails[type eq "work"].value eq "…"` (not RFC 7644's grammar, but what SCIM apps built
/// for Entra accept, scimd among them).
pub fn eq_filter(path: &str, value: &str) -> String {
    format!("{path} eq {}", Json::String(value.to_string()))
}

/// The mapped values without the `SelectUniqueValue` targets: what a matched (existing)
/// object is aligned to, since it keeps the unique values it has.
pub(super) fn without_unique(mapped: &Mapped) -> Cow<'_, Mapped> {
    if mapped.unique.is_empty() {
        return Cow::Borrowed(mapped);
    }
    let mut m = mapped.clone();
    for path in mapped.unique.keys() {
        m.values.remove(path);
        m.untouched.insert(path.clone());
    }
    m.unique.clear();
    Cow::Owned(m)
}

impl Executor {
    /// Picks every `SelectUniqueValue` target's value; returns the values and the create body.
    pub(super) async fn choose_unique(
        &self,
        out: &mut Outcome,
        ep: Endpoint,
        mapped: &Mapped,
        ctx: &RunCtx,
    ) -> Result<(Mapped, Json), EngineError> {
        let mut chosen = mapped.clone();
        for (path, candidates) in &mapped.unique {
            let value = self.first_free(out, ep, path, candidates, ctx).await?;
            chosen.values.insert(path.clone(), Json::String(value));
        }
        chosen.unique.clear();
        let kind = match ep {
            Endpoint::Users => ObjectKind::User,
            Endpoint::Groups => ObjectKind::Group,
        };
        let body = mapping::create_body(kind, &chosen.values)?;
        Ok((chosen, body))
    }

    async fn first_free(
        &self,
        out: &mut Outcome,
        ep: Endpoint,
        path: &str,
        candidates: &[String],
        ctx: &RunCtx,
    ) -> Result<String, EngineError> {
        let mut taken = Vec::new();
        for c in candidates {
            let key = (path.to_string(), c.to_lowercase());
            if !ctx
                .reserved
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(key.clone())
            {
                taken.push(format!("{c:?} (picked for another object in this cycle)"));
                continue;
            }
            let free = match ctx.snapshot(ep).filter(|s| s.paths.contains(path)) {
                Some(snap) => !snap.by.contains_key(&key),
                None => {
                    let filter = eq_filter(path, c);
                    let call = self
                        .retry(|| self.client.search(ep, Some(&filter), Some("id"), 1, 1))
                        .await;
                    out.throttled += call.throttled;
                    out.requests += call.requests;
                    let list = call.result.map_err(target_error)?;
                    list.total_results == 0 && list.resources.is_empty()
                }
            };
            if free {
                let detail = format!("{path} = {c:?} is unique in the target (SelectUniqueValue)");
                out.steps.push(step("Evaluate before sync", Status::Success, detail));
                return Ok(c.clone());
            }
            taken.push(format!("{c:?}"));
        }
        Err(EngineError::Mapping {
            target: path.to_string(),
            message: format!(
                "SelectUniqueValue: no candidate value is unique in the target (tried {})",
                taken.join(", ")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_as_entra_sends_them() {
        let cases = [
            ("userName", "a@x", r#"userName eq "a@x""#),
            (
                r#"emails[type eq "work"].value"#,
                "a@x",
                r#"emails[type eq "work"].value eq "a@x""#,
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
                "E\"1",
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "E\"1""#,
            ),
        ];
        for (path, value, want) in cases {
            assert_eq!(eq_filter(path, value), want, "{path}");
            assert!(scim_proto::parse_filter(want).is_ok(), "scimd parses {want}");
        }
    }
}
