//! `scimd tenant requests TENANT`: the request log from a shell, newest first.

use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use scim_core::ports::{LoggedRequest, RequestQuery, StatusFilter, Store, TenantId};
use scim_server::admin::requests::{MAX_LIMIT, parse_since, request_json};

use crate::cli::now;
use crate::output::write_lines;

#[derive(Debug, Args)]
pub struct RequestsArgs {
    pub tenant: String,
    /// Only these: 4xx, 5xx or a status code such as 409
    #[arg(long)]
    pub status: Option<String>,
    /// Only since then: a duration back from now (1h, 7d) or an RFC 3339 time
    #[arg(long)]
    pub since: Option<String>,
    /// How many, newest first (at most 1000)
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// One JSON object per line, as `GET /admin/v1/tenants/{t}/requests` shows them
    #[arg(long)]
    pub json: bool,
}

pub async fn run(store: &Arc<dyn Store>, tenant: TenantId, a: &RequestsArgs) -> anyhow::Result<()> {
    let status = match &a.status {
        None => StatusFilter::Any,
        Some(s) => {
            StatusFilter::parse(s).with_context(|| format!("--status {s:?}: use 4xx, 5xx or a code such as 409"))?
        }
    };
    let since = match &a.since {
        None => None,
        Some(s) => Some(
            parse_since(s, now())
                .with_context(|| format!("--since {s:?}: use a duration such as 1h or an RFC 3339 time"))?,
        ),
    };
    if !(1..=MAX_LIMIT).contains(&a.limit) {
        anyhow::bail!("--limit {}: use 1 to {MAX_LIMIT}", a.limit);
    }
    let q = RequestQuery {
        status,
        since,
        before: None,
        limit: a.limit,
    };
    let rows = store.requests(tenant, &q).await?;
    write_lines(
        rows.iter()
            .map(|r| if a.json { request_json(r).to_string() } else { text(r) }),
    );
    Ok(())
}

fn text(r: &LoggedRequest) -> String {
    let e = &r.entry;
    let why = match (&e.scim_type, &e.detail) {
        (Some(t), Some(d)) => format!("  {t}: {d}"),
        (None, Some(d)) => format!("  {d}"),
        _ => String::new(),
    };
    format!(
        "{}  {} {:<6} {}  {:.1}ms  {}{why}",
        e.at,
        e.status,
        e.method,
        e.path,
        e.latency_us as f64 / 1000.0,
        e.credential.as_deref().unwrap_or("-"),
    )
}
