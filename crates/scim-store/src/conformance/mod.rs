//! The store conformance suite: what every adapter of the `scim-core` ports must do.
//!
//! ```text
//! scim_store::conformance::run(move || { let url = url.clone(); async move { open(&url).await } }).await;
//! ```
//!
//! `open` must return a new handle on the *same* database each time it is called: most cases
//! use one handle, and the replica cases use two, as two `scimd serve` processes would. Every
//! case makes its own uniquely named tenants and jobs, so cases never see each other's data
//! and the suite can run on a database that holds other data. All cases run, each in its own
//! task; `run` then panics with the list of failed cases.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test suite: a failed unwrap is a failed case

/// `CASES` of a module: its async case functions, boxed.
macro_rules! cases {
    ($($f:ident),* $(,)?) => {
        pub(super) const CASES: &[(&str, super::Case)] = &[$((stringify!($f), |c| Box::pin($f(c)))),*];
    };
}

mod audit;
mod feed;
mod filters;
mod members;
mod requests;
mod resources;
mod sync_members;
mod sync_state;
mod tenants;
mod webhooks;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use scim_core::ops::{patch_fn, prepare_create};
use scim_core::patch::parse_patch_request;
use scim_core::ports::{Backend, TenantId};
use scim_core::query::ListParams;
use scim_core::{CoreError, ResourceKind, Timestamp};
use serde_json::{Value, json};

/// Opens a new handle on the database under test.
pub type Opener = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Arc<dyn Backend>> + Send>> + Send + Sync>;

type Case = fn(Ctx) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// One case's view: a handle, a way to open another, and unique names.
#[derive(Clone)]
pub struct Ctx {
    pub db: Arc<dyn Backend>,
    open: Opener,
    prefix: String,
}

static RUN: AtomicU64 = AtomicU64::new(0);

impl Ctx {
    /// Another handle on the same database (a second replica).
    pub async fn reopen(&self) -> Arc<dyn Backend> {
        (self.open)().await
    }

    /// A name unique to this case and run, usable as a tenant or job name.
    pub fn name(&self, base: &str) -> String {
        format!("{}-{base}", self.prefix)
    }

    pub async fn tenant(&self, base: &str) -> TenantId {
        self.db
            .create_tenant(&self.name(base), now())
            .await
            .expect("create tenant")
            .id
    }

    pub async fn create(&self, t: TenantId, kind: ResourceKind, body: Value) -> Result<String, CoreError> {
        create_on(&self.db, t, kind, body).await
    }

    pub async fn patch(&self, t: TenantId, kind: ResourceKind, id: &str, ops: Value) -> Result<i64, CoreError> {
        let ops = parse_patch_request(&json!({ "Operations": ops }))?;
        self.db
            .update(t, kind, id, None, now(), patch_fn(kind, ops))
            .await
            .map(|r| r.version)
    }

    /// Ids matching a filter (all of them, in one page), sorted; checks `total` too.
    pub async fn ids(&self, t: TenantId, kind: ResourceKind, filter: &str) -> Vec<String> {
        let params = ListParams {
            filter: Some(filter.to_string()),
            count: Some("1000".into()),
            ..Default::default()
        };
        let (q, _) = params.to_query(kind).expect("filter resolves");
        let page = self.db.query(t, kind, q).await.expect("query");
        let mut out: Vec<String> = page.items.into_iter().map(|r| r.id).collect();
        assert_eq!(page.total as usize, out.len(), "total matches items for {filter}");
        out.sort();
        out
    }
}

pub async fn create_on(
    db: &Arc<dyn Backend>,
    t: TenantId,
    kind: ResourceKind,
    body: Value,
) -> Result<String, CoreError> {
    let id = db.new_id();
    let (p, members) = prepare_create(kind, &body, &id)?;
    db.create(t, kind, p, members, now()).await.map(|r| r.id)
}

/// The suite's clock: a fixed instant, so expiry and escrow cases are exact.
pub fn now() -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00.000000Z").expect("valid")
}

pub fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).expect("valid timestamp")
}

fn cases() -> Vec<(&'static str, Case)> {
    let mut all: Vec<(&'static str, Case)> = Vec::new();
    all.extend(resources::CASES);
    all.extend(filters::CASES);
    all.extend(members::CASES);
    all.extend(feed::CASES);
    all.extend(tenants::CASES);
    all.extend(sync_state::CASES);
    all.extend(sync_members::CASES);
    all.extend(webhooks::CASES);
    all.extend(requests::CASES);
    all.extend(audit::CASES);
    all
}

/// Runs every case against the database `open` reaches; panics listing the failures.
pub async fn run<F, Fut>(open: F)
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Arc<dyn Backend>> + Send + 'static,
{
    let open: Opener = Arc::new(move || Box::pin(open()));
    let db = open().await;
    let run_id = format!(
        "c{}{:x}",
        RUN.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() % 0xff_ffff)
            .unwrap_or(0)
    );
    let mut failed = Vec::new();
    let all = cases();
    let total = all.len();
    for (i, (name, case)) in all.into_iter().enumerate() {
        let ctx = Ctx {
            db: db.clone(),
            open: open.clone(),
            prefix: format!("{run_id}-{i}"),
        };
        if let Err(e) = tokio::spawn(case(ctx)).await {
            eprintln!("conformance case {name} failed: {e}");
            failed.push(name);
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {total} conformance cases failed: {failed:?}",
        failed.len()
    );
}
