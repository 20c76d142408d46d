//! Planner statistics during bursts. PostgreSQL plans from table statistics, and a table
//! that has never been analyzed has none: every index looks equally selective, and a
//! `userName eq` lookup may walk the whole tenant until autovacuum's analyze comes round
//! (up to a minute later, by default). An initial import into a fresh database is exactly
//! such a burst. So every few seconds one replica (an advisory lock elects it) analyzes
//! scimd's tables that changed by more than a fifth since their last analyze. This adds to
//! autovacuum; it replaces nothing.

use std::time::Duration;

use deadpool_postgres::Pool;

use crate::error::Result;

/// How often the tables are checked.
pub const EVERY: Duration = Duration::from_secs(2);
/// A transaction-level advisory lock key: "scimdA".
const LOCK_KEY: i64 = 0x7363696d6441;
/// The journal is not among them: it is read by key range only, which needs no statistics.
const TABLES: &[&str] = &["resources", "value_index", "members", "tokens", "sync_links"];

/// Analyzes the tables that need it; returns their names.
pub async fn analyze_changed(pool: &Pool) -> Result<Vec<String>> {
    let mut c = pool
        .get()
        .await
        .map_err(|e| crate::StoreError::Connect(e.to_string()))?;
    let tables: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
    let stale: Vec<String> = c
        .query(
            "SELECT relname::text FROM pg_stat_user_tables WHERE schemaname = current_schema() \
             AND relname = ANY($1) AND n_mod_since_analyze > greatest(500, n_live_tup / 5)",
            &[&tables],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if stale.is_empty() {
        return Ok(stale);
    }
    let tx = c.transaction().await?;
    let elected: bool = tx
        .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await?
        .get(0);
    if !elected {
        return Ok(Vec::new());
    }
    // Names come from the fixed list above, never from input.
    tx.batch_execute(&format!("ANALYZE {}", stale.join(", "))).await?;
    tx.commit().await?;
    Ok(stale)
}

/// Runs [`analyze_changed`] every [`EVERY`] until aborted (the handle's drop aborts it).
pub fn spawn(pool: Pool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = analyze_changed(&pool).await {
                tracing::debug!(error = %e, "statistics maintenance skipped");
            }
        }
    })
}
