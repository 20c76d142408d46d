//! Timestamps: one fixed-width UTC format, so that text order is time order in SQL.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// `2026-11-30T03:13:11.123456Z`: RFC 3339, UTC, microseconds, fixed width.
pub fn format_ts(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.to_offset(UtcOffset::UTC).format(&fmt).unwrap_or_default()
}

/// Parses any RFC 3339 date-time and re-renders it in the canonical form.
pub fn canonical_ts(s: &str) -> Option<String> {
    OffsetDateTime::parse(s, &Rfc3339).ok().map(format_ts)
}
