//! Helpers shared by the CLI test binaries: run `scimd`, start `scimd serve`, speak HTTP.

#![allow(dead_code)]

pub mod sync;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub fn scimd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scimd"))
}

pub fn run(args: &[&str]) -> (bool, String, String) {
    let out = scimd().args(args).output().expect("run scimd");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub struct Server {
    pub child: Child,
    pub addr: String,
    pub stdout_lines: Vec<String>,
}

impl Server {
    /// Starts `scimd serve` on an ephemeral port; returns once it prints its address.
    pub fn start(db: &str, extra: &[&str]) -> Server {
        let mut child = scimd()
            .args(["serve", "--listen", "127.0.0.1:0", "--database", db])
            // These tests drive sync and the CLI, not throttling: room for pollers and
            // engines at full speed (a `--tenant-rate` in `extra` wins over this).
            .env("SCIMD_TENANT_RATE", "1000000/1000000")
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn serve");
        let lines = read_until_listening(child.stdout.take().expect("stdout"));
        let addr = lines
            .iter()
            .find_map(|l| l.strip_prefix("scimd listening on "))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default()
            .to_string();
        assert!(!addr.is_empty(), "server printed no address: {lines:?}");
        Server {
            child,
            addr,
            stdout_lines: lines,
        }
    }

    /// Stops a server process with SIGTERM and waits for it (its output is then complete).
    pub fn stop(child: &mut Child) {
        let ok = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
        let _ = child.wait();
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
    }
}

/// What `scimd serve` prints up to and including its "scimd listening on" line.
pub fn read_until_listening(stdout: std::process::ChildStdout) -> Vec<String> {
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        let done = line.starts_with("scimd listening on ");
        lines.push(line);
        if done {
            break;
        }
    }
    lines
}

/// The text after `label` on the first line that has it (`SCIM base URL:`, `Secret token:`).
pub fn line_value(lines: &[String], label: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.trim().strip_prefix(label).map(|t| t.trim().to_string()))
        .unwrap_or_else(|| panic!("no {label:?} in {lines:?}"))
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn get(url: &str, token: &str) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    })
}

pub fn post(url: &str, token: &str, body: &Value) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
            .body(body.to_string())
            .send()
            .await
            .expect("post");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    })
}

/// Sends any request with a JSON body; returns the status and the JSON answer.
pub async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> (u16, Value) {
    let mut rb = client.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        rb = rb.header("content-type", "application/scim+json").body(b.to_string());
    }
    if let Some(v) = if_match {
        rb = rb.header("if-match", v);
    }
    let r = rb.send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The bootstrap token a fresh `serve` printed.
pub fn bootstrap_token(server: &Server) -> String {
    server
        .stdout_lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("Secret token:").map(|t| t.trim().to_string()))
        .expect("bootstrap prints a token")
}
