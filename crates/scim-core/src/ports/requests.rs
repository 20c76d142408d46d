//! The per-tenant request log: what each SCIM request was and how it ended, for the
//! support desk. Written in batches off the request path; bounded by count and age.

use async_trait::async_trait;

use super::TenantId;
use crate::error::Result;
use crate::time_fmt::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEntry {
    pub tenant: TenantId,
    pub at: Timestamp,
    pub method: String,
    /// The path and query, as sent.
    pub path: String,
    pub status: u16,
    pub latency_us: i64,
    pub scim_type: Option<String>,
    pub detail: Option<String>,
    pub resource_id: Option<String>,
    /// Which credential: a token's listed prefix, or an OAuth client id.
    pub credential: Option<String>,
    /// The body, redacted (masked attributes replaced) and cut to a bounded excerpt.
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Increases with every entry; newer entries have larger numbers.
    pub seq: i64,
    pub entry: RequestEntry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    #[default]
    Any,
    /// `4` for 4xx, `5` for 5xx.
    Class(u16),
    Exact(u16),
}

impl StatusFilter {
    /// `4xx`, `5xx`, or a status code such as `409`.
    pub fn parse(s: &str) -> Option<StatusFilter> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_bytes() {
            [c, b'x', b'x'] if (b'1'..=b'5').contains(c) => Some(StatusFilter::Class(u16::from(c - b'0'))),
            _ => s
                .parse::<u16>()
                .ok()
                .filter(|n| (100..600).contains(n))
                .map(StatusFilter::Exact),
        }
    }

    /// The status range `[lo, hi)` it admits.
    pub fn range(self) -> (u16, u16) {
        match self {
            StatusFilter::Any => (0, 1000),
            StatusFilter::Class(c) => (c * 100, c * 100 + 100),
            StatusFilter::Exact(n) => (n, n + 1),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestQuery {
    pub status: StatusFilter,
    pub since: Option<Timestamp>,
    /// Only entries older than this `seq` (the next page, newest first).
    pub before: Option<i64>,
    pub limit: usize,
}

#[async_trait]
pub trait RequestLogStore: Send + Sync + 'static {
    async fn append_requests(&self, entries: Vec<RequestEntry>) -> Result<()>;
    /// The tenant's entries matching `q`, newest first.
    async fn requests(&self, tenant: TenantId, q: &RequestQuery) -> Result<Vec<LoggedRequest>>;
    /// Keeps the tenant's newest `keep` entries that are not older than `before`; returns how
    /// many went.
    async fn prune_requests(&self, tenant: TenantId, keep: usize, before: Timestamp) -> Result<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_filters_parse() {
        assert_eq!(StatusFilter::parse("4xx"), Some(StatusFilter::Class(4)));
        assert_eq!(StatusFilter::parse("5XX"), Some(StatusFilter::Class(5)));
        assert_eq!(StatusFilter::parse("409"), Some(StatusFilter::Exact(409)));
        assert_eq!(StatusFilter::parse("6xx"), None);
        assert_eq!(StatusFilter::parse("99"), None);
        assert_eq!(StatusFilter::parse("bad"), None);
        assert_eq!(StatusFilter::Class(4).range(), (400, 500));
    }
}
