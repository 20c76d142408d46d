//! Entra's expression language: the parser never panics, a parsed expression prints to text
//! that parses to the same expression, and evaluating it against a small user is an answer
//! or an error, never a panic.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use sync_expr::{EvalEnv, SplitMix64, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(expr) = sync_expr::parse(text) else { return };
    let printed = expr.to_string();
    let again = sync_expr::parse(&printed)
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(printed, again.to_string(), "{text:?} printed as {printed:?}");

    let mut user = HashMap::new();
    user.insert("userPrincipalName".to_string(), Value::from("Ada.Lovelace@contoso.com"));
    user.insert("givenName".to_string(), Value::from("Ada"));
    user.insert("surname".to_string(), Value::from("Lovelace"));
    user.insert("department".to_string(), Value::from("Engineering"));
    let mut rng = SplitMix64::new(7);
    let mut next = || rng.next_u64();
    let now = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let mut env = EvalEnv::new(now, &mut next);
    let _ = expr.eval(&user, &mut env);
});
