//! [`ClientError`], SCIM error bodies and `Retry-After`.

use std::time::{Duration, SystemTime};

use serde_json::Value;

/// Why a SCIM call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a status the call does not accept (usually 4xx/5xx).
    #[error("HTTP {status}{}: {detail}", scim_type.as_ref().map(|t| format!(" ({t})")).unwrap_or_default())]
    Status {
        status: u16,
        scim_type: Option<String>,
        detail: String,
        retry_after: Option<Duration>,
    },
    /// The request did not complete within the configured timeout.
    #[error("request timed out")]
    Timeout,
    /// Connecting, sending or receiving failed (no usable HTTP answer).
    #[error("transport error: {0}")]
    Transport(String),
    /// The server answered success but the body was not what SCIM promises.
    #[error("cannot decode response: {0}")]
    Decode(String),
    /// The client was misconfigured (bad base URL, token, TLS setup).
    #[error("client configuration: {0}")]
    Config(String),
}

impl ClientError {
    /// The HTTP status of a [`ClientError::Status`].
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's `Retry-After`, if it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Worth retrying later: 429, 408, 5xx except 501, timeouts and transport failures.
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Status { status, .. } => {
                matches!(*status, 408 | 429) || ((500..=599).contains(status) && *status != 501)
            }
            ClientError::Timeout | ClientError::Transport(_) => true,
            ClientError::Decode(_) | ClientError::Config(_) => false,
        }
    }

    /// A `Status` error from a non-success response's status, `Retry-After` and body text.
    pub(crate) fn from_response(status: u16, retry_after: Option<Duration>, body: &str) -> ClientError {
        let parsed: Option<Value> = serde_json::from_str(body).ok();
        let scim_type = parsed
            .as_ref()
            .and_then(|v| v.get("scimType"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let detail = parsed
            .as_ref()
            .and_then(|v| v.get("detail"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                let t = body.trim();
                (!t.is_empty()).then(|| truncate(t, 500))
            })
            .unwrap_or_else(|| {
                hyper::http::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("error")
                    .to_string()
            });
        // A SCIM error body's own `status` (string or number) wins when it is a valid code:
        // the HTTP status is authoritative on the wire, so it is only used when they agree
        // or the body's is absent; a disagreement is noted in the detail.
        let body_status = parsed.as_ref().and_then(|v| v.get("status")).and_then(|s| match s {
            Value::String(s) => s.trim().parse::<u16>().ok(),
            Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            _ => None,
        });
        let detail = match body_status {
            Some(b) if b != status => format!("{detail} (body status {b})"),
            _ => detail,
        };
        ClientError::Status {
            status,
            scim_type,
            detail,
            retry_after,
        }
    }
}

/// An error and its sources, joined with `": "`.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let cs = c.to_string();
        if !s.contains(&cs) {
            s.push_str(": ");
            s.push_str(&cs);
        }
        cur = c.source();
    }
    s
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Parses a `Retry-After` value: delta-seconds (`"120"`) or an HTTP-date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`, relative to `now`; a past date is zero).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_status_as_string_or_number() {
        let e = ClientError::from_response(
            409,
            None,
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"taken"}"#,
        );
        assert_eq!(
            e,
            ClientError::Status {
                status: 409,
                scim_type: Some("uniqueness".into()),
                detail: "taken".into(),
                retry_after: None
            }
        );
        let e = ClientError::from_response(400, None, r#"{"status":400,"detail":"bad"}"#);
        assert_eq!(e.status(), Some(400));
        assert!(matches!(e, ClientError::Status { ref detail, scim_type: None, .. } if detail == "bad"));
    }

    #[test]
    fn error_body_status_mismatch_is_noted() {
        let e = ClientError::from_response(500, None, r#"{"status":"404","detail":"gone"}"#);
        assert_eq!(e.status(), Some(500));
        assert!(e.to_string().contains("body status 404"), "{e}");
    }

    #[test]
    fn error_body_not_json() {
        let e = ClientError::from_response(502, None, "Bad Gateway from proxy");
        assert!(matches!(e, ClientError::Status { ref detail, .. } if detail == "Bad Gateway from proxy"));
        let e = ClientError::from_response(503, Some(Duration::from_secs(3)), "");
        assert!(matches!(e, ClientError::Status { ref detail, .. } if detail == "Service Unavailable"));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        let long = "x".repeat(2000);
        let e = ClientError::from_response(500, None, &long);
        assert!(e.to_string().len() < 600);
    }

    #[test]
    fn display_mentions_status_and_type() {
        let e = ClientError::from_response(409, None, r#"{"scimType":"uniqueness","detail":"dup"}"#);
        assert_eq!(e.to_string(), "HTTP 409 (uniqueness): dup");
        assert_eq!(ClientError::Timeout.to_string(), "request timed out");
    }

    #[test]
    fn chain_includes_sources() {
        let io = std::io::Error::other("inner cause");
        let outer = std::io::Error::other(Wrapper(io));
        assert!(chain(&outer).contains("inner cause"));
    }

    #[derive(Debug)]
    struct Wrapper(std::io::Error);
    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("wrapper")
        }
    }
    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
}
