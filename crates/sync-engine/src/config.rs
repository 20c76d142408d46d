//! The job file (TOML, `version = 1`). Unknown keys are rejected; secrets come from the
//! environment (`*_env`) or a file (`*_file`), or inline for tests.
//!
//! ```toml
//! version = 1
//! [job]
//! name = "hoxhunt"
//! interval = "40m"
//! [source]
//! type = "file"
//! path = "directory.json"
//! [target]
//! url = "https://scim.example.com/scim/v2/acme"
//! token_env = "HOXHUNT_TOKEN"
//! bulk = "auto"            # or "off": never send POST /Bulk
//! [[users.mappings]]
//! target = "userName"
//! source = "userPrincipalName"
//! matching = 1
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::EngineError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    pub version: u32,
    pub job: JobSection,
    pub source: SourceConfig,
    pub target: TargetConfig,
    #[serde(default)]
    pub scope: ScopeConfig,
    pub users: ObjectMapping,
    #[serde(default)]
    pub groups: Option<ObjectMapping>,
    #[serde(default)]
    pub safety: SafetyConfig,
    #[serde(default)]
    pub notify: NotifyConfig,
    #[serde(default)]
    pub state: StateConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSection {
    /// Identifies the job's state and logs; keep it stable.
    pub name: String,
    /// Time between incremental cycles, e.g. `40m` (Entra's fixed interval).
    #[serde(default = "default_interval")]
    pub interval: String,
    /// Requests in flight against the target.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Actions per chunk: each chunk's links, escrows and log are committed before the next
    /// chunk runs, so a crash loses at most one chunk's record.
    #[serde(default)]
    pub chunk_size: Option<usize>,
    /// `false`: the job is Off (as `scimd sync stop`), and its cycles do not run.
    #[serde(default = "default_true")]
    pub enabled: bool,
}

fn default_true() -> bool {
    true
}

fn default_interval() -> String {
    "40m".into()
}

fn default_concurrency() -> usize {
    8
}

/// How to authenticate to a SCIM server: a secret token given inline, by environment
/// variable, or by file (exactly one); or OAuth 2.0 client credentials (`token_url`,
/// `client_id`, and one of `client_secret`, `client_secret_env`, `client_secret_file`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    pub token: Option<String>,
    pub token_env: Option<String>,
    pub token_file: Option<PathBuf>,
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_secret_env: Option<String>,
    pub client_secret_file: Option<PathBuf>,
}

/// One secret from inline text, an environment variable or a file (`file_key` names the
/// file's key in messages).
fn read_secret(
    what: &str,
    file_key: &str,
    inline: &Option<String>,
    env: &Option<String>,
    file: &Option<PathBuf>,
    base: &Path,
) -> Result<String, EngineError> {
    if let Some(t) = inline {
        return Ok(t.clone());
    }
    if let Some(var) = env {
        let v = std::env::var(var)
            .map(|v| v.trim().to_string())
            .map_err(|_| EngineError::Config(format!("{what}: environment variable {var} is not set")))?;
        if v.is_empty() {
            return Err(EngineError::Config(format!(
                "{what}: environment variable {var} is empty"
            )));
        }
        return Ok(v);
    }
    let path = file.as_ref().map(|p| base.join(p)).unwrap_or_default();
    let v = std::fs::read_to_string(&path)
        .map(|v| v.trim().to_string())
        .map_err(|e| EngineError::Config(format!("{what}: cannot read {file_key} {}: {e}", path.display())))?;
    if v.is_empty() {
        return Err(EngineError::Config(format!(
            "{what}: {file_key} {} is empty",
            path.display()
        )));
    }
    Ok(v)
}

impl SecretRef {
    pub fn is_set(&self) -> bool {
        self.token.is_some() || self.token_env.is_some() || self.token_file.is_some() || self.is_oauth()
    }

    /// Client credentials rather than a static token.
    pub fn is_oauth(&self) -> bool {
        self.token_url.is_some() || self.client_id.is_some()
    }

    /// The credentials to connect with: a static token or client credentials.
    pub fn credentials(&self, what: &str, base: &Path) -> Result<scim_client::Credentials, EngineError> {
        if !self.is_oauth() {
            return self.resolve(what, base).map(scim_client::Credentials::Bearer);
        }
        let (Some(token_url), Some(client_id)) = (&self.token_url, &self.client_id) else {
            return Err(EngineError::Config(format!(
                "{what}: client credentials need both token_url and client_id"
            )));
        };
        let given = [
            self.client_secret.is_some(),
            self.client_secret_env.is_some(),
            self.client_secret_file.is_some(),
        ];
        if given.iter().filter(|b| **b).count() != 1 {
            return Err(EngineError::Config(format!(
                "{what}: set exactly one of client_secret, client_secret_env, client_secret_file"
            )));
        }
        let secret = read_secret(
            what,
            "client_secret_file",
            &self.client_secret,
            &self.client_secret_env,
            &self.client_secret_file,
            base,
        )?;
        Ok(scim_client::Credentials::ClientCredentials {
            token_url: token_url.clone(),
            client_id: client_id.clone(),
            client_secret: secret,
        })
    }

    /// Reads the secret. `base` resolves a relative `token_file` against the job file.
    pub fn resolve(&self, what: &str, base: &Path) -> Result<String, EngineError> {
        let set = [
            self.token.is_some(),
            self.token_env.is_some(),
            self.token_file.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            return Err(EngineError::Config(format!(
                "{what}: set exactly one of token, token_env, token_file"
            )));
        }
        read_secret(what, "token_file", &self.token, &self.token_env, &self.token_file, base)
    }
}

/// The `[source]` section: its `type` and the keys that type takes. The engine only carries
/// it; a [`crate::source::SourceCatalog`] (the `sync-sources` crate) checks and opens it, so
/// the engine builds without any source's dependencies.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    /// `file`, `scim`, `graph`, `ldap`, …
    pub kind: String,
    /// Every other key of the section.
    pub keys: toml::Table,
}

impl SourceConfig {
    /// A section of `kind` with `keys` (tests and generated jobs).
    pub fn new(kind: &str, keys: toml::Table) -> SourceConfig {
        SourceConfig {
            kind: kind.to_string(),
            keys,
        }
    }

    /// The keys as the typed section of a source (`deny_unknown_fields` names a stray key).
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        toml::Value::Table(self.keys.clone())
            .try_into()
            .map_err(|e: toml::de::Error| format!("source (type = {:?}): {}", self.kind, e.message()))
    }
}

impl<'de> Deserialize<'de> for SourceConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SourceConfig, D::Error> {
        let mut keys = toml::Table::deserialize(d)?;
        match keys.remove("type") {
            Some(toml::Value::String(kind)) => Ok(SourceConfig { kind, keys }),
            Some(other) => Err(serde::de::Error::custom(format!(
                "source.type must be a string such as \"file\", not {other}"
            ))),
            None => Err(serde::de::Error::custom(
                "source.type is missing (one of \"file\", \"scim\", \"graph\", \"ldap\")",
            )),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// The Tenant URL: the SCIM base that holds `/Users`.
    pub url: String,
    #[serde(flatten)]
    pub secret: SecretRef,
    /// Per-request timeout, e.g. `60s`.
    #[serde(default)]
    pub timeout: Option<String>,
    /// SCIM Bulk for large initial loads: `auto` (when the target advertises it) or `off`.
    #[serde(default)]
    pub bulk: BulkMode,
}

/// Whether many creates may go to the target as `POST /Bulk` requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BulkMode {
    /// When the target's `/ServiceProviderConfig` advertises Bulk.
    #[default]
    Auto,
    /// Never: one `POST` per object.
    Off,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeMode {
    /// Only users assigned through a listed group or app role (Entra's default).
    #[default]
    Assigned,
    /// Every user and group in the source.
    All,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeConfig {
    #[serde(default)]
    pub mode: ScopeMode,
    /// Groups (by id or displayName) whose direct members are assigned.
    #[serde(default)]
    pub groups: Vec<String>,
    /// App role values that assign a user; "Default Access" never qualifies.
    #[serde(default)]
    pub app_roles: Vec<String>,
    /// Attribute scoping filters: clauses ANDed within a filter, filters ORed.
    #[serde(default)]
    pub filters: Vec<ScopingFilter>,
    /// Members of groups nested (at any depth) in an assigned group are assigned too, and
    /// roles are inherited through nested groups. Entra reads direct members only (the default).
    #[serde(default)]
    pub nested_groups: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopingFilter {
    #[serde(default)]
    pub name: Option<String>,
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    pub attribute: String,
    /// One of the operators in `scope::Operator` (Entra's spelling, case-insensitive).
    pub operator: String,
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectMapping {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub actions: Actions,
    pub mappings: Vec<AttributeMapping>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    #[serde(default = "yes")]
    pub create: bool,
    #[serde(default = "yes")]
    pub update: bool,
    #[serde(default = "yes")]
    pub delete: bool,
}

impl Default for Actions {
    fn default() -> Self {
        Actions {
            create: true,
            update: true,
            delete: true,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MappingKind {
    #[default]
    Direct,
    Constant,
    Expression,
    /// The target is left alone, except that an empty target gets the default value.
    None,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Apply {
    #[default]
    Always,
    /// Only when the object is created ("Only during creation").
    Create,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeMapping {
    /// The SCIM target path: `userName`, `emails[type eq "work"].value`,
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.
    pub target: String,
    #[serde(rename = "type", default)]
    pub kind: MappingKind,
    /// Direct: the source attribute.
    #[serde(default)]
    pub source: Option<String>,
    /// Constant: the value.
    #[serde(default)]
    pub value: Option<String>,
    /// Expression: the expression (sync-expr).
    #[serde(default)]
    pub expression: Option<String>,
    /// Default value if null; used only when the object is created.
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub apply: Apply,
    /// Matching precedence: set on the attributes used to find an existing target object,
    /// 1 is tried first.
    #[serde(default)]
    pub matching: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyConfig {
    /// Stop a cycle before it deletes or disables more than this many objects…
    #[serde(default)]
    pub deletion_threshold: Option<u64>,
    /// …or more than this percentage of the objects the job manages.
    #[serde(default)]
    pub deletion_threshold_percent: Option<f64>,
    /// Objects that leave scope are left alone instead of disabled.
    #[serde(default)]
    pub skip_out_of_scope_deletions: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    #[serde(default)]
    pub webhook: Option<WebhookConfig>,
    #[serde(default)]
    pub email: Option<EmailConfig>,
    /// Notify when more than this share (0 to 1) of a cycle's object actions failed;
    /// default 0.1.
    #[serde(default)]
    pub failure_share: Option<f64>,
    /// At most one notification per job and kind in this window; default `24h`.
    #[serde(default)]
    pub throttle: Option<String>,
}

/// The default of [`NotifyConfig::failure_share`].
pub const DEFAULT_FAILURE_SHARE: f64 = 0.1;
/// The default of [`NotifyConfig::throttle`].
pub const DEFAULT_THROTTLE: &str = "24h";

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailTls {
    /// Plain connection upgraded with STARTTLS (port 587 by default); required, never skipped.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465 by default).
    Implicit,
    /// No TLS: only for a relay on loopback (port 25 by default).
    None,
}

/// `[notify.email]`: the admin's alarm, as Entra's "Notification Email".
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub to: Vec<String>,
    pub from: String,
    pub smtp_host: String,
    #[serde(default)]
    pub smtp_port: Option<u16>,
    #[serde(default)]
    pub tls: EmailTls,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

impl EmailConfig {
    pub fn port(&self) -> u16 {
        self.smtp_port.unwrap_or(match self.tls {
            EmailTls::Starttls => 587,
            EmailTls::Implicit => 465,
            EmailTls::None => 25,
        })
    }

    /// The SMTP password, when a username is set.
    pub fn password(&self, base: &Path) -> Result<Option<String>, EngineError> {
        if self.username.is_none() {
            return Ok(None);
        }
        read_secret(
            "notify.email password",
            "password_file",
            &None,
            &self.password_env,
            &self.password_file,
            base,
        )
        .map(Some)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// The Standard Webhooks key (`whsec_…`) that signs each POST.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub secret_env: Option<String>,
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// Where the job keeps links, watermarks, escrows and logs; default
    /// `sqlite://scimd-sync.db` next to the job file.
    #[serde(default)]
    pub database: Option<String>,
}

/// Parses a duration such as `40m`, `90s`, `1h 30m`.
pub fn duration(what: &str, text: &str) -> Result<Duration, EngineError> {
    humantime::parse_duration(text)
        .map_err(|e| EngineError::Config(format!("{what}: {text:?} is not a duration like 40m or 90s ({e})")))
}

impl JobConfig {
    /// Parses a job file's text. Semantic checks are in [`JobConfig::validate`].
    pub fn parse(text: &str) -> Result<JobConfig, EngineError> {
        let cfg: JobConfig = toml::from_str(text).map_err(|e| EngineError::Config(e.to_string()))?;
        if cfg.version != 1 {
            return Err(EngineError::Config(format!(
                "version = {} is not supported; this scimd reads version = 1",
                cfg.version
            )));
        }
        Ok(cfg)
    }

    pub fn load(path: &Path) -> Result<JobConfig, EngineError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| EngineError::Config(format!("cannot read {}: {e}", path.display())))?;
        JobConfig::parse(&text)
    }
}
