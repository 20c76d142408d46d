//! The audit log of administrative actions: who changed which tenant, token, client or
//! webhook, and when. Kept apart from the tenants' data (it outlives a deleted tenant).

use async_trait::async_trait;

use crate::{Result, Timestamp};

/// One administrative action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: Timestamp,
    /// Who: `admin:<token prefix>` for the admin API, `cli:<user>@<host>` for the CLI.
    pub actor: String,
    /// What, as `object.verb`: `tenant.create`, `token.revoke`, `client.secret.add`, …
    pub action: String,
    /// The tenant's name, if the action concerns one.
    pub tenant: Option<String>,
    /// The object acted on within the tenant: a token prefix, a client id, a webhook id.
    pub target: Option<String>,
    /// A short JSON text with the action's parameters (never a secret).
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub seq: i64,
    pub entry: AuditEntry,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditQuery {
    /// Only this tenant's actions.
    pub tenant: Option<String>,
    /// Only records older than this `seq` (the next page, newest first).
    pub before: Option<i64>,
    pub limit: usize,
}

#[async_trait]
pub trait AuditStore: Send + Sync + 'static {
    async fn append_audit(&self, entry: AuditEntry) -> Result<i64>;
    /// Records matching `q`, newest first.
    async fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>>;
}
