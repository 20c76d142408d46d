//! A job from a TOML text, run against a real scimd target (`FaultyTarget`), with its
//! source opened by the catalog as `scimd sync` opens it.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use scim_client::{ClientOptions, Endpoint, ScimClient};
use serde_json::Value;
use sync_engine::EngineError;
use sync_engine::config::JobConfig;
use sync_engine::cycle::{CycleOptions, CycleReport, Job, Runtime, run_cycle};
use sync_engine::execute::{ExecConfig, Executor, NoProgress};
use sync_engine::source::SourceCatalog;
use sync_testkit::FaultyTarget;
use time::OffsetDateTime;
use time::macros::datetime;

pub const NOW: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

pub struct Rig {
    pub target: FaultyTarget,
    pub client: ScimClient,
    pub job: Job,
    pub rt: Runtime,
    pub dir: tempfile::TempDir,
    n: std::sync::atomic::AtomicU64,
}

impl Rig {
    /// `job` is the job file with `{TARGET_URL}` and `{TARGET_TOKEN}` to fill in.
    pub async fn new(job: &str) -> Rig {
        let target = FaultyTarget::start().await;
        let text = job
            .replace("{TARGET_URL}", &target.base_url)
            .replace("{TARGET_TOKEN}", &target.token);
        let cfg = JobConfig::parse(&text).unwrap();
        sync_sources::validate(&cfg).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let source = sync_sources::Catalog.open(&cfg, dir.path()).unwrap();
        let job = Job::from_config(cfg, dir.path()).unwrap();
        let client = ScimClient::new(&target.base_url, &target.token, ClientOptions::default()).unwrap();
        let rt = Runtime {
            source,
            executor: Arc::new(Executor {
                client: client.clone(),
                cfg: ExecConfig {
                    backoff: Duration::from_millis(10),
                    ..Default::default()
                },
            }),
            state: scim_store::open(&format!("sqlite://{}/s.db", dir.path().display()), &Default::default())
                .await
                .unwrap(),
            notify: Default::default(),
            policy: Default::default(),
            stop: Default::default(),
            worker: "e2e-host:1".into(),
        };
        Rig {
            target,
            client,
            job,
            rt,
            dir,
            n: Default::default(),
        }
    }

    pub async fn try_cycle(&self, opts: CycleOptions) -> Result<CycleReport, EngineError> {
        let mut rng = || self.n.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 2;
        run_cycle(&self.job, &self.rt, NOW, opts, &NoProgress, &mut rng).await
    }

    /// A cycle that must succeed without failed actions.
    pub async fn cycle(&self) -> CycleReport {
        let r = self.try_cycle(CycleOptions::default()).await.unwrap();
        assert_eq!(r.applied.failure, 0, "{r:#?}");
        r
    }

    /// The target's users by userName.
    pub async fn users(&self) -> BTreeMap<String, Value> {
        let l = self.client.search(Endpoint::Users, None, None, 1, 1000).await.unwrap();
        l.resources
            .into_iter()
            .map(|u| (u["userName"].as_str().unwrap().to_string(), u))
            .collect()
    }

    /// The userNames of a target group's members.
    pub async fn members(&self, group: &str) -> Vec<String> {
        let filter = format!("displayName eq \"{group}\"");
        let g = self
            .client
            .search(Endpoint::Groups, Some(&filter), None, 1, 1)
            .await
            .unwrap();
        let Some(g) = g.resources.first() else {
            return Vec::new();
        };
        let users = self.users().await;
        let mut out: Vec<String> = g["members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| {
                let id = m["value"].as_str()?;
                users.iter().find(|(_, u)| u["id"] == id).map(|(n, _)| n.clone())
            })
            .collect();
        out.sort();
        out
    }

    /// The target's writes since the last `clear_requests`, as `METHOD Users|Groups`, sorted.
    pub fn writes(&self) -> Vec<String> {
        let mut w: Vec<String> = self
            .target
            .writes()
            .iter()
            .map(|r| {
                let kind = if r.path_and_query.contains("/Groups") {
                    "Groups"
                } else {
                    "Users"
                };
                format!("{} {kind}", r.method)
            })
            .collect();
        w.sort();
        w
    }
}
