//! The PATCH engine: a resource and a PatchOp body (two JSON texts split at the first NUL
//! byte), for a User and a Group. Whatever the input, it answers Ok or a SCIM error, and a
//! patched resource normalises again (what the store would keep is a valid resource).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_core::ResourceKind;
use scim_core::normalize::normalize;
use scim_core::patch::{apply_patch, parse_patch_request};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|b| *b == 0) else { return };
    let (resource, body) = (&data[..split], &data[split + 1..]);
    let (Ok(resource), Ok(body)) = (serde_json::from_slice::<Value>(resource), serde_json::from_slice::<Value>(body))
    else {
        return;
    };
    let Ok(ops) = parse_patch_request(&body) else { return };
    for kind in [ResourceKind::User, ResourceKind::Group] {
        let Ok(start) = normalize(kind, &resource) else { continue };
        if let Ok(out) = apply_patch(kind, start.attrs, &ops) {
            let doc = Value::Object(out.resource.attrs);
            normalize(kind, &doc).unwrap_or_else(|e| panic!("a patched {kind:?} no longer normalises: {e}: {doc}"));
        }
    }
});
