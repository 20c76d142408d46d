//! SelectUniqueValue against the target: the first candidate that neither the target nor
//! another create of the same cycle holds; none free means a logged, escrowed failure;
//! creation only.

use std::collections::HashSet;

use scim_client::Endpoint;
use serde_json::{Value as Json, json};
use sync_engine::cycle::CycleResult;
use sync_engine::model::SourceObject;

use crate::harness::*;

const NICKNAME: &str = r#"
[[users.mappings]]
target = "nickName"
type = "expression"
apply = "create"
expression = 'SelectUniqueValue(Join(".", [givenName], [surname]), Join(".", Mid([givenName], 1, 1), [surname]), Join("", [givenName], [surname], "1"))'
"#;

/// Puts a user holding `nick` on the target, as if someone else had it.
async fn taken(h: &Harness, user_name: &str, nick: &str) -> String {
    let u = h
        .reader
        .create(
            Endpoint::Users,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name, "nickName": nick}),
        )
        .await
        .expect("seed a target user");
    u["id"].as_str().unwrap().to_string()
}

fn nick(u: &Json) -> String {
    u["nickName"].as_str().unwrap_or_default().to_string()
}

fn with_ann(mut d: Vec<SourceObject>) -> Vec<SourceObject> {
    d.push(user("u-ann", "ann", "Ann", "Turing", "Research", None));
    members_mut(&mut d, "g-sa").push("u-ann".into());
    d
}

#[tokio::test]
async fn the_first_free_candidate_is_used_and_none_free_is_escrowed() {
    let h = Harness::with(Setup {
        directory: with_ann(directory()),
        user_mappings: NICKNAME.into(),
        ..Default::default()
    })
    .await;
    taken(&h, "other1@else.test", "Ada.Lovelace").await;
    taken(&h, "other2@else.test", "Alan.Turing").await;
    taken(&h, "other3@else.test", "Ann.Turing").await;
    let mut linus_holders = Vec::new();
    for n in ["Linus.Torvalds", "L.Torvalds", "LinusTorvalds1"] {
        linus_holders.push(taken(&h, &format!("{n}@else.test"), n).await);
    }

    let report = h.cycle_lenient().await;
    assert_eq!(report.result, CycleResult::PartiallyFailed, "{report:?}");
    assert_eq!(
        nick(&h.user("ada").await.expect("ada")),
        "A.Lovelace",
        "the second rule"
    );
    assert_eq!(
        nick(&h.user("grace").await.expect("grace")),
        "Grace.Hopper",
        "the first rule is free"
    );
    // Alan and Ann both want A.Turing (their first candidates are taken): one gets it, the
    // other takes its third rule, never the same value.
    let (alan, ann) = (
        nick(&h.user("alan").await.unwrap()),
        nick(&h.user("ann").await.unwrap()),
    );
    let mut got = [alan.clone(), ann.clone()];
    got.sort();
    assert!(
        got == ["A.Turing", "AnnTuring1"] || got == ["A.Turing", "AlanTuring1"],
        "alan {alan}, ann {ann}"
    );
    let checks: Vec<String> = h
        .target
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path_and_query.contains("nickName"))
        .map(|r| r.path_and_query)
        .collect();
    assert!(!checks.is_empty(), "each candidate is checked against the target");

    // Linus: every candidate is taken, so Linus fails, is logged and escrowed.
    assert!(h.user("linus").await.is_none());
    let rec = h
        .cycle_logs(&report.cycle_id)
        .await
        .into_iter()
        .find(|l| l.source_id == "u-linus")
        .expect("linus's record");
    assert_eq!((rec.action.as_str(), rec.status.as_str()), ("Create", "Failure"));
    assert_eq!(rec.error_code.as_deref(), Some("MappingEvaluationFailed"));
    let msg = rec.error_message.unwrap_or_default();
    assert!(
        msg.contains("no candidate value is unique") && msg.contains("LinusTorvalds1"),
        "{msg}"
    );
    assert_eq!(h.escrows().await.len(), 1);

    // One value frees up: the retry takes it.
    h.reader
        .delete(Endpoint::Users, &linus_holders[1])
        .await
        .expect("free L.Torvalds");
    h.cycle_fresh().await;
    assert_eq!(nick(&h.user("linus").await.expect("created on retry")), "L.Torvalds");

    // Creation only: a renamed user keeps the nickname it was given.
    h.edit(|d| set_attr(d, "u-grace", "givenName", json!("Amazing Grace")));
    h.cycle_fresh().await;
    let grace = h.user("grace").await.unwrap();
    assert_eq!(
        (grace["name"]["givenName"].as_str(), nick(&grace).as_str()),
        (Some("Amazing Grace"), "Grace.Hopper")
    );
}

#[tokio::test]
async fn a_large_initial_cycle_checks_candidates_in_the_target_snapshot() {
    // 240 users in pairs with the same name: each pair's second user takes the second rule.
    let mut d = directory();
    for i in 0..240 {
        let id = format!("u-sam{i}");
        d.push(user(
            &id,
            &format!("sam{i}"),
            "Sam",
            &format!("Lee{}", i / 2),
            "Ops",
            None,
        ));
        members_mut(&mut d, "g-sa").push(id);
    }
    let h = Harness::with(Setup {
        directory: d,
        user_mappings: NICKNAME.into(),
        ..Default::default()
    })
    .await;
    taken(&h, "someone@else.test", "Sam.Lee0").await;
    h.cycle_fresh().await;

    let users = h.all_users().await;
    let nicks: Vec<String> = users.iter().map(nick).collect();
    let distinct: HashSet<&String> = nicks.iter().collect();
    assert_eq!(users.len(), 1 + 5 + 240);
    assert_eq!(distinct.len(), nicks.len(), "every nickName is unique");
    let lee0: HashSet<String> = users
        .iter()
        .filter(|u| u["name"]["familyName"] == "Lee0")
        .map(nick)
        .collect();
    assert_eq!(lee0, HashSet::from(["S.Lee0".to_string(), "SamLee01".to_string()]));
    let gets: Vec<String> = h
        .target
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.path_and_query)
        .collect();
    let live_checks = gets.iter().filter(|q| q.contains("filter=nickName")).count();
    assert_eq!(live_checks, 0, "the snapshot answered every uniqueness check");
    // The snapshot asks only for the attributes it indexes.
    assert!(
        gets.iter()
            .any(|q| q.contains("/Users?") && q.contains("attributes=nickName%2CuserName")),
        "{gets:#?}"
    );
}
