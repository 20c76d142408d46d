//! The LDAP source (`[source] type = "ldap"`): users and groups of OpenLDAP or Active
//! Directory, read with the paged-results control (RFC 2696).
//!
//! - `ldap://` (optionally upgraded with `starttls = true`) or `ldaps://`; a simple bind
//!   with `bind_dn` and a password from `bind_password_env`/`_file`, or anonymous.
//! - Users match `user_filter`, groups `group_filter`, under `base_dn`; only the attributes
//!   the job's mappings and scoping filters use are asked for. The id is `id_attribute`
//!   (`entryUUID`; AD's binary `objectGUID` becomes its usual text). Group members (the
//!   `member` DNs) and `manager` DNs are resolved to ids; members outside the read are left
//!   out. `flatten_groups = true` gives each group its users at any depth. A group's
//!   `displayName` is its own, else its `cn` (what `scope.groups` names).
//! - `accountEnabled` comes from AD's `userAccountControl` (bit 2 disables), or from
//!   `disabled_attribute` (present, or one of `disabled_values`: disabled).
//! - A full read is spooled to disk and replayed per pass. The watermark is the newest
//!   `modifyTimestamp` (OpenLDAP) or the server's `highestCommittedUSN` (`directory = "ad"`,
//!   compared with `uSNChanged`); an incremental read asks for entries changed since. As for
//!   every source, deletions are seen by a full read, at least daily.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use sync_engine::EngineError;
use sync_engine::config::JobConfig;
use sync_engine::model::{ObjectKind, SourceBatch, SourceObject};
use sync_engine::source::{Snapshot, Source};
use sync_engine::validate::Checks;

pub mod entry;
mod read;

fn default_user_filter() -> String {
    "(objectClass=inetOrgPerson)".into()
}

fn default_group_filter() -> String {
    "(objectClass=groupOfNames)".into()
}

fn default_member_attribute() -> String {
    "member".into()
}

/// Which server's conventions apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Directory {
    /// OpenLDAP (and 389-ds and most others): `entryUUID`, `modifyTimestamp`.
    #[default]
    Openldap,
    /// Active Directory: `objectGUID`, `uSNChanged`, `userAccountControl`.
    Ad,
}

/// `[source] type = "ldap"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapSpec {
    /// `ldap://host:389` or `ldaps://host:636`.
    pub url: String,
    #[serde(default)]
    pub starttls: bool,
    /// Accept any server certificate (a lab directory with a self-signed one). Never in
    /// production.
    #[serde(default)]
    pub tls_no_verify: bool,
    #[serde(default)]
    pub bind_dn: Option<String>,
    #[serde(default)]
    pub bind_password: Option<String>,
    #[serde(default)]
    pub bind_password_env: Option<String>,
    #[serde(default)]
    pub bind_password_file: Option<PathBuf>,
    pub base_dn: String,
    #[serde(default = "default_user_filter")]
    pub user_filter: String,
    #[serde(default = "default_group_filter")]
    pub group_filter: String,
    /// Default `entryUUID`, or `objectGUID` with `directory = "ad"`.
    #[serde(default)]
    pub id_attribute: Option<String>,
    #[serde(default = "default_member_attribute")]
    pub member_attribute: String,
    #[serde(default)]
    pub directory: Directory,
    /// Entries per page (the paged-results control), 1 to 10000; default 500.
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub flatten_groups: bool,
    #[serde(default)]
    pub disabled_attribute: Option<String>,
    #[serde(default)]
    pub disabled_values: Vec<String>,
    /// Per operation, e.g. `30s`.
    #[serde(default)]
    pub timeout: Option<String>,
}

impl LdapSpec {
    fn id_attribute(&self) -> String {
        self.id_attribute.clone().unwrap_or_else(|| match self.directory {
            Directory::Openldap => "entryUUID".into(),
            Directory::Ad => "objectGUID".into(),
        })
    }

    fn password(&self, dir: &Path) -> Result<Option<String>, EngineError> {
        if self.bind_dn.is_none() {
            return Ok(None);
        }
        let (inline, env, file) = (&self.bind_password, &self.bind_password_env, &self.bind_password_file);
        crate::secret("bind_password", inline, env, file, dir).map(Some)
    }
}

fn filter_ok(f: &str) -> bool {
    let t = f.trim();
    t.starts_with('(') && t.ends_with(')') && t.matches('(').count() == t.matches(')').count()
}

pub(crate) fn check(spec: &LdapSpec, checks: &mut Checks) {
    let lower = spec.url.to_ascii_lowercase();
    let plain = lower.starts_with("ldap://");
    if !plain && !lower.starts_with("ldaps://") {
        checks.err(format!("source.url {:?} is not an ldap:// or ldaps:// URL", spec.url));
    } else if plain && !spec.starttls && spec.bind_dn.is_some() && !is_loopback_url(&lower) {
        checks.warn(format!(
            "source.url {}: plain LDAP without starttls; the bind password travels unencrypted",
            spec.url
        ));
    }
    if spec.starttls && !plain {
        checks.err("source.starttls = true needs an ldap:// URL (ldaps:// is TLS already)");
    }
    if spec.base_dn.trim().is_empty() {
        checks.err("source.base_dn is empty");
    }
    for (key, f) in [("user_filter", &spec.user_filter), ("group_filter", &spec.group_filter)] {
        if !filter_ok(f) {
            checks.err(format!(
                "source.{key} {f:?} is not an LDAP filter such as (objectClass=person)"
            ));
        }
    }
    let secrets = [
        spec.bind_password.is_some(),
        spec.bind_password_env.is_some(),
        spec.bind_password_file.is_some(),
    ];
    match (spec.bind_dn.is_some(), secrets.iter().filter(|b| **b).count()) {
        (true, 1) | (false, 0) => {}
        (true, _) => {
            checks.err("source: with bind_dn, set exactly one of bind_password, bind_password_env, bind_password_file")
        }
        (false, _) => checks.err("source: a bind password without bind_dn"),
    }
    if let Some(n) = spec.page_size
        && !(1..=10_000).contains(&n)
    {
        checks.err(format!("source.page_size = {n}: must be 1 to 10000"));
    }
    if let Some(t) = &spec.timeout
        && let Err(e) = sync_engine::config::duration("source.timeout", t)
    {
        checks.err(crate::config_message(e));
    }
}

fn is_loopback_url(url: &str) -> bool {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}

pub(crate) fn open(spec: &LdapSpec, job: &JobConfig, dir: &Path) -> Result<LdapSource, EngineError> {
    let password = spec.password(dir)?;
    let timeout = match &spec.timeout {
        Some(t) => sync_engine::config::duration("source.timeout", t)?,
        None => Duration::from_secs(60),
    };
    Ok(LdapSource {
        spec: spec.clone(),
        password,
        timeout,
        select: read::Select::of(spec, job),
    })
}

/// The password can be read here.
pub(crate) fn environment(spec: &LdapSpec, dir: &Path) -> Result<(), Vec<String>> {
    spec.password(dir)
        .map(|_| ())
        .map_err(|e| vec![crate::config_message(e)])
}

pub struct LdapSource {
    spec: LdapSpec,
    password: Option<String>,
    timeout: Duration,
    select: read::Select,
}

#[async_trait]
impl Source for LdapSource {
    fn describe(&self) -> String {
        format!("ldap:{} {}", self.spec.url, self.spec.base_dn)
    }

    async fn read_all(&self) -> Result<SourceBatch, EngineError> {
        let mut objects = Vec::new();
        let watermark = self
            .full(|o| {
                objects.push(o);
                Ok(())
            })
            .await?;
        Ok(SourceBatch {
            objects,
            complete: true,
            watermark,
        })
    }

    async fn snapshot(&self) -> Result<Option<Box<dyn Snapshot>>, EngineError> {
        let mut spool = crate::spool::SpoolWriter::new()?;
        let watermark = self.full(|o| spool.push(&o)).await?;
        Ok(Some(Box::new(spool.finish(watermark)?)))
    }

    async fn read_changes(&self, watermark: &str) -> Result<Option<SourceBatch>, EngineError> {
        self.changes(watermark).await.map(Some)
    }

    async fn read_one(&self, kind: ObjectKind, id: &str) -> Result<Option<SourceObject>, EngineError> {
        self.one(kind, id).await
    }
}
