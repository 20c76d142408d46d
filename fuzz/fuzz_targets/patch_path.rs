//! The PATCH path parser (and the attribute-path parser): never panics, and a parsed path
//! prints to text that parses to the same path (within the length limit, as for filters).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(path) = scim_proto::parse_patch_path(text) {
        let printed = path.to_string();
        if printed.len() > scim_proto::MAX_FILTER_LEN {
            return;
        }
        let again = scim_proto::parse_patch_path(&printed)
            .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
        assert_eq!(path, again, "{text:?} printed as {printed:?}");
    }
    if let Ok(path) = scim_proto::parse_attr_path(text) {
        let printed = path.to_string();
        if printed.len() > scim_proto::MAX_FILTER_LEN {
            return;
        }
        let again = scim_proto::parse_attr_path(&printed)
            .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
        assert_eq!(path, again, "{text:?} printed as {printed:?}");
    }
});
