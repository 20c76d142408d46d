//! `scimd sync serve` as an operator runs it: real service processes sharing one state
//! database (SQLite, and PostgreSQL when `SCIMD_TEST_PG_URL` is set) with three job files
//! against a real `scimd serve`; each job's cycles never overlap, a killed process's jobs
//! are taken over, files added and removed are picked up, and SIGTERM ends cleanly.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Server, bootstrap_token, scimd};
use scim_core::ports::sync::{CycleRecord, SyncStateStore};
use serde_json::json;

/// A directory of `n` users whose ids and names start with `prefix`.
fn directory(dir: &Path, prefix: &str, n: usize) {
    let users: Vec<_> = (0..n)
        .map(|i| {
            json!({"id": format!("{prefix}-{i}"), "userPrincipalName": format!("{prefix}.{i}@contoso.test"),
                   "givenName": prefix, "surname": format!("N{i}"), "accountEnabled": true})
        })
        .collect();
    std::fs::write(dir.join(format!("{prefix}.json")), json!({"users": users}).to_string()).unwrap();
}

fn job_file(jobs: &Path, name: &str, target: &str) {
    directory(jobs, name, 15);
    let text = format!(
        r#"version = 1
[job]
name = "{name}"
interval = "1s"
[source]
type = "file"
path = "{name}.json"
[target]
url = "{target}"
token_env = "TARGET_TOKEN"
[scope]
mode = "all"
[safety]
deletion_threshold = 100
[[users.mappings]]
target = "userName"
source = "userPrincipalName"
matching = 1
[[users.mappings]]
target = "name.givenName"
source = "givenName"
"#
    );
    std::fs::write(jobs.join(format!("{name}.toml")), text).unwrap();
}

/// A `scimd sync serve` process whose stdout lines arrive on a channel.
struct Service {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Service {
    fn start(jobs: &Path, db: &str, token: &str) -> Service {
        let mut child = scimd()
            .args(["sync", "serve", "--jobs", jobs.to_str().unwrap(), "--database", db])
            .args(["--scan-every", "300ms", "--lease-ttl", "2s"])
            .env("TARGET_TOKEN", token)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn sync serve");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Service { child, lines }
    }

    /// Waits (up to a minute) for a line containing `want`.
    fn expect_line(&self, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(want) => return l,
                Ok(_) => {}
                Err(e) => panic!("no line with {want:?}: {e}"),
            }
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Polls the shared history until `cond` holds on it (up to a minute).
fn wait_for(
    rt: &tokio::runtime::Runtime,
    state: &dyn SyncStateStore,
    job: &str,
    cond: impl Fn(&[CycleRecord]) -> bool,
) -> Vec<CycleRecord> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let cycles = rt.block_on(state.cycles(job, 1000)).unwrap();
        if cond(&cycles) {
            return cycles;
        }
        assert!(
            Instant::now() < deadline,
            "job {job}: condition not met; history: {cycles:#?}"
        );
        std::thread::park_timeout(Duration::from_millis(100));
    }
}

fn assert_no_overlap(job: &str, cycles: &[CycleRecord]) {
    let mut c: Vec<&CycleRecord> = cycles.iter().collect();
    c.sort_by_key(|r| r.started);
    for w in c.windows(2) {
        assert!(
            w[1].started >= w[0].finished,
            "job {job}: cycle {} ({}, {} → {}) overlaps {} ({}, {} → {})",
            w[1].cycle_id,
            w[1].worker,
            w[1].started,
            w[1].finished,
            w[0].cycle_id,
            w[0].worker,
            w[0].started,
            w[0].finished
        );
    }
}

fn two_services_share_three_jobs(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&format!("sqlite://{}/target.db", dir.path().display()), &[]);
    let token = bootstrap_token(&server);
    let target = format!("http://{}/scim/v2/default", server.addr);
    let jobs = dir.path().join("jobs");
    std::fs::create_dir(&jobs).unwrap();
    for name in ["alpha", "beta", "gamma"] {
        job_file(&jobs, name, &target);
    }
    let rt = rt();
    let state = rt.block_on(scim_store::open(db, &Default::default())).unwrap();
    let a = Service::start(&jobs, db, &token);
    let mut b = Service::start(&jobs, db, &token);
    for name in ["alpha", "beta", "gamma"] {
        let cycles = wait_for(&rt, state.as_ref(), name, |c| c.len() >= 3);
        assert_no_overlap(name, &cycles);
        assert!(cycles.iter().all(|c| c.result == "succeeded"), "{cycles:#?}");
        assert_eq!(cycles.last().unwrap().kind, "initial");
    }

    // A dies without a word: B takes its jobs over once A's leases run out.
    drop(a);
    let killed_at = scim_core::Timestamp::new(time::OffsetDateTime::now_utc());
    for name in ["alpha", "beta", "gamma"] {
        let cycles = wait_for(&rt, state.as_ref(), name, |c| {
            c.iter().filter(|r| r.started > killed_at).count() >= 2
        });
        assert_no_overlap(name, &cycles);
        let after: Vec<&CycleRecord> = cycles.iter().filter(|r| r.started > killed_at).collect();
        let worker = &after[0].worker;
        assert!(after.iter().all(|r| &r.worker == worker), "only B runs now: {after:#?}");
    }

    // A file added is picked up; a file removed stops its job.
    job_file(&jobs, "delta", &target);
    b.expect_line("job delta: loaded");
    wait_for(&rt, state.as_ref(), "delta", |c| !c.is_empty());
    std::fs::remove_file(jobs.join("gamma.toml")).unwrap();
    b.expect_line("job gamma: file removed");
    // A gamma cycle that was running finishes (and gives up the lease after its record).
    let deadline = Instant::now() + Duration::from_secs(60);
    while rt.block_on(state.control("gamma")).unwrap().lease.is_some() {
        assert!(Instant::now() < deadline, "gamma's lease is never given up");
        std::thread::park_timeout(Duration::from_millis(100));
    }
    let frozen = rt.block_on(state.cycles("gamma", 1000)).unwrap().len();
    let seen = rt.block_on(state.cycles("alpha", 1000)).unwrap().len();
    wait_for(&rt, state.as_ref(), "alpha", |c| c.len() >= seen + 2);
    assert_eq!(
        rt.block_on(state.cycles("gamma", 1000)).unwrap().len(),
        frozen,
        "no cycles after removal"
    );

    // SIGTERM: running cycles finish, leases are given up, exit 0.
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &b.child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    b.expect_line("sync serve: stopped");
    assert!(b.child.wait().unwrap().success());
    for name in ["alpha", "beta", "delta"] {
        let ctl = rt.block_on(state.control(name)).unwrap();
        assert_eq!((ctl.lease, ctl.progress), (None, None), "{name}: nothing left behind");
    }
    // Every user of every job is on the target once.
    let (status, list) = common::get(&format!("{target}/Users?count=0"), &token);
    assert_eq!((status, list["totalResults"].as_u64()), (200, Some(60)), "{list}");
}

#[test]
fn on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    two_services_share_three_jobs(&format!("sqlite://{}/state.db", dir.path().display()));
}

#[test]
fn on_postgres() {
    let rt = rt();
    let Some(pg) = rt.block_on(scim_store::testing::PgScratch::new()) else {
        eprintln!("SCIMD_TEST_PG_URL is not set; not run");
        return;
    };
    two_services_share_three_jobs(&pg.url);
}
