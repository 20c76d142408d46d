//! The audit log from the command line: what the CLI changes is recorded with
//! `cli:<user>@<host>` as the actor, and `scimd admin audit` reads the log (the admin API's
//! changes included), newest first.

use std::sync::Arc;

use clap::Args;
use scim_core::ports::{AuditEntry, AuditQuery, Store};
use serde_json::{Value, json};

use crate::cli::now;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only this tenant's changes
    #[arg(long)]
    pub tenant: Option<String>,
    /// How many records, newest first (1 to 1000)
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Only records older than this seq (the next page)
    #[arg(long)]
    pub before: Option<i64>,
    /// One JSON object per line
    #[arg(long)]
    pub json: bool,
}

/// Who runs this command.
fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("cli:{user}@{host}")
}

/// Records a change the CLI made. The change is done by now, so a failure to record it is
/// reported, not fatal.
pub async fn record(
    store: &Arc<dyn Store>,
    action: &str,
    tenant: Option<&str>,
    target: Option<&str>,
    detail: Option<Value>,
) {
    let entry = AuditEntry {
        at: now(),
        actor: actor(),
        action: action.to_string(),
        tenant: tenant.map(str::to_string),
        target: target.map(str::to_string),
        detail: detail.map(|d| d.to_string()),
    };
    if let Err(e) = store.append_audit(entry).await {
        eprintln!("warning: the change was made but could not be written to the audit log: {e}");
    }
}

pub async fn show(store: &Arc<dyn Store>, args: &AuditArgs) -> anyhow::Result<()> {
    if !(1..=1000).contains(&args.limit) {
        anyhow::bail!("--limit {}: give 1 to 1000", args.limit);
    }
    let q = AuditQuery {
        tenant: args.tenant.clone(),
        before: args.before,
        limit: args.limit,
    };
    for r in store.audit(&q).await? {
        let e = r.entry;
        if args.json {
            let detail = e.detail.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok());
            crate::say!(
                "{}",
                json!({"seq": r.seq, "at": e.at, "actor": e.actor, "action": e.action,
                       "tenant": e.tenant, "target": e.target, "detail": detail})
            );
        } else {
            crate::say!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                r.seq,
                e.at,
                e.actor,
                e.action,
                e.tenant.unwrap_or_else(|| "-".into()),
                e.target.unwrap_or_else(|| "-".into()),
                e.detail.unwrap_or_default()
            );
        }
    }
    Ok(())
}
