//! Measuring a real `scimd serve`: the child process, CPU time from `/proc` (the server's,
//! and for PostgreSQL the database's), and the timed request phases.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::proc_stat;

/// `scimd serve` on an ephemeral port, stopped (SIGTERM) on drop.
pub struct Server {
    child: Child,
    pub addr: String,
}

impl Server {
    pub fn start(scimd: &Path, database: &str) -> anyhow::Result<Server> {
        let mut child = Command::new(scimd)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--no-bootstrap",
                "--database",
                database,
            ])
            .stdout(Stdio::piped())
            .env("SCIMD_LOG", "warn")
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("start {}", scimd.display()))?;
        let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
        let mut addr = None;
        for line in lines.by_ref() {
            let line = line?;
            if let Some(rest) = line.strip_prefix("scimd listening on ") {
                addr = rest.split_whitespace().next().map(str::to_string);
                break;
            }
        }
        // Keep draining stdout so a late line never meets a closed pipe.
        std::thread::spawn(move || for _ in lines {});
        match addr {
            Some(addr) => Ok(Server { child, addr }),
            None => {
                let _ = child.kill();
                bail!("scimd serve exited without printing its address")
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill has no memory-safety preconditions; the pid is our own child's.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM)
        };
        let _ = self.child.wait();
    }
}

/// CPU seconds at one moment: the server's (whole process from `/proc/PID/stat`, in clock
/// ticks, and per thread from `schedstat`, in nanoseconds), and per database process.
pub struct Snap {
    server: f64,
    threads: HashMap<u32, f64>,
    db: HashMap<u32, f64>,
}

/// Run time of a task from its `schedstat` (nanoseconds, unlike the 10 ms ticks of `stat`).
fn sched_seconds(path: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(text.split_whitespace().next()?.parse::<f64>().ok()? / 1e9)
}

/// Run time of every live thread of `pid`.
fn thread_seconds(pid: u32) -> HashMap<u32, f64> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in dir.flatten() {
        if let (Ok(tid), Some(s)) = (
            t.file_name().to_string_lossy().parse::<u32>(),
            sched_seconds(&t.path().join("schedstat")),
        ) {
            out.insert(tid, s);
        }
    }
    out
}

/// The growth of per-task times; a task that appeared in between counts from zero.
fn growth(a: &HashMap<u32, f64>, b: &HashMap<u32, f64>) -> f64 {
    b.iter().map(|(id, t)| t - a.get(id).copied().unwrap_or(0.0)).sum()
}

/// Reads the server's CPU time and, for PostgreSQL, that of the `postgres` processes that
/// work for it: the backends of the server's own connections and the shared auxiliary
/// processes (postmaster, WAL writer, checkpointer, autovacuum). Backends of other clients
/// (tests running on the same database server) are left out.
pub struct Meter {
    pid: u32,
    pg_port: Option<u16>,
}

impl Meter {
    pub fn new(pid: u32, pg_port: Option<u16>) -> Meter {
        Meter { pid, pg_port }
    }

    pub fn has_db(&self) -> bool {
        self.pg_port.is_some()
    }

    pub fn snap(&self) -> Snap {
        let server = proc_stat::cpu_seconds(self.pid).unwrap_or(0.0);
        let threads = thread_seconds(self.pid);
        let db = match self.pg_port {
            Some(port) => postgres_cpu(self.pid, port),
            None => HashMap::new(),
        };
        Snap { server, threads, db }
    }

    /// (server, database) CPU seconds between two snapshots. The server's comes from its
    /// threads' nanosecond counters, unless threads that exited in between (idle blocking
    /// threads do) took visibly more, which the process's tick counter still holds. A
    /// database process that exited in between is lost (the server's pool keeps its
    /// connections, so that is rare).
    pub fn delta(&self, a: &Snap, b: &Snap) -> (f64, f64) {
        let fine = growth(&a.threads, &b.threads);
        let coarse = b.server - a.server;
        let server = if coarse - fine > 0.02 { coarse } else { fine };
        (server, growth(&a.db, &b.db))
    }
}

fn postgres_cpu(server_pid: u32, pg_port: u16) -> HashMap<u32, f64> {
    let ports = client_ports(server_pid, pg_port);
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if !std::fs::read_to_string(entry.path().join("comm")).is_ok_and(|c| c.trim() == "postgres") {
            continue;
        }
        let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd);
        // Client backends name their peer: "postgres: 15/main: user db 127.0.0.1(54321) idle".
        let ours = match cmd.rfind('(') {
            None => true,
            Some(i) => cmd[i + 1..]
                .split(')')
                .next()
                .and_then(|p| p.parse::<u16>().ok())
                .is_some_and(|p| ports.contains(&p)),
        };
        let t = sched_seconds(&entry.path().join("schedstat")).or_else(|| proc_stat::cpu_seconds(pid));
        if ours && let Some(t) = t {
            out.insert(pid, t);
        }
    }
    out
}

/// Local ports of `pid`'s TCP connections to `remote_port`.
fn client_ports(pid: u32, remote_port: u16) -> HashSet<u16> {
    let mut inodes = HashSet::new();
    if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for fd in fds.flatten() {
            if let Ok(t) = std::fs::read_link(fd.path()) {
                let t = t.to_string_lossy().into_owned();
                if let Some(n) = t.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
                    inodes.insert(n.to_string());
                }
            }
        }
    }
    let port = |col: &str| col.rsplit(':').next().and_then(|h| u16::from_str_radix(h, 16).ok());
    let mut out = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() >= 10 && port(cols[2]) == Some(remote_port) && inodes.contains(cols[9]) {
                out.extend(port(cols[1]));
            }
        }
    }
    out
}

/// Latencies and CPU of one measured row, gathered over one or more segments.
#[derive(Default)]
pub struct Acc {
    lat_us: Vec<u64>,
    cpu_s: f64,
    db_s: f64,
}

impl Acc {
    pub fn record(&mut self, t: Duration) {
        self.lat_us.push(t.as_micros() as u64);
    }

    pub fn cpu(&mut self, meter: &Meter, a: &Snap, b: &Snap) {
        let (s, d) = meter.delta(a, b);
        self.cpu_s += s;
        self.db_s += d;
    }

    pub fn finish(mut self, meter: &Meter) -> Stat {
        self.lat_us.sort_unstable();
        let n = self.lat_us.len();
        let pct = |p: f64| match n {
            0 => f64::NAN,
            _ => self.lat_us[((n as f64 - 1.0) * p).round() as usize] as f64 / 1000.0,
        };
        let per = |s: f64| if n > 0 { s * 1000.0 / n as f64 } else { f64::NAN };
        Stat {
            n,
            p50: pct(0.5),
            p99: pct(0.99),
            cpu_ms: per(self.cpu_s),
            db_cpu_ms: meter.has_db().then(|| per(self.db_s)),
        }
    }
}

/// One row at one level: latency percentiles (ms) and CPU per request (ms).
#[derive(Debug, Clone, Copy)]
pub struct Stat {
    pub n: usize,
    pub p50: f64,
    pub p99: f64,
    pub cpu_ms: f64,
    pub db_cpu_ms: Option<f64>,
}

pub struct Http {
    client: reqwest::Client,
    base: String,
    auth: String,
}

impl Http {
    pub fn new(addr: &str, tenant: &str, token: &str, concurrency: usize) -> anyhow::Result<Http> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency * 2)
            .timeout(Duration::from_secs(300))
            .build()?;
        Ok(Http {
            client,
            base: format!("http://{addr}/scim/v2/{tenant}"),
            auth: format!("Bearer {token}"),
        })
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<String>,
    ) -> anyhow::Result<(u16, String)> {
        let mut rb = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("authorization", &self.auth);
        if let Some(b) = body {
            rb = rb.header("content-type", "application/scim+json").body(b);
        }
        let resp = rb.send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await?))
    }

    /// GET that must answer 200 with JSON.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let (status, body) = self.send(reqwest::Method::GET, path, None).await?;
        if status != 200 {
            bail!("GET {path}: HTTP {status} {}", &body[..body.len().min(300)]);
        }
        Ok(serde_json::from_str(&body)?)
    }
}

/// Runs `total` requests `make(i)` at `concurrency`, timing each.
pub async fn concurrent<F, Fut>(meter: &Meter, total: usize, concurrency: usize, make: F) -> anyhow::Result<Stat>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let before = meter.snap();
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (make, next) = (make.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(lat);
                }
                let t = Instant::now();
                make(i).await?;
                lat.push(t.elapsed());
            }
        }));
    }
    let mut acc = Acc::default();
    for t in tasks {
        for l in t.await?? {
            acc.record(l);
        }
    }
    let after = meter.snap();
    acc.cpu(meter, &before, &after);
    Ok(acc.finish(meter))
}

/// A tiny deterministic generator for picking users (xorshift64*).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as usize % n.max(1)
    }
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
