//! Line output for listings (`sync logs`, `sync plan`, `tenant requests`, `events tail`).

use std::io::Write;

/// Writes lines to stdout and flushes; false once the reader has gone away, so a closed pipe
/// (`| head -1`) ends a listing quietly instead of failing.
pub fn write_lines(lines: impl IntoIterator<Item = String>) -> bool {
    let mut out = std::io::stdout().lock();
    for line in lines {
        if writeln!(out, "{line}").is_err() {
            return false;
        }
    }
    out.flush().is_ok()
}
