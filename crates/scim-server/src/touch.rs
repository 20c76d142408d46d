//! Records when each token was last used, off the request path: after a request
//! authenticates, a background task writes the time, at most once a minute per token and
//! replica. The map here only remembers when this process last wrote (under a keyed hash of
//! the token, never the token); losing it costs one extra write, never a wrong answer.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use scim_core::Timestamp;
use scim_core::ports::TenantId;

use crate::AppState;

const EVERY: Duration = Duration::from_secs(60);
/// Tokens remembered before the oldest are forgotten.
const MAX_TRACKED: usize = 10_000;

#[derive(Default)]
pub struct Touches {
    keys: std::collections::hash_map::RandomState,
    last: Mutex<HashMap<u64, Instant>>,
}

impl Touches {
    /// Whether this token's use should be written now (and remembers that it was).
    fn due(&self, tenant: TenantId, token: &str, now: Instant) -> bool {
        let key = self.keys.hash_one((tenant, token));
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.get(&key).is_some_and(|t| now.duration_since(*t) < EVERY) {
            return false;
        }
        if last.len() >= MAX_TRACKED {
            last.retain(|_, t| now.duration_since(*t) < EVERY);
        }
        last.insert(key, now);
        true
    }
}

/// Notes a successful authentication; the write, when one is due, happens in the background.
pub fn used(state: &AppState, tenant: TenantId, token: &str, at: Timestamp) {
    if !state.touches.due(tenant, token, Instant::now()) {
        return;
    }
    let (store, token) = (state.store.clone(), token.to_string());
    tokio::spawn(async move {
        if let Err(e) = store.touch_token(tenant, &token, at).await {
            tracing::debug!(error = %e, "token use not recorded");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_write_a_minute_per_token() {
        let t = Touches::default();
        let start = Instant::now();
        assert!(t.due(1, "a", start));
        assert!(!t.due(1, "a", start + Duration::from_secs(59)));
        assert!(t.due(1, "b", start), "another token");
        assert!(t.due(2, "a", start), "another tenant");
        assert!(t.due(1, "a", start + Duration::from_secs(61)));
    }
}
