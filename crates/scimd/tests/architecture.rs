//! ARCHITECTURE.md stays true: every path it names exists, and the layering it states holds.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    files(dir, &mut out);
    out.retain(|p| p.extension().is_some_and(|e| e == "rs"));
    out
}

/// The `[dependencies]` names of a crate (not dev-dependencies).
fn deps(krate: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml")).unwrap();
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if inside && let Some((name, _)) = line.split_once(['=', '.']) {
            out.push(name.trim().to_string());
        }
    }
    out
}

#[test]
fn every_path_architecture_md_names_exists() {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut krate: Option<PathBuf> = None;
    let mut missing = Vec::new();
    let mut checked = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("### `crates/") {
            let name = rest.trim_end_matches('`');
            let dir = root().join("crates").join(name);
            assert!(
                dir.is_dir(),
                "ARCHITECTURE.md names crates/{name}, which does not exist"
            );
            krate = Some(dir);
            continue;
        }
        if line.starts_with("## ") {
            krate = None;
        }
        for (i, token) in line.split('`').enumerate() {
            let is_path = i % 2 == 1 && (token.ends_with(".rs") || token.ends_with('/')) && !token.contains(' ');
            if !is_path {
                continue;
            }
            let token = token.trim_end_matches('/');
            let here = match &krate {
                Some(dir) => vec![dir.clone()],
                None => vec![root().join("crates"), root()],
            };
            let mut all = Vec::new();
            for d in &here {
                files(d, &mut all);
            }
            let found = all.iter().any(|p| {
                let p = p.to_string_lossy();
                p.ends_with(&format!("/{token}")) || p.contains(&format!("/{token}/"))
            });
            checked += 1;
            if !found {
                missing.push(token.to_string());
            }
        }
    }
    assert!(
        checked > 30,
        "the check found only {checked} paths; is the parser still right?"
    );
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {missing:?}"
    );
}

#[test]
fn pure_crates_take_no_io_dependencies() {
    const IO: &[&str] = &[
        "tokio",
        "rusqlite",
        "tokio-postgres",
        "deadpool-postgres",
        "axum",
        "reqwest",
        "hyper",
        "hyper-util",
        "tower",
    ];
    for krate in ["scim-proto", "scim-core", "sync-expr"] {
        let bad: Vec<String> = deps(krate).into_iter().filter(|d| IO.contains(&d.as_str())).collect();
        assert!(bad.is_empty(), "{krate} depends on {bad:?}");
        for f in rust_files(&root().join("crates").join(krate).join("src")) {
            let text = std::fs::read_to_string(&f).unwrap();
            for needle in ["std::fs", "std::net", "tokio::", "std::process"] {
                assert!(!text.contains(needle), "{} uses {needle}", f.display());
            }
        }
    }
    let plan = std::fs::read_to_string(root().join("crates/sync-engine/src/plan.rs")).unwrap();
    for needle in ["std::fs", "tokio::", "reqwest", "rusqlite"] {
        assert!(!plan.contains(needle), "the planner uses {needle}");
    }
}

#[test]
fn the_engine_builds_without_its_sources() {
    let engine = deps("sync-engine");
    for d in ["sync-sources", "ldap3", "csv"] {
        assert!(!engine.iter().any(|e| e == d), "sync-engine depends on {d}");
    }
    let src = root().join("crates/sync-engine/src/source");
    let mut here: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    here.sort();
    assert_eq!(here, ["mod.rs", "sample.rs"], "sources belong in crates/sync-sources");
}

#[test]
fn sql_lives_in_scim_store_and_http_serving_in_scim_server() {
    for krate in deps_of_workspace() {
        let d = deps(&krate);
        if krate != "scim-store" {
            for db in ["rusqlite", "tokio-postgres", "deadpool-postgres"] {
                assert!(!d.contains(&db.to_string()), "{krate} depends on {db}");
            }
        }
        if krate == "scim-server" {
            assert!(
                !d.contains(&"scim-store".to_string()),
                "scim-server depends on the ports, not the store"
            );
        }
        assert!(!d.contains(&"scimd".to_string()), "nothing depends on scimd");
        if krate != "scimd-bench" {
            assert!(
                !d.contains(&"sync-testkit".to_string()),
                "{krate} depends on sync-testkit (tests and benchmarks only)"
            );
        }
        let src = root().join("crates").join(&krate).join("src");
        for f in rust_files(&src) {
            let text = std::fs::read_to_string(&f).unwrap();
            if krate != "scim-store" {
                for needle in [
                    "\"SELECT ",
                    "\"INSERT INTO",
                    "\"CREATE TABLE",
                    "\"DELETE FROM",
                    "\"UPDATE ",
                ] {
                    assert!(!text.contains(needle), "{} holds SQL ({needle})", f.display());
                }
            }
            // sync-testkit's fakes of services we cannot run here (Microsoft Graph) serve
            // HTTP for tests and benchmarks; no product crate depends on it (checked below).
            if krate != "scim-server" && krate != "sync-testkit" {
                for needle in ["Router::new()", ".route(\"", "axum::serve("] {
                    assert!(!text.contains(needle), "{} builds HTTP routes ({needle})", f.display());
                }
            }
        }
    }
}

#[test]
fn webhook_delivery_is_its_own_crate_off_the_request_path() {
    let d = deps("scim-events");
    for bad in ["axum", "scim-store", "scim-server", "rusqlite", "tokio-postgres"] {
        assert!(!d.contains(&bad.to_string()), "scim-events depends on {bad}");
    }
    // The SCIM handlers never deliver: only the admin API's test message calls into it.
    for f in rust_files(&root().join("crates/scim-server/src")) {
        let text = std::fs::read_to_string(&f).unwrap();
        let is_admin = f.to_string_lossy().contains("/admin/");
        assert!(
            is_admin || !text.contains("scim_events::"),
            "{} uses scim_events",
            f.display()
        );
    }
}

fn deps_of_workspace() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("crates"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    assert!(out.len() >= 10, "{out:?}");
    out
}

#[test]
fn every_crate_takes_the_workspace_lint_wall_and_unsafe_stays_where_it_is_justified() {
    let ws = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    for lint in [
        "unsafe_code = \"deny\"",
        "unwrap_used = \"deny\"",
        "expect_used = \"deny\"",
    ] {
        assert!(ws.contains(lint), "the workspace lints lost {lint}");
    }
    let mut unsafe_files = Vec::new();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains("[lints]\nworkspace = true"),
            "{} does not take the workspace lints",
            dir.display()
        );
        for f in rust_files(&dir.join("src")) {
            if std::fs::read_to_string(&f).unwrap().contains("unsafe {") {
                unsafe_files.push(f.strip_prefix(root()).unwrap().display().to_string());
            }
        }
    }
    unsafe_files.sort();
    assert_eq!(
        unsafe_files,
        [
            "crates/scimd-bench/src/bin/scale-bench/main.rs",
            "crates/scimd-bench/src/bin/scale-bench/measure.rs",
            "crates/scimd-bench/src/proc_stat.rs",
            "crates/scimd/src/alloc_tuning.rs",
        ],
        "unsafe code in a new place: justify it here"
    );
}
