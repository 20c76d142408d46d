//! `SyncStateStore` on PostgreSQL: the engine's links, status, escrows and log, keyed by job.

use async_trait::async_trait;
use scim_core::ports::sync::{
    ChunkWrite, ClearScope, CycleRecord, Escrow, JobControl, JobStatus, LeaseClaim, Link, LinkKey, LogQuery, LogRecord,
    SyncStateStore,
};
use scim_core::{CoreError, Timestamp};
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::sync_writes::{self as w, LOG_REST};
use super::{PgStore, pg_text};
use crate::error::StoreError;

type R<T> = Result<T, CoreError>;

const STATUS_COLS: &str = "job, watermark, initial_done, quarantine_reason, quarantine_since, next_run, \
                           quarantine_attempts, disabled, last_cycle, updated, full_read_at";

fn ts(r: &Row, i: usize) -> Timestamp {
    Timestamp::new(r.get(i))
}

fn ts_opt(r: &Row, i: usize) -> Option<Timestamp> {
    r.get::<_, Option<OffsetDateTime>>(i).map(Timestamp::new)
}

fn dt(t: Option<Timestamp>) -> Option<OffsetDateTime> {
    t.map(|t| t.datetime())
}

fn status_row(r: &Row) -> JobStatus {
    JobStatus {
        job: r.get(0),
        watermark: r.get(1),
        initial_done: r.get(2),
        quarantine_reason: r.get(3),
        quarantine_since: ts_opt(r, 4),
        next_run: ts_opt(r, 5),
        quarantine_attempts: r.get::<_, i64>(6) as u32,
        disabled: r.get(7),
        last_cycle: r.get(8),
        updated: ts(r, 9),
        full_read_at: ts_opt(r, 10),
    }
}

fn log_row(r: &Row) -> LogRecord {
    LogRecord {
        job: r.get(0),
        cycle_id: r.get(1),
        change_id: r.get(2),
        at: ts(r, 3),
        kind: r.get(4),
        source_id: r.get(5),
        target_id: r.get(6),
        action: r.get(7),
        status: r.get(8),
        steps: r.get(9),
        modified: r.get(10),
        error_code: r.get(11),
        error_message: r.get(12),
        duration_ms: r.get::<_, i64>(13) as u64,
        initiated_by: r.get(14),
        source_display: r.get(15),
        target_display: r.get(16),
    }
}

fn link_row(r: &Row) -> Link {
    Link {
        kind: r.get(0),
        source_id: r.get(1),
        target_id: r.get(2),
        hash: r.get(3),
        values: r.get(4),
        disabled: r.get(5),
        updated: ts(r, 6),
    }
}

fn link_key_row(r: &Row) -> LinkKey {
    LinkKey {
        kind: r.get(0),
        source_id: r.get(1),
        target_id: r.get(2),
        disabled: r.get(3),
    }
}

impl PgStore {
    /// `cols` (of `l`) of the job's links with these (kind, source id) keys, in one query.
    async fn links_by_key(&self, job: &str, keys: Vec<(String, String)>, cols: &str) -> Result<Vec<Row>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let (kinds, ids): (Vec<String>, Vec<String>) = keys
            .iter()
            .map(|(k, i)| (pg_text(k).into_owned(), pg_text(i).into_owned()))
            .unzip();
        let sql = format!(
            "SELECT {cols} FROM unnest($2::text[], $3::text[]) AS k(kind, source_id) \
             JOIN sync_links l ON l.job = $1 AND l.kind = k.kind AND l.source_id = k.source_id"
        );
        self.rows(&sql, &[&pg_text(job).as_ref(), &kinds, &ids]).await
    }

    async fn exec(&self, sql: &str, p: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let c = self.conn().await?;
        let stmt = c.prepare_cached(sql).await?;
        Ok(c.execute(&stmt, p).await?)
    }

    async fn rows(&self, sql: &str, p: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        let c = self.conn().await?;
        let stmt = c.prepare_cached(sql).await?;
        Ok(c.query(&stmt, p).await?)
    }
}

#[async_trait]
impl SyncStateStore for PgStore {
    async fn links(&self, job: &str) -> R<Vec<Link>> {
        let rows = self
            .rows(
                "SELECT kind, source_id, target_id, hash, vals, disabled, updated FROM sync_links WHERE job = $1",
                &[&pg_text(job).as_ref()],
            )
            .await?;
        Ok(rows.iter().map(link_row).collect())
    }

    async fn links_for(&self, job: &str, keys: Vec<(String, String)>) -> R<Vec<Link>> {
        let cols = "l.kind, l.source_id, l.target_id, l.hash, l.vals, l.disabled, l.updated";
        Ok(self.links_by_key(job, keys, cols).await?.iter().map(link_row).collect())
    }

    async fn link_keys_for(&self, job: &str, keys: Vec<(String, String)>) -> R<Vec<LinkKey>> {
        let cols = "l.kind, l.source_id, l.target_id, l.disabled";
        Ok(self
            .links_by_key(job, keys, cols)
            .await?
            .iter()
            .map(link_key_row)
            .collect())
    }

    async fn linked_keys(
        &self,
        job: &str,
        after: Option<(String, String)>,
        limit: usize,
        disabled_only: bool,
    ) -> R<Vec<(String, String)>> {
        let (kind, id) = after.unwrap_or_default();
        let (kind, id) = (pg_text(&kind).into_owned(), pg_text(&id).into_owned());
        let sql = if disabled_only {
            "SELECT kind, source_id FROM sync_links \
             WHERE job = $1 AND (kind, source_id) > ($2, $3) AND disabled ORDER BY kind, source_id LIMIT $4"
        } else {
            "SELECT kind, source_id FROM sync_links \
             WHERE job = $1 AND (kind, source_id) > ($2, $3) ORDER BY kind, source_id LIMIT $4"
        };
        let rows = self
            .rows(sql, &[&pg_text(job).as_ref(), &kind, &id, &(limit as i64)])
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn put_links(&self, job: &str, links: Vec<Link>) -> R<()> {
        let mut c = self.conn().await?;
        let run = async {
            let tx = c.transaction().await?;
            w::links(&tx, job, &links).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        };
        Ok(run.await?)
    }

    async fn remove_links(&self, job: &str, k: Vec<(String, String)>) -> R<()> {
        let mut c = self.conn().await?;
        let run = async {
            let tx = c.transaction().await?;
            w::unlink(&tx, job, &k).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        };
        Ok(run.await?)
    }

    async fn status(&self, job: &str) -> R<JobStatus> {
        let rows = self
            .rows(
                &format!("SELECT {STATUS_COLS} FROM sync_status WHERE job = $1"),
                &[&pg_text(job).as_ref()],
            )
            .await?;
        Ok(rows.first().map(status_row).unwrap_or_else(|| JobStatus {
            job: job.to_string(),
            ..Default::default()
        }))
    }

    async fn put_status(&self, s: JobStatus) -> R<()> {
        let sets = STATUS_COLS
            .split(", ")
            .skip(1)
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO sync_status ({STATUS_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (job) DO UPDATE SET {sets}"
        );
        let attempts = s.quarantine_attempts as i64;
        self.exec(
            &sql,
            &[
                &pg_text(&s.job).as_ref(),
                &s.watermark,
                &s.initial_done,
                &s.quarantine_reason,
                &dt(s.quarantine_since),
                &dt(s.next_run),
                &attempts,
                &s.disabled,
                &s.last_cycle,
                &s.updated.datetime(),
                &dt(s.full_read_at),
            ],
        )
        .await?;
        Ok(())
    }

    async fn escrows(&self, job: &str) -> R<Vec<Escrow>> {
        let rows = self
            .rows(
                "SELECT kind, source_id, action, error_code, message, attempts, first_failed, next_attempt \
                 FROM sync_escrow WHERE job = $1 ORDER BY kind, source_id",
                &[&pg_text(job).as_ref()],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| Escrow {
                kind: r.get(0),
                source_id: r.get(1),
                action: r.get(2),
                error_code: r.get(3),
                message: r.get(4),
                attempts: r.get::<_, i64>(5) as u32,
                first_failed: ts(r, 6),
                next_attempt: ts(r, 7),
            })
            .collect())
    }

    async fn put_escrows(&self, job: &str, put: Vec<Escrow>, remove: Vec<(String, String)>) -> R<()> {
        let mut c = self.conn().await?;
        let run = async {
            let tx = c.transaction().await?;
            w::escrows(&tx, job, &put, &remove).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        };
        Ok(run.await?)
    }

    async fn append_log(&self, records: Vec<LogRecord>) -> R<()> {
        let mut c = self.conn().await?;
        let run = async {
            let tx = c.transaction().await?;
            w::log(&tx, &records).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        };
        Ok(run.await?)
    }

    async fn commit_chunk(&self, job: &str, chunk: ChunkWrite) -> R<()> {
        let mut c = self.conn().await?;
        let run = async {
            let tx = c.transaction().await?;
            w::links(&tx, job, &chunk.links).await?;
            w::members(&tx, job, &chunk.add_members, &chunk.remove_members).await?;
            w::unlink(&tx, job, &chunk.unlink).await?;
            w::escrows(&tx, job, &chunk.put_escrow, &chunk.done_escrow).await?;
            w::log(&tx, &chunk.logs).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        };
        Ok(run.await?)
    }

    async fn members_of(&self, job: &str, groups: Vec<String>) -> R<Vec<(String, Vec<String>)>> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let groups: Vec<String> = groups.iter().map(|g| pg_text(g).into_owned()).collect();
        let rows = self
            .rows(
                "SELECT group_id, member_id FROM sync_members WHERE job = $1 AND group_id = ANY($2::text[]) \
                 ORDER BY group_id, member_id",
                &[&pg_text(job).as_ref(), &groups],
            )
            .await?;
        let pairs = rows.iter().map(|r| Ok::<_, CoreError>((r.get(0), r.get(1))));
        crate::rules::group_members(pairs)
    }

    async fn log(&self, q: LogQuery) -> R<Vec<LogRecord>> {
        let mut sql = format!("SELECT job, {LOG_REST} FROM sync_log WHERE job = $1");
        let job = pg_text(&q.job).into_owned();
        let limit = q.limit.max(1) as i64;
        let mut p: Vec<&(dyn ToSql + Sync)> = vec![&job];
        if let Some(c) = &q.cycle_id {
            p.push(c);
            sql.push_str(&format!(" AND cycle_id = ${}", p.len()));
        }
        if let Some(s) = &q.status {
            p.push(s);
            sql.push_str(&format!(" AND lower(status) = lower(${})", p.len()));
        }
        p.push(&limit);
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", p.len()));
        let rows = self.rows(&sql, &p).await?;
        let mut out: Vec<LogRecord> = rows.iter().map(log_row).collect();
        out.reverse();
        Ok(out)
    }

    async fn jobs(&self) -> R<Vec<JobStatus>> {
        let rows = self
            .rows(&format!("SELECT {STATUS_COLS} FROM sync_status ORDER BY job"), &[])
            .await?;
        Ok(rows.iter().map(status_row).collect())
    }

    async fn clear(&self, job: &str, scope: ClearScope) -> R<()> {
        let job = pg_text(job).into_owned();
        let mut c = self.conn().await?;
        let run = async {
            let tx = c.transaction().await?;
            if scope.state {
                tx.execute("DELETE FROM sync_links WHERE job = $1", &[&job]).await?;
                tx.execute("DELETE FROM sync_members WHERE job = $1", &[&job]).await?;
                tx.execute(
                    "UPDATE sync_status SET watermark = NULL, initial_done = false, full_read_at = NULL WHERE job = $1",
                    &[&job],
                )
                .await?;
            }
            if scope.escrow {
                tx.execute("DELETE FROM sync_escrow WHERE job = $1", &[&job]).await?;
            }
            if scope.quarantine {
                tx.execute(
                    "UPDATE sync_status SET quarantine_reason = NULL, quarantine_since = NULL, next_run = NULL, \
                     quarantine_attempts = 0, disabled = false WHERE job = $1",
                    &[&job],
                )
                .await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        };
        Ok(run.await?)
    }

    async fn claim_notice(&self, job: &str, kind: &str, now: Timestamp, since: Timestamp) -> R<bool> {
        let (job, kind) = (pg_text(job).into_owned(), pg_text(kind).into_owned());
        let (now, since) = (now.datetime(), since.datetime());
        let c = self.conn().await?;
        let n = c
            .execute(
                "INSERT INTO sync_notices (job, kind, sent_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (job, kind) DO UPDATE SET sent_at = excluded.sent_at \
                 WHERE sync_notices.sent_at <= $4",
                &[&job, &kind, &now, &since],
            )
            .await
            .map_err(StoreError::from)?;
        Ok(n == 1)
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
