//! A fake Entra tenant (sync-testkit's, real HTTP, Graph's shapes) holding the demo's sample
//! directory, for the Graph source's memory and speed benchmark (`scripts/sync-graph.sh`).
//!
//! ```text
//! fake-graph --users 100000 --groups 1000
//! ```
//! Prints `login_url`, `graph_url`, `tenant_id`, `client_id`, `client_secret` and
//! `service_principal_id` lines, then `ready`. Reads commands on stdin:
//! `change N` gives every Nth user a new department (the next delta round returns them).

use std::io::BufRead;

use clap::Parser;
use serde_json::{Value, json};
use sync_engine::model::ObjectKind;
use sync_engine::source::sample::sample_directory;
use sync_testkit::graph::FakeGraph;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    #[arg(long, default_value_t = 1_000)]
    groups: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let g = FakeGraph::start(&[("User", "User")]).await;
    // Graph sends a large group's members in long runs.
    g.set_member_chunk(1000);
    let objects = sample_directory(args.users, args.groups, args.seed);
    let mut user_ids = Vec::with_capacity(args.users);
    g.edit(|d| {
        for o in &objects {
            match o.kind {
                ObjectKind::User => {
                    let mut attrs = o.attrs.clone();
                    attrs.remove("id");
                    d.put_user(&o.id, attrs);
                    user_ids.push(o.id.clone());
                }
                ObjectKind::Group => {
                    let name = o.attrs.get("displayName").and_then(Value::as_str).unwrap_or(&o.id);
                    let members: Vec<&str> = o.members.iter().map(String::as_str).collect();
                    d.put_group(&o.id, name, &members);
                }
            }
        }
    });
    drop(objects);
    println!("login_url {}", g.login_url);
    println!("graph_url {}", g.graph_url);
    println!("tenant_id {}", g.tenant_id);
    println!("client_id {}", g.client_id);
    println!("client_secret {}", g.client_secret);
    println!("service_principal_id {}", g.service_principal_id);
    println!("ready");
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(4);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    let mut round = 0;
    while let Some(line) = rx.recv().await {
        if let Some(n) = line
            .trim()
            .strip_prefix("change ")
            .and_then(|n| n.trim().parse::<usize>().ok())
        {
            round += 1;
            let changed = g.edit(|d| {
                let mut c = 0;
                for id in user_ids.iter().step_by(n.max(1)) {
                    d.set_user_attr(id, "department", json!(format!("Changed {round}")));
                    c += 1;
                }
                c
            });
            println!("changed {changed}");
        }
    }
    // stdin closed: keep serving until killed.
    std::future::pending::<()>().await;
    Ok(())
}
