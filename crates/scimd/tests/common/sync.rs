//! Helpers of the `scimd sync` CLI tests: run the binary in a folder, start `scimd serve`,
//! count its users, write the Hoxhunt example job.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

fn scimd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scimd"))
}

/// `scimd ARGS` in `dir` with `env` set.
pub fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
    let mut cmd = scimd();
    cmd.current_dir(dir).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

pub fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let out = command(dir, args, env).output().expect("run scimd");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `scimd ARGS` in `dir`: its exit code, stdout and stderr.
pub fn code_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = command(dir, args, env).output().expect("run scimd");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `scimd`, reads one line of its output and closes the pipe, as `| head -1` does.
pub fn first_line_then_close(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    use std::io::{BufRead, Read};
    let mut child = command(dir, args, env)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run scimd");
    let mut first = String::new();
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    out.read_line(&mut first).expect("one line");
    drop(out);
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    (child.wait().expect("exit").success(), first, err)
}

pub struct Server {
    pub child: Child,
    pub url: String,
    pub token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve(dir: &Path) -> Server {
    let db = format!("sqlite://{}/server.db", dir.display());
    let mut child = scimd()
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
        // Engines at full speed and pollers beside them: not a throttling test.
        .env("SCIMD_TENANT_RATE", "1000000/1000000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let (mut url, mut token) = (String::new(), String::new());
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(u) = line.trim().strip_prefix("SCIM base URL:") {
            url = u.trim().to_string();
        }
        if let Some(t) = line.trim().strip_prefix("Secret token:") {
            token = t.trim().to_string();
        }
        if line.starts_with("scimd listening on") {
            break;
        }
    }
    assert!(!url.is_empty() && !token.is_empty());
    Server { child, url, token }
}

/// How many users the server's default tenant holds.
pub fn users(s: &Server) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r: Value = reqwest::Client::new()
            .get(format!("{}/Users?count=0", s.url))
            .bearer_auth(&s.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["totalResults"].as_u64().unwrap()
    })
}

pub fn write_job(dir: &Path, url: &str) {
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/hoxhunt.toml")).unwrap();
    let job = example.replace("https://hoxhunt.example/scim/v2/YOUR-ORGANIZATION", url);
    std::fs::write(dir.join("job.toml"), job).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/sample-directory.json"),
        dir.join("sample-directory.json"),
    )
    .unwrap();
}
