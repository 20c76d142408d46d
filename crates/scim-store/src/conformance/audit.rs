//! The audit log: appended records come back newest first, by tenant, page by page, through
//! every handle, and outlive the tenant they name.

use scim_core::ports::{AuditEntry, AuditQuery};

use super::{Ctx, at};

cases![audit_records_are_kept_newest_first_by_tenant_and_outlive_it];

async fn audit_records_are_kept_newest_first_by_tenant_and_outlive_it(c: Ctx) {
    let name = c.name("audited");
    let t = c.db.create_tenant(&name, at("2026-01-01T00:00:00Z")).await.unwrap();
    let entry = |n: u32, action: &str, tenant: Option<&str>| AuditEntry {
        at: at(&format!("2026-01-01T00:00:{n:02}Z")),
        actor: "admin:scimdadm_12345678".into(),
        action: action.into(),
        tenant: tenant.map(str::to_string),
        target: Some(format!("target-{n}")),
        detail: (n == 2).then(|| r#"{"per_second":5}"#.to_string()),
    };
    let mut seqs = Vec::new();
    for (n, action) in [(1, "tenant.create"), (2, "tenant.rate"), (3, "token.issue")] {
        seqs.push(c.db.append_audit(entry(n, action, Some(&name))).await.unwrap());
    }
    c.db.append_audit(entry(4, "admin_token.issue", None)).await.unwrap();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    let replica = c.reopen().await;
    let mine = AuditQuery {
        tenant: Some(name.clone()),
        before: None,
        limit: 10,
    };
    let got = replica.audit(&mine).await.unwrap();
    let actions: Vec<&str> = got.iter().map(|r| r.entry.action.as_str()).collect();
    assert_eq!(actions, ["token.issue", "tenant.rate", "tenant.create"]);
    assert_eq!(got[1].entry, entry(2, "tenant.rate", Some(&name)));
    assert_eq!(got[0].seq, seqs[2]);
    let page = replica
        .audit(&AuditQuery {
            before: Some(seqs[2]),
            limit: 1,
            ..mine.clone()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].seq, seqs[1]);
    let all = replica
        .audit(&AuditQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        all.iter().any(|r| r.entry.action == "admin_token.issue"),
        "operator actions have no tenant"
    );

    assert!(c.db.delete_tenant(t.id).await.unwrap());
    assert_eq!(
        c.db.audit(&mine).await.unwrap().len(),
        3,
        "the record outlives the tenant"
    );
}
