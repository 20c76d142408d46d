//! Resource normalisation and the body depth check: any JSON text is refused cleanly or
//! becomes a resource that normalises to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::ResourceKind;
use scim_core::normalize::normalize;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if scim_proto::json_depth_exceeds(data, 32) {
        return;
    }
    let Ok(json) = serde_json::from_slice::<Value>(data) else { return };
    for kind in [ResourceKind::User, ResourceKind::Group] {
        if let Ok(once) = normalize(kind, &json) {
            let doc = Value::Object(once.attrs.clone());
            let twice = normalize(kind, &doc).unwrap_or_else(|e| panic!("{doc} does not normalise again: {e}"));
            assert_eq!(once.attrs, twice.attrs, "normalising {kind:?} twice changed it");
        }
    }
});
