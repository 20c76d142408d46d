//! The Microsoft Graph source (`[source] type = "graph"`): users and groups of an Entra ID
//! tenant, read as Entra's own provisioning service reads them.
//!
//! - A token by client credentials at `{login_url}/{tenant_id}/oauth2/v2.0/token`, scope
//!   `https://graph.microsoft.com/.default`, renewed before it expires.
//! - A full read is a delta round on `/users/delta` (only the attributes the job's mappings
//!   and scoping filters use, plus `accountEnabled`), the recycle bin
//!   (`/directory/deletedItems/microsoft.graph.user`: soft-deleted users, read as disabled),
//!   and a delta round on `/groups/delta?$expand=members` whose entries for one group are
//!   merged. It is spooled to disk and replayed for each pass of the cycle; the rounds'
//!   `@odata.deltaLink`s are the watermark.
//! - An incremental read follows the delta links: `@removed` with reason `changed` is a soft
//!   delete (the user is disabled), `deleted` a hard delete; a group whose members changed
//!   has its members read again (`/groups/{id}/members`). An expired token (410) makes the
//!   engine read in full.
//! - With `service_principal_id`, every object carries its app roles for the application
//!   (`/servicePrincipals/{id}/appRoleAssignedTo`, roles named from the application's
//!   `appRoles`); the all-zero role is "Default Access", which never entitles.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::Deserialize;
use sync_engine::EngineError;
use sync_engine::config::JobConfig;
use sync_engine::model::{ObjectKind, SourceBatch, SourceObject};
use sync_engine::source::{Snapshot, Source};
use sync_engine::validate::Checks;

mod http;
mod read;
pub mod schema;
#[cfg(test)]
mod tests;

pub use http::{ATTEMPTS, SCOPE};

pub const LOGIN_URL: &str = "https://login.microsoftonline.com";
pub const GRAPH_URL: &str = "https://graph.microsoft.com/v1.0";

fn default_login_url() -> String {
    LOGIN_URL.into()
}

fn default_graph_url() -> String {
    GRAPH_URL.into()
}

/// `[source] type = "graph"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSpec {
    /// The directory (tenant) id or a verified domain.
    pub tenant_id: String,
    /// The application (client) id of the app registration the engine signs in as.
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub client_secret_env: Option<String>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    /// The enterprise application's object id: its assignments decide `mode = "assigned"`.
    #[serde(default)]
    pub service_principal_id: Option<String>,
    #[serde(default = "default_login_url")]
    pub login_url: String,
    #[serde(default = "default_graph_url")]
    pub graph_url: String,
    /// Objects per page (`Prefer: odata.maxpagesize`), 1 to 999; default 999.
    #[serde(default)]
    pub page_size: Option<u32>,
}

impl GraphSpec {
    fn read_secret(&self, dir: &Path) -> Result<String, EngineError> {
        let (inline, env, file) = (&self.client_secret, &self.client_secret_env, &self.client_secret_file);
        crate::secret("client_secret", inline, env, file, dir)
    }
}

pub(crate) fn check(spec: &GraphSpec, job: &JobConfig, checks: &mut Checks) {
    for (key, v) in [("tenant_id", &spec.tenant_id), ("client_id", &spec.client_id)] {
        if v.trim().is_empty() {
            checks.err(format!("source.{key} is empty"));
        }
    }
    let set = [
        spec.client_secret.is_some(),
        spec.client_secret_env.is_some(),
        spec.client_secret_file.is_some(),
    ];
    if set.iter().filter(|b| **b).count() != 1 {
        checks.err("source: set exactly one of client_secret, client_secret_env, client_secret_file");
    }
    checks.url("source.login_url", &spec.login_url);
    checks.url("source.graph_url", &spec.graph_url);
    if let Some(n) = spec.page_size
        && !(1..=999).contains(&n)
    {
        checks.err(format!(
            "source.page_size = {n}: must be 1 to 999 (Graph's largest page)"
        ));
    }
    let no_sp = spec.service_principal_id.as_deref().is_none_or(|s| s.trim().is_empty());
    if job.scope.mode == sync_engine::config::ScopeMode::Assigned && no_sp {
        let how = "the enterprise application's Object ID (Entra admin center → Enterprise applications → the app)";
        if job.scope.groups.is_empty() {
            checks.err(format!(
                "source.service_principal_id: scope.mode = \"assigned\" with no scope.groups needs {how}, or set \
                 scope.mode = \"all\""
            ));
        } else {
            checks.warn(format!(
                "source.service_principal_id is not set: only scope.groups assign users; users and groups assigned \
                 to the application in Entra are not read (set it to {how})"
            ));
        }
    }
}

pub(crate) fn open(spec: &GraphSpec, job: &JobConfig, dir: &Path) -> Result<GraphSource, EngineError> {
    let secret = spec.read_secret(dir)?;
    let token_url = format!(
        "{}/{}/oauth2/v2.0/token",
        spec.login_url.trim_end_matches('/'),
        spec.tenant_id.trim()
    );
    let graph = http::Graph::new(
        &spec.graph_url,
        &token_url,
        spec.client_id.trim(),
        &secret,
        spec.page_size.unwrap_or(999).clamp(1, 999),
    )?;
    Ok(GraphSource {
        graph,
        sp: spec.service_principal_id.clone().filter(|s| !s.trim().is_empty()),
        select: read::Select::of(job),
        tenant: spec.tenant_id.clone(),
    })
}

/// The secret can be read here.
pub(crate) fn environment(spec: &GraphSpec, dir: &Path) -> Result<(), Vec<String>> {
    spec.read_secret(dir)
        .map(|_| ())
        .map_err(|e| vec![crate::config_message(e)])
}

pub struct GraphSource {
    graph: http::Graph,
    sp: Option<String>,
    select: read::Select,
    tenant: String,
}

#[async_trait]
impl Source for GraphSource {
    fn describe(&self) -> String {
        format!("graph:{}", self.tenant)
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
            watermark: Some(watermark),
        })
    }

    async fn snapshot(&self) -> Result<Option<Box<dyn Snapshot>>, EngineError> {
        let mut spool = crate::spool::SpoolWriter::new()?;
        let watermark = self.full(|o| spool.push(&o)).await?;
        Ok(Some(Box::new(spool.finish(Some(watermark))?)))
    }

    async fn read_changes(&self, watermark: &str) -> Result<Option<SourceBatch>, EngineError> {
        self.changes(watermark).await
    }

    async fn read_one(&self, kind: ObjectKind, id: &str) -> Result<Option<SourceObject>, EngineError> {
        self.one(kind, id).await
    }
}
