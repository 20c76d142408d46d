//! Property tests: any expression built from the language's functions, attributes and
//! literals parses, and its printed form (compact and indented) parses to an expression that
//! prints the same (the `expression` fuzz target checks the same on arbitrary text).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use proptest::prelude::*;
use sync_expr::parse;

fn literal() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|s| {
        let mut out = String::from("\"");
        for c in s.chars() {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    })
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z][a-zA-Z0-9_.]{0,12}".prop_map(|a| format!("[{a}]")),
        literal(),
        (0u32..1000).prop_map(|n| n.to_string()),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 32, 4, |e| {
        prop_oneof![
            (e.clone(), e.clone()).prop_map(|(a, b)| format!("Append({a}, {b})")),
            prop::collection::vec(e.clone(), 1..4).prop_map(|v| format!("Join(\", \", {})", v.join(", "))),
            prop::collection::vec(e.clone(), 1..4).prop_map(|v| format!("Coalesce({})", v.join(","))),
            (e.clone(), 0u32..20).prop_map(|(a, n)| format!("Left({a}, {n})")),
            (e.clone(), e.clone(), e.clone(), e.clone()).prop_map(|(a, b, t, f)| format!("IIF({a} = {b}, {t}, {f})")),
            (e.clone(), e.clone(), literal(), e.clone()).prop_map(|(x, d, k, v)| format!("Switch({x}, {d}, {k}, {v})")),
            e.clone().prop_map(|a| format!("CStr({a})")),
            e.clone().prop_map(|a| format!("PCase({a})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn expressions_round_trip_through_their_printed_forms(text in expr()) {
        let first = parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        for printed in [first.to_string(), format!("{first:#}")] {
            let again = parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
            prop_assert_eq!(first.to_string(), again.to_string(), "{:?} printed as {:?}", text, printed);
        }
    }
}
