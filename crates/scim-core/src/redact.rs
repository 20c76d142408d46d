//! What the request log keeps of a body: masked attributes' values replaced, and the text
//! cut to a bounded excerpt. A body that cannot be parsed and mentions a masked attribute is
//! withheld entirely, since its values cannot be found reliably.

use serde_json::Value;

/// What a masked value is replaced with.
pub const MASK: &str = "***";

/// Attributes that are always masked, whatever the configuration says.
pub const ALWAYS_MASKED: &[&str] = &["password"];

/// The stored excerpt of `body`, or `None` for an empty body. `masked` names attributes
/// (lower-case, without schema URN) whose values never reach the log.
pub fn excerpt(body: &[u8], masked: &[String], max: usize) -> Option<String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let mentions = masked.iter().any(|m| contains_ignore_case(body, m.as_bytes()));
    let text = if !mentions {
        String::from_utf8_lossy(body).into_owned()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(mut v) => {
                mask(&mut v, masked);
                v.to_string()
            }
            Err(_) => {
                return Some(format!(
                    "<{} bytes, not JSON; withheld because it may hold a masked attribute>",
                    body.len()
                ));
            }
        }
    };
    Some(cut(text, max))
}

fn cut(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let total = text.len();
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push_str(&format!("…({total} bytes)"));
    text
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

/// The attribute a key or PATCH path names: `urn:…:User:password` → `password`,
/// `emails[type eq "work"].value` → `emails`.
fn attr_name(s: &str) -> String {
    let head = s.split('[').next().unwrap_or(s);
    let head = head.rsplit(':').next().unwrap_or(head);
    head.split('.').next().unwrap_or(head).to_ascii_lowercase()
}

fn mask(v: &mut Value, masked: &[String]) {
    match v {
        Value::Object(map) => {
            // A PATCH operation: `{"op", "path": "password", "value": …}`.
            let path_masked = map
                .get("path")
                .and_then(Value::as_str)
                .is_some_and(|p| masked.contains(&attr_name(p)));
            for (k, val) in map.iter_mut() {
                if masked.contains(&attr_name(k)) || (path_masked && k.eq_ignore_ascii_case("value")) {
                    *val = Value::String(MASK.into());
                } else {
                    mask(val, masked);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| mask(i, masked)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(extra: &[&str]) -> Vec<String> {
        ALWAYS_MASKED.iter().chain(extra).map(|s| s.to_string()).collect()
    }

    #[test]
    fn secrets_and_masked_attributes_never_reach_the_excerpt() {
        let m = masked(&["emails"]);
        let body = br#"{"userName":"a","Password":"hunter2","emails":[{"value":"a@x.io"}],
            "urn:ietf:params:scim:schemas:core:2.0:User:password":"p2"}"#;
        let out = excerpt(body, &m, 4096).unwrap();
        assert!(
            !out.contains("hunter2") && !out.contains("a@x.io") && !out.contains("p2"),
            "{out}"
        );
        assert!(out.contains("\"userName\":\"a\""), "{out}");
        let patch = br#"{"Operations":[{"op":"replace","path":"password","value":"s3cret"},
            {"op":"replace","value":{"password":"s4"}},{"op":"add","path":"title","value":"T"}]}"#;
        let out = excerpt(patch, &m, 4096).unwrap();
        assert!(!out.contains("s3cret") && !out.contains("s4"), "{out}");
        assert!(out.contains("\"T\""), "{out}");
        assert_eq!(
            attr_name("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
            "manager"
        );
        assert_eq!(attr_name(r#"members[value eq "urn:x:y"].display"#), "members");
        let broken = br#"{"password": "oops"#;
        assert!(excerpt(broken, &m, 4096).unwrap().contains("withheld"));
    }

    #[test]
    fn plain_bodies_are_kept_verbatim_and_cut_to_the_limit() {
        let m = masked(&[]);
        assert_eq!(
            excerpt(br#"{"userName":"a"}"#, &m, 4096).unwrap(),
            r#"{"userName":"a"}"#
        );
        assert_eq!(excerpt(b"  ", &m, 10), None);
        let long = format!("{{\"displayName\":\"{}\"}}", "é".repeat(100));
        let out = excerpt(long.as_bytes(), &m, 21).unwrap();
        assert!(
            out.starts_with("{\"displayName\":\"é") && out.ends_with(&format!("…({} bytes)", long.len())),
            "{out}"
        );
        assert!(excerpt(b"not json at all", &m, 100).unwrap().contains("not json"));
    }
}
