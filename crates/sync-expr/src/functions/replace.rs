//! `Replace` and its five argument-presence behaviours.

use regex::{Captures, Regex};

use super::Args;
use crate::error::EvalError;
use crate::value::Value;

const SOURCE: usize = 0;
const OLD_VALUE: usize = 1;
const PATTERN: usize = 2;
const GROUP: usize = 3;
const REPLACEMENT: usize = 4;
const REPLACEMENT_ATTRIBUTE: usize = 5;
const TEMPLATE: usize = 6;

/// `Replace(source, oldValue, regexPattern, regexGroupName, replacementValue,
/// replacementAttributeName, template)`.
///
/// The behaviour is chosen by which arguments are written (not empty), in
/// this order:
/// 1. oldValue + template: every oldValue in template becomes source;
/// 2. oldValue + replacementValue: every oldValue in source becomes replacementValue;
/// 3. regexPattern + regexGroupName + replacementAttributeName: source if it
///    has a value, else the named group matched in replacementAttributeName;
/// 4. regexPattern + regexGroupName + replacementValue: the text of the named
///    group in every match is replaced by replacementValue (literally);
/// 5. regexPattern + replacementValue: .NET `Regex.Replace`, with `$1`,
///    `${name}`, `$$`, `$&`, `` $` ``, `$'`, `$+` and `$_` substitutions.
pub(super) fn replace(a: &Args) -> Result<Value, EvalError> {
    let has = |i| a.present(i);
    if has(OLD_VALUE) && has(TEMPLATE) {
        let (Some(source), Some(template)) = (a.text(SOURCE)?, a.text(TEMPLATE)?) else {
            return Ok(Value::Null);
        };
        let old = non_empty_old(a)?;
        return Ok(Value::String(template.replace(&old, &source)));
    }
    if has(OLD_VALUE) && has(REPLACEMENT) {
        let Some(source) = a.text(SOURCE)? else {
            return Ok(Value::Null);
        };
        let old = non_empty_old(a)?;
        let new = a.text(REPLACEMENT)?.unwrap_or_default();
        return Ok(Value::String(source.replace(&old, &new)));
    }
    if has(PATTERN) && has(GROUP) && has(REPLACEMENT_ATTRIBUTE) {
        if let Some(source) = a.text(SOURCE)?.filter(|s| !s.is_empty()) {
            return Ok(Value::String(source));
        }
        let (re, group) = regex_and_group(a)?;
        let Some(other) = a.text(REPLACEMENT_ATTRIBUTE)? else {
            return Ok(Value::Null);
        };
        let found = re
            .captures(&other)
            .and_then(|c| c.name(&group))
            .map(|m| m.as_str().to_string());
        return Ok(found.map_or(Value::Null, Value::String));
    }
    if has(PATTERN) && has(GROUP) && has(REPLACEMENT) {
        let (re, group) = regex_and_group(a)?;
        let Some(source) = a.text(SOURCE)? else {
            return Ok(Value::Null);
        };
        let new = a.text(REPLACEMENT)?.unwrap_or_default();
        let mut out = String::with_capacity(source.len());
        let mut last = 0;
        for caps in re.captures_iter(&source) {
            if let Some(m) = caps.name(&group) {
                out.push_str(&source[last..m.start()]);
                out.push_str(&new);
                last = m.end();
            }
        }
        out.push_str(&source[last..]);
        return Ok(Value::String(out));
    }
    if has(PATTERN) && has(REPLACEMENT) {
        let re = regex(a)?;
        let Some(source) = a.text(SOURCE)? else {
            return Ok(Value::Null);
        };
        let new = a.text(REPLACEMENT)?.unwrap_or_default();
        let out = re.replace_all(&source, |caps: &Captures<'_>| expand(&re, caps, &source, &new));
        return Ok(Value::String(out.into_owned()));
    }
    Err(a.invalid(
        "unsupported combination of arguments: give oldValue with replacementValue or template, \
         or regexPattern with replacementValue, regexGroupName + replacementValue or \
         regexGroupName + replacementAttributeName",
    ))
}

fn non_empty_old(a: &Args) -> Result<String, EvalError> {
    a.text(OLD_VALUE)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| a.invalid("oldValue must not be null or empty"))
}

fn regex(a: &Args) -> Result<Regex, EvalError> {
    let pattern = a
        .text(PATTERN)?
        .ok_or_else(|| a.invalid("regexPattern must not be null"))?;
    Regex::new(&pattern).map_err(|e| EvalError::InvalidRegex {
        function: a.name(),
        message: e.to_string(),
    })
}

fn regex_and_group(a: &Args) -> Result<(Regex, String), EvalError> {
    let re = regex(a)?;
    let group = a
        .text(GROUP)?
        .ok_or_else(|| a.invalid("regexGroupName must not be null"))?;
    if !re.capture_names().flatten().any(|n| n == group) {
        return Err(a.invalid(format!("the pattern has no group named '{group}'")));
    }
    Ok((re, group))
}

/// Expands a .NET replacement pattern for one match.
fn expand(re: &Regex, caps: &Captures<'_>, input: &str, repl: &str) -> String {
    let whole = caps.get(0).map_or(0..0, |m| m.range());
    let group_text = |i: usize| caps.get(i).map_or("", |m| m.as_str());
    let mut out = String::new();
    let mut rest = repl;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let mut consumed = 1;
        match after.chars().next() {
            Some('$') => {
                out.push('$');
                consumed += 1;
            }
            Some('&') => {
                out.push_str(&input[whole.clone()]);
                consumed += 1;
            }
            Some('`') => {
                out.push_str(&input[..whole.start]);
                consumed += 1;
            }
            Some('\'') => {
                out.push_str(&input[whole.end..]);
                consumed += 1;
            }
            Some('_') => {
                out.push_str(input);
                consumed += 1;
            }
            Some('+') => {
                out.push_str(group_text(caps.len() - 1));
                consumed += 1;
            }
            Some('{') => match after.find('}') {
                Some(close) => {
                    let name = &after[1..close];
                    let by_number = name.parse::<usize>().ok().filter(|&i| i < caps.len());
                    let by_name = re.capture_names().flatten().any(|n| n == name);
                    if let Some(i) = by_number {
                        out.push_str(group_text(i));
                    } else if by_name {
                        out.push_str(caps.name(name).map_or("", |m| m.as_str()));
                    } else {
                        out.push_str(&rest[pos..pos + 2 + close]);
                    }
                    consumed += close + 1;
                }
                None => out.push('$'),
            },
            Some(d) if d.is_ascii_digit() => {
                let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                let valid = (1..=digits).rev().find_map(|len| {
                    after[..len]
                        .parse::<usize>()
                        .ok()
                        .filter(|&i| i < caps.len())
                        .map(|i| (len, i))
                });
                match valid {
                    Some((len, i)) => {
                        out.push_str(group_text(i));
                        consumed += len;
                    }
                    None => out.push('$'),
                }
            }
            _ => out.push('$'),
        }
        rest = &rest[pos + consumed..];
    }
    out.push_str(rest);
    out
}
