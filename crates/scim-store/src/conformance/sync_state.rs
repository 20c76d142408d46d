//! The engine's state port: links, status, escrows, the provisioning log, clearing.

use scim_core::ports::sync::{
    ChunkWrite, ClearScope, CycleRecord, Escrow, JobStatus, Lease, LeaseClaim, Link, LinkKey, LogQuery, LogRecord,
};

use super::{Ctx, at, now};

cases![
    links_are_upserted_removed_and_kept_per_job,
    status_round_trips_with_typed_times,
    escrows_replace_and_remove_by_object,
    the_log_filters_and_keeps_order,
    clear_removes_only_what_it_names,
    notices_are_claimed_once_per_window,
    a_lease_has_one_holder_until_it_runs_out,
    stopped_and_history_are_kept_per_job,
    a_chunk_commits_links_escrows_and_log_together,
    links_are_read_by_key_and_paged_in_key_order,
];

fn link(kind: &str, id: &str, target: &str, hash: &str) -> Link {
    Link {
        kind: kind.into(),
        source_id: id.into(),
        target_id: target.into(),
        hash: hash.into(),
        values: format!(r#"{{"userName":"{id}"}}"#),
        disabled: false,
        updated: now(),
    }
}

fn sorted(mut v: Vec<Link>) -> Vec<Link> {
    v.sort_by(|a, b| (&a.kind, &a.source_id).cmp(&(&b.kind, &b.source_id)));
    v
}

async fn links_are_upserted_removed_and_kept_per_job(c: Ctx) {
    let (job, other) = (c.name("job"), c.name("other"));
    assert!(c.db.links(&job).await.unwrap().is_empty());
    let many: Vec<Link> = (0..250)
        .map(|i| link("user", &format!("u{i:03}"), &format!("t{i}"), "h1"))
        .collect();
    c.db.put_links(&job, many.clone()).await.unwrap();
    c.db.put_links(&other, vec![link("user", "u000", "elsewhere", "h9")])
        .await
        .unwrap();
    assert_eq!(sorted(c.db.links(&job).await.unwrap()), sorted(many.clone()));
    let mut changed = link("user", "u001", "t1", "h2");
    changed.disabled = true;
    changed.updated = at("2026-02-02T02:02:02.000002Z");
    c.db.put_links(&job, vec![changed.clone(), link("group", "g1", "tg", "h1")])
        .await
        .unwrap();
    c.db.remove_links(
        &job,
        vec![("user".into(), "u002".into()), ("user".into(), "missing".into())],
    )
    .await
    .unwrap();
    let got = sorted(c.db.links(&job).await.unwrap());
    assert_eq!(got.len(), 250);
    assert!(got.contains(&changed), "replaced in place");
    assert!(!got.iter().any(|l| l.source_id == "u002"));
    assert!(got.iter().any(|l| l.kind == "group" && l.source_id == "g1"));
    assert_eq!(
        c.db.links(&other).await.unwrap()[0].target_id,
        "elsewhere",
        "jobs are apart"
    );
}

async fn status_round_trips_with_typed_times(c: Ctx) {
    let job = c.name("job");
    let fresh = c.db.status(&job).await.unwrap();
    assert_eq!(
        fresh,
        JobStatus {
            job: job.clone(),
            ..Default::default()
        }
    );
    let s = JobStatus {
        job: job.clone(),
        watermark: Some("https://graph.example/delta?token=abc".into()),
        initial_done: true,
        quarantine_reason: Some("EncounteredQuarantineException".into()),
        quarantine_since: Some(at("2026-01-01T23:00:00-05:00")),
        next_run: Some(at("2026-01-02T10:00:00.123456Z")),
        quarantine_attempts: 3,
        disabled: false,
        last_cycle: Some(r#"{"creates":1}"#.into()),
        full_read_at: Some(now()),
        updated: now(),
    };
    c.db.put_status(s.clone()).await.unwrap();
    let got = c.db.status(&job).await.unwrap();
    assert_eq!(got, s);
    assert_eq!(
        got.quarantine_since,
        Some(at("2026-01-02T04:00:00Z")),
        "the instant, in UTC"
    );
    let mut s2 = s.clone();
    s2.quarantine_attempts = 4;
    s2.next_run = None;
    c.db.put_status(s2.clone()).await.unwrap();
    assert_eq!(c.db.status(&job).await.unwrap(), s2, "replaced");
    let jobs = c.db.jobs().await.unwrap();
    assert!(jobs.contains(&s2));
}

fn escrow(id: &str, attempts: u32, next: &str) -> Escrow {
    Escrow {
        kind: "user".into(),
        source_id: id.into(),
        action: "Create".into(),
        error_code: "SystemForCrossDomainIdentityManagementServiceIncompatible".into(),
        message: "HTTP 500".into(),
        attempts,
        first_failed: now(),
        next_attempt: at(next),
    }
}

async fn escrows_replace_and_remove_by_object(c: Ctx) {
    let job = c.name("job");
    // Due times with offsets: as instants, b (09:00Z) is due before a (10:00Z) although
    // its text sorts after.
    let a = escrow("a", 1, "2026-01-01T10:00:00Z");
    let b = escrow("b", 2, "2026-01-01T11:00:00+02:00");
    c.db.put_escrows(&job, vec![a.clone(), b.clone()], vec![])
        .await
        .unwrap();
    let got = c.db.escrows(&job).await.unwrap();
    assert_eq!(got, vec![a.clone(), b.clone()]);
    assert!(got[1].next_attempt < got[0].next_attempt);
    let a2 = escrow("a", 2, "2026-01-01T12:00:00Z");
    c.db.put_escrows(&job, vec![a2.clone()], vec![("user".into(), "b".into())])
        .await
        .unwrap();
    assert_eq!(c.db.escrows(&job).await.unwrap(), vec![a2]);
    assert!(c.db.escrows(&c.name("other")).await.unwrap().is_empty());
}

fn record(job: &str, cycle: &str, n: usize, status: &str) -> LogRecord {
    LogRecord {
        job: job.into(),
        cycle_id: cycle.into(),
        change_id: format!("ch{n}"),
        at: at("2026-01-01T00:00:00Z") + time::Duration::seconds(n as i64),
        kind: "user".into(),
        source_id: format!("s{n}"),
        target_id: n.is_multiple_of(2).then(|| format!("t{n}")),
        action: "Create".into(),
        status: status.into(),
        steps: "[]".into(),
        modified: r#"[{"name":"userName"}]"#.into(),
        error_code: (status == "Failure").then(|| "E".into()),
        error_message: (status == "Failure").then(|| "boom".into()),
        duration_ms: n as u64 * 7,
        initiated_by: if n == 0 { "restart" } else { "cycle" }.into(),
        source_display: format!("user{n}@contoso.test"),
        target_display: n.is_multiple_of(3).then(|| format!("u{n}")),
    }
}

async fn the_log_filters_and_keeps_order(c: Ctx) {
    let job = c.name("job");
    let mut recs = Vec::new();
    for n in 0..30 {
        let cycle = if n < 20 { "c1" } else { "c2" };
        recs.push(record(&job, cycle, n, if n % 3 == 0 { "Failure" } else { "Success" }));
    }
    c.db.append_log(recs.clone()).await.unwrap();
    c.db.append_log(vec![record(&c.name("other"), "c1", 99, "Success")])
        .await
        .unwrap();
    let q = |cycle: Option<&str>, status: Option<&str>, limit| LogQuery {
        job: job.clone(),
        cycle_id: cycle.map(Into::into),
        status: status.map(Into::into),
        limit,
    };
    assert_eq!(c.db.log(q(None, None, 100)).await.unwrap(), recs, "oldest first");
    assert_eq!(
        c.db.log(q(None, None, 5)).await.unwrap(),
        recs[25..].to_vec(),
        "the newest five"
    );
    let fails = c.db.log(q(Some("c1"), Some("failure"), 100)).await.unwrap();
    let want: Vec<LogRecord> = recs[..20].iter().filter(|r| r.status == "Failure").cloned().collect();
    assert_eq!(fails, want, "status matches case-insensitively");
    assert!(c.db.log(q(Some("c3"), None, 10)).await.unwrap().is_empty());
}

async fn clear_removes_only_what_it_names(c: Ctx) {
    let job = c.name("job");
    c.db.put_links(&job, vec![link("user", "u", "t", "h")]).await.unwrap();
    c.db.put_escrows(&job, vec![escrow("e", 1, "2026-01-01T10:00:00Z")], vec![])
        .await
        .unwrap();
    let s = JobStatus {
        job: job.clone(),
        watermark: Some("w".into()),
        initial_done: true,
        quarantine_reason: Some("Q".into()),
        quarantine_since: Some(now()),
        next_run: Some(now()),
        quarantine_attempts: 2,
        disabled: true,
        full_read_at: Some(now()),
        updated: now(),
        ..Default::default()
    };
    c.db.put_status(s.clone()).await.unwrap();
    let escrow_only = ClearScope {
        escrow: true,
        ..Default::default()
    };
    c.db.clear(&job, escrow_only).await.unwrap();
    assert!(c.db.escrows(&job).await.unwrap().is_empty());
    assert_eq!(c.db.links(&job).await.unwrap().len(), 1);
    assert_eq!(c.db.status(&job).await.unwrap(), s);
    let state = ClearScope {
        state: true,
        ..Default::default()
    };
    c.db.clear(&job, state).await.unwrap();
    assert!(c.db.links(&job).await.unwrap().is_empty());
    let got = c.db.status(&job).await.unwrap();
    assert_eq!((got.watermark, got.initial_done, got.full_read_at), (None, false, None));
    assert_eq!(got.quarantine_reason.as_deref(), Some("Q"), "quarantine kept");
    let quarantine = ClearScope {
        quarantine: true,
        ..Default::default()
    };
    c.db.clear(&job, quarantine).await.unwrap();
    let got = c.db.status(&job).await.unwrap();
    assert_eq!(
        (
            got.quarantine_reason,
            got.quarantine_since,
            got.next_run,
            got.quarantine_attempts,
            got.disabled
        ),
        (None, None, None, 0, false)
    );
}

async fn notices_are_claimed_once_per_window(c: Ctx) {
    let (job, other) = (c.name("job"), c.name("other"));
    let t = |s: &str| at(&format!("2026-03-02T{s}:00.000000Z"));
    assert!(
        c.db.claim_notice(&job, "quarantine", t("09:00"), t("08:00"))
            .await
            .unwrap()
    );
    // Within the window: refused, and the first notice's time stays.
    assert!(
        !c.db
            .claim_notice(&job, "quarantine", t("09:30"), t("08:30"))
            .await
            .unwrap()
    );
    assert!(
        !c.db
            .claim_notice(&job, "quarantine", t("10:00"), t("08:59"))
            .await
            .unwrap()
    );
    // Other kinds and other jobs have their own windows.
    assert!(
        c.db.claim_notice(&job, "failures", t("09:30"), t("08:30"))
            .await
            .unwrap()
    );
    assert!(
        c.db.claim_notice(&other, "quarantine", t("09:30"), t("08:30"))
            .await
            .unwrap()
    );
    // Once the window has passed the last notice, the next one goes out.
    assert!(
        c.db.claim_notice(&job, "quarantine", t("10:00"), t("09:00"))
            .await
            .unwrap()
    );
    assert!(
        !c.db
            .claim_notice(&job, "quarantine", t("10:30"), t("09:30"))
            .await
            .unwrap()
    );
}

async fn a_lease_has_one_holder_until_it_runs_out(c: Ctx) {
    let (job, other) = (c.name("job"), c.name("other"));
    let t = |s: &str| at(&format!("2026-03-02T{s}:00.000000Z"));
    assert_eq!(c.db.control(&job).await.unwrap().lease, None);
    assert_eq!(
        c.db.claim_lease(&job, "a:1", t("09:00"), t("09:01")).await.unwrap(),
        LeaseClaim::Acquired
    );
    let held = LeaseClaim::Held(Lease {
        holder: "a:1".into(),
        until: t("09:01"),
    });
    assert_eq!(
        c.db.claim_lease(&job, "b:2", t("09:00"), t("09:02")).await.unwrap(),
        held,
        "held by a"
    );
    // The holder renews; another job is free.
    assert_eq!(
        c.db.claim_lease(&job, "a:1", t("09:00"), t("09:05")).await.unwrap(),
        LeaseClaim::Acquired
    );
    assert_eq!(
        c.db.claim_lease(&other, "b:2", t("09:00"), t("09:05")).await.unwrap(),
        LeaseClaim::Acquired
    );
    let lease = c.db.control(&job).await.unwrap().lease.unwrap();
    assert_eq!((lease.holder.as_str(), lease.until), ("a:1", t("09:05")));
    // A lease that ran out (its holder died) is taken over.
    assert!(matches!(
        c.db.claim_lease(&job, "b:2", t("09:04"), t("09:06")).await.unwrap(),
        LeaseClaim::Held(_)
    ));
    assert_eq!(
        c.db.claim_lease(&job, "b:2", t("09:05"), t("09:06")).await.unwrap(),
        LeaseClaim::Acquired
    );
    // Only the holder releases it; then anyone may claim it.
    c.db.release_lease(&job, "a:1").await.unwrap();
    assert_eq!(c.db.control(&job).await.unwrap().lease.unwrap().holder, "b:2");
    c.db.release_lease(&job, "b:2").await.unwrap();
    assert_eq!(c.db.control(&job).await.unwrap().lease, None);
    assert_eq!(
        c.db.claim_lease(&job, "c:3", t("09:05"), t("09:06")).await.unwrap(),
        LeaseClaim::Acquired
    );
}

async fn stopped_and_history_are_kept_per_job(c: Ctx) {
    let (job, other) = (c.name("job"), c.name("other"));
    assert!(!c.db.control(&job).await.unwrap().stopped, "On by default");
    c.db.set_stopped(&job, true).await.unwrap();
    let t = |s: &str| at(&format!("2026-03-02T{s}:00.000000Z"));
    c.db.claim_lease(&job, "a:1", t("09:00"), t("09:01")).await.unwrap();
    let ctl = c.db.control(&job).await.unwrap();
    assert!(
        ctl.stopped && ctl.lease.is_some(),
        "the lease leaves the state alone: {ctl:?}"
    );
    assert!(!c.db.control(&other).await.unwrap().stopped);
    c.db.set_stopped(&job, false).await.unwrap();
    assert!(!c.db.control(&job).await.unwrap().stopped);
    assert_eq!(c.db.control(&job).await.unwrap().progress, None);
    c.db.set_progress(&job, Some(r#"{"processed":5}"#.into()))
        .await
        .unwrap();
    let ctl = c.db.control(&job).await.unwrap();
    assert_eq!(
        (ctl.progress.as_deref(), ctl.lease.is_some()),
        (Some(r#"{"processed":5}"#), true)
    );
    c.db.set_progress(&job, None).await.unwrap();
    assert_eq!(c.db.control(&job).await.unwrap().progress, None);
    assert_eq!(c.db.control(&other).await.unwrap().progress, None);

    let cycle = |id: &str, started: &str, result: &str| CycleRecord {
        job: job.clone(),
        cycle_id: id.into(),
        kind: "incremental".into(),
        started: t(started),
        finished: t(started),
        worker: "host:42".into(),
        result: result.into(),
        counts: r#"{"Create":{"Success":3}}"#.into(),
    };
    c.db.append_cycle(cycle("c1", "09:00", "succeeded")).await.unwrap();
    c.db.append_cycle(cycle("c2", "09:40", "partially_failed"))
        .await
        .unwrap();
    c.db.append_cycle(cycle("c3", "10:20", "failed")).await.unwrap();
    let got = c.db.cycles(&job, 2).await.unwrap();
    assert_eq!(
        got,
        vec![cycle("c3", "10:20", "failed"), cycle("c2", "09:40", "partially_failed")]
    );
    assert!(c.db.cycles(&other, 10).await.unwrap().is_empty());
}

async fn a_chunk_commits_links_escrows_and_log_together(c: Ctx) {
    let job = c.name("job");
    c.db.put_links(
        &job,
        vec![link("user", "gone", "t0", "h"), link("user", "keep", "t1", "h")],
    )
    .await
    .unwrap();
    let failed = Escrow {
        kind: "user".into(),
        source_id: "bad".into(),
        action: "Create".into(),
        error_code: "MappingEvaluationFailed".into(),
        message: "IIF".into(),
        attempts: 1,
        first_failed: now(),
        next_attempt: now(),
    };
    let fixed = Escrow {
        source_id: "fixed".into(),
        ..failed.clone()
    };
    c.db.put_escrows(&job, vec![fixed], vec![]).await.unwrap();
    let chunk = ChunkWrite {
        links: vec![link("user", "new", "t2", "h2"), link("group", "g", "tg", "h3")],
        unlink: vec![("user".into(), "gone".into())],
        put_escrow: vec![failed.clone()],
        done_escrow: vec![("user".into(), "fixed".into())],
        logs: vec![record(&job, "c1", 1, "Success"), record(&job, "c1", 2, "Failure")],
        ..Default::default()
    };
    c.db.commit_chunk(&job, chunk).await.unwrap();
    let mut ids: Vec<String> =
        c.db.links(&job)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.source_id)
            .collect();
    ids.sort();
    assert_eq!(ids, ["g", "keep", "new"]);
    assert_eq!(c.db.escrows(&job).await.unwrap(), vec![failed]);
    let log =
        c.db.log(LogQuery {
            job: job.clone(),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        log,
        vec![record(&job, "c1", 1, "Success"), record(&job, "c1", 2, "Failure")]
    );
    // An empty chunk is fine.
    c.db.commit_chunk(&job, ChunkWrite::default()).await.unwrap();
}

async fn links_are_read_by_key_and_paged_in_key_order(c: Ctx) {
    let (job, other) = (c.name("job"), c.name("other"));
    let mut all: Vec<Link> = (0..30)
        .map(|i| link("user", &format!("u{i:02}"), &format!("t{i}"), "h"))
        .collect();
    all.push(link("group", "g1", "tg1", "h"));
    all[3].disabled = true;
    all[20].disabled = true;
    c.db.put_links(&job, all.clone()).await.unwrap();
    c.db.put_links(&other, vec![link("user", "u05", "elsewhere", "h")])
        .await
        .unwrap();

    let want = vec![
        ("user".to_string(), "u05".to_string()),
        ("group".to_string(), "g1".to_string()),
        ("user".to_string(), "missing".to_string()),
        ("group".to_string(), "u07".to_string()),
        ("user".to_string(), "u03".to_string()),
    ];
    let got = sorted(c.db.links_for(&job, want).await.unwrap());
    assert_eq!(got, sorted(vec![all[5].clone(), all[30].clone(), all[3].clone()]));
    assert!(c.db.links_for(&job, vec![]).await.unwrap().is_empty());
    let keys =
        c.db.link_keys_for(
            &job,
            vec![("user".into(), "u03".into()), ("user".into(), "nope".into())],
        )
        .await
        .unwrap();
    assert_eq!(
        keys,
        [LinkKey {
            kind: "user".into(),
            source_id: "u03".into(),
            target_id: "t3".into(),
            disabled: true
        }]
    );

    let (db, job) = (&c.db, &job);
    let walk = |disabled_only: bool| async move {
        let mut paged: Vec<(String, String)> = Vec::new();
        let mut after = None;
        loop {
            let page = db.linked_keys(job, after.clone(), 7, disabled_only).await.unwrap();
            assert!(page.len() <= 7);
            let Some(last) = page.last() else { break };
            after = Some(last.clone());
            paged.extend(page);
        }
        paged
    };
    let paged = walk(false).await;
    assert_eq!(paged.len(), 31, "every link once, none of the other job's");
    assert_eq!(paged[0].0, "group", "(kind, source id) order");
    assert!(paged.windows(2).all(|w| w[0] < w[1]));
    let disabled = walk(true).await;
    let expected: Vec<(String, String)> = sorted(all.clone())
        .into_iter()
        .filter(|l| l.disabled)
        .map(|l| (l.kind, l.source_id))
        .collect();
    assert!(!expected.is_empty() && expected.len() < paged.len());
    assert_eq!(disabled, expected, "the disabled links, in key order");
}
