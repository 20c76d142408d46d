//! String functions.

use super::Args;
use crate::error::EvalError;
use crate::value::Value;

type Res = Result<Value, EvalError>;

/// `Append(source, suffix)`: null source gives null; a null suffix appends nothing.
pub(super) fn append(a: &Args) -> Res {
    let Some(source) = a.text(0)? else {
        return Ok(Value::Null);
    };
    let suffix = a.text(1)?.unwrap_or_default();
    Ok(Value::String(source + &suffix))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(char::from(B64[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `ConvertToBase64(source)`: base64 of the UTF-16LE ("Unicode") bytes.
pub(super) fn convert_to_base64(a: &Args) -> Res {
    let Some(s) = a.text(0)? else { return Ok(Value::Null) };
    let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    Ok(Value::String(base64(&bytes)))
}

/// `ConvertToUTF8Hex(source)`: upper-case hex of the UTF-8 bytes.
pub(super) fn convert_to_utf8_hex(a: &Args) -> Res {
    let Some(s) = a.text(0)? else { return Ok(Value::Null) };
    Ok(Value::String(s.bytes().map(|b| format!("{b:02X}")).collect()))
}

/// `CStr(value)`: text form of a single value; null stays null.
pub(super) fn cstr(a: &Args) -> Res {
    Ok(a.text(0)?.map_or(Value::Null, Value::String))
}

/// `Join(separator, source1, …)`: multi-valued sources are flattened; null
/// and empty values are skipped; nothing left gives null.
pub(super) fn join(a: &Args) -> Res {
    let sep = a.text(0)?.unwrap_or_default();
    let mut parts: Vec<String> = Vec::new();
    for i in 1..a.len() {
        match a.get(i) {
            Value::Null => {}
            Value::Multi(items) => {
                for item in items {
                    match item {
                        Value::Null => {}
                        v => parts.push(v.scalar_text().ok_or_else(|| a.type_err(i, "single values"))?),
                    }
                }
            }
            v => parts.push(
                v.scalar_text()
                    .ok_or_else(|| a.type_err(i, "a string or multi-valued string"))?,
            ),
        }
    }
    parts.retain(|p| !p.is_empty());
    if parts.is_empty() {
        return Ok(Value::Null);
    }
    Ok(Value::String(parts.join(&sep)))
}

/// `Left(string, numChars)`: 0 gives "", negative gives the input, null gives "".
pub(super) fn left(a: &Args) -> Res {
    let n = a.req_int(1, "numChars")?;
    let s = a.text(0)?.unwrap_or_default();
    Ok(Value::String(match n {
        0 => String::new(),
        n if n < 0 => s,
        n => s.chars().take(usize::try_from(n).unwrap_or(usize::MAX)).collect(),
    }))
}

/// `Mid(source, start, length)`, 1-based.
pub(super) fn mid(a: &Args) -> Res {
    let start = a.req_int(1, "start")?;
    let length = a.req_int(2, "length")?;
    if start < 1 {
        return Err(a.invalid(format!("start must be 1 or more (it is 1-based), got {start}")));
    }
    if length < 0 {
        return Err(a.invalid(format!("length must not be negative, got {length}")));
    }
    let Some(s) = a.text(0)? else { return Ok(Value::Null) };
    let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
    let take = usize::try_from(length).unwrap_or(usize::MAX);
    Ok(Value::String(s.chars().skip(skip).take(take).collect()))
}

fn simple_lower(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ if c == '\u{130}' => 'i',
        _ => c,
    }
}

fn simple_upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// `ToLower(source, culture)` / `ToUpper(source, culture)`: per-character
/// (length-preserving, like .NET) case mapping; Turkish and Azeri cultures map
/// dotted/dotless i.
pub(super) fn change_case(a: &Args, upper: bool) -> Res {
    let culture = a.text(1)?.unwrap_or_default();
    let lang = culture.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    if !culture.is_empty() {
        let valid = culture
            .split(['-', '_'])
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
            && (2..=3).contains(&lang.len())
            && lang.chars().all(|c| c.is_ascii_alphabetic());
        if !valid {
            return Err(a.invalid(format!("'{culture}' is not a culture name such as en-US")));
        }
    }
    let turkic = lang == "tr" || lang == "az";
    let Some(s) = a.text(0)? else { return Ok(Value::Null) };
    let out = s
        .chars()
        .map(|c| match (upper, turkic, c) {
            (true, true, 'i') => '\u{130}',
            (false, true, 'I') => '\u{131}',
            (true, _, c) => simple_upper(c),
            (false, _, c) => simple_lower(c),
        })
        .collect();
    Ok(Value::String(out))
}

/// `Word(string, wordNumber, delimiters)`: words are the non-empty runs
/// between any of the delimiter characters; out of range gives "".
pub(super) fn word(a: &Args) -> Res {
    let n = a.req_int(1, "wordNumber")?;
    let delims: Vec<char> = a.text(2)?.unwrap_or_default().chars().collect();
    let s = a.text(0)?.unwrap_or_default();
    if n < 1 {
        return Ok(Value::String(String::new()));
    }
    let idx = usize::try_from(n - 1).unwrap_or(usize::MAX);
    let word = s
        .split(|c| delims.contains(&c))
        .filter(|w| !w.is_empty())
        .nth(idx)
        .unwrap_or("");
    Ok(Value::String(word.to_string()))
}

/// `InStr(value1, value2, start, compareType)`: 1-based position, 0 when not found.
pub(super) fn instr(a: &Args) -> Res {
    let start = a.int(2)?.unwrap_or(1);
    if start < 1 {
        return Err(a.invalid(format!("start must be 1 or more (it is 1-based), got {start}")));
    }
    let text_compare = match a.get(3) {
        Value::Null => false,
        Value::Number(0) => false,
        Value::Number(1) => true,
        Value::String(s) if s == "vbBinaryCompare" || s.is_empty() => false,
        Value::String(s) if s == "vbTextCompare" => true,
        other => {
            return Err(a.invalid(format!(
                "compareType must be vbTextCompare or vbBinaryCompare, got '{other}'"
            )));
        }
    };
    let (Some(hay), Some(needle)) = (a.text(0)?, a.text(1)?) else {
        return Ok(Value::Null);
    };
    let fold = |s: &str| -> Vec<char> {
        s.chars()
            .map(|c| if text_compare { simple_lower(c) } else { c })
            .collect()
    };
    let (hay, needle) = (fold(&hay), fold(&needle));
    let from = usize::try_from(start - 1).unwrap_or(usize::MAX);
    if from > hay.len() {
        return Ok(Value::Number(0));
    }
    if needle.is_empty() {
        return Ok(Value::Number(start));
    }
    let found = (from..=hay.len().saturating_sub(needle.len()))
        .find(|&i| hay.get(i..i + needle.len()) == Some(&needle[..]))
        .map_or(0, |i| i64::try_from(i + 1).unwrap_or(0));
    Ok(Value::Number(found))
}

fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x300..=0x36F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Default word separators: like .NET `ToTitleCase`, anything that is not a
/// letter, digit or combining mark, except apostrophes inside words.
fn default_separator(c: char) -> bool {
    !(c.is_alphanumeric() || is_combining(c) || c == '\'' || c == '\u{2019}')
}

/// `PCase(source, wordSeparators)`: first character of each word upper case,
/// the rest lower case.
pub(super) fn pcase(a: &Args) -> Res {
    let custom: Option<Vec<char>> = if a.present(1) {
        a.text(1)?.map(|s| s.chars().collect())
    } else {
        None
    };
    let Some(s) = a.text(0)? else { return Ok(Value::Null) };
    let is_sep = |c: char| {
        custom
            .as_ref()
            .map_or_else(|| default_separator(c), |set| set.contains(&c))
    };
    let mut out = String::with_capacity(s.len());
    let mut at_start = true;
    for c in s.chars() {
        if is_sep(c) {
            out.push(c);
            at_start = true;
        } else if at_start {
            out.push(simple_upper(c));
            at_start = false;
        } else {
            out.push(simple_lower(c));
        }
    }
    Ok(Value::String(out))
}

/// `Split(source, delimiter)`: a multi-valued string. Elements are trimmed of
/// surrounding white space, as in the documented example; "" gives no values.
pub(super) fn split(a: &Args) -> Res {
    let delim = a.text(1)?.unwrap_or_default();
    let Some(s) = a.text(0)? else { return Ok(Value::Null) };
    if s.is_empty() {
        return Ok(Value::Multi(Vec::new()));
    }
    if delim.is_empty() {
        return Ok(Value::Multi(vec![Value::String(s)]));
    }
    Ok(Value::Multi(
        s.split(delim.as_str())
            .map(|p| Value::String(p.trim().to_string()))
            .collect(),
    ))
}
