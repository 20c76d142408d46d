//! Rate limits from the command line: `scimd tenant rate` shows and sets a tenant's own rate
//! (in force on a running server from the next request), `--tenant-rate` and the config
//! file's `[limits]` table set the defaults, and bad values are refused with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use common::{Server, get, run};

fn statuses(url: &str, token: &str, n: usize) -> Vec<u16> {
    (0..n).map(|_| get(url, token).0).collect()
}

#[test]
fn a_tenants_own_rate_is_set_shown_and_cleared_from_the_cli_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/scimd.db", dir.path().display());
    let s = Server::start(&db, &[]);
    let url = common::line_value(&s.stdout_lines, "SCIM base URL:");
    let token = common::line_value(&s.stdout_lines, "Secret token:");
    assert!(statuses(&format!("{url}/Users"), &token, 20).iter().all(|s| *s == 200));

    let (ok, out, err) = run(&["tenant", "rate", "default", "--database", &db]);
    assert!(ok, "{err}");
    assert!(out.contains("the server's default"), "{out}");
    let (ok, out, err) = run(&["tenant", "rate", "default", "1/3", "--database", &db]);
    assert!(ok, "{err}");
    assert!(out.contains("1/3"), "{out}");
    let (ok, out, _) = run(&["tenant", "rate", "default", "--database", &db]);
    assert!(ok && out.contains("1/3 (its own)"), "{out}");
    let seen = statuses(&format!("{url}/Users"), &token, 10);
    assert_eq!(seen[..3], [200, 200, 200], "{seen:?}");
    assert!(seen.contains(&429), "the running server applies the new rate: {seen:?}");

    for (bad, words) in [("fast", "not a rate"), ("0/5", "out of range"), ("5/0", "out of range")] {
        let (ok, _, err) = run(&["tenant", "rate", "default", bad, "--database", &db]);
        assert!(!ok, "{bad} is refused");
        assert!(err.contains(words), "{bad}: {err}");
    }
    let (ok, _, err) = run(&["tenant", "rate", "nobody", "5/10", "--database", &db]);
    assert!(!ok && err.contains("nobody"), "{err}");
    let (ok, out, _) = run(&["tenant", "rate", "default", "default", "--database", &db]);
    assert!(ok && out.contains("default from now on"), "{out}");
    assert!(statuses(&format!("{url}/Users"), &token, 10).iter().all(|s| *s == 200));
}

#[test]
fn the_default_rate_comes_from_the_flag_or_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/flag.db", dir.path().display());
    let s = Server::start(&db, &["--tenant-rate", "1/2"]);
    let url = common::line_value(&s.stdout_lines, "SCIM base URL:");
    let token = common::line_value(&s.stdout_lines, "Secret token:");
    let seen = statuses(&format!("{url}/Users"), &token, 8);
    assert_eq!(seen[..2], [200, 200], "{seen:?}");
    assert!(seen.contains(&429), "{seen:?}");
    drop(s);

    let config = dir.path().join("scimd.toml");
    std::fs::write(&config, "[limits]\ntenant_rate = \"1/2\"\nmax_in_flight = 64\n").unwrap();
    let db = format!("sqlite://{}/file.db", dir.path().display());
    // The file's rate applies where no flag or variable is given.
    let mut child = common::scimd()
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db, "--config"])
        .arg(&config)
        .env_remove("SCIMD_TENANT_RATE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = common::read_until_listening(child.stdout.take().unwrap());
    let url = common::line_value(&lines, "SCIM base URL:");
    let token = common::line_value(&lines, "Secret token:");
    let seen = statuses(&format!("{url}/Users"), &token, 8);
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains(&429), "{seen:?}");

    for (file, words) in [
        ("[limits]\ntenant_rate = \"lots\"\n", "not a rate"),
        ("[limits]\nmax_in_flight = 0\n", "at least 1"),
        ("[limits]\nheader_timeout = \"soon\"\n", "header_timeout"),
        ("[limits]\nclient_ip_header = \"X Forwarded\"\n", "not a header name"),
        ("[limits]\nrequests_per_day = 5\n", "unknown field"),
    ] {
        std::fs::write(&config, file).unwrap();
        let (ok, _, err) = run(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            &db,
            "--config",
            config.to_str().unwrap(),
        ]);
        assert!(!ok, "{file} is refused");
        assert!(err.contains(words), "{file}: {err}");
    }
}
