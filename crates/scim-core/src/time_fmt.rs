//! Timestamps: the typed [`Timestamp`] that the ports carry, and one fixed-width UTC text
//! form for the wire (`meta.created`) and for SQLite's text columns.

use std::fmt;
use std::ops::{Add, Sub};

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, UtcOffset};

/// `2026-11-30T03:13:11.123456Z`: RFC 3339, UTC, microseconds, fixed width.
pub fn format_ts(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");
    t.to_offset(UtcOffset::UTC).format(&fmt).unwrap_or_default()
}

/// Parses any RFC 3339 date-time and re-renders it in the canonical form.
pub fn canonical_ts(s: &str) -> Option<String> {
    OffsetDateTime::parse(s, &Rfc3339).ok().map(format_ts)
}

/// A point in time, in UTC, with microsecond precision (what both databases keep), so a
/// value read back from a store equals the value written. Ordered as time, never as text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

impl Timestamp {
    /// The Unix epoch; a neutral value for defaults.
    pub const EPOCH: Timestamp = Timestamp(OffsetDateTime::UNIX_EPOCH);

    /// Truncates to microseconds and converts to UTC.
    pub fn new(t: OffsetDateTime) -> Timestamp {
        let t = t.to_offset(UtcOffset::UTC);
        let micros = t.microsecond();
        Timestamp(t.replace_microsecond(micros).unwrap_or(t))
    }

    pub fn from_unix_micros(us: i64) -> Option<Timestamp> {
        OffsetDateTime::from_unix_timestamp_nanos(us as i128 * 1000)
            .ok()
            .map(Timestamp)
    }

    pub fn unix_micros(self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1000) as i64
    }

    /// Parses any RFC 3339 date-time.
    pub fn parse(s: &str) -> Option<Timestamp> {
        OffsetDateTime::parse(s, &Rfc3339).ok().map(Timestamp::new)
    }

    pub fn datetime(self) -> OffsetDateTime {
        self.0
    }
}

impl Default for Timestamp {
    fn default() -> Self {
        Timestamp::EPOCH
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(t: OffsetDateTime) -> Self {
        Timestamp::new(t)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_ts(self.0))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl std::str::FromStr for Timestamp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(s).ok_or_else(|| format!("{s:?} is not an RFC 3339 date-time"))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        Timestamp::new(self.0 + d)
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, d: Duration) -> Timestamp {
        Timestamp::new(self.0 - d)
    }
}

impl Sub for Timestamp {
    type Output = Duration;
    fn sub(self, other: Timestamp) -> Duration {
        self.0 - other.0
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text_and_micros_and_orders_as_time() {
        let t = Timestamp::parse("2026-01-02T03:04:05.123456789+02:00").unwrap();
        assert_eq!(t.to_string(), "2026-01-02T01:04:05.123456Z");
        assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
        assert_eq!(Timestamp::from_unix_micros(t.unix_micros()), Some(t));
        // Text order and time order disagree across offsets; the type orders by time.
        let a = Timestamp::parse("2026-01-01T10:00:00+05:00").unwrap();
        let b = Timestamp::parse("2026-01-01T06:00:00Z").unwrap();
        assert!(a < b);
        assert_eq!(b - a, Duration::hours(1));
        assert_eq!(a + Duration::hours(1), b);
        assert!(Timestamp::parse("yesterday").is_none());
    }
}
