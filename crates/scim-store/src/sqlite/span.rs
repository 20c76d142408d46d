//! Per-tenant sequences without a second index. The journal and the request log key their
//! rows `tenant << 40 | seq`, so one tenant's rows are one range of row ids in seq order:
//! appending touches only the table's B-tree, and reading the newest row, a page, or the
//! oldest rows to prune is a range scan of it. That leaves room for 2^23 - 1 tenants of
//! 2^40 - 1 rows each; `create_tenant` refuses the tenant after the last.

use rusqlite::Connection;
use scim_core::ports::TenantId;

use crate::error::Result;

pub(super) const SEQ_BITS: u32 = 40;
pub(super) const SEQ_MASK: i64 = (1 << SEQ_BITS) - 1;
/// The highest tenant id whose rows can be keyed.
pub(super) const MAX_TENANT: TenantId = (1 << (63 - SEQ_BITS)) - 1;

/// The row id of a tenant's `seq` (clamped to the tenant's range).
pub(super) fn key(tenant: TenantId, seq: i64) -> i64 {
    (tenant << SEQ_BITS) | seq.clamp(0, SEQ_MASK)
}

/// The seq of a row id.
pub(super) fn seq(key: i64) -> i64 {
    key & SEQ_MASK
}

/// The tenant's first and last possible row ids (seq 0 and the highest seq).
pub(super) fn bounds(tenant: TenantId) -> (i64, i64) {
    (key(tenant, 0), key(tenant, SEQ_MASK))
}

/// The tables keyed this way.
#[derive(Clone, Copy)]
pub(super) enum Keyed {
    Journal,
    RequestLog,
}

impl Keyed {
    pub(super) const ALL: [Keyed; 2] = [Keyed::Journal, Keyed::RequestLog];

    pub(super) fn table(self) -> &'static str {
        match self {
            Keyed::Journal => "journal",
            Keyed::RequestLog => "request_log",
        }
    }

    fn newest_sql(self) -> &'static str {
        match self {
            Keyed::Journal => "SELECT n FROM journal WHERE n BETWEEN ?1 AND ?2 ORDER BY n DESC LIMIT 1",
            Keyed::RequestLog => "SELECT n FROM request_log WHERE n BETWEEN ?1 AND ?2 ORDER BY n DESC LIMIT 1",
        }
    }

    fn delete_sql(self) -> &'static str {
        match self {
            Keyed::Journal => "DELETE FROM journal WHERE n BETWEEN ?1 AND ?2",
            Keyed::RequestLog => "DELETE FROM request_log WHERE n BETWEEN ?1 AND ?2",
        }
    }
}

/// The tenant's newest seq in `table`, 0 when it has no rows: one probe at the end of the
/// tenant's range.
pub(super) fn newest(conn: &Connection, table: Keyed, tenant: TenantId) -> Result<i64> {
    let (lo, hi) = bounds(tenant);
    let mut stmt = conn.prepare_cached(table.newest_sql())?;
    let mut rows = stmt.query([lo, hi])?;
    Ok(match rows.next()? {
        Some(r) => seq(r.get(0)?),
        None => 0,
    })
}

/// Removes the tenant's rows with seq in `from..=to`; returns how many went.
pub(super) fn delete(conn: &Connection, table: Keyed, tenant: TenantId, from: i64, to: i64) -> Result<u64> {
    if to < from {
        return Ok(0);
    }
    let n = conn
        .prepare_cached(table.delete_sql())?
        .execute([key(tenant, from), key(tenant, to)])?;
    Ok(n as u64)
}

/// Removes all of the tenant's rows in every keyed table.
pub(super) fn delete_tenant(conn: &Connection, tenant: TenantId) -> Result<()> {
    for table in Keyed::ALL {
        delete(conn, table, tenant, 0, SEQ_MASK)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_by_tenant_then_seq_and_round_trip() {
        assert!(key(1, SEQ_MASK) < key(2, 0));
        assert!(key(2, 5) < key(2, 6));
        assert_eq!(seq(key(7, 123_456)), 123_456);
        assert_eq!(bounds(3), (key(3, 0), key(3, SEQ_MASK)));
        assert!(key(MAX_TENANT, SEQ_MASK) > 0, "the last tenant's keys stay positive");
        assert_eq!(key(MAX_TENANT, SEQ_MASK), i64::MAX);
        assert_eq!(key(4, i64::MAX), bounds(4).1, "a seq past the range stays in it");
        assert_eq!(key(4, -1), bounds(4).0);
    }
}
