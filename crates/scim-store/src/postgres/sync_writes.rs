//! The engine's state writes on PostgreSQL as functions of a transaction: the single-purpose
//! port methods and `commit_chunk` (links, escrows and log of one chunk, atomically) share them.

use scim_core::ports::sync::{Escrow, Link, LogRecord};
use time::OffsetDateTime;
use tokio_postgres::Transaction;

use super::pg_text;
use crate::error::StoreError;

type W = Result<(), StoreError>;

pub(super) const LOG_REST: &str = "cycle_id, change_id, at, kind, source_id, target_id, action, status, steps, modified, \
                                   error_code, error_message, duration_ms, initiated_by, source_display, target_display";

pub(super) fn keys(job: &str, keys: &[(String, String)]) -> (String, Vec<String>, Vec<String>) {
    let (k, s) = keys
        .iter()
        .map(|(k, s)| (pg_text(k).into_owned(), pg_text(s).into_owned()))
        .unzip();
    (pg_text(job).into_owned(), k, s)
}

pub(super) async fn links(tx: &Transaction<'_>, job: &str, links: &[Link]) -> W {
    if links.is_empty() {
        return Ok(());
    }
    let job = pg_text(job).into_owned();
    // The last link given for a key wins, as row-by-row replacement would.
    let kept = crate::rules::last_per_key(links, |l| (l.kind.as_str(), l.source_id.as_str()));
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
    tx.execute(
        "INSERT INTO sync_links (job, kind, source_id, target_id, hash, vals, disabled, updated) \
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::timestamptz[]) \
         ON CONFLICT (job, kind, source_id) DO UPDATE SET target_id = excluded.target_id, hash = excluded.hash, \
         vals = excluded.vals, disabled = excluded.disabled, updated = excluded.updated",
        &[&job, &kind, &src, &target, &hash, &vals, &disabled, &updated],
    )
    .await?;
    Ok(())
}

/// Unlinks objects, and drops the memberships they are the group or the member of.
pub(super) async fn unlink(tx: &Transaction<'_>, job: &str, k: &[(String, String)]) -> W {
    if k.is_empty() {
        return Ok(());
    }
    delete_keys(tx, "sync_links", job, k).await?;
    let (job, kinds, ids) = keys(job, k);
    tx.execute(
        "DELETE FROM sync_members t USING unnest($2::text[], $3::text[]) AS x(kind, id) \
         WHERE t.job = $1 AND ((x.kind = 'group' AND t.group_id = x.id) OR t.member_id = x.id)",
        &[&job, &kinds, &ids],
    )
    .await?;
    Ok(())
}

/// Memberships put on and taken off the target: each group's source id with its members'.
pub(super) async fn members(
    tx: &Transaction<'_>,
    job: &str,
    add: &[(String, Vec<String>)],
    remove: &[(String, Vec<String>)],
) -> W {
    for (sql, pairs) in [
        (
            "INSERT INTO sync_members (job, group_id, member_id) SELECT $1, * FROM unnest($2::text[], $3::text[]) \
             ON CONFLICT DO NOTHING",
            add,
        ),
        (
            "DELETE FROM sync_members t USING unnest($2::text[], $3::text[]) AS x(g, m) \
             WHERE t.job = $1 AND t.group_id = x.g AND t.member_id = x.m",
            remove,
        ),
    ] {
        // The two columns straight from the grouped rows (no pairs in between).
        let (groups, members): (Vec<String>, Vec<String>) = pairs
            .iter()
            .flat_map(|(g, ms)| {
                let g = pg_text(g);
                ms.iter()
                    .map(move |m| (g.clone().into_owned(), pg_text(m).into_owned()))
            })
            .unzip();
        if groups.is_empty() {
            continue;
        }
        tx.execute(sql, &[&pg_text(job).as_ref(), &groups, &members]).await?;
    }
    Ok(())
}

/// Deletes a job's rows of `table` (keyed by job, kind, source id) for the given objects.
async fn delete_keys(tx: &Transaction<'_>, table: &'static str, job: &str, k: &[(String, String)]) -> W {
    let (job, kinds, ids) = keys(job, k);
    tx.execute(
        &format!(
            "DELETE FROM {table} t USING unnest($2::text[], $3::text[]) AS x(kind, source_id) \
             WHERE t.job = $1 AND t.kind = x.kind AND t.source_id = x.source_id"
        ),
        &[&job, &kinds, &ids],
    )
    .await?;
    Ok(())
}

pub(super) async fn escrows(tx: &Transaction<'_>, job: &str, put: &[Escrow], remove: &[(String, String)]) -> W {
    if put.is_empty() && remove.is_empty() {
        return Ok(());
    }
    delete_keys(tx, "sync_escrow", job, remove).await?;
    let job = pg_text(job).into_owned();
    let ins = tx
        .prepare(
            "INSERT INTO sync_escrow (job, kind, source_id, action, error_code, message, attempts, \
             first_failed, next_attempt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (job, kind, source_id) DO UPDATE SET action = excluded.action, \
             error_code = excluded.error_code, message = excluded.message, attempts = excluded.attempts, \
             first_failed = excluded.first_failed, next_attempt = excluded.next_attempt",
        )
        .await?;
    for e in put {
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
    Ok(())
}

pub(super) async fn log(tx: &Transaction<'_>, records: &[LogRecord]) -> W {
    if records.is_empty() {
        return Ok(());
    }
    let col = |f: &dyn Fn(&LogRecord) -> String| -> Vec<String> { records.iter().map(f).collect() };
    let opt = |f: &dyn Fn(&LogRecord) -> Option<String>| -> Vec<Option<String>> { records.iter().map(f).collect() };
    let at: Vec<OffsetDateTime> = records.iter().map(|r| r.at.datetime()).collect();
    tx.execute(
        &format!(
            "INSERT INTO sync_log (job, {LOG_REST}) SELECT job, {LOG_REST} FROM unnest($1::text[], $2::text[], $3::text[], \
             $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
             $11::text[], $12::text[], $13::text[], $14::bigint[], $15::text[], $16::text[], $17::text[]) \
             WITH ORDINALITY AS u(job, {LOG_REST}, ord) ORDER BY ord"
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
