//! The SCIM filter parser: never panics, and what it parses prints to text that parses to
//! the same tree (unless the printed text is over the length limit: control characters
//! print as 6-byte `\u0000` escapes, so a filter near the limit can print longer than it).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(filter) = scim_proto::parse_filter(text) {
        let printed = filter.to_string();
        if printed.len() > scim_proto::MAX_FILTER_LEN {
            return;
        }
        let again = scim_proto::parse_filter(&printed)
            .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
        assert_eq!(filter, again, "{text:?} printed as {printed:?}");
    }
});
