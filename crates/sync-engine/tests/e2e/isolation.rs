//! Failure isolation: one object whose mapping or matching fails is logged, escrowed and
//! retried, and the cycle provisions everyone else; a cycle that stops leaves its reason in
//! the status and the log.

use serde_json::{Value as Json, json};
use sync_engine::EngineError;
use sync_engine::cycle::{CycleOptions, CycleResult};

use crate::harness::*;

/// `preferredLanguage` by country: IIF fails on a user without a country, as in Entra.
const LANGUAGE_BY_COUNTRY: &str = r#"
[[users.mappings]]
target = "locale"
type = "expression"
expression = 'IIF([country]="US", "en-US", "en-GB")'
"#;

fn last_cycle(status: &scim_core::ports::sync::JobStatus) -> Json {
    serde_json::from_str(status.last_cycle.as_deref().expect("a last cycle")).expect("last cycle JSON")
}

#[tokio::test]
async fn one_bad_user_is_logged_and_escrowed_while_the_rest_are_provisioned() {
    let mut directory = directory();
    set_attr(&mut directory, "u-alan", "country", Json::Null);
    set_attr(&mut directory, "u-linus", "userPrincipalName", Json::Null);
    let h = Harness::with(Setup {
        directory,
        user_mappings: LANGUAGE_BY_COUNTRY.into(),
        ..Default::default()
    })
    .await;

    let report = h.cycle_lenient().await;
    assert_eq!(report.result, CycleResult::PartiallyFailed, "{report:?}");
    assert_eq!(report.applied.failure, 2, "{report:?}");
    for local in ["ada", "grace", "margaret"] {
        assert!(
            h.user(local).await.is_some(),
            "{local} is provisioned despite the failures"
        );
    }
    assert!(h.user("alan").await.is_none());
    assert_eq!(h.all_users().await.len(), 3, "nothing else reached the target");

    let logs = h.cycle_logs(&report.cycle_id).await;
    let failed = |id: &str| {
        logs.iter()
            .find(|l| l.source_id == id && l.status == "Failure")
            .unwrap_or_else(|| panic!("a Failure record for {id}: {logs:#?}"))
            .clone()
    };
    let alan = failed("u-alan");
    assert_eq!(
        (alan.action.as_str(), alan.error_code.as_deref()),
        ("Create", Some("MappingEvaluationFailed"))
    );
    let msg = alan.error_message.unwrap_or_default();
    assert!(
        msg.contains("locale") && msg.contains("IIF") && msg.contains("country"),
        "{msg}"
    );
    let linus = failed("u-linus");
    assert_eq!(linus.error_code.as_deref(), Some("MappingEvaluationFailed"));
    assert!(
        linus
            .error_message
            .unwrap_or_default()
            .contains("no value for any matching attribute")
    );
    let escrowed: Vec<String> = h.escrows().await.into_iter().map(|e| e.source_id).collect();
    assert_eq!(escrowed, vec!["u-alan".to_string(), "u-linus".to_string()]);
    let status = h.status().await;
    assert!(status.initial_done, "the cycle completed");
    assert_eq!(last_cycle(&status)["result"], "partially_failed");
    assert_eq!(last_cycle(&status)["applied"]["failure"], 2);

    // The admin fixes the directory; the next cycle retries the escrowed users.
    h.edit(|d| {
        set_attr(d, "u-alan", "country", json!("US"));
        set_attr(d, "u-linus", "userPrincipalName", json!("linus@contoso.test"));
    });
    let fixed = h.cycle_fresh().await;
    assert_eq!(fixed.result, CycleResult::Succeeded);
    assert_eq!(h.user("alan").await.expect("created")["locale"], "en-US");
    assert!(h.user("linus").await.is_some());
    assert!(h.escrows().await.is_empty(), "escrows are cleared on success");
}

#[tokio::test]
async fn an_update_whose_mapping_fails_leaves_the_target_and_the_link_alone() {
    let h = Harness::with(Setup {
        user_mappings: LANGUAGE_BY_COUNTRY.into(),
        ..Default::default()
    })
    .await;
    h.cycle().await;
    let before = h.link("user", "u-grace").await.expect("linked");
    h.edit(|d| {
        set_attr(d, "u-grace", "country", Json::Null);
        set_attr(d, "u-grace", "department", json!("Navy"));
        set_attr(d, "u-ada", "department", json!("Analytical Engines"));
    });
    let report = h.cycle_lenient().await;
    assert_eq!(report.result, CycleResult::PartiallyFailed);
    let ada = h.user("ada").await.expect("ada");
    assert_eq!(
        ada[ENTERPRISE]["department"], "Analytical Engines",
        "the good update went out"
    );
    let grace = h.user("grace").await.expect("grace");
    assert_eq!(
        grace[ENTERPRISE]["department"], "Engineering",
        "the failed update sent nothing"
    );
    assert_eq!(h.link("user", "u-grace").await, Some(before), "the link is unchanged");
    let logs = h.cycle_logs(&report.cycle_id).await;
    let rec = logs.iter().find(|l| l.source_id == "u-grace").expect("grace's record");
    assert_eq!((rec.action.as_str(), rec.status.as_str()), ("Update", "Failure"));
}

#[tokio::test]
async fn a_cycle_whose_source_fails_is_recorded_with_its_reason() {
    let h = Harness::start().await;
    h.cycle().await;
    h.source.fail(Some("the directory is down"));
    let err = h.run(NOW, CycleOptions::default()).await.expect_err("the cycle stops");
    assert!(matches!(err, EngineError::Source(_)), "{err:?}");

    let status = h.status().await;
    let last = last_cycle(&status);
    assert_eq!(last["result"], "failed");
    assert_eq!(last["error"]["code"], "SourceReadFailed");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("the directory is down")
    );
    let logs = h.logs().await;
    let rec = logs
        .iter()
        .find(|l| l.kind == "cycle" && l.cycle_id == last["cycle_id"].as_str().unwrap_or_default())
        .expect("a cycle record");
    assert_eq!((rec.action.as_str(), rec.status.as_str()), ("Cycle", "Failure"));
    assert_eq!(rec.error_code.as_deref(), Some("SourceReadFailed"));
    assert_eq!(h.all_users().await.len(), 5, "nothing on the target changed");

    h.source.fail(None);
    let next = h.cycle().await;
    assert_eq!(next.result, CycleResult::Succeeded);
    assert_eq!(last_cycle(&h.status().await)["result"], "succeeded");
}
