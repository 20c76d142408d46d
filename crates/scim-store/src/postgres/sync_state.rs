//! `SyncStateStore` on PostgreSQL: the engine's links, status, escrows and log, keyed by job.

use async_trait::async_trait;
use scim_core::ports::sync::{
    ClearScope, CycleRecord, Escrow, JobControl, JobStatus, LeaseClaim, Link, LogQuery, LogRecord, SyncStateStore,
};
use scim_core::{CoreError, Timestamp};
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::{PgStore, pg_text};
use crate::error::StoreError;

type R<T> = Result<T, CoreError>;

const STATUS_COLS: &str = "job, watermark, initial_done, quarantine_reason, quarantine_since, next_run, \
                           quarantine_attempts, disabled, last_cycle, updated, full_read_at";
const LOG_REST: &str = "cycle_id, change_id, at, kind, source_id, target_id, action, status, steps, modified, \
                        error_code, error_message, duration_ms, initiated_by, source_display, target_display";

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

fn keys(job: &str, keys: &[(String, String)]) -> (String, Vec<String>, Vec<String>) {
    let (k, s) = keys
        .iter()
        .map(|(k, s)| (pg_text(k).into_owned(), pg_text(s).into_owned()))
        .unzip();
    (pg_text(job).into_owned(), k, s)
}

impl PgStore {
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
        Ok(rows
            .iter()
            .map(|r| Link {
                kind: r.get(0),
                source_id: r.get(1),
                target_id: r.get(2),
                hash: r.get(3),
                values: r.get(4),
                disabled: r.get(5),
                updated: ts(r, 6),
            })
            .collect())
    }

    async fn put_links(&self, job: &str, links: Vec<Link>) -> R<()> {
        if links.is_empty() {
            return Ok(());
        }
        let job = pg_text(job).into_owned();
        // The last link given for a key wins, as row-by-row replacement would.
        let kept = crate::rules::last_per_key(&links, |l| (l.kind.as_str(), l.source_id.as_str()));
        let pick = |f: &dyn Fn(&Link) -> String| -> Vec<String> { kept.iter().map(|l| f(l)).collect() };
        let (kind, src) = (
            pick(&|l| pg_text(&l.kind).into_owned()),
            pick(&|l| pg_text(&l.source_id).into_owned()),
        );
        let (target, hash, vals) = (
            pick(&|l| l.target_id.clone()),
            pick(&|l| l.hash.clone()),
            pick(&|l| l.values.clone()),
        );
        let disabled: Vec<bool> = kept.iter().map(|l| l.disabled).collect();
        let updated: Vec<OffsetDateTime> = kept.iter().map(|l| l.updated.datetime()).collect();
        self.exec(
            "INSERT INTO sync_links (job, kind, source_id, target_id, hash, vals, disabled, updated) \
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::timestamptz[]) \
             ON CONFLICT (job, kind, source_id) DO UPDATE SET target_id = excluded.target_id, hash = excluded.hash, \
             vals = excluded.vals, disabled = excluded.disabled, updated = excluded.updated",
            &[&job, &kind, &src, &target, &hash, &vals, &disabled, &updated],
        )
        .await?;
        Ok(())
    }

    async fn remove_links(&self, job: &str, k: Vec<(String, String)>) -> R<()> {
        if k.is_empty() {
            return Ok(());
        }
        let (job, kinds, ids) = keys(job, &k);
        self.exec(
            "DELETE FROM sync_links l USING unnest($2::text[], $3::text[]) AS x(kind, source_id) \
             WHERE l.job = $1 AND l.kind = x.kind AND l.source_id = x.source_id",
            &[&job, &kinds, &ids],
        )
        .await?;
        Ok(())
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
        if put.is_empty() && remove.is_empty() {
            return Ok(());
        }
        let mut c = self.conn().await?;
        let run = async {
            let tx = c.transaction().await?;
            let (job, kinds, ids) = keys(job, &remove);
            tx.execute(
                "DELETE FROM sync_escrow e USING unnest($2::text[], $3::text[]) AS x(kind, source_id) \
                 WHERE e.job = $1 AND e.kind = x.kind AND e.source_id = x.source_id",
                &[&job, &kinds, &ids],
            )
            .await?;
            let ins = tx
                .prepare_cached(
                    "INSERT INTO sync_escrow (job, kind, source_id, action, error_code, message, attempts, \
                     first_failed, next_attempt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (job, kind, source_id) DO UPDATE SET action = excluded.action, \
                     error_code = excluded.error_code, message = excluded.message, attempts = excluded.attempts, \
                     first_failed = excluded.first_failed, next_attempt = excluded.next_attempt",
                )
                .await?;
            for e in &put {
                let attempts = e.attempts as i64;
                tx.execute(
                    &ins,
                    &[
                        &job,
                        &pg_text(&e.kind).as_ref(),
                        &pg_text(&e.source_id).as_ref(),
                        &e.action,
                        &e.error_code,
                        &e.message,
                        &attempts,
                        &e.first_failed.datetime(),
                        &e.next_attempt.datetime(),
                    ],
                )
                .await?;
            }
            tx.commit().await?;
            Ok::<_, StoreError>(())
        };
        Ok(run.await?)
    }

    async fn append_log(&self, records: Vec<LogRecord>) -> R<()> {
        if records.is_empty() {
            return Ok(());
        }
        let col = |f: &dyn Fn(&LogRecord) -> String| -> Vec<String> { records.iter().map(f).collect() };
        let opt = |f: &dyn Fn(&LogRecord) -> Option<String>| -> Vec<Option<String>> { records.iter().map(f).collect() };
        let at: Vec<OffsetDateTime> = records.iter().map(|r| r.at.datetime()).collect();
        self.exec(
            &format!(
                "INSERT INTO sync_log (job, {LOG_REST}) SELECT job, {LOG_REST} FROM unnest($1::text[], $2::text[], $3::text[], \
                 $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
                 $11::text[], $12::text[], $13::text[], $14::bigint[], $15::text[], $16::text[], $17::text[]) WITH ORDINALITY AS u(job, {LOG_REST}, ord) ORDER BY ord"
            ),
            &[
                &col(&|r| pg_text(&r.job).into_owned()),
                &col(&|r| pg_text(&r.cycle_id).into_owned()),
                &col(&|r| r.change_id.clone()),
                &at,
                &col(&|r| r.kind.clone()),
                &col(&|r| pg_text(&r.source_id).into_owned()),
                &opt(&|r| r.target_id.clone()),
                &col(&|r| r.action.clone()),
                &col(&|r| r.status.clone()),
                &col(&|r| r.steps.clone()),
                &col(&|r| r.modified.clone()),
                &opt(&|r| r.error_code.clone()),
                &opt(&|r| r.error_message.clone()),
                &records.iter().map(|r| r.duration_ms as i64).collect::<Vec<i64>>(),
                &col(&|r| r.initiated_by.clone()),
                &col(&|r| pg_text(&r.source_display).into_owned()),
                &opt(&|r| r.target_display.as_deref().map(|t| pg_text(t).into_owned())),
            ],
        )
        .await?;
        Ok(())
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
