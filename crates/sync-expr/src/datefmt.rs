//! .NET-style custom date/time format strings (en-US names, UTC values) and a
//! lenient parser for the date strings Entra accepts without a format.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Entra's text form for date-times: `M/d/yyyy h:mm:ss tt`.
pub(crate) fn entra_text(dt: OffsetDateTime) -> String {
    let dt = dt.to_offset(UtcOffset::UTC);
    let (h, pm) = hour12(dt.hour());
    format!(
        "{}/{}/{:04} {}:{:02}:{:02} {}",
        u8::from(dt.month()),
        dt.day(),
        dt.year(),
        h,
        dt.minute(),
        dt.second(),
        if pm { "PM" } else { "AM" }
    )
}

fn hour12(h: u8) -> (u8, bool) {
    let h12 = if h.is_multiple_of(12) { 12 } else { h % 12 };
    (h12, h >= 12)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Year(usize),
    Month(usize),
    Day(usize),
    Hour24(usize),
    Hour12(usize),
    Minute(usize),
    Second(usize),
    Frac(usize),
    FracOpt(usize),
    AmPm(usize),
    Offset(usize),
    Kind,
    Era,
    Lit(char),
}

/// en-US standard (single-character) format strings.
fn expand_standard(fmt: &str) -> &str {
    match fmt {
        "d" => "M/d/yyyy",
        "D" => "dddd, MMMM d, yyyy",
        "f" => "dddd, MMMM d, yyyy h:mm tt",
        "F" => "dddd, MMMM d, yyyy h:mm:ss tt",
        "g" => "M/d/yyyy h:mm tt",
        "G" => "M/d/yyyy h:mm:ss tt",
        "m" | "M" => "MMMM d",
        "o" | "O" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
        "r" | "R" => "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
        "s" => "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
        "t" => "h:mm tt",
        "T" => "h:mm:ss tt",
        "u" => "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
        "y" | "Y" => "MMMM yyyy",
        other => other,
    }
}

fn tokenize(fmt: &str) -> Result<Vec<Tok>, String> {
    let fmt = expand_standard(fmt);
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let tok = match c {
            'y' => Tok::Year(n),
            'M' => Tok::Month(n),
            'd' => Tok::Day(n),
            'H' => Tok::Hour24(n.min(2)),
            'h' => Tok::Hour12(n.min(2)),
            'm' => Tok::Minute(n.min(2)),
            's' => Tok::Second(n.min(2)),
            'f' | 'F' if n > 7 => return Err(format!("too many '{c}' in format '{fmt}'")),
            'f' => Tok::Frac(n),
            'F' => Tok::FracOpt(n),
            't' => Tok::AmPm(n.min(2)),
            'z' => Tok::Offset(n.min(3)),
            'g' => Tok::Era,
            'K' => {
                n = 1;
                Tok::Kind
            }
            '\'' | '"' => {
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(format!("unterminated quoted text in format '{fmt}'")),
                        Some(&q) if q == c => break,
                        Some('\\') => {
                            j += 1;
                            let &e = chars.get(j).ok_or_else(|| format!("dangling '\\' in format '{fmt}'"))?;
                            out.push(Tok::Lit(e));
                        }
                        Some(&l) => out.push(Tok::Lit(l)),
                    }
                    j += 1;
                }
                i = j + 1;
                continue;
            }
            '\\' => {
                let &e = chars
                    .get(i + 1)
                    .ok_or_else(|| format!("dangling '\\' in format '{fmt}'"))?;
                out.push(Tok::Lit(e));
                i += 2;
                continue;
            }
            '%' => {
                i += 1;
                continue;
            }
            other => {
                n = 1;
                Tok::Lit(other)
            }
        };
        out.push(tok);
        i += n;
    }
    Ok(out)
}

/// Formats a date-time with a .NET custom or standard format string.
pub(crate) fn format(dt: OffsetDateTime, fmt: &str) -> Result<String, String> {
    let dt = dt.to_offset(UtcOffset::UTC);
    let mut out = String::new();
    for tok in tokenize(fmt)? {
        match tok {
            Tok::Year(1) => out.push_str(&(dt.year() % 100).to_string()),
            Tok::Year(2) => out.push_str(&format!("{:02}", dt.year() % 100)),
            Tok::Year(n) => out.push_str(&format!("{:0n$}", dt.year())),
            Tok::Month(n) if n >= 4 => out.push_str(MONTHS[usize::from(u8::from(dt.month())) - 1]),
            Tok::Month(3) => out.push_str(&MONTHS[usize::from(u8::from(dt.month())) - 1][..3]),
            Tok::Month(n) => out.push_str(&format!("{:0n$}", u8::from(dt.month()))),
            Tok::Day(n) if n >= 4 => out.push_str(DAYS[usize::from(dt.weekday().number_days_from_monday())]),
            Tok::Day(3) => out.push_str(&DAYS[usize::from(dt.weekday().number_days_from_monday())][..3]),
            Tok::Day(n) => out.push_str(&format!("{:0n$}", dt.day())),
            Tok::Hour24(n) => out.push_str(&format!("{:0n$}", dt.hour())),
            Tok::Hour12(n) => out.push_str(&format!("{:0n$}", hour12(dt.hour()).0)),
            Tok::Minute(n) => out.push_str(&format!("{:0n$}", dt.minute())),
            Tok::Second(n) => out.push_str(&format!("{:0n$}", dt.second())),
            Tok::Frac(n) => out.push_str(&format!("{:09}", dt.nanosecond())[..n]),
            Tok::FracOpt(n) => {
                let digits = format!("{:09}", dt.nanosecond());
                let kept = digits[..n].trim_end_matches('0');
                if kept.is_empty() {
                    if out.ends_with('.') {
                        out.pop();
                    }
                } else {
                    out.push_str(kept);
                }
            }
            Tok::AmPm(n) => {
                let pm = dt.hour() >= 12;
                out.push_str(match (n, pm) {
                    (1, false) => "A",
                    (1, true) => "P",
                    (_, false) => "AM",
                    (_, true) => "PM",
                });
            }
            Tok::Offset(1) => out.push_str("+0"),
            Tok::Offset(2) => out.push_str("+00"),
            Tok::Offset(_) => out.push_str("+00:00"),
            Tok::Kind => out.push('Z'),
            Tok::Era => out.push_str("A.D."),
            Tok::Lit(c) => out.push(c),
        }
    }
    Ok(out)
}

/// A cursor over the input of a parse.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Self { s, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn eat_ci(&mut self, word: &str) -> bool {
        let rest = self.rest();
        if rest.len() >= word.len()
            && rest.is_char_boundary(word.len())
            && rest[..word.len()].eq_ignore_ascii_case(word)
        {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) -> bool {
        let before = self.pos;
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += self.peek().map_or(0, char::len_utf8);
        }
        self.pos > before
    }

    /// Between `min` and `max` ASCII digits.
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let bytes = self.rest().as_bytes();
        let n = bytes.iter().take(max).take_while(|b| b.is_ascii_digit()).count();
        if n < min {
            return None;
        }
        let v = self.rest()[..n].parse().ok();
        self.pos += n;
        v
    }

    /// A fraction of up to `max` digits (at least `min`), as nanoseconds.
    fn fraction(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.pos;
        self.digits(min, max)?;
        let text = &self.s[start..self.pos];
        let mut padded: String = text.chars().take(9).collect();
        while padded.len() < 9 {
            padded.push('0');
        }
        padded.parse().ok()
    }

    /// `Z`, or `±H`, `±HH`, `±HHmm`, `±HH:mm`.
    fn offset(&mut self) -> Option<UtcOffset> {
        if self.eat('Z') || self.eat('z') {
            return Some(UtcOffset::UTC);
        }
        let sign: i8 = if self.eat('+') {
            1
        } else if self.eat('-') {
            -1
        } else {
            return None;
        };
        let h = self.digits(1, 2)?;
        let colon = self.eat(':');
        let m = match self.digits(2, 2) {
            Some(m) => m,
            None if colon => return None,
            None => 0,
        };
        UtcOffset::from_hms(sign * i8::try_from(h).ok()?, sign * i8::try_from(m).ok()?, 0).ok()
    }
}

#[derive(Default)]
struct Fields {
    year: Option<i32>,
    month: Option<u32>,
    day: Option<u32>,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    pm: Option<bool>,
    twelve: bool,
    offset: Option<UtcOffset>,
}

impl Fields {
    fn build(self, today: Date) -> Option<OffsetDateTime> {
        let has_date = self.year.is_some() || self.month.is_some() || self.day.is_some();
        let (year, month, day) = if has_date {
            (
                self.year.unwrap_or(today.year()),
                self.month.unwrap_or(1),
                self.day.unwrap_or(1),
            )
        } else {
            (today.year(), u32::from(u8::from(today.month())), u32::from(today.day()))
        };
        let mut hour = self.hour;
        if self.twelve && !(1..=12).contains(&hour) {
            return None;
        }
        match self.pm {
            Some(true) => hour = hour % 12 + 12,
            Some(false) => hour %= 12,
            None => {}
        }
        let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
        let date = Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;
        let time = Time::from_hms_nano(
            u8::try_from(hour).ok()?,
            u8::try_from(self.minute).ok()?,
            u8::try_from(self.second).ok()?,
            self.nanos,
        )
        .ok()?;
        let offset = self.offset.unwrap_or(UtcOffset::UTC);
        Some(
            PrimitiveDateTime::new(date, time)
                .assume_offset(offset)
                .to_offset(UtcOffset::UTC),
        )
    }
}

fn two_digit_year(y: u32) -> i32 {
    let y = i32::try_from(y).unwrap_or(0);
    if y < 50 { 2000 + y } else { 1900 + y }
}

fn name_index(c: &mut Cursor<'_>, names: &[&str], abbrev: bool) -> Option<usize> {
    names.iter().position(|n| c.eat_ci(if abbrev { &n[..3] } else { n }))
}

/// `DateTime.ParseExact` with a .NET format string. Leading and trailing white
/// space is allowed (Entra's default `DateTimeStyles`). Values with an offset
/// are converted to UTC; values without one are taken as UTC. A format with
/// no date part takes the date from `today`.
pub(crate) fn parse_exact(input: &str, fmt: &str, today: Date) -> Result<OffsetDateTime, String> {
    let tokens = tokenize(fmt)?;
    let mismatch = || format!("'{input}' does not match the format '{fmt}'");
    let mut c = Cursor::new(input.trim());
    let mut f = Fields::default();
    for tok in tokens {
        if !parse_token(&mut c, &mut f, tok) {
            return Err(mismatch());
        }
    }
    if !c.rest().is_empty() {
        return Err(mismatch());
    }
    f.build(today)
        .ok_or_else(|| format!("'{input}' is not a valid date/time"))
}

/// Consumes one format token from the input; false when it does not match.
fn parse_token(c: &mut Cursor<'_>, f: &mut Fields, tok: Tok) -> bool {
    fn set<T>(slot: &mut T, v: Option<T>) -> bool {
        v.map(|v| *slot = v).is_some()
    }
    match tok {
        Tok::Year(n) if n <= 2 => set(&mut f.year, c.digits(n, 2).map(|y| Some(two_digit_year(y)))),
        Tok::Year(n) => set(&mut f.year, c.digits(n.min(4), n.max(4)).map(|y| i32::try_from(y).ok())),
        Tok::Month(n) if n >= 3 => {
            let idx = name_index(c, &MONTHS, n == 3);
            set(&mut f.month, idx.map(|i| u32::try_from(i + 1).ok()))
        }
        Tok::Month(n) => set(&mut f.month, c.digits(n, 2).map(Some)),
        Tok::Day(n) if n >= 3 => name_index(c, &DAYS, n == 3).is_some(),
        Tok::Day(n) => set(&mut f.day, c.digits(n, 2).map(Some)),
        Tok::Hour24(n) => set(&mut f.hour, c.digits(n, 2)),
        Tok::Hour12(n) => {
            f.twelve = true;
            set(&mut f.hour, c.digits(n, 2))
        }
        Tok::Minute(n) => set(&mut f.minute, c.digits(n, 2)),
        Tok::Second(n) => set(&mut f.second, c.digits(n, 2)),
        Tok::Frac(n) => set(&mut f.nanos, c.fraction(n, n)),
        Tok::FracOpt(n) => {
            f.nanos = c.fraction(0, n).unwrap_or(0);
            true
        }
        Tok::AmPm(n) => {
            let (am, pm) = if n == 1 { ("A", "P") } else { ("AM", "PM") };
            let v = if c.eat_ci(am) {
                Some(false)
            } else if c.eat_ci(pm) {
                Some(true)
            } else {
                None
            };
            set(&mut f.pm, v.map(Some))
        }
        Tok::Offset(_) => set(&mut f.offset, c.offset().map(Some)),
        Tok::Kind => {
            if let Some(o) = c.offset() {
                f.offset = Some(o);
            }
            true
        }
        Tok::Era => {
            let _ = c.eat_ci("A.D.") || c.eat_ci("AD");
            true
        }
        Tok::Lit(l) if l.is_whitespace() => c.skip_ws(),
        Tok::Lit(l) => c.eat(l),
    }
}

/// Parses the date strings accepted without a format: ISO 8601
/// (`2021-06-30`, `2020-03-16-07:00`, `2009-06-15T01:45:30-07:00`,
/// `2020-12-31 23:59:59-08:00`), US (`8/25/2021 5:41:18 PM`) and LDAP
/// generalized time (`20150123105347.0Z`). No offset means UTC.
pub(crate) fn parse_any(input: &str) -> Option<OffsetDateTime> {
    let s = input.trim();
    parse_iso(s).or_else(|| parse_us(s)).or_else(|| parse_generalized(s))
}

fn finish(c: &mut Cursor<'_>, mut f: Fields) -> Option<OffsetDateTime> {
    c.skip_ws();
    if !c.rest().is_empty() {
        f.offset = Some(c.offset()?);
    }
    if !c.rest().is_empty() {
        return None;
    }
    f.build(Date::MIN)
}

fn time_part(c: &mut Cursor<'_>, f: &mut Fields) -> Option<()> {
    f.hour = c.digits(1, 2)?;
    c.eat(':').then_some(())?;
    f.minute = c.digits(2, 2)?;
    if c.eat(':') {
        f.second = c.digits(2, 2)?;
        if c.eat('.') || c.eat(',') {
            f.nanos = c.fraction(1, 15)?;
        }
    }
    Some(())
}

fn parse_iso(s: &str) -> Option<OffsetDateTime> {
    let mut c = Cursor::new(s);
    let mut f = Fields {
        year: Some(i32::try_from(c.digits(4, 4)?).ok()?),
        ..Fields::default()
    };
    c.eat('-').then_some(())?;
    f.month = Some(c.digits(1, 2)?);
    c.eat('-').then_some(())?;
    f.day = Some(c.digits(1, 2)?);
    let save = c.pos;
    if c.eat('T') || c.eat('t') || (c.eat(' ') && c.peek().is_some_and(|d| d.is_ascii_digit())) {
        time_part(&mut c, &mut f)?;
    } else {
        c.pos = save;
    }
    finish(&mut c, f)
}

fn parse_us(s: &str) -> Option<OffsetDateTime> {
    let mut c = Cursor::new(s);
    let mut f = Fields {
        month: Some(c.digits(1, 2)?),
        ..Fields::default()
    };
    c.eat('/').then_some(())?;
    f.day = Some(c.digits(1, 2)?);
    c.eat('/').then_some(())?;
    f.year = Some(i32::try_from(c.digits(4, 4)?).ok()?);
    let save = c.pos;
    if c.skip_ws() && c.peek().is_some_and(|d| d.is_ascii_digit()) {
        time_part(&mut c, &mut f)?;
        let before = c.pos;
        c.skip_ws();
        if c.eat_ci("AM") {
            f.pm = Some(false);
            f.twelve = true;
        } else if c.eat_ci("PM") {
            f.pm = Some(true);
            f.twelve = true;
        } else {
            c.pos = before;
        }
    } else {
        c.pos = save;
    }
    finish(&mut c, f)
}

fn parse_generalized(s: &str) -> Option<OffsetDateTime> {
    let mut c = Cursor::new(s);
    let mut f = Fields {
        year: Some(i32::try_from(c.digits(4, 4)?).ok()?),
        month: Some(c.digits(2, 2)?),
        day: Some(c.digits(2, 2)?),
        ..Fields::default()
    };
    if c.peek().is_some_and(|d| d.is_ascii_digit()) {
        f.hour = c.digits(2, 2)?;
        f.minute = c.digits(2, 2)?;
        f.second = c.digits(2, 2)?;
        if c.eat('.') || c.eat(',') {
            f.nanos = c.fraction(1, 15)?;
        }
    }
    finish(&mut c, f)
}
