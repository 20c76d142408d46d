//! `scimd events tail TENANT`: a tenant's change feed in the terminal, read from the
//! database. It follows new events until interrupted (or stops at the end with
//! `--no-follow`); `--json` prints one event object per line, as the API and webhooks send it.

use std::time::Duration;

use anyhow::{Context, bail};
use clap::Subcommand;
use scim_core::ports::{Event, Store, TenantId};

use crate::cli::Settings;
use crate::output::write_lines;

/// How often a follower re-reads: the server that writes is usually another process, whose
/// commits this process is not told of.
const POLL: Duration = Duration::from_millis(500);

#[derive(Debug, Subcommand)]
pub enum EventsCmd {
    /// Print a tenant's events in order and follow new ones
    Tail {
        tenant: String,
        /// Start after this seq (default: the oldest event kept)
        #[arg(long)]
        after: Option<i64>,
        /// One JSON object per line: {"seq","id","type","tenant","at","resource","data"}
        #[arg(long)]
        json: bool,
        /// Stop at the newest event instead of waiting for more
        #[arg(long)]
        no_follow: bool,
    },
}

pub async fn run(settings: Settings, cmd: EventsCmd) -> anyhow::Result<()> {
    let EventsCmd::Tail {
        tenant,
        after,
        json,
        no_follow,
    } = cmd;
    let store = settings.open_store(Default::default()).await?;
    let t = store
        .tenant(&tenant)
        .await?
        .with_context(|| format!("no tenant named {tenant:?} (see `scimd tenant list`)"))?;
    let pos = store.feed_position(t.id).await?;
    let after = after.unwrap_or(pos.pruned);
    if after < pos.pruned {
        bail!(
            "events up to seq {} were removed after the retention period; start with --after {} \
             (reconcile what came before by listing the tenant's users and groups)",
            pos.pruned,
            pos.pruned
        );
    }
    tail(&store, t.id, &tenant, after, json, !no_follow).await
}

async fn tail(
    store: &std::sync::Arc<dyn Store>,
    t: TenantId,
    name: &str,
    mut after: i64,
    json: bool,
    follow: bool,
) -> anyhow::Result<()> {
    loop {
        let mut watch = store.watch_feed();
        let events = store.events(t, after, 1000).await?;
        // A closed pipe (`| head`) ends the tail quietly.
        if !write_lines(events.iter().map(|e| if json { e.to_json(name) } else { text(e) })) {
            return Ok(());
        }
        if let Some(e) = events.last() {
            after = e.seq;
        }
        if events.is_empty() {
            if !follow {
                return Ok(());
            }
            tokio::select! {
                _ = watch.changed() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = tokio::signal::ctrl_c() => return Ok(()),
            }
        }
    }
}

fn text(e: &Event) -> String {
    format!(
        "{:>8}  {}  {:<22} {} {} v{}",
        e.seq,
        e.at,
        e.event.as_str(),
        e.kind.name(),
        e.resource_id,
        e.version
    )
}
