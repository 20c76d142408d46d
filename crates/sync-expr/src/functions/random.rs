//! Functions that use the caller's random source.

use super::Args;
use crate::error::EvalError;
use crate::eval::EvalEnv;
use crate::value::Value;

/// `Guid()`: a random version-4 GUID, lower-case and hyphenated.
pub(super) fn guid(env: &mut EvalEnv<'_>) -> Value {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(env.rng)().to_le_bytes());
    b[8..].copy_from_slice(&(env.rng)().to_le_bytes());
    b[6] = (b[6] & 0x0F) | 0x40;
    b[8] = (b[8] & 0x3F) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Value::String(format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    ))
}

const DIGITS: &str = "0123456789";
/// The special characters `RandomString` draws from (the Windows password
/// complexity set).
pub const SPECIAL_CHARACTERS: &str = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";

/// Maximum length accepted by `RandomString`.
pub(crate) const MAX_RANDOM_STRING: i64 = 256;

/// `RandomString(length, minNumbers, minSpecial, minCapital, minLower, charactersToAvoid)`.
pub(super) fn random_string(a: &Args, env: &mut EvalEnv<'_>) -> Result<Value, EvalError> {
    let length = a.req_int(0, "Length")?;
    if !(1..=MAX_RANDOM_STRING).contains(&length) {
        return Err(a.invalid(format!(
            "Length must be between 1 and {MAX_RANDOM_STRING}, got {length}"
        )));
    }
    let names = [
        "MinimumNumbers",
        "MinimumSpecialCharacters",
        "MinimumCapital",
        "MinimumLowerCase",
    ];
    let mut mins = [0i64; 4];
    for (k, name) in names.iter().enumerate() {
        mins[k] = a.req_int(k + 1, name)?;
        if mins[k] < 0 {
            return Err(a.invalid(format!("{name} must not be negative")));
        }
    }
    let total: i64 = mins.iter().sum();
    if total > length {
        return Err(a.invalid(format!("the minimums add up to {total}, more than Length {length}")));
    }
    let avoid: Vec<char> = a.text(5)?.unwrap_or_default().chars().collect();
    let pools: Vec<Vec<char>> = [DIGITS, SPECIAL_CHARACTERS, UPPER, LOWER]
        .iter()
        .map(|p| p.chars().filter(|c| !avoid.contains(c)).collect())
        .collect();
    let mut out: Vec<char> = Vec::new();
    for (k, pool) in pools.iter().enumerate() {
        if mins[k] > 0 && pool.is_empty() {
            return Err(a.invalid(format!("{} can't be met: every such character is avoided", names[k])));
        }
        for _ in 0..mins[k] {
            out.push(pick(env, pool));
        }
    }
    let all: Vec<char> = pools.concat();
    if all.is_empty() {
        return Err(a.invalid("every character is avoided"));
    }
    while (out.len() as i64) < length {
        out.push(pick(env, &all));
    }
    for i in (1..out.len()).rev() {
        let j = env.random_below(i as u64 + 1) as usize;
        out.swap(i, j);
    }
    Ok(Value::String(out.into_iter().collect()))
}

fn pick(env: &mut EvalEnv<'_>, pool: &[char]) -> char {
    pool[env.random_below(pool.len() as u64) as usize]
}
