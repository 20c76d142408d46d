//! Seeding straight through the store: Entra-shaped users created many at a time, and groups
//! filled with existing users in batches of member adds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use scim_core::ports::{Backend, TenantId};
use scim_core::{ResourceKind, Timestamp, ops};
use scim_proto::PatchOperation;
use serde_json::{Value, json};

/// Member adds per store update while filling a group.
const MEMBER_BATCH: usize = 1000;

pub struct Seeder {
    pub store: Arc<dyn Backend>,
    pub tenant: TenantId,
    pub tenant_name: String,
    pub token: String,
    run: String,
    /// Ids of the users seeded so far, in creation order.
    pub ids: Vec<String>,
    /// (size, id) of the seeded groups; members are `ids[..size]`.
    pub groups: Vec<(usize, String)>,
}

pub fn now() -> Timestamp {
    Timestamp::new(time::OffsetDateTime::now_utc())
}

pub fn user_name(run: &str, i: usize) -> String {
    format!("scale{i}.{run}@contoso.example")
}

/// A user as Entra creates it: userName, externalId, name, emails, active, department.
fn user_body(run: &str, i: usize) -> Value {
    let name = user_name(run, i);
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": format!("ext-{i}-{run}"),
        "userName": name,
        "active": "True",
        "displayName": format!("Scale User {i}"),
        "name": {"formatted": format!("Scale User {i}"), "familyName": "User", "givenName": format!("Scale{i}")},
        "emails": [{"primary": true, "type": "work", "value": name}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": format!("Dept{}", i % 50)}
    })
}

impl Seeder {
    /// Creates a fresh tenant (named after the run, so a rerun on one database never
    /// collides) and a token for it.
    pub async fn new(store: Arc<dyn Backend>, run: &str) -> anyhow::Result<Seeder> {
        let tenant_name = format!("scale-{run}");
        let t = store
            .create_tenant(&tenant_name, now())
            .await
            .context("create tenant")?;
        let token = store.issue_token(t.id, None, now()).await.context("issue token")?;
        Ok(Seeder {
            store,
            tenant: t.id,
            tenant_name,
            token: token.token,
            run: run.to_string(),
            ids: Vec::new(),
            groups: Vec::new(),
        })
    }

    pub fn run(&self) -> &str {
        &self.run
    }

    /// Seeds users until the tenant has `target`, `concurrency` creates in flight. Returns
    /// the users created and the time it took.
    pub async fn users_upto(&mut self, target: usize, concurrency: usize) -> anyhow::Result<(usize, Duration)> {
        let from = self.ids.len();
        if target <= from {
            return Ok((0, Duration::ZERO));
        }
        let new_ids: Arc<Vec<String>> = Arc::new((from..target).map(|_| self.store.new_id()).collect());
        let next = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..concurrency.max(1) {
            let (store, ids, next, done) = (self.store.clone(), new_ids.clone(), next.clone(), done.clone());
            let (tenant, run) = (self.tenant, self.run.clone());
            workers.push(tokio::spawn(async move {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= ids.len() {
                        return anyhow::Ok(());
                    }
                    let (prepared, members) =
                        ops::prepare_create(ResourceKind::User, &user_body(&run, from + k), &ids[k])?;
                    store
                        .create(tenant, ResourceKind::User, prepared, members, now())
                        .await
                        .with_context(|| format!("create user {}", from + k))?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        let total = target - from;
        let progress = {
            let done = done.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    let d = done.load(Ordering::Relaxed);
                    let rate = d as f64 / started.elapsed().as_secs_f64();
                    eprintln!("  seeding users: {}/{target} ({rate:.0}/s)", from + d);
                }
            })
        };
        let mut result = Ok(());
        for w in workers {
            match w.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => result = Err(e),
                Err(e) => result = Err(e.into()),
            }
        }
        progress.abort();
        result?;
        let took = started.elapsed();
        self.ids.extend(new_ids.iter().cloned());
        Ok((total, took))
    }

    /// Creates a group whose members are the first `size` users, adding them in batches.
    pub async fn group(&mut self, size: usize) -> anyhow::Result<Duration> {
        anyhow::ensure!(size <= self.ids.len(), "a group of {size} needs that many users");
        let started = Instant::now();
        let gid = self.store.new_id();
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": format!("scale-group-{size}-{}", self.run)
        });
        let (prepared, members) = ops::prepare_create(ResourceKind::Group, &body, &gid)?;
        self.store
            .create(self.tenant, ResourceKind::Group, prepared, members, now())
            .await
            .context("create group")?;
        let batches: Vec<Vec<Value>> = self.ids[..size]
            .chunks(MEMBER_BATCH)
            .map(|c| c.iter().map(|id| json!({"value": id})).collect())
            .collect();
        let batches = Arc::new(std::sync::Mutex::new(batches.into_iter().enumerate()));
        let mut workers = Vec::new();
        // A few updates in flight: they queue on the group's row, but the next one is ready
        // when the last commits (and SQLite's writer commits several at once).
        for _ in 0..4 {
            let (store, batches, gid, tenant) = (self.store.clone(), batches.clone(), gid.clone(), self.tenant);
            workers.push(tokio::spawn(async move {
                loop {
                    let Some((i, value)) = batches.lock().ok().and_then(|mut b| b.next()) else {
                        return anyhow::Ok(());
                    };
                    let op = PatchOperation {
                        op: "add".into(),
                        path: Some("members".into()),
                        value: Some(Value::Array(value)),
                    };
                    let f = ops::patch_fn(ResourceKind::Group, vec![op]);
                    store
                        .update(tenant, ResourceKind::Group, &gid, None, now(), f)
                        .await
                        .with_context(|| format!("group of {size}: member batch {i}"))?;
                    if (i + 1) % 100 == 0 {
                        eprintln!("  seeding group of {size}: {} members", (i + 1) * MEMBER_BATCH);
                    }
                }
            }));
        }
        for w in workers {
            w.await??;
        }
        self.groups.push((size, gid));
        Ok(started.elapsed())
    }
}
