//! Property tests: any filter or PATCH path built from the grammar parses, prints, and parses
//! again to the same tree (the fuzz targets check the same on arbitrary bytes).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use proptest::prelude::*;
use scim_proto::{parse_filter, parse_patch_path};

const URNS: &[&str] = &[
    "",
    "urn:ietf:params:scim:schemas:core:2.0:User:",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:",
];
const OPS: &[&str] = &["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Sw"];

fn attr() -> impl Strategy<Value = String> {
    (
        prop::sample::select(URNS),
        "[a-zA-Z][a-zA-Z0-9_-]{0,10}",
        prop::option::of("[a-zA-Z][a-zA-Z0-9_]{0,6}"),
    )
        .prop_map(|(urn, name, sub)| match sub {
            Some(s) => format!("{urn}{name}.{s}"),
            None => format!("{urn}{name}"),
        })
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::to_string(&f).unwrap()),
        Just("true".to_string()),
        Just("false".to_string()),
        Just("null".to_string()),
    ]
}

fn comparison() -> impl Strategy<Value = String> {
    prop_oneof![
        (attr(), prop::sample::select(OPS), value()).prop_map(|(a, op, v)| format!("{a} {op} {v}")),
        attr().prop_map(|a| format!("{a} pr")),
    ]
}

/// A comparison inside a value filter's brackets: sub-attribute names only.
fn inner_comparison() -> impl Strategy<Value = String> {
    prop_oneof![
        ("[a-zA-Z][a-zA-Z0-9_-]{0,8}", prop::sample::select(OPS), value())
            .prop_map(|(a, op, v)| format!("{a} {op} {v}")),
        "[a-zA-Z][a-zA-Z0-9]{0,8}".prop_map(|a| format!("{a} pr")),
    ]
}

fn filter() -> impl Strategy<Value = String> {
    comparison().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} or {b}")),
            inner.clone().prop_map(|a| format!("not ({a})")),
            inner.clone().prop_map(|a| format!("({a})")),
            ("[a-zA-Z][a-zA-Z0-9]{0,8}", inner_comparison()).prop_map(|(a, c)| format!("{a}[{c}]")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn filters_round_trip_through_their_printed_form(text in filter()) {
        let first = parse_filter(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        let printed = first.to_string();
        let again = parse_filter(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
        prop_assert_eq!(first, again, "{:?} printed as {:?}", text, printed);
    }

    #[test]
    fn patch_paths_round_trip_through_their_printed_form(
        urn in prop::sample::select(URNS),
        name in "[a-zA-Z][a-zA-Z0-9_-]{0,10}",
        filter in prop::option::of(inner_comparison()),
        sub in prop::option::of("[a-zA-Z][a-zA-Z0-9]{0,6}"),
    ) {
        let text = match (&filter, &sub) {
            (Some(f), Some(s)) => format!("{urn}{name}[{f}].{s}"),
            (Some(f), None) => format!("{urn}{name}[{f}]"),
            (None, Some(s)) => format!("{urn}{name}.{s}"),
            (None, None) => format!("{urn}{name}"),
        };
        let first = parse_patch_path(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        let printed = first.to_string();
        let again = parse_patch_path(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
        prop_assert_eq!(first, again, "{:?} printed as {:?}", text, printed);
    }
}
