//! Inputs the fuzz targets (fuzz/fuzz_targets) found, kept as regression tests: each once
//! broke a property the target checks.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use scim_proto::parse_filter;

/// Parses, prints and parses again: the two trees must be equal.
fn round_trips(text: &str) {
    let first = parse_filter(text).unwrap();
    let printed = first.to_string();
    let again = parse_filter(&printed).unwrap_or_else(|e| panic!("{printed:?} does not parse: {e}"));
    assert_eq!(first, again, "{text:?} printed as {printed:?}");
}

#[test]
fn a_long_integer_literal_round_trips_through_its_printed_float() {
    // Found by `filter` in its first 10 s: serde_json's fast float parsing read this
    // 73-digit integer one ULP off the nearest double, so the printed shortest form parsed
    // to a different number (fixed by serde_json's `float_roundtrip`).
    round_trips("u\rlt\r8888888000000000000000000000888800000000000000000000000000000000972802654");
    round_trips("n gt 1.7976931348623157e308");
    round_trips("n lt 4.9e-324");
}

#[test]
fn a_filter_whose_printed_form_is_over_the_limit_is_refused_not_a_panic() {
    // Found by `filter` and `patch_path`: control characters in a value print as six-byte
    // `\u0000` escapes, so a filter under 4,096 bytes may print to more. The printed text is
    // then refused by the length check like any long filter; nothing re-parses printed
    // filters (cursors bind the tree, logs only show it).
    for (input, parse) in [
        (
            include_str!("fuzz_inputs/filter-a09efd00.txt"),
            filter_text as fn(&str) -> Result<String, String>,
        ),
        (include_str!("fuzz_inputs/patch_path-898952fc.txt"), path_text),
    ] {
        assert!(input.len() <= scim_proto::MAX_FILTER_LEN);
        let printed = parse(input).unwrap();
        assert!(printed.len() > scim_proto::MAX_FILTER_LEN, "{}", printed.len());
        let err = parse(&printed).unwrap_err();
        assert!(err.contains("4096"), "{err}");
    }
}

fn filter_text(text: &str) -> Result<String, String> {
    parse_filter(text).map(|f| f.to_string()).map_err(|e| e.to_string())
}

fn path_text(text: &str) -> Result<String, String> {
    scim_proto::parse_patch_path(text)
        .map(|p| p.to_string())
        .map_err(|e| e.to_string())
}
