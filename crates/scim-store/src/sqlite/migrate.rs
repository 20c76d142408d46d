//! Schema migrations, tracked in `PRAGMA user_version`.

use rusqlite::Connection;

use crate::error::{Result, StoreError};

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE tenants (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL
);
CREATE TABLE tokens (
    id        INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    prefix    TEXT NOT NULL,
    hash      BLOB NOT NULL UNIQUE,
    created   TEXT NOT NULL,
    expires   TEXT,
    revoked   TEXT
);
CREATE INDEX tokens_tenant ON tokens(tenant_id);
CREATE TABLE resources (
    seq           INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL,
    rtype         INTEGER NOT NULL,
    id            TEXT NOT NULL,
    external_id   TEXT,
    name_key      TEXT NOT NULL,
    version       INTEGER NOT NULL,
    created       TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    doc           TEXT NOT NULL
);
CREATE UNIQUE INDEX resources_id ON resources(tenant_id, rtype, id);
CREATE UNIQUE INDEX resources_name ON resources(tenant_id, rtype, name_key);
CREATE INDEX resources_external ON resources(tenant_id, rtype, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX resources_modified ON resources(tenant_id, rtype, last_modified);
CREATE TABLE value_index (
    res       INTEGER NOT NULL,
    path      TEXT NOT NULL,
    ord       INTEGER NOT NULL,
    tenant_id INTEGER NOT NULL,
    rtype     INTEGER NOT NULL,
    val,
    PRIMARY KEY (res, path, ord)
) WITHOUT ROWID;
CREATE INDEX value_index_lookup ON value_index(tenant_id, rtype, path, val);
CREATE TABLE members (
    group_seq INTEGER NOT NULL,
    member_id TEXT NOT NULL,
    tenant_id INTEGER NOT NULL,
    json      TEXT NOT NULL,
    PRIMARY KEY (group_seq, member_id)
) WITHOUT ROWID;
CREATE INDEX members_by_member ON members(tenant_id, member_id);
CREATE TABLE counts (
    tenant_id INTEGER NOT NULL,
    rtype     INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, rtype)
) WITHOUT ROWID;
CREATE TABLE journal (
    seq       INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    rtype     INTEGER NOT NULL,
    res_id    TEXT NOT NULL,
    op        TEXT NOT NULL,
    version   INTEGER NOT NULL,
    at        TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE sync_links (
    job       TEXT NOT NULL,
    kind      TEXT NOT NULL,
    source_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    hash      TEXT NOT NULL,
    vals      TEXT NOT NULL,
    disabled  INTEGER NOT NULL,
    updated   TEXT NOT NULL,
    PRIMARY KEY (job, kind, source_id)
) WITHOUT ROWID;
CREATE TABLE sync_status (
    job                 TEXT PRIMARY KEY,
    watermark           TEXT,
    initial_done        INTEGER NOT NULL,
    quarantine_reason   TEXT,
    quarantine_since    TEXT,
    next_run            TEXT,
    quarantine_attempts INTEGER NOT NULL,
    disabled            INTEGER NOT NULL,
    last_cycle          TEXT,
    updated             TEXT NOT NULL
);
CREATE TABLE sync_escrow (
    job          TEXT NOT NULL,
    kind         TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    action       TEXT NOT NULL,
    error_code   TEXT NOT NULL,
    message      TEXT NOT NULL,
    attempts     INTEGER NOT NULL,
    first_failed TEXT NOT NULL,
    next_attempt TEXT NOT NULL,
    PRIMARY KEY (job, kind, source_id)
) WITHOUT ROWID;
CREATE TABLE sync_log (
    seq           INTEGER PRIMARY KEY,
    job           TEXT NOT NULL,
    cycle_id      TEXT NOT NULL,
    change_id     TEXT NOT NULL,
    at            TEXT NOT NULL,
    kind          TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    target_id     TEXT,
    action        TEXT NOT NULL,
    status        TEXT NOT NULL,
    steps         TEXT NOT NULL,
    modified      TEXT NOT NULL,
    error_code    TEXT,
    error_message TEXT
);
CREATE INDEX sync_log_job ON sync_log(job, cycle_id);
"#,
    r#"
ALTER TABLE sync_status ADD COLUMN full_read_at TEXT;
"#,
    r#"
ALTER TABLE tenants ADD COLUMN secret BLOB;
UPDATE tenants SET secret = randomblob(32);
"#,
    r#"
CREATE TABLE admin_tokens (
    id      INTEGER PRIMARY KEY,
    prefix  TEXT NOT NULL,
    hash    BLOB NOT NULL UNIQUE,
    created TEXT NOT NULL,
    expires TEXT,
    revoked TEXT
);
"#,
    r#"
CREATE TABLE clients (
    tenant_id INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    created   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
) WITHOUT ROWID;
CREATE TABLE client_secrets (
    id        INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    prefix    TEXT NOT NULL,
    hash      BLOB NOT NULL UNIQUE,
    created   TEXT NOT NULL,
    expires   TEXT,
    revoked   TEXT
);
CREATE INDEX client_secrets_client ON client_secrets(tenant_id, client_id);
ALTER TABLE tokens ADD COLUMN client_id TEXT;
CREATE INDEX tokens_client ON tokens(tenant_id, client_id) WHERE client_id IS NOT NULL;
"#,
    r#"
ALTER TABLE tokens ADD COLUMN last_used TEXT;
"#,
    r#"
ALTER TABLE journal RENAME TO journal_v1;
CREATE TABLE journal (
    n         INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    seq       INTEGER NOT NULL,
    eid       TEXT NOT NULL,
    event     TEXT NOT NULL,
    rtype     INTEGER NOT NULL,
    res_id    TEXT NOT NULL,
    version   INTEGER NOT NULL,
    at        TEXT NOT NULL,
    data      TEXT NOT NULL
);
CREATE UNIQUE INDEX journal_seq ON journal(tenant_id, seq);
INSERT INTO journal (tenant_id, seq, eid, event, rtype, res_id, version, at, data)
SELECT tenant_id, row_number() OVER (PARTITION BY tenant_id ORDER BY seq), lower(hex(randomblob(16))),
    CASE rtype WHEN 0 THEN 'user.' ELSE 'group.' END
        || CASE op WHEN 'create' THEN 'created' WHEN 'delete' THEN 'deleted' ELSE 'updated' END,
    rtype, res_id, version, at, 'null'
FROM journal_v1;
CREATE TABLE feed_seq (
    tenant_id INTEGER PRIMARY KEY,
    last      INTEGER NOT NULL,
    pruned    INTEGER NOT NULL DEFAULT 0
);
INSERT INTO feed_seq (tenant_id, last) SELECT tenant_id, max(seq) FROM journal GROUP BY tenant_id;
DROP TABLE journal_v1;
"#,
    r#"
CREATE TABLE webhooks (
    tenant_id     INTEGER NOT NULL,
    id            TEXT NOT NULL,
    url           TEXT NOT NULL,
    events        TEXT NOT NULL,
    secret        TEXT NOT NULL,
    created       TEXT NOT NULL,
    delivered     INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_attempt  TEXT,
    failing_since TEXT,
    last_error    TEXT,
    last_success  TEXT,
    failing       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE webhook_leases (
    tenant_id INTEGER PRIMARY KEY,
    holder    TEXT NOT NULL,
    expires   TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE request_log (
    n           INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL,
    at          TEXT NOT NULL,
    method      TEXT NOT NULL,
    path        TEXT NOT NULL,
    status      INTEGER NOT NULL,
    latency_us  INTEGER NOT NULL,
    scim_type   TEXT,
    detail      TEXT,
    resource_id TEXT,
    credential  TEXT,
    body        TEXT
);
CREATE INDEX request_log_tenant ON request_log(tenant_id, n);
"#,
    // The journal and the request log keyed `tenant << 40 | seq` (see span.rs): no second
    // index to write on every append. The request log's seq is per tenant from here on.
    r#"
CREATE TABLE journal_v2 (
    n       INTEGER PRIMARY KEY,
    eid     TEXT NOT NULL,
    event   TEXT NOT NULL,
    rtype   INTEGER NOT NULL,
    res_id  TEXT NOT NULL,
    version INTEGER NOT NULL,
    at      TEXT NOT NULL,
    data    TEXT NOT NULL
);
INSERT INTO journal_v2 (n, eid, event, rtype, res_id, version, at, data)
SELECT (tenant_id << 40) | seq, eid, event, rtype, res_id, version, at, data FROM journal ORDER BY tenant_id, seq;
DROP TABLE journal;
ALTER TABLE journal_v2 RENAME TO journal;
CREATE TABLE request_log_v2 (
    n           INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    method      TEXT NOT NULL,
    path        TEXT NOT NULL,
    status      INTEGER NOT NULL,
    latency_us  INTEGER NOT NULL,
    scim_type   TEXT,
    detail      TEXT,
    resource_id TEXT,
    credential  TEXT,
    body        TEXT
);
INSERT INTO request_log_v2 (n, at, method, path, status, latency_us, scim_type, detail, resource_id, credential, body)
SELECT (tenant_id << 40) | row_number() OVER (PARTITION BY tenant_id ORDER BY n),
    at, method, path, status, latency_us, scim_type, detail, resource_id, credential, body
FROM request_log ORDER BY tenant_id, n;
DROP TABLE request_log;
ALTER TABLE request_log_v2 RENAME TO request_log;
CREATE TABLE request_seq (
    tenant_id INTEGER PRIMARY KEY,
    last      INTEGER NOT NULL
);
INSERT INTO request_seq (tenant_id, last) SELECT n >> 40, max(n) & 1099511627775 FROM request_log GROUP BY n >> 40;
"#,
    // The engine's notification throttle: the last notice per job and kind.
    r#"
CREATE TABLE sync_notices (
    job     TEXT NOT NULL,
    kind    TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    PRIMARY KEY (job, kind)
) WITHOUT ROWID;
"#,
    // The engine's job controls (Provisioning Status, the lease that lets one worker run a
    // job at a time) and its cycle history.
    r#"
CREATE TABLE sync_jobs (
    job         TEXT PRIMARY KEY,
    stopped     INTEGER NOT NULL DEFAULT 0,
    holder      TEXT,
    lease_until TEXT
) WITHOUT ROWID;
CREATE TABLE sync_cycles (
    job      TEXT NOT NULL,
    cycle_id TEXT NOT NULL,
    kind     TEXT NOT NULL,
    started  TEXT NOT NULL,
    finished TEXT NOT NULL,
    worker   TEXT NOT NULL,
    result   TEXT NOT NULL,
    counts   TEXT NOT NULL,
    PRIMARY KEY (job, cycle_id)
) WITHOUT ROWID;
"#,
    // The running cycle's progress, for `sync status` on any machine.
    r#"
ALTER TABLE sync_jobs ADD COLUMN progress TEXT;
"#,
    // Provisioning log fields closer to Entra's: duration, initiated by, display names.
    r#"
ALTER TABLE sync_log ADD COLUMN duration_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_log ADD COLUMN initiated_by TEXT NOT NULL DEFAULT 'cycle';
ALTER TABLE sync_log ADD COLUMN source_display TEXT NOT NULL DEFAULT '';
ALTER TABLE sync_log ADD COLUMN target_display TEXT;
"#,
    // Links move to a rowid table with a unique key index. As a WITHOUT ROWID table the
    // ~600-byte rows filled a leaf page six at a time, so each chunk's links, keyed by
    // random source ids, dirtied (and split) one leaf page apiece; now they append to the
    // table's last pages and only the small key index takes random inserts.
    r#"
CREATE TABLE sync_links_rowid (
    job       TEXT NOT NULL,
    kind      TEXT NOT NULL,
    source_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    hash      TEXT NOT NULL,
    vals      TEXT NOT NULL,
    disabled  INTEGER NOT NULL,
    updated   TEXT NOT NULL
);
INSERT INTO sync_links_rowid SELECT job, kind, source_id, target_id, hash, vals, disabled, updated FROM sync_links;
DROP TABLE sync_links;
ALTER TABLE sync_links_rowid RENAME TO sync_links;
CREATE UNIQUE INDEX sync_links_key ON sync_links(job, kind, source_id);
"#,
    // Group memberships the engine pushed become rows instead of a set inside the group's
    // link, so a group of a million members is read and written in parts, never copied whole.
    r#"
CREATE TABLE sync_members (
    job       TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (job, group_id, member_id)
) WITHOUT ROWID;
CREATE INDEX sync_members_member ON sync_members(job, member_id);
INSERT OR IGNORE INTO sync_members (job, group_id, member_id)
    SELECT l.job, l.source_id, m.value FROM sync_links l, json_each(l.vals, '$.members') m
    WHERE l.kind = 'group' AND json_valid(l.vals);
UPDATE sync_links SET vals = json_remove(vals, '$.members')
    WHERE kind = 'group' AND json_valid(vals) AND json_type(vals, '$.members') IS NOT NULL;
"#,
    // The disabled links, for a cycle's walk over its links (few, so a partial index).
    r#"
CREATE INDEX sync_links_disabled ON sync_links(job, kind, source_id) WHERE disabled = 1;
"#,
    // A tenant's own request rate (both NULL: the server's default).
    r#"
ALTER TABLE tenants ADD COLUMN rate_per_second INTEGER;
ALTER TABLE tenants ADD COLUMN rate_burst INTEGER;
"#,
    // The audit log of administrative actions (kept apart from tenants' data: it outlives them).
    r#"
CREATE TABLE audit_log (
    seq    INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    tenant TEXT,
    target TEXT,
    detail TEXT
);
CREATE INDEX audit_log_tenant ON audit_log(tenant, seq);
"#,
];

/// Brings the schema up to date and returns the versions before and after. The version is
/// read inside the write transaction, so a CLI command and the server starting together
/// never apply a migration twice.
pub fn migrate(conn: &Connection) -> Result<(i64, i64)> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let run = || -> Result<(i64, i64)> {
        let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            conn.execute_batch(sql)
                .map_err(|e| StoreError::Migration(format!("SQLite migration {}: {e}", i + 1)))?;
            conn.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        }
        Ok((current, current.max(MIGRATIONS.len() as i64)))
    };
    match run() {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Fails unless the schema is current (for `--no-migrate`).
pub fn check(conn: &Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let wanted = MIGRATIONS.len() as i64;
    if found < wanted {
        return Err(StoreError::SchemaBehind { found, wanted });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use scim_core::ports::{FeedStore, RequestLogStore, RequestQuery, StatusFilter};

    use super::*;
    use crate::StoreOptions;
    use crate::sqlite::SqliteStore;

    /// A database from before the tenant-keyed journal and request log keeps every event
    /// with its seq and every request log entry, numbered per tenant in order.
    #[tokio::test]
    async fn the_journal_and_request_log_move_to_tenant_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let path = path.to_str().unwrap();
        // Migration 11 moved the tables to tenant keys.
        let before = 10;
        {
            let conn = Connection::open(path).unwrap();
            for sql in &MIGRATIONS[..before] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch(&format!(
                "PRAGMA user_version = {before};
                 INSERT INTO tenants (id, name, created, secret) VALUES (1, 'a', 'x', x'00'), (2, 'b', 'x', x'00');
                 INSERT INTO journal (tenant_id, seq, eid, event, rtype, res_id, version, at, data) VALUES
                   (1, 1, 'e1', 'user.created', 0, 'u1', 1, '2026-01-01T00:00:00Z', '{{\"n\":1}}'),
                   (2, 1, 'e2', 'user.created', 0, 'u2', 1, '2026-01-01T00:00:00Z', '{{\"n\":2}}'),
                   (1, 2, 'e3', 'user.updated', 0, 'u1', 2, '2026-01-01T00:00:00Z', '{{\"n\":3}}');
                 INSERT INTO feed_seq (tenant_id, last) VALUES (1, 2), (2, 1);
                 INSERT INTO request_log (tenant_id, at, method, path, status, latency_us) VALUES
                   (1, '2026-01-01T00:00:00Z', 'POST', '/a1', 201, 1),
                   (2, '2026-01-01T00:00:00Z', 'POST', '/b1', 201, 1),
                   (1, '2026-01-01T00:00:01Z', 'PATCH', '/a2', 200, 1);"
            ))
            .unwrap();
        }
        let store = SqliteStore::open(path, &StoreOptions::default()).unwrap();
        let events = store.events(1, 0, 10).await.unwrap();
        let got: Vec<(i64, &str, &str)> = events.iter().map(|e| (e.seq, e.id.as_str(), e.data.as_str())).collect();
        assert_eq!(got, [(1, "e1", r#"{"n":1}"#), (2, "e3", r#"{"n":3}"#)]);
        assert_eq!(store.events(2, 0, 10).await.unwrap()[0].id, "e2");
        assert_eq!(store.feed_position(1).await.unwrap().last, 2);
        let q = RequestQuery {
            status: StatusFilter::Any,
            since: None,
            before: None,
            limit: 10,
        };
        let log = store.requests(1, &q).await.unwrap();
        let got: Vec<(i64, &str)> = log.iter().map(|r| (r.seq, r.entry.path.as_str())).collect();
        assert_eq!(got, [(2, "/a2"), (1, "/a1")], "numbered per tenant, newest first");
        let mut next = log[0].entry.clone();
        next.path = "/a3".into();
        store.append_requests(vec![next]).await.unwrap();
        assert_eq!(store.requests(1, &q).await.unwrap()[0].seq, 3, "numbering goes on");
        assert_eq!(store.requests(2, &q).await.unwrap()[0].seq, 1);
    }

    /// The member sets inside group links (before migration 16) become rows.
    #[tokio::test]
    async fn member_sets_in_links_become_rows() {
        use scim_core::ports::sync::SyncStateStore;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let path = path.to_str().unwrap();
        let before = MIGRATIONS
            .iter()
            .position(|m| m.contains("CREATE TABLE sync_members"))
            .unwrap();
        {
            let conn = Connection::open(path).unwrap();
            for sql in &MIGRATIONS[..before] {
                conn.execute_batch(sql).unwrap();
            }
            conn.execute_batch(&format!(
                r#"PRAGMA user_version = {before};
                 INSERT INTO sync_links VALUES
                   ('j', 'group', 'g1', 't1', 'h', '{{"values":{{"displayName":"G"}},"members":["u1","u2"]}}', 0, '2026-01-01T00:00:00.000000Z'),
                   ('j', 'group', 'g2', 't2', 'h', '{{"values":{{}}}}', 0, '2026-01-01T00:00:00.000000Z'),
                   ('j', 'user', 'u1', 't3', 'h', '{{"values":{{"userName":"a"}},"members":["odd"]}}', 0, '2026-01-01T00:00:00.000000Z');"#
            ))
            .unwrap();
        }
        let store = SqliteStore::open(path, &StoreOptions::default()).unwrap();
        let rows = store
            .members_of("j", vec!["g1".into(), "g2".into(), "u1".into()])
            .await
            .unwrap();
        assert_eq!(rows, [("g1".to_string(), vec!["u1".to_string(), "u2".to_string()])]);
        let mut links = store.links("j").await.unwrap();
        links.sort_by(|a, b| a.source_id.cmp(&b.source_id));
        let vals: Vec<&str> = links.iter().map(|l| l.values.as_str()).collect();
        assert_eq!(
            vals,
            [
                r#"{"values":{"displayName":"G"}}"#,
                r#"{"values":{}}"#,
                r#"{"values":{"userName":"a"},"members":["odd"]}"#
            ],
            "only groups' sets move"
        );
    }
}
