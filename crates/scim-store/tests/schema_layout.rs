//! The distribution invariant (ARCHITECTURE.md): on PostgreSQL every primary key and every
//! index starts with the tenant (the engine's tables: the job), and every statement the
//! adapter runs names it, so the schema can be distributed by tenant (Citus) unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

const DIRECTORY_TABLES: &[&str] = &["tenants", "admin_tokens", "audit_log", "scimd_schema"];

fn lead_column(table: &str) -> &'static str {
    if table.starts_with("sync_") { "job" } else { "tenant_id" }
}

/// A catalog connection to the scratch schema once the migrations have built it.
async fn migrated(scratch: &scim_store::testing::PgScratch) -> tokio_postgres::Client {
    let db = scim_store::open(&scratch.url, &Default::default())
        .await
        .expect("open and migrate");
    drop(db);
    let (client, conn) = tokio_postgres::connect(&scratch.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

/// Checked against the live schema that the migrations build.
#[tokio::test]
async fn every_key_and_index_starts_with_the_tenant() {
    let Some(scratch) = scim_store::testing::PgScratch::new().await else {
        eprintln!("SCIMD_TEST_PG_URL is not set; the PostgreSQL layout check did not run");
        return;
    };
    let client = migrated(&scratch).await;
    let rows = client
        .query(
            "SELECT t.relname, i.relname, a.attname FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0] \
             WHERE n.nspname = current_schema() ORDER BY 1, 2",
            &[],
        )
        .await
        .unwrap();
    let mut tables = std::collections::BTreeSet::new();
    let mut bad = Vec::new();
    for r in &rows {
        let (table, index, first): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        tables.insert(table.clone());
        if !DIRECTORY_TABLES.contains(&table.as_str()) && first != lead_column(&table) {
            bad.push(format!("{table}.{index} starts with {first}"));
        }
    }
    assert!(bad.is_empty(), "indexes not led by the tenant: {bad:?}");
    for t in [
        "resources",
        "value_index",
        "members",
        "counts",
        "journal",
        "tokens",
        "sync_links",
        "sync_log",
    ] {
        assert!(tables.contains(t), "{t} has a key: {tables:?}");
    }
    // Every table has a primary key.
    let keyless: Vec<String> = client
        .query(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind = 'r' \
             AND NOT EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND x.indisprimary)",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(keyless.is_empty(), "tables without a primary key: {keyless:?}");
}

/// Every statement in the PostgreSQL adapter names the tenant or job it touches, except
/// those on the tenant directory itself.
#[test]
fn every_statement_filters_by_the_tenant() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/postgres");
    let mut bad = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        // Schema and statistics maintenance touch catalogs, not tenant data.
        if path
            .file_name()
            .is_some_and(|n| n == "migrate.rs" || n == "maintenance.rs")
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Unit tests at the end of a file use tables of their own.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for lit in text.split('"').skip(1).step_by(2) {
            let sql = lit.to_ascii_uppercase();
            let is_statement = ["SELECT ", "UPDATE ", "DELETE FROM", "INSERT INTO"]
                .iter()
                .any(|k| sql.trim_start().starts_with(k) || sql.starts_with("WITH "));
            // A statement that reads no table (`SELECT 1; COMMIT`) has no tenant to name.
            let touches_table =
                sql.contains(" FROM ") || sql.contains("INTO ") || sql.trim_start().starts_with("UPDATE ");
            if !is_statement || !touches_table {
                continue;
            }
            let names_tenant = sql.contains("TENANT_ID") || sql.contains("JOB");
            let directory = [
                "FROM TENANTS",
                "INTO TENANTS",
                "FROM ADMIN_TOKENS",
                "INTO ADMIN_TOKENS",
                "UPDATE ADMIN_TOKENS",
                "FROM AUDIT_LOG",
                "INTO AUDIT_LOG",
                "UPDATE TENANTS",
            ]
            .iter()
            .any(|t| sql.contains(t));
            if !names_tenant && !directory {
                bad.push(format!("{}: {lit}", path.display()));
            }
        }
    }
    assert!(bad.is_empty(), "statements without a tenant filter: {bad:#?}");
}

/// A burst of writes into never-analyzed tables gets them analyzed, so lookups get index
/// plans without waiting for autovacuum.
#[tokio::test]
async fn tables_changed_by_a_burst_are_analyzed() {
    let Some(scratch) = scim_store::testing::PgScratch::new().await else {
        eprintln!("SCIMD_TEST_PG_URL is not set; not run");
        return;
    };
    let pg = scim_store::postgres::PgStore::open(&scratch.url, &Default::default())
        .await
        .unwrap();
    use scim_core::ports::{ResourceStore, TenantStore};
    let t = pg.create_tenant("burst", scim_core::Timestamp::EPOCH).await.unwrap().id;
    assert!(
        pg.analyze_changed().await.unwrap().is_empty(),
        "nothing to do on a quiet database"
    );
    for i in 0..600 {
        let id = pg.new_id();
        let body = serde_json::json!({ "userName": format!("b{i}@x.io") });
        let (p, m) = scim_core::ops::prepare_create(scim_core::ResourceKind::User, &body, &id).unwrap();
        pg.create(t, scim_core::ResourceKind::User, p, m, scim_core::Timestamp::EPOCH)
            .await
            .unwrap();
    }
    // The statistics collector reports with a small delay, and each pooled connection
    // reports its own share (so `value_index` may cross the threshold before `resources`);
    // ask until `resources` has been analyzed.
    let mut analyzed = Vec::new();
    for _ in 0..200 {
        analyzed.extend(pg.analyze_changed().await.unwrap());
        if analyzed.iter().any(|t| t == "resources") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(analyzed.contains(&"resources".to_string()), "{analyzed:?}");
    assert!(
        pg.analyze_changed().await.unwrap().is_empty(),
        "done until the next burst"
    );
}

/// The feed's and the request log's wide text columns carry no planner statistics: they are
/// read by key range only, and sorting them was most of each ANALYZE while the tables grew.
#[tokio::test]
async fn wide_log_columns_are_not_analyzed() {
    let Some(scratch) = scim_store::testing::PgScratch::new().await else {
        eprintln!("SCIMD_TEST_PG_URL is not set; not run");
        return;
    };
    let client = migrated(&scratch).await;
    let rows = client
        .query(
            "SELECT c.relname || '.' || a.attname FROM pg_attribute a \
             JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND a.attstattarget = 0 ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let off: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    for col in ["journal.data", "journal.eid", "request_log.body", "request_log.path"] {
        assert!(off.iter().any(|c| c == col), "{col} is analyzed: {off:?}");
    }
}
