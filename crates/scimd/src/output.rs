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

/// `println!` that never panics: when stdout is closed (`scimd tenant create acme | head -1`),
/// the rest of the output is lost, not the command.
#[macro_export]
macro_rules! say {
    () => {
        $crate::output::say_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::say_line(format_args!($($arg)*))
    };
}

pub fn say_line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_fmt(args).and_then(|()| out.write_all(b"\n"));
}
