//! Date functions. Date-times are UTC; strings without an offset are UTC.

use time::{Date, Duration, Month, OffsetDateTime, UtcOffset};

use super::Args;
use crate::datefmt;
use crate::error::EvalError;
use crate::value::Value;

type Res = Result<Value, EvalError>;

/// 100 ns ticks between 1601-01-01 (FILETIME epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET: i128 = 116_444_736_000_000_000;

/// `Now()`: the caller's clock, in UTC, to the second (Entra returns it as
/// `M/d/yyyy h:mm:ss tt` text).
pub(super) fn now(now: OffsetDateTime) -> Value {
    let utc = now.to_offset(UtcOffset::UTC);
    Value::DateTime(utc.replace_nanosecond(0).unwrap_or(utc))
}

/// `CDate(expression)`: a UTC date-time from a date string.
pub(super) fn cdate(a: &Args) -> Res {
    match a.get(0) {
        Value::Null | Value::String(_) | Value::DateTime(_) => Ok(a.date(0)?.map_or(Value::Null, Value::DateTime)),
        _ => Err(a.type_err(0, "a date/time string")),
    }
}

fn interval(a: &Args) -> Result<String, EvalError> {
    let iv = a.text(0)?.ok_or_else(|| a.invalid("interval is required"))?;
    let iv = iv.to_ascii_lowercase();
    match iv.as_str() {
        "yyyy" | "q" | "m" | "y" | "d" | "w" | "ww" | "h" | "n" | "s" => Ok(iv),
        _ => Err(a.invalid(format!("unknown interval '{iv}' (use yyyy, m, d, ww, h, n or s)"))),
    }
}

fn days_in_month(year: i32, month: Month) -> u8 {
    match month {
        Month::February if time::util::is_leap_year(year) => 29,
        Month::February => 28,
        Month::April | Month::June | Month::September | Month::November => 30,
        _ => 31,
    }
}

/// Adds months the .NET way: the day is clamped to the end of the month.
fn add_months(dt: OffsetDateTime, months: i64) -> Option<OffsetDateTime> {
    let total = i64::from(dt.year()) * 12 + i64::from(u8::from(dt.month())) - 1 + months;
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
    let day = dt.day().min(days_in_month(year, month));
    let date = Date::from_calendar_date(year, month, day).ok()?;
    Some(dt.replace_date(date))
}

/// `DateAdd(interval, value, dateTime)`.
pub(super) fn date_add(a: &Args) -> Res {
    let iv = interval(a)?;
    let n = a.req_int(1, "value")?;
    let Some(dt) = a.date(2)? else { return Ok(Value::Null) };
    let secs = |unit: i64| {
        n.checked_mul(unit)
            .map(Duration::seconds)
            .and_then(|d| dt.checked_add(d))
    };
    let out = match iv.as_str() {
        "yyyy" => n.checked_mul(12).and_then(|m| add_months(dt, m)),
        "q" => n.checked_mul(3).and_then(|m| add_months(dt, m)),
        "m" => add_months(dt, n),
        "d" | "y" | "w" => secs(86_400),
        "ww" => secs(7 * 86_400),
        "h" => secs(3_600),
        "n" => secs(60),
        _ => secs(1),
    };
    out.map(Value::DateTime)
        .ok_or_else(|| a.invalid("the resulting date is out of range"))
}

/// `DateDiff(interval, date1, date2)` with Visual Basic semantics: calendar
/// boundaries for years, quarters and months, Sunday-based calendar weeks for
/// `ww`, truncated elapsed time otherwise. Positive when date2 > date1.
pub(super) fn date_diff(a: &Args) -> Res {
    let iv = interval(a)?;
    let (Some(d1), Some(d2)) = (a.date(1)?, a.date(2)?) else {
        return Ok(Value::Null);
    };
    let months = |d: OffsetDateTime| i64::from(d.year()) * 12 + i64::from(u8::from(d.month())) - 1;
    let span = d2 - d1;
    let n = match iv.as_str() {
        "yyyy" => i64::from(d2.year()) - i64::from(d1.year()),
        "q" => months(d2).div_euclid(3) - months(d1).div_euclid(3),
        "m" => months(d2) - months(d1),
        "w" => span.whole_days() / 7,
        "ww" => {
            let week_start = |d: OffsetDateTime| d - Duration::days(i64::from(d.weekday().number_days_from_sunday()));
            (week_start(d2) - week_start(d1)).whole_days() / 7
        }
        "h" => span.whole_hours(),
        "n" => span.whole_minutes(),
        "s" => span.whole_seconds(),
        _ => span.whole_days(),
    };
    Ok(Value::Number(n))
}

/// `DateFromNum(value)`: an AD integer date (100 ns ticks since 1601-01-01 UTC).
pub(super) fn date_from_num(a: &Args) -> Res {
    let Some(ticks) = a.int(0)? else { return Ok(Value::Null) };
    if ticks < 0 {
        return Err(a.invalid(format!("{ticks} is not an AD date (negative)")));
    }
    let nanos = (i128::from(ticks) - FILETIME_UNIX_OFFSET) * 100;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .map(Value::DateTime)
        .map_err(|_| a.invalid(format!("{ticks} is outside the supported date range")))
}

/// `NumFromDate(value)`: the AD integer date of an ISO 8601 date string.
pub(super) fn num_from_date(a: &Args) -> Res {
    let Some(dt) = a.date(0)? else { return Ok(Value::Null) };
    let ticks = dt.unix_timestamp_nanos() / 100 + FILETIME_UNIX_OFFSET;
    match i64::try_from(ticks) {
        Ok(t) if t >= 0 => Ok(Value::Number(t)),
        _ => Err(a.invalid("the date is before 1601-01-01")),
    }
}

const STYLES: [&str; 10] = [
    "None",
    "AllowLeadingWhite",
    "AllowTrailingWhite",
    "AllowInnerWhite",
    "AllowWhiteSpaces",
    "NoCurrentDateDefault",
    "AdjustToUniversal",
    "AssumeLocal",
    "AssumeUniversal",
    "RoundtripKind",
];

/// `FormatDateTime(source, [dateTimeStyles,] inputFormat, outputFormat)`.
/// `dateTimeStyles` names are checked but have no further effect: white space
/// around the input is always allowed and values are always UTC. A date-time
/// source (from `CDate`, `Now`…) is formatted without re-parsing.
pub(super) fn format_date_time(a: &Args, now: OffsetDateTime) -> Res {
    let (styles, input_fmt, output_fmt) = if a.len() == 4 { (Some(1), 2, 3) } else { (None, 1, 2) };
    if let Some(i) = styles
        && let Some(list) = a.text(i)?
    {
        for style in list.split([',', '|', ' ', '+']).filter(|s| !s.is_empty()) {
            let name = style.strip_prefix("DateTimeStyles.").unwrap_or(style);
            if !STYLES.contains(&name) {
                return Err(a.invalid(format!("unknown dateTimeStyles value '{style}'")));
            }
        }
    }
    let input_fmt = a
        .text(input_fmt)?
        .filter(|f| !f.is_empty())
        .ok_or_else(|| a.invalid("inputFormat is required"))?;
    let output_fmt = a
        .text(output_fmt)?
        .filter(|f| !f.is_empty())
        .ok_or_else(|| a.invalid("outputFormat is required"))?;
    let dt = match a.get(0) {
        Value::Null => return Ok(Value::Null),
        Value::DateTime(dt) => *dt,
        Value::String(s) if s.is_empty() => return Ok(Value::Null),
        Value::String(s) => {
            datefmt::parse_exact(s, &input_fmt, now.to_offset(UtcOffset::UTC).date()).map_err(|m| a.invalid(m))?
        }
        _ => return Err(a.type_err(0, "a date string")),
    };
    datefmt::format(dt, &output_fmt)
        .map(Value::String)
        .map_err(|m| a.invalid(m))
}
