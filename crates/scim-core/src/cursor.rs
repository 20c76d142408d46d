//! RFC 9865 cursors: opaque, tamper-evident page positions. A cursor is a small JSON
//! payload (the query's fingerprint, an expiry, and where the next page starts) followed by
//! a truncated HMAC-SHA256 under the tenant's secret, in base64url. Any change to a cursor,
//! a cursor from another tenant, or one replayed with a different filter or sort is
//! `invalidCursor`; an old one is `expiredCursor`. The key comes from the database, so every
//! replica accepts every replica's cursors.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{CoreError, Result};
use crate::ports::Position;
use crate::schema::ResourceKind;
use crate::time_fmt::Timestamp;

/// How long a cursor stays valid after it was issued (advertised as `cursorTimeout`).
pub const CURSOR_TIMEOUT_SECS: i64 = 3600;
/// Bytes of the MAC kept in a cursor.
const MAC_LEN: usize = 16;
/// Longest cursor accepted, before decoding.
const MAX_CURSOR_LEN: usize = 4096;

/// Where a cursor points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorAt {
    /// The page after this position.
    After(Position),
    /// The page before this position.
    Before(Position),
    /// An offset, for sorts that cannot seek (nullable columns, attribute sorts).
    Offset(u64),
}

#[derive(Serialize, Deserialize)]
struct Payload {
    q: String,
    e: i64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    b: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<u64>,
}

/// Identifies a query for cursor purposes: the resource type, filter and sort. `count` and
/// the projection may change from page to page.
pub fn fingerprint(
    kind: ResourceKind,
    filter: Option<&str>,
    sort_by: Option<&str>,
    sort_order: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    for part in [
        kind.name(),
        filter.unwrap_or("").trim(),
        sort_by.unwrap_or(""),
        sort_order.unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(&h.finalize()[..8])
}

fn mac(secret: &[u8], payload: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: new_from_slice cannot fail.
    #[allow(clippy::expect_used)]
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(payload);
    m
}

pub fn encode(secret: &[u8], query: &str, at: &CursorAt, now: Timestamp) -> String {
    let (b, p, o) = match at {
        CursorAt::After(p) => (false, Some(p.clone()), None),
        CursorAt::Before(p) => (true, Some(p.clone()), None),
        CursorAt::Offset(n) => (false, None, Some(*n)),
    };
    let payload = Payload {
        q: query.to_string(),
        e: now.unix_micros() / 1_000_000 + CURSOR_TIMEOUT_SECS,
        b,
        p,
        o,
    };
    let mut bytes = serde_json::to_vec(&payload).unwrap_or_default();
    let tag = mac(secret, &bytes).finalize().into_bytes();
    bytes.extend_from_slice(&tag[..MAC_LEN]);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn invalid(why: &str) -> CoreError {
    CoreError::InvalidCursor(format!(
        "the cursor is not valid ({why}); use a nextCursor or previousCursor exactly as returned, \
         or start again with an empty cursor"
    ))
}

pub fn decode(secret: &[u8], query: &str, cursor: &str, now: Timestamp) -> Result<CursorAt> {
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(invalid("too long"));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .map_err(|_| invalid("not base64url"))?;
    if bytes.len() <= MAC_LEN {
        return Err(invalid("too short"));
    }
    let (payload, tag) = bytes.split_at(bytes.len() - MAC_LEN);
    mac(secret, payload)
        .verify_truncated_left(tag)
        .map_err(|_| invalid("its signature does not match"))?;
    let p: Payload = serde_json::from_slice(payload).map_err(|_| invalid("unreadable"))?;
    if p.q != query {
        return Err(invalid("it belongs to a different filter or sort order"));
    }
    if now.unix_micros() / 1_000_000 > p.e {
        return Err(CoreError::ExpiredCursor(format!(
            "the cursor expired (cursors last {CURSOR_TIMEOUT_SECS} s); start again with an empty cursor"
        )));
    }
    match (p.p, p.o) {
        (Some(pos), None) if p.b => Ok(CursorAt::Before(pos)),
        (Some(pos), None) => Ok(CursorAt::After(pos)),
        (None, Some(n)) => Ok(CursorAt::Offset(n)),
        _ => Err(invalid("unreadable")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse("2026-01-01T00:00:00Z").unwrap()
    }

    #[test]
    fn round_trips_and_refuses_tampering_other_keys_other_queries_and_age() {
        let key = b"k1".to_vec();
        let q = fingerprint(ResourceKind::User, Some("active eq true"), None, None);
        let at = CursorAt::After(Position {
            value: Some("bob".into()),
            id: "0190-x".into(),
        });
        let c = encode(&key, &q, &at, now());
        assert_eq!(decode(&key, &q, &c, now()).unwrap(), at);
        let back = CursorAt::Before(Position {
            value: None,
            id: "a".into(),
        });
        assert_eq!(decode(&key, &q, &encode(&key, &q, &back, now()), now()).unwrap(), back);
        let off = CursorAt::Offset(300);
        assert_eq!(decode(&key, &q, &encode(&key, &q, &off, now()), now()).unwrap(), off);

        // Flip one character anywhere: refused.
        for i in 0..c.len() {
            let mut t: Vec<char> = c.chars().collect();
            t[i] = if t[i] == 'A' { 'B' } else { 'A' };
            let t: String = t.into_iter().collect();
            let e = decode(&key, &q, &t, now()).unwrap_err();
            assert!(matches!(e, CoreError::InvalidCursor(_)), "position {i}: {e:?}");
        }
        assert!(
            matches!(decode(b"k2", &q, &c, now()), Err(CoreError::InvalidCursor(_))),
            "other tenant"
        );
        let q2 = fingerprint(ResourceKind::User, Some("active eq false"), None, None);
        assert!(
            matches!(decode(&key, &q2, &c, now()), Err(CoreError::InvalidCursor(_))),
            "other query"
        );
        assert!(matches!(
            decode(&key, &q, "!!", now()),
            Err(CoreError::InvalidCursor(_))
        ));
        assert!(matches!(decode(&key, &q, "", now()), Err(CoreError::InvalidCursor(_))));
        let later = now() + time::Duration::seconds(CURSOR_TIMEOUT_SECS + 1);
        assert!(matches!(decode(&key, &q, &c, later), Err(CoreError::ExpiredCursor(_))));
        assert!(decode(&key, &q, &c, now() + time::Duration::seconds(CURSOR_TIMEOUT_SECS)).is_ok());
    }
}
