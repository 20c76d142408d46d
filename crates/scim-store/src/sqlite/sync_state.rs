//! `SyncStateStore` on SQLite: the provisioning engine's links, status, escrows and log.

use async_trait::async_trait;
use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, params, params_from_iter};
use scim_core::ports::sync::{
    ChunkWrite, ClearScope, CycleRecord, Escrow, JobControl, JobStatus, LeaseClaim, Link, LinkKey, LogQuery, LogRecord,
    SyncStateStore,
};
use scim_core::{CoreError, Timestamp};

use super::{SqliteStore, get_ts, get_ts_opt, ts, ts_opt};

type R<T> = Result<T, CoreError>;

/// Rows per multi-row INSERT.
const CHUNK: usize = 100;

fn status_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobStatus> {
    Ok(JobStatus {
        job: r.get(0)?,
        watermark: r.get(1)?,
        initial_done: r.get(2)?,
        quarantine_reason: r.get(3)?,
        quarantine_since: get_ts_opt(r, 4)?,
        next_run: get_ts_opt(r, 5)?,
        quarantine_attempts: r.get(6)?,
        disabled: r.get(7)?,
        last_cycle: r.get(8)?,
        updated: get_ts(r, 9)?,
        full_read_at: get_ts_opt(r, 10)?,
    })
}

const STATUS_COLS: &str = "job, watermark, initial_done, quarantine_reason, quarantine_since, next_run, \
                           quarantine_attempts, disabled, last_cycle, updated, full_read_at";

fn log_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LogRecord> {
    Ok(LogRecord {
        job: r.get(0)?,
        cycle_id: r.get(1)?,
        change_id: r.get(2)?,
        at: get_ts(r, 3)?,
        kind: r.get(4)?,
        source_id: r.get(5)?,
        target_id: r.get(6)?,
        action: r.get(7)?,
        status: r.get(8)?,
        steps: r.get(9)?,
        modified: r.get(10)?,
        error_code: r.get(11)?,
        error_message: r.get(12)?,
        duration_ms: r.get::<_, i64>(13)? as u64,
        initiated_by: r.get(14)?,
        source_display: r.get(15)?,
        target_display: r.get(16)?,
    })
}

fn link_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Link> {
    Ok(Link {
        kind: r.get(0)?,
        source_id: r.get(1)?,
        target_id: r.get(2)?,
        hash: r.get(3)?,
        values: r.get(4)?,
        disabled: r.get(5)?,
        updated: get_ts(r, 6)?,
    })
}

fn link_key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LinkKey> {
    Ok(LinkKey {
        kind: r.get(0)?,
        source_id: r.get(1)?,
        target_id: r.get(2)?,
        disabled: r.get(3)?,
    })
}

impl SqliteStore {
    /// `cols` of the job's links with these (kind, source id) keys: one statement per kind,
    /// the ids bound as one JSON array, so any number of keys is one parameter.
    async fn links_by_key<T: Send + 'static>(
        &self,
        job: &str,
        keys: Vec<(String, String)>,
        cols: &'static str,
        row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> R<Vec<T>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let readers = self.readers.clone();
        let job = job.to_string();
        let sql = format!(
            "SELECT {cols} FROM sync_links \
             WHERE job = ?1 AND kind = ?2 AND source_id IN (SELECT value FROM json_each(?3))"
        );
        tokio::task::spawn_blocking(move || {
            readers.read(|conn| {
                let mut out = Vec::with_capacity(keys.len());
                for kind in ["user", "group"] {
                    let ids: Vec<&str> = keys.iter().filter(|k| k.0 == kind).map(|k| k.1.as_str()).collect();
                    if ids.is_empty() {
                        continue;
                    }
                    let ids = serde_json::to_string(&ids).map_err(|e| CoreError::Internal(e.to_string()))?;
                    let mut stmt = conn.prepare_cached(&sql)?;
                    let rows = stmt.query_map(params![job, kind, ids], row)?;
                    out.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
                }
                Ok(out)
            })
        })
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
    }
}

/// One page of a job's link keys, from the key index alone. The row value
/// `(kind, source_id) > (?2, ?3)` is a range on the index; `kind > ?2 OR (kind = ?2 AND
/// source_id > ?3)` was a range on `kind` alone, so every page scanned the index from the
/// job's first user again (a million links took 11 s to walk; reading each link's row for
/// its target id took 2 s more; now a quarter of a second).
pub(super) const LINK_KEY_PAGE: &str = "SELECT kind, source_id FROM sync_links \
     WHERE job = ?1 AND (kind, source_id) > (?2, ?3) ORDER BY kind, source_id LIMIT ?4";

/// The same page of disabled links only, from their partial index.
pub(super) const DISABLED_KEY_PAGE: &str = "SELECT kind, source_id FROM sync_links \
     WHERE job = ?1 AND (kind, source_id) > (?2, ?3) AND disabled = 1 ORDER BY kind, source_id LIMIT ?4";

#[async_trait]
impl SyncStateStore for SqliteStore {
    async fn links(&self, job: &str) -> R<Vec<Link>> {
        let readers = self.readers.clone();
        let job = job.to_string();
        tokio::task::spawn_blocking(move || {
            readers.read(|conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT kind, source_id, target_id, hash, vals, disabled, updated FROM sync_links WHERE job = ?1",
                )?;
                let rows = stmt.query_map([&job], link_row)?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
        })
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
    }

    async fn links_for(&self, job: &str, keys: Vec<(String, String)>) -> R<Vec<Link>> {
        self.links_by_key(
            job,
            keys,
            "kind, source_id, target_id, hash, vals, disabled, updated",
            link_row,
        )
        .await
    }

    async fn link_keys_for(&self, job: &str, keys: Vec<(String, String)>) -> R<Vec<LinkKey>> {
        self.links_by_key(job, keys, "kind, source_id, target_id, disabled", link_key_row)
            .await
    }

    async fn linked_keys(
        &self,
        job: &str,
        after: Option<(String, String)>,
        limit: usize,
        disabled_only: bool,
    ) -> R<Vec<(String, String)>> {
        let readers = self.readers.clone();
        let job = job.to_string();
        let (kind, id) = after.unwrap_or_default();
        tokio::task::spawn_blocking(move || {
            readers.read(|conn| {
                let sql = if disabled_only {
                    DISABLED_KEY_PAGE
                } else {
                    LINK_KEY_PAGE
                };
                let mut stmt = conn.prepare_cached(sql)?;
                let rows = stmt.query_map(params![job, kind, id, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
        })
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
    }

    async fn put_links(&self, job: &str, links: Vec<Link>) -> R<()> {
        if links.is_empty() {
            return Ok(());
        }
        let job = job.to_string();
        self.writer
            .write(move |conn| {
                write_links(conn, &job, &links)?;
                Ok(())
            })
            .await
    }

    async fn remove_links(&self, job: &str, keys: Vec<(String, String)>) -> R<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let job = job.to_string();
        self.writer
            .write(move |conn| {
                write_unlinks(conn, &job, &keys)?;
                Ok(())
            })
            .await
    }

    async fn status(&self, job: &str) -> R<JobStatus> {
        self.readers.read(|conn| {
            let found = conn
                .prepare_cached(&format!("SELECT {STATUS_COLS} FROM sync_status WHERE job = ?1"))?
                .query_row([job], status_row)
                .optional()?;
            Ok(found.unwrap_or_else(|| JobStatus {
                job: job.to_string(),
                ..Default::default()
            }))
        })
    }

    async fn put_status(&self, s: JobStatus) -> R<()> {
        self.writer
            .write(move |conn| {
                conn.prepare_cached(&format!(
                    "INSERT OR REPLACE INTO sync_status ({STATUS_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                ))?
                .execute(params![
                    s.job,
                    s.watermark,
                    s.initial_done,
                    s.quarantine_reason,
                    ts_opt(s.quarantine_since),
                    ts_opt(s.next_run),
                    s.quarantine_attempts,
                    s.disabled,
                    s.last_cycle,
                    ts(s.updated),
                    ts_opt(s.full_read_at)
                ])?;
                Ok(())
            })
            .await
    }

    async fn escrows(&self, job: &str) -> R<Vec<Escrow>> {
        self.readers.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT kind, source_id, action, error_code, message, attempts, first_failed, next_attempt \
                 FROM sync_escrow WHERE job = ?1 ORDER BY kind, source_id",
            )?;
            let rows = stmt.query_map([job], |r| {
                Ok(Escrow {
                    kind: r.get(0)?,
                    source_id: r.get(1)?,
                    action: r.get(2)?,
                    error_code: r.get(3)?,
                    message: r.get(4)?,
                    attempts: r.get(5)?,
                    first_failed: get_ts(r, 6)?,
                    next_attempt: get_ts(r, 7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    async fn put_escrows(&self, job: &str, put: Vec<Escrow>, remove: Vec<(String, String)>) -> R<()> {
        if put.is_empty() && remove.is_empty() {
            return Ok(());
        }
        let job = job.to_string();
        self.writer
            .write(move |conn| {
                write_escrows(conn, &job, &put, &remove)?;
                Ok(())
            })
            .await
    }

    async fn append_log(&self, records: Vec<LogRecord>) -> R<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.writer
            .write(move |conn| {
                write_log(conn, &records)?;
                Ok(())
            })
            .await
    }

    async fn commit_chunk(&self, job: &str, chunk: ChunkWrite) -> R<()> {
        let job = job.to_string();
        self.writer
            .write(move |conn| {
                write_links(conn, &job, &chunk.links)?;
                write_members(conn, &job, &chunk.add_members, &chunk.remove_members)?;
                write_unlinks(conn, &job, &chunk.unlink)?;
                write_escrows(conn, &job, &chunk.put_escrow, &chunk.done_escrow)?;
                write_log(conn, &chunk.logs)?;
                Ok(())
            })
            .await
    }

    async fn members_of(&self, job: &str, groups: Vec<String>) -> R<Vec<(String, Vec<String>)>> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let readers = self.readers.clone();
        let job = job.to_string();
        let ids = serde_json::to_string(&groups).map_err(|e| CoreError::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            readers.read(|conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT group_id, member_id FROM sync_members \
                     WHERE job = ?1 AND group_id IN (SELECT value FROM json_each(?2)) ORDER BY group_id, member_id",
                )?;
                let rows = stmt.query_map(params![job, ids], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(crate::rules::group_members(rows)?)
            })
        })
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
    }

    async fn log(&self, q: LogQuery) -> R<Vec<LogRecord>> {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            readers.read(|conn| {
                let mut sql = String::from(
                    "SELECT job, cycle_id, change_id, at, kind, source_id, target_id, action, status, steps, modified, \
                     error_code, error_message, duration_ms, initiated_by, source_display, target_display \
                     FROM sync_log WHERE job = ?",
                );
                let mut p = vec![SqlValue::Text(q.job.clone())];
                if let Some(c) = &q.cycle_id {
                    sql.push_str(" AND cycle_id = ?");
                    p.push(SqlValue::Text(c.clone()));
                }
                if let Some(s) = &q.status {
                    sql.push_str(" AND lower(status) = lower(?)");
                    p.push(SqlValue::Text(s.clone()));
                }
                sql.push_str(" ORDER BY seq DESC LIMIT ?");
                p.push(SqlValue::Integer(q.limit.max(1) as i64));
                let mut stmt = conn.prepare(&sql)?;
                let rows = stmt.query_map(params_from_iter(p), log_row)?;
                let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
                out.reverse();
                Ok(out)
            })
        })
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
    }

    async fn jobs(&self) -> R<Vec<JobStatus>> {
        self.readers.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!("SELECT {STATUS_COLS} FROM sync_status ORDER BY job"))?;
            let rows = stmt.query_map([], status_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    async fn clear(&self, job: &str, scope: ClearScope) -> R<()> {
        let job = job.to_string();
        self.writer
            .write(move |conn| {
                if scope.state {
                    conn.execute("DELETE FROM sync_links WHERE job = ?1", [&job])?;
                    conn.execute("DELETE FROM sync_members WHERE job = ?1", [&job])?;
                    conn.execute(
                        "UPDATE sync_status SET watermark = NULL, initial_done = 0, full_read_at = NULL WHERE job = ?1",
                        [&job],
                    )?;
                }
                if scope.escrow {
                    conn.execute("DELETE FROM sync_escrow WHERE job = ?1", [&job])?;
                }
                if scope.quarantine {
                    conn.execute(
                        "UPDATE sync_status SET quarantine_reason = NULL, quarantine_since = NULL, next_run = NULL, \
                         quarantine_attempts = 0, disabled = 0 WHERE job = ?1",
                        [&job],
                    )?;
                }
                Ok(())
            })
            .await
    }

    async fn claim_notice(&self, job: &str, kind: &str, now: Timestamp, since: Timestamp) -> R<bool> {
        let (job, kind) = (job.to_string(), kind.to_string());
        self.writer
            .write(move |conn| {
                let n = conn
                    .prepare_cached(
                        "INSERT INTO sync_notices (job, kind, sent_at) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (job, kind) DO UPDATE SET sent_at = excluded.sent_at \
                         WHERE sync_notices.sent_at <= ?4",
                    )?
                    .execute(params![job, kind, ts(now), ts(since)])?;
                Ok(n == 1)
            })
            .await
    }

    async fn claim_lease(&self, job: &str, holder: &str, now: Timestamp, until: Timestamp) -> R<LeaseClaim> {
        self.claim_lease_in(job, holder, now, until).await
    }

    async fn release_lease(&self, job: &str, holder: &str) -> R<()> {
        self.release_lease_in(job, holder).await
    }

    async fn set_stopped(&self, job: &str, stopped: bool) -> R<()> {
        self.set_stopped_in(job, stopped).await
    }

    async fn control(&self, job: &str) -> R<JobControl> {
        self.control_in(job).await
    }

    async fn set_progress(&self, job: &str, progress: Option<String>) -> R<()> {
        self.set_progress_in(job, progress).await
    }

    async fn append_cycle(&self, cycle: CycleRecord) -> R<()> {
        self.append_cycle_in(cycle).await
    }

    async fn cycles(&self, job: &str, limit: usize) -> R<Vec<CycleRecord>> {
        self.cycles_in(job, limit).await
    }
}

fn write_links(conn: &rusqlite::Connection, job: &str, links: &[Link]) -> rusqlite::Result<()> {
    // In key order (the last of equal keys still written last): the key index is walked
    // once, not probed at random.
    let mut links: Vec<&Link> = links.iter().collect();
    links.sort_by(|a, b| (&a.kind, &a.source_id).cmp(&(&b.kind, &b.source_id)));
    for chunk in links.chunks(CHUNK) {
        let mut sql = String::from(
            "INSERT OR REPLACE INTO sync_links (job, kind, source_id, target_id, hash, vals, disabled, updated) VALUES ",
        );
        let mut p: Vec<SqlValue> = Vec::with_capacity(chunk.len() * 8);
        for (i, l) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 {
                "(?,?,?,?,?,?,?,?)"
            } else {
                ",(?,?,?,?,?,?,?,?)"
            });
            p.extend([
                SqlValue::Text(job.to_string()),
                SqlValue::Text(l.kind.clone()),
                SqlValue::Text(l.source_id.clone()),
                SqlValue::Text(l.target_id.clone()),
                SqlValue::Text(l.hash.clone()),
                SqlValue::Text(l.values.clone()),
                SqlValue::Integer(l.disabled as i64),
                SqlValue::Text(ts(l.updated)),
            ]);
        }
        conn.prepare_cached(&sql)?.execute(params_from_iter(p))?;
    }
    Ok(())
}

/// Unlinks objects, and drops the memberships they are the group or the member of.
fn write_unlinks(conn: &rusqlite::Connection, job: &str, keys: &[(String, String)]) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached("DELETE FROM sync_links WHERE job = ?1 AND kind = ?2 AND source_id = ?3")?;
    let mut groups = conn.prepare_cached("DELETE FROM sync_members WHERE job = ?1 AND group_id = ?2")?;
    let mut member = conn.prepare_cached("DELETE FROM sync_members WHERE job = ?1 AND member_id = ?2")?;
    for (kind, id) in keys {
        stmt.execute(params![job, kind, id])?;
        if kind == "group" {
            groups.execute(params![job, id])?;
        }
        member.execute(params![job, id])?;
    }
    Ok(())
}

fn write_members(
    conn: &rusqlite::Connection,
    job: &str,
    add: &[(String, Vec<String>)],
    remove: &[(String, Vec<String>)],
) -> rusqlite::Result<()> {
    let mut ins =
        conn.prepare_cached("INSERT OR IGNORE INTO sync_members (job, group_id, member_id) VALUES (?1, ?2, ?3)")?;
    for (g, members) in add {
        // In key order, so a large group's rows fill pages one after another.
        let mut members: Vec<&String> = members.iter().collect();
        members.sort_unstable();
        for m in members {
            ins.execute(params![job, g, m])?;
        }
    }
    let mut del =
        conn.prepare_cached("DELETE FROM sync_members WHERE job = ?1 AND group_id = ?2 AND member_id = ?3")?;
    for (g, members) in remove {
        for m in members {
            del.execute(params![job, g, m])?;
        }
    }
    Ok(())
}

fn write_escrows(
    conn: &rusqlite::Connection,
    job: &str,
    put: &[Escrow],
    remove: &[(String, String)],
) -> rusqlite::Result<()> {
    let mut del = conn.prepare_cached("DELETE FROM sync_escrow WHERE job = ?1 AND kind = ?2 AND source_id = ?3")?;
    for (kind, id) in remove {
        del.execute(params![job, kind, id])?;
    }
    let mut ins = conn.prepare_cached(
        "INSERT OR REPLACE INTO sync_escrow \
         (job, kind, source_id, action, error_code, message, attempts, first_failed, next_attempt) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for e in put {
        ins.execute(params![
            job,
            e.kind,
            e.source_id,
            e.action,
            e.error_code,
            e.message,
            e.attempts,
            ts(e.first_failed),
            ts(e.next_attempt)
        ])?;
    }
    Ok(())
}

fn write_log(conn: &rusqlite::Connection, records: &[LogRecord]) -> rusqlite::Result<()> {
    let mut ins = conn.prepare_cached(
        "INSERT INTO sync_log (job, cycle_id, change_id, at, kind, source_id, target_id, action, status, \
         steps, modified, error_code, error_message, duration_ms, initiated_by, source_display, target_display) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?;
    for r in records {
        ins.execute(params![
            r.job,
            r.cycle_id,
            r.change_id,
            ts(r.at),
            r.kind,
            r.source_id,
            r.target_id,
            r.action,
            r.status,
            r.steps,
            r.modified,
            r.error_code,
            r.error_message,
            r.duration_ms as i64,
            r.initiated_by,
            r.source_display,
            r.target_display
        ])?;
    }
    Ok(())
}
