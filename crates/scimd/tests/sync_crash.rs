//! `scimd sync run` stopped in the middle of an initial cycle: by Ctrl-C (the cycle ends after
//! its chunk in flight) and by SIGKILL; the cycle run again provisions every object once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use std::process::{Child, Stdio};

use common::sync::*;
use serde_json::Value;

#[test]
fn a_killed_initial_cycle_reruns_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = serve(d);
    write_job(d, &server.url);
    let env = [("HOXHUNT_SCIM_TOKEN", server.token.as_str())];
    let (ok, _, err) = run_in(
        d,
        &[
            "demo",
            "--export-directory",
            "sample-directory.json",
            "--users",
            "4000",
            "--groups",
            "20",
        ],
        &[],
    );
    assert!(ok, "{err}");
    // Chunks of 200 actions, each committed before the next.
    let job = std::fs::read_to_string(d.join("job.toml")).unwrap();
    std::fs::write(
        d.join("job.toml"),
        job.replacen("[job]\n", "[job]\nchunk_size = 200\n", 1),
    )
    .unwrap();
    let (ok, out, err) = run_in(d, &["sync", "plan", "job.toml", "--json"], &env);
    assert!(ok, "{err}");
    let plan: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let creates = plan["counts"]["create"].as_u64().unwrap();
    let groups = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "group" && a["action"] == "Create")
        .count() as u64;
    let want_users = creates - groups;

    let run = || {
        command(d, &["sync", "run", "job.toml", "--once", "--lease-ttl", "2s"], &env)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // Waits until `n` users have landed (polling the target, not sleeping).
    let landed_at_least = |child: &mut Child, n: u64| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let got = users(&server);
            if got >= n {
                return;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "the cycle ended early ({got} users)"
            );
            assert!(std::time::Instant::now() < deadline, "no progress ({got} users)");
            std::thread::park_timeout(std::time::Duration::from_millis(20));
        }
    };
    // Ctrl-C: the cycle ends after its chunk in flight, committed, with exit code 130.
    let mut child = run();
    landed_at_least(&mut child, want_users / 6);
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stdout).contains("result: interrupted"));

    // SIGKILL in the middle of the next one.
    let mut child = run();
    landed_at_least(&mut child, want_users / 2);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let landed = users(&server);
    assert!(landed < want_users, "killed mid-cycle: {landed} of {want_users}");

    // The lease of the killed run is still held: wait it out, as an operator would.
    let db = format!("sqlite://{}/scimd-sync.db", d.display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let state = rt.block_on(scim_store::open(&db, &Default::default())).unwrap();
    let (code, _, err) = code_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert_eq!(code, Some(5), "the dead run's lease holds until it runs out: {err}");
    let until = rt.block_on(state.control("hoxhunt")).unwrap().lease.unwrap().until;
    while scim_core::Timestamp::new(time::OffsetDateTime::now_utc()) <= until {
        std::thread::park_timeout(std::time::Duration::from_millis(200));
    }

    let committed = rt.block_on(state.links("hoxhunt")).unwrap().len() as u64;
    assert!(
        committed >= 200,
        "the chunks before the kill are committed: {committed} links"
    );
    let (code, out, err) = code_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains(" 0 failed"), "{out}");
    assert_eq!(users(&server), want_users, "every user once");
    // The rerun plans create-or-match only for what no committed chunk linked.
    let planned: u64 = out
        .split("planned create ")
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(planned, creates - committed, "committed work is not redone: {out}");
    let links = rt.block_on(state.links("hoxhunt")).unwrap();
    assert_eq!(links.len() as u64, creates, "every object linked once");
    let mut targets: Vec<&str> = links.iter().map(|l| l.target_id.as_str()).collect();
    targets.sort_unstable();
    targets.dedup();
    assert_eq!(targets.len() as u64, creates, "no two objects share a target");
    let (code, out, _) = code_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert_eq!(code, Some(0));
    assert!(out.contains(" 0 requests"), "the next cycle has nothing to do: {out}");
}
