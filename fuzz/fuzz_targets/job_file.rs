//! The job-file loader: any text is a job or a clear configuration error, and the semantic
//! checks (sources, mappings' expressions, scope, safety, notify) never panic on a job.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cfg) = sync_engine::config::JobConfig::parse(text) {
        let _ = sync_sources::validate(&cfg);
    }
});
