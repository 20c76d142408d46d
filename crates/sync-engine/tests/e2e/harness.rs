//! The end-to-end harness: a real scimd (behind `sync_testkit::FaultyTarget`) as the target,
//! a `MemorySource` directory, a job built from TOML (the Hoxhunt users mapping plus a
//! groups mapping), SQLite state in a temporary directory, and a runtime with short
//! back-offs. Time is an input: every cycle runs at [`NOW`] unless a test says otherwise.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use scim_client::{ClientOptions, Endpoint, ScimClient};
use scim_core::ports::sync::{Escrow, JobStatus, Link, LogQuery, LogRecord, SyncStateStore};
use serde_json::{Value as Json, json};
use sync_engine::EngineError;
use sync_engine::config::JobConfig;
use sync_engine::cycle::{CycleOptions, CycleReport, Job, Runtime, run_cycle};
use sync_engine::execute::{ExecConfig, Executor, NoProgress};
use sync_engine::model::{ObjectKind, SourceObject};
use sync_engine::notify::Notifier;
use sync_engine::source::MemorySource;
use sync_testkit::{FaultyTarget, Recorded};
use time::OffsetDateTime;
use time::macros::datetime;

pub const NOW: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);
pub const JOB: &str = "e2e";
pub const ASSIGNED: &str = "Security Awareness";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Knobs a test may turn; the defaults suit most tests.
pub struct Setup {
    /// Lines for the job's `[safety]` table.
    pub safety: String,
    /// The users mapping's delete action.
    pub user_delete: bool,
    /// `[notify.webhook]`: url and Standard Webhooks secret.
    pub webhook: Option<(String, String)>,
    /// The SCIM client's per-request timeout.
    pub timeout: Duration,
    /// `[target] bulk = …`; `None` leaves the key out (the default, `auto`).
    pub bulk: Option<&'static str>,
    /// The executor's throttle budget per action.
    pub max_throttle_wait: Duration,
    /// Bulk requests in flight (one by default, so that requests go in a known order).
    pub bulk_concurrency: usize,
    pub directory: Vec<SourceObject>,
    /// More `[[users.mappings]]` tables, appended to the Hoxhunt ones.
    pub user_mappings: String,
    /// More TOML after `[notify.webhook]` (`[notify]` keys, `[notify.email]`).
    pub notify: String,
    /// Actions per committed chunk: small by default, so that every test commits several.
    pub chunk: usize,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            safety: String::new(),
            user_delete: true,
            webhook: None,
            timeout: Duration::from_secs(10),
            bulk: None,
            max_throttle_wait: Duration::from_secs(120),
            bulk_concurrency: 1,
            directory: directory(),
            user_mappings: String::new(),
            notify: String::new(),
            chunk: 3,
        }
    }
}

fn job_toml(url: &str, token: &str, setup: &Setup) -> String {
    let notify = match &setup.webhook {
        Some((url, secret)) => format!("[notify.webhook]\nurl = \"{url}\"\nsecret = \"{secret}\"\n"),
        None => String::new(),
    } + &setup.notify;
    format!(
        r#"
version = 1
[job]
name = "{JOB}"
concurrency = 4
[source]
type = "file"
path = "unused.json"
[target]
url = "{url}"
token = "{token}"
{bulk}
[scope]
mode = "assigned"
groups = ["{ASSIGNED}", "Team Red"]
[safety]
{safety}
{notify}
[users]
actions = {{ create = true, update = true, delete = {delete} }}
[[users.mappings]]
target = "userName"
source = "userPrincipalName"
matching = 1
[[users.mappings]]
target = 'emails[type eq "work"].value'
source = "mail"
[[users.mappings]]
target = "active"
type = "expression"
expression = 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'
[[users.mappings]]
target = "name.givenName"
source = "givenName"
[[users.mappings]]
target = "name.familyName"
source = "surname"
[[users.mappings]]
target = "{ENTERPRISE}:department"
source = "department"
[[users.mappings]]
target = "{ENTERPRISE}:division"
source = "officeLocation"
[[users.mappings]]
target = 'addresses[type eq "work"].country'
source = "country"
[[users.mappings]]
target = "preferredLanguage"
source = "preferredLanguage"
[[users.mappings]]
target = "{ENTERPRISE}:manager"
source = "manager"
{user_mappings}
[groups]
[[groups.mappings]]
target = "displayName"
source = "displayName"
matching = 1
[[groups.mappings]]
target = "externalId"
source = "id"
"#,
        safety = setup.safety,
        delete = setup.user_delete,
        user_mappings = setup.user_mappings,
        bulk = setup.bulk.map(|b| format!("bulk = \"{b}\"")).unwrap_or_default(),
    )
}

/// A Graph-shaped user; `local` is the UPN's local part.
pub fn user(id: &str, local: &str, given: &str, surname: &str, dept: &str, manager: Option<&str>) -> SourceObject {
    let mut attrs = json!({
        "userPrincipalName": format!("{local}@contoso.test"),
        "mail": format!("{local}.mail@contoso.test"),
        "givenName": given,
        "surname": surname,
        "department": dept,
        "officeLocation": "Helsinki",
        "country": "FI",
        "preferredLanguage": "fi-FI",
        "accountEnabled": true,
    });
    if let Some(m) = manager {
        attrs["manager"] = Json::String(m.to_string());
    }
    SourceObject {
        kind: ObjectKind::User,
        id: id.to_string(),
        attrs: attrs.as_object().cloned().unwrap_or_default(),
        members: Vec::new(),
        app_roles: Vec::new(),
        deleted: false,
    }
}

pub fn group(id: &str, name: &str, members: &[&str]) -> SourceObject {
    SourceObject {
        kind: ObjectKind::Group,
        id: id.to_string(),
        attrs: json!({"displayName": name}).as_object().cloned().unwrap_or_default(),
        members: members.iter().map(|m| m.to_string()).collect(),
        app_roles: Vec::new(),
        deleted: false,
    }
}

/// Five assigned users (two reporting to Ada, one to Grace), one unassigned user, the
/// assigned group and "Team Red" (Alan and Grace).
pub fn directory() -> Vec<SourceObject> {
    vec![
        user("u-ada", "ada", "Ada", "Lovelace", "Engineering", None),
        user("u-alan", "alan", "Alan", "Turing", "Research", Some("u-ada")),
        user("u-grace", "grace", "Grace", "Hopper", "Engineering", Some("u-ada")),
        user("u-linus", "linus", "Linus", "Torvalds", "Kernel", None),
        user(
            "u-margaret",
            "margaret",
            "Margaret",
            "Hamilton",
            "Apollo",
            Some("u-grace"),
        ),
        user("u-out", "outsider", "Otto", "Outside", "Sales", None),
        group(
            "g-sa",
            ASSIGNED,
            &["u-ada", "u-alan", "u-grace", "u-linus", "u-margaret"],
        ),
        group("g-red", "Team Red", &["u-alan", "u-grace"]),
    ]
}

pub const ASSIGNED_USERS: usize = 5;

pub struct Harness {
    pub target: FaultyTarget,
    pub source: Arc<MemorySource>,
    pub job: Job,
    pub rt: Runtime,
    pub state: Arc<dyn SyncStateStore>,
    /// Reads the target back (through the recorder; reads are not writes).
    pub reader: ScimClient,
    rng: Mutex<u64>,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::with(Setup::default()).await
    }

    pub async fn with(setup: Setup) -> Harness {
        let target = FaultyTarget::start().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let cfg = JobConfig::parse(&job_toml(&target.base_url, &target.token, &setup)).expect("job TOML parses");
        let notify = Notifier::from_config(&cfg.notify, dir.path()).expect("notify config");
        let job = Job::from_config(cfg, dir.path()).expect("job compiles");
        let state = scim_store::open(
            &format!("sqlite://{}/state.db", dir.path().display()),
            &Default::default(),
        )
        .await
        .expect("open state");
        let opts = ClientOptions {
            timeout: setup.timeout,
            ..Default::default()
        };
        let client = ScimClient::new(&target.base_url, &target.token, opts).expect("client");
        let reader = ScimClient::new(&target.base_url, &target.token, ClientOptions::default()).expect("client");
        let source = Arc::new(MemorySource::new("directory", setup.directory));
        let rt = Runtime {
            source: Box::new(source.clone()),
            executor: Arc::new(Executor {
                client,
                cfg: ExecConfig {
                    concurrency: 4,
                    max_attempts: 3,
                    backoff: Duration::from_millis(10),
                    max_throttle_wait: setup.max_throttle_wait,
                    bulk_concurrency: Some(setup.bulk_concurrency),
                    default_retry_after: Duration::from_millis(200),
                    chunk: setup.chunk,
                },
            }),
            state: state.clone(),
            notify,
            policy: Default::default(),
            stop: Default::default(),
            worker: "e2e-host:1".into(),
        };
        Harness {
            target,
            source,
            job,
            rt,
            state,
            reader,
            rng: Mutex::new(7),
            _dir: dir,
        }
    }

    pub async fn run(&self, now: OffsetDateTime, opts: CycleOptions) -> Result<CycleReport, EngineError> {
        self.run_with(now, opts, &NoProgress).await
    }

    pub async fn run_with(
        &self,
        now: OffsetDateTime,
        opts: CycleOptions,
        progress: &dyn sync_engine::execute::Progress,
    ) -> Result<CycleReport, EngineError> {
        let seed = *self.rng.lock().unwrap();
        let mut n = seed;
        let mut rng = move || {
            n = n.wrapping_mul(6364136223846793005).wrapping_add(1);
            n
        };
        let r = run_cycle(&self.job, &self.rt, now, opts, progress, &mut rng).await;
        *self.rng.lock().unwrap() = seed + 1;
        r
    }

    /// A default cycle at [`NOW`] that must run without a single failed action.
    pub async fn cycle(&self) -> CycleReport {
        let report = self.run(NOW, CycleOptions::default()).await.expect("cycle runs");
        assert_eq!(
            report.applied.failure,
            0,
            "failed actions: {:#?}",
            self.failures(&report.cycle_id).await
        );
        report
    }

    /// [`Harness::cycle`] with the recorder cleared first: `writes()` are this cycle's.
    pub async fn cycle_fresh(&self) -> CycleReport {
        self.target.clear_requests();
        self.cycle().await
    }

    /// A default cycle at [`NOW`] that may have failed actions.
    pub async fn cycle_lenient(&self) -> CycleReport {
        self.target.clear_requests();
        self.run(NOW, CycleOptions::default()).await.expect("cycle runs")
    }

    async fn failures(&self, cycle_id: &str) -> Vec<LogRecord> {
        let logs = self.cycle_logs(cycle_id).await;
        logs.into_iter().filter(|l| l.status == "Failure").collect()
    }

    /// Changes the directory in place.
    pub fn edit(&self, f: impl FnOnce(&mut Vec<SourceObject>)) {
        let mut objs = self.source.objects.lock().unwrap().clone();
        f(&mut objs);
        self.source.set(objs);
    }

    pub async fn user(&self, local: &str) -> Option<Json> {
        let filter = format!("userName eq \"{local}@contoso.test\"");
        let list = self
            .reader
            .search(Endpoint::Users, Some(&filter), None, 1, 10)
            .await
            .expect("search users");
        assert!(
            list.resources.len() <= 1,
            "duplicate users named {local}: {:?}",
            list.resources
        );
        list.resources.into_iter().next()
    }

    pub async fn group(&self, name: &str) -> Option<Json> {
        let filter = format!("displayName eq \"{name}\"");
        let list = self
            .reader
            .search(Endpoint::Groups, Some(&filter), None, 1, 10)
            .await
            .expect("search groups");
        assert!(list.resources.len() <= 1, "duplicate groups named {name}");
        list.resources.into_iter().next()
    }

    /// Every user on the target, page by page.
    pub async fn all_users(&self) -> Vec<Json> {
        let mut users = Vec::new();
        loop {
            let page = self
                .reader
                .search(Endpoint::Users, None, None, users.len() as u64 + 1, 500)
                .await
                .expect("list users");
            if page.resources.is_empty() {
                return users;
            }
            users.extend(page.resources);
        }
    }

    pub async fn users(&self) -> Vec<Json> {
        self.reader
            .search(Endpoint::Users, None, None, 1, 200)
            .await
            .expect("list users")
            .resources
    }

    /// The target ids of a group's members.
    pub async fn member_ids(&self, name: &str) -> Vec<String> {
        let g = self
            .group(name)
            .await
            .unwrap_or_else(|| panic!("group {name} on the target"));
        let mut ids: Vec<String> = g["members"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["value"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }

    pub async fn links(&self) -> Vec<Link> {
        self.state.links(JOB).await.expect("links")
    }

    pub async fn link(&self, kind: &str, source_id: &str) -> Option<Link> {
        self.links()
            .await
            .into_iter()
            .find(|l| l.kind == kind && l.source_id == source_id)
    }

    /// The target id the engine linked to a source user.
    pub async fn target_id(&self, source_id: &str) -> String {
        self.link("user", source_id)
            .await
            .unwrap_or_else(|| panic!("no link for {source_id}"))
            .target_id
    }

    pub async fn logs(&self) -> Vec<LogRecord> {
        self.state
            .log(LogQuery {
                job: JOB.into(),
                limit: 10_000,
                ..Default::default()
            })
            .await
            .expect("log")
    }

    pub async fn cycle_logs(&self, cycle_id: &str) -> Vec<LogRecord> {
        self.logs()
            .await
            .into_iter()
            .filter(|l| l.cycle_id == cycle_id)
            .collect()
    }

    pub async fn status(&self) -> JobStatus {
        self.state.status(JOB).await.expect("status")
    }

    pub async fn escrows(&self) -> Vec<Escrow> {
        self.state.escrows(JOB).await.expect("escrows")
    }

    pub fn writes(&self) -> Vec<Recorded> {
        self.target.writes()
    }
}

/// Removes a user from the directory and from every group.
pub fn remove_user(objs: &mut Vec<SourceObject>, id: &str) {
    objs.retain(|o| o.id != id);
    for g in objs.iter_mut() {
        g.members.retain(|m| m != id);
    }
}

pub fn set_attr(objs: &mut [SourceObject], id: &str, name: &str, value: Json) {
    let o = objs
        .iter_mut()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("no object {id}"));
    o.attrs.insert(name.to_string(), value);
}

pub fn members_mut<'a>(objs: &'a mut [SourceObject], group_id: &str) -> &'a mut Vec<String> {
    &mut objs
        .iter_mut()
        .find(|o| o.id == group_id)
        .unwrap_or_else(|| panic!("no group {group_id}"))
        .members
}

/// The PATCH operations of a recorded request, as (op, path, value).
pub fn patch_ops(r: &Recorded) -> Vec<(String, String, Json)> {
    r.body
        .as_ref()
        .and_then(|b| b["Operations"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .map(|o| {
            (
                o["op"].as_str().unwrap_or_default().to_ascii_lowercase(),
                o["path"].as_str().unwrap_or_default().to_string(),
                o.get("value").cloned().unwrap_or(Json::Null),
            )
        })
        .collect()
}

/// One webhook POST as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Standard Webhooks' `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    pub id: Option<String>,
    pub timestamp: Option<String>,
    pub signature: Option<String>,
    pub event_header: Option<String>,
    pub body: Vec<u8>,
}

impl Received {
    /// Whether the signature is `secret`'s over id, timestamp and body, and the timestamp is
    /// `at`'s (the cycle's clock, an input, so Standard Webhooks' freshness check is left out).
    pub fn signed_by(&self, secret: &str, at: OffsetDateTime) -> bool {
        let (Some(id), Some(ts), Some(sig)) = (&self.id, &self.timestamp, &self.signature) else {
            return false;
        };
        let Ok(ts) = ts.parse::<i64>() else { return false };
        let want = standardwebhooks::Webhook::new(secret)
            .and_then(|w| w.sign(id, ts, &self.body))
            .expect("sign");
        ts == at.unix_timestamp() && &want == sig
    }
}

/// A Standard Webhooks secret for tests (`whsec_` + base64 of `seed`).
pub fn whsec(seed: &str) -> String {
    use base64::Engine;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(format!("{seed:0>24}"))
    )
}

/// A tiny HTTP listener that records webhook POSTs.
pub struct HookServer {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HookServer {
    pub async fn start() -> HookServer {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let rec = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let rec = rec.clone();
                async move {
                    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
                    rec.lock().unwrap().push(Received {
                        id: h("webhook-id"),
                        timestamp: h("webhook-timestamp"),
                        signature: h("webhook-signature"),
                        event_header: h("x-scimd-event"),
                        body: body.to_vec(),
                    });
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind hook");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve hook");
        });
        HookServer { url, received, task }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for HookServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
