use std::collections::HashMap;

use scim_core::ports::sync::Escrow;
use time::macros::datetime;

use super::*;
use crate::plan::{Action, Op};

const NOW: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);

fn cx() -> LogCtx {
    LogCtx {
        job: "j".into(),
        cycle_id: "c1".into(),
        now: NOW,
        initiated_by: "cycle".into(),
    }
}

fn outcome(kind: ObjectKind, id: &str, status: Status, f: impl FnOnce(&mut Outcome)) -> Outcome {
    let a = Action {
        kind,
        source_id: id.into(),
        target_id: None,
        display: id.into(),
        op: Op::Skip { reason: String::new() },
    };
    let mut o = Outcome::new(&a);
    o.status = status;
    f(&mut o);
    o
}

fn values(pairs: &[(&str, &str)]) -> mapping::Values {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
        .collect()
}

fn prior_escrow(id: &str, attempts: u32) -> Escrow {
    Escrow {
        kind: "user".into(),
        source_id: id.into(),
        action: "Create".into(),
        error_code: "TargetServerError".into(),
        message: "500".into(),
        attempts,
        first_failed: scim_core::Timestamp::new(datetime!(2026-03-01 09:00 UTC)),
        next_attempt: scim_core::Timestamp::new(NOW),
    }
}

#[test]
fn a_success_links_the_object_and_clears_its_escrow() {
    let o = outcome(ObjectKind::User, "u1", Status::Success, |o| {
        o.target_id = Some("t1".into());
        o.values = Some(values(&[("userName", "a@x")]));
        o.disabled = Some(false);
        o.requests = 2;
    });
    let escrows = HashMap::from([(("user".to_string(), "u1".to_string()), prior_escrow("u1", 2))]);
    let f = fold(&mut [o], &HashMap::new(), &escrows, &cx());
    assert_eq!(f.links.len(), 1);
    assert_eq!(f.links[0].target_id, "t1");
    assert!(f.links[0].values.contains("a@x"), "{}", f.links[0].values);
    assert_eq!(f.done_escrow, vec![("user".to_string(), "u1".to_string())]);
    assert!(f.put_escrow.is_empty());
    assert_eq!((f.applied.success, f.stats.successes, f.requests), (1, 1, 2));
    assert_eq!(f.logs[0].status, "Success");
    let log = &f.logs[0];
    assert_eq!(
        (log.source_display.as_str(), log.target_display.as_deref()),
        ("u1", Some("a@x"))
    );
    assert_eq!((log.initiated_by.as_str(), log.duration_ms), ("cycle", 0));
}

#[test]
fn a_failure_is_escrowed_with_growing_back_off_and_keeps_no_link() {
    let err = EngineError::Mapping {
        target: "userName".into(),
        message: "IIF: null".into(),
    };
    let cases = [
        (None, 1, NOW),
        (Some(1), 2, NOW + time::Duration::hours(1)),
        (Some(3), 4, NOW + time::Duration::hours(24)),
    ];
    for (prior, attempts, next) in cases {
        let o = outcome(ObjectKind::User, "u1", Status::Failure, |o| {
            o.target_id = Some("t1".into());
            o.error = Some(err.clone());
        });
        let escrows: HashMap<_, _> = prior
            .map(|n| (("user".to_string(), "u1".to_string()), prior_escrow("u1", n)))
            .into_iter()
            .collect();
        let f = fold(&mut [o], &HashMap::new(), &escrows, &cx());
        assert!(f.links.is_empty(), "a failed action links nothing");
        let e = &f.put_escrow[0];
        assert_eq!(
            (e.attempts, e.next_attempt),
            (attempts, scim_core::Timestamp::new(next))
        );
        assert_eq!(e.error_code, "MappingEvaluationFailed");
        let first = prior.map_or(NOW, |_| datetime!(2026-03-01 09:00 UTC));
        assert_eq!(
            e.first_failed,
            scim_core::Timestamp::new(first),
            "the first failure is kept"
        );
        assert_eq!(f.logs[0].error_code.as_deref(), Some("MappingEvaluationFailed"));
        assert_eq!((f.stats.failures, f.stats.successes), (1, 0));
    }
}

#[test]
fn quarantine_statistics_tell_references_and_refused_credentials_apart() {
    let mut os = [
        outcome(ObjectKind::User, "u1", Status::Failure, |o| {
            o.reference = true;
            o.error = Some(EngineError::Transport("reset".into()));
        }),
        outcome(ObjectKind::User, "u2", Status::Failure, |o| {
            o.error = Some(EngineError::Target {
                status: 401,
                scim_type: None,
                detail: "bad token".into(),
            })
        }),
        outcome(ObjectKind::User, "u3", Status::Skipped, |_| {}),
        outcome(ObjectKind::User, "u4", Status::Warning, |o| o.unlink = true),
    ];
    let f = fold(&mut os, &HashMap::new(), &HashMap::new(), &cx());
    let s = f.stats;
    assert_eq!(
        (
            s.operations,
            s.failures,
            s.reference_failures,
            s.auth_failures,
            s.successes
        ),
        (4, 2, 1, 1, 1)
    );
    assert_eq!((f.applied.failure, f.applied.skipped, f.applied.warning), (2, 1, 1));
    // Outcome::new logs a Skip action as "Other".
    assert_eq!(f.actions["Other"]["Failure"], 2);
    assert_eq!((f.actions["Other"]["Skipped"], f.actions["Other"]["Warning"]), (1, 1));
    assert_eq!(f.unlink, vec![("user".to_string(), "u4".to_string())]);
}

#[test]
fn outcomes_of_one_object_merge_into_its_link() {
    let old = HashMap::from([(
        (ObjectKind::Group, "g1".to_string()),
        LinkState {
            target_id: "tg".into(),
            hash: "old".into(),
            pushed: Pushed {
                values: values(&[("displayName", "G")]),
                manager: None,
            },
            disabled: false,
        },
    )]);
    let mut os = [
        outcome(ObjectKind::Group, "g1", Status::Success, |o| {
            o.target_id = Some("tg".into());
            o.values = Some(values(&[("displayName", "G2")]));
        }),
        outcome(ObjectKind::Group, "g1", Status::Success, |o| {
            o.target_id = Some("tg".into());
            o.reference = true;
            o.members_added = vec!["m3".into()];
            o.members_removed = vec!["m1".into()];
        }),
    ];
    let f = fold(&mut os, &old, &HashMap::new(), &cx());
    assert_eq!(f.links.len(), 1);
    let pushed: Pushed = serde_json::from_str(&f.links[0].values).expect("pushed json");
    assert_eq!(pushed.values, values(&[("displayName", "G2")]));
    assert_eq!(f.links[0].hash, mapping::hash(&pushed.values, None));
    let rows = |m: &str| vec![("g1".to_string(), vec![m.to_string()])];
    assert_eq!(
        (f.add_members, f.remove_members),
        (rows("m3"), rows("m1")),
        "membership rows"
    );
    assert_eq!(f.logs.len(), 2, "one record per outcome");
}

#[test]
fn a_link_the_outcomes_leave_as_it_was_is_not_written_again() {
    let pushed = Pushed {
        values: values(&[("userName", "a@x")]),
        manager: Some("m1".into()),
    };
    let state = LinkState {
        target_id: "t1".into(),
        hash: mapping::hash(&pushed.values, pushed.manager.as_deref()),
        pushed,
        disabled: false,
    };
    let old = HashMap::from([
        ((ObjectKind::User, "u1".to_string()), state.clone()),
        ((ObjectKind::User, "u2".to_string()), state),
    ]);
    // u1: the manager set in its create request, confirmed by its reference: nothing new.
    // u2: the manager changes.
    let mut os = [
        outcome(ObjectKind::User, "u1", Status::Success, |o| {
            o.target_id = Some("t1".into());
            o.manager = Some(Some("m1".into()));
        }),
        outcome(ObjectKind::User, "u2", Status::Success, |o| {
            o.target_id = Some("t1".into());
            o.manager = Some(Some("m2".into()));
        }),
    ];
    let f = fold(&mut os, &old, &HashMap::new(), &cx());
    let written: Vec<&str> = f.links.iter().map(|l| l.source_id.as_str()).collect();
    assert_eq!(written, ["u2"]);
    assert_eq!(f.logs.len(), 2, "both outcomes are logged");
}
