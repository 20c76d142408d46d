//! `scimd`: the multi-tenant SCIM 2.0 server and its support-desk commands.

mod admin_cmd;
mod alloc_tuning;
mod audit_cmd;
mod cli;
mod config;
mod demo;
mod events_cmd;
mod exit;
mod import_cmd;
mod output;
mod requests_cmd;
mod serve;
mod sync_cmd;
mod sync_jobs_cmd;
mod sync_output;
mod sync_serve;

use clap::Parser;

/// mimalloc instead of glibc's malloc: the engine's chunks and the server's requests
/// allocate from many threads, where glibc's per-thread arenas keep freed memory (a 100k-user
/// initial cycle peaked at 520 MB RSS on glibc, about twice its live heap). Version 2 of
/// mimalloc (the crate's `v2` feature), which returns freed pages after 10 ms where version 3
/// waits a second: 177 MB instead of 208-222 MB for the same cycle, at the same speed; its
/// arenas commit on demand (`.cargo/config.toml`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    if args.is_sync() {
        alloc_tuning::for_the_engine();
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("scimd: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(cli::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scimd: {e:#}");
            std::process::ExitCode::from(exit::code_of_error(&e))
        }
    }
}
