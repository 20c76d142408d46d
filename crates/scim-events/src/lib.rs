//! What the change feed drives outside a request: webhook delivery (`worker`), one signed
//! POST (`deliver`), the retry schedule (`retry`), receiver URL rules (`target`), and the
//! feed's retention (`retention`). It uses the store's ports and an HTTP client; no SQL and
//! no serving here.

pub mod deliver;
pub mod retention;
pub mod retry;
pub mod target;
pub mod worker;

use std::sync::Arc;

use scim_core::Timestamp;

/// The time, as an input (tests and the server pass their clocks).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(|| Timestamp::new(time::OffsetDateTime::now_utc()))
}

pub(crate) fn plus(t: Timestamp, d: std::time::Duration) -> Timestamp {
    Timestamp::new(t.datetime() + d)
}
