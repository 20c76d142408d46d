//! Filters: every operator on every kind of target (columns, the value index, value
//! filters, members, meta), their combinations, and tenant isolation. Expected results are
//! computed from the data, not written down.

use scim_core::ResourceKind;
use serde_json::{Value, json};

use super::Ctx;

cases![every_operator_and_combination_agrees_with_the_data];

fn user(i: usize) -> Value {
    let dept = ["Sales", "Support", "R&D"][i % 3];
    let country = if i.is_multiple_of(2) { "FI" } else { "SE" };
    let name = format!("user{i:02}@x.io");
    let mut u = json!({
        "userName": name,
        "externalId": format!("user{i:02}"),
        "active": !i.is_multiple_of(5),
        "displayName": name.to_uppercase(),
        "emails": [{"type": "work", "value": name, "primary": true}, {"type": "home", "value": format!("home.{name}")}],
        "addresses": [{"type": "work", "country": country}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": dept, "costCenter": format!("{}", i * 10)},
        "urn:example:custom:1.0:User": {"badge": format!("B{i}")}
    });
    if i.is_multiple_of(4) {
        u["title"] = json!(format!("Title {i}"));
    }
    u
}

async fn every_operator_and_combination_agrees_with_the_data(c: Ctx) {
    let t = c.tenant("a").await;
    let other = c.tenant("b").await;
    let u = ResourceKind::User;
    let mut all = Vec::new();
    for i in 0..30 {
        all.push((i, c.create(t, u, user(i)).await.unwrap()));
    }
    // The same names in another tenant never leak into tenant a's results.
    for i in 0..30 {
        c.create(other, u, user(i)).await.unwrap();
    }
    let g = c
        .create(
            t,
            ResourceKind::Group,
            json!({"displayName": "Team", "members": [{"value": all[1].1}, {"value": all[2].1}]}),
        )
        .await
        .unwrap();
    c.create(t, ResourceKind::Group, json!({"displayName": "Empty"}))
        .await
        .unwrap();
    let pick = |f: &dyn Fn(usize) -> bool| {
        let mut v: Vec<String> = all.iter().filter(|(i, _)| f(*i)).map(|(_, id)| id.clone()).collect();
        v.sort();
        v
    };
    let by_id = format!("id eq \"{}\"", all[3].1);
    let by_id_ne = format!("id ne \"{}\"", all[3].1);
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let dept_sales = format!("{ent}:department eq \"sales\"");
    let cases: Vec<(String, Vec<String>)> = vec![
        ("userName eq \"USER07@x.io\"".into(), pick(&|i| i == 7)),
        ("UserName EQ \"user07@X.IO\"".into(), pick(&|i| i == 7)),
        ("externalId eq \"user07\"".into(), pick(&|i| i == 7)),
        ("externalId eq \"USER07\"".into(), vec![]),
        ("externalId ne \"user07\"".into(), pick(&|i| i != 7)),
        ("externalId sw \"user2\"".into(), pick(&|i| (20..30).contains(&i))),
        (
            "emails[type eq \"work\"].value eq \"user08@x.io\"".into(),
            pick(&|i| i == 8),
        ),
        ("emails[type eq \"home\"].value eq \"user08@x.io\"".into(), vec![]),
        (
            "emails[type eq \"home\" and value sw \"home.user1\"]".into(),
            pick(&|i| (10..20).contains(&i)),
        ),
        (
            "emails[type eq \"work\" or value eq \"nothing\"]".into(),
            pick(&|_| true),
        ),
        ("emails[not (type eq \"work\")]".into(), pick(&|_| true)),
        (
            "emails[type ne \"work\" and value co \"user1\"]".into(),
            pick(&|i| (10..20).contains(&i)),
        ),
        ("emails.value eq \"home.user05@x.io\"".into(), pick(&|i| i == 5)),
        ("emails pr".into(), pick(&|_| true)),
        ("emails.primary eq true".into(), pick(&|_| true)),
        (dept_sales.clone(), pick(&|i| i % 3 == 0)),
        (format!("{ent}:department ne \"sales\""), pick(&|i| i % 3 != 0)),
        (
            format!("{ent}:costCenter gt \"50\""),
            pick(&|i| i * 10 > 50 && format!("{}", i * 10).as_str() > "50"),
        ),
        ("urn:example:custom:1.0:User:badge eq \"b7\"".into(), pick(&|i| i == 7)),
        ("active eq false".into(), pick(&|i| i % 5 == 0)),
        ("active ne false".into(), pick(&|i| i % 5 != 0)),
        (
            "active eq true and addresses[type eq \"work\"].country eq \"FI\"".into(),
            pick(&|i| i % 5 != 0 && i % 2 == 0),
        ),
        ("not (active eq true)".into(), pick(&|i| i % 5 == 0)),
        ("userName sw \"user2\"".into(), pick(&|i| (20..30).contains(&i))),
        ("userName ew \"9@x.io\"".into(), pick(&|i| i % 10 == 9)),
        ("userName co \"R1\"".into(), pick(&|i| (10..20).contains(&i))),
        ("displayName co \"ER1\"".into(), pick(&|i| (10..20).contains(&i))),
        ("displayName sw \"user0\"".into(), pick(&|i| i < 10)),
        ("displayName ew \"5@X.IO\"".into(), pick(&|i| i % 10 == 5)),
        ("displayName ne \"USER00@X.IO\"".into(), pick(&|i| i != 0)),
        ("userName gt \"user27@x.io\"".into(), pick(&|i| i > 27)),
        ("userName ge \"user27@x.io\"".into(), pick(&|i| i >= 27)),
        ("userName le \"user01@x.io\"".into(), pick(&|i| i <= 1)),
        (
            "userName ne \"user01@x.io\" and userName lt \"user03\"".into(),
            pick(&|i| i == 0 || i == 2),
        ),
        (
            "displayName gt \"USER27\" and displayName lt \"USER29\"".into(),
            pick(&|i| i == 27 || i == 28),
        ),
        (
            "(active eq false or userName eq \"user01@x.io\") and addresses.country eq \"SE\"".into(),
            pick(&|i| i % 2 == 1 && (i % 5 == 0 || i == 1)),
        ),
        (
            "not (userName sw \"user1\" or userName sw \"user2\") and not (active eq false)".into(),
            pick(&|i| i < 10 && i % 5 != 0),
        ),
        ("externalId pr".into(), pick(&|_| true)),
        ("title pr".into(), pick(&|i| i % 4 == 0)),
        ("not (title pr)".into(), pick(&|i| i % 4 != 0)),
        (
            "title pr and title ew \"2\"".into(),
            pick(&|i| i % 4 == 0 && i % 10 == 2),
        ),
        ("nickName pr".into(), vec![]),
        ("meta.created gt 2025-12-31T23:00:00Z".into(), pick(&|_| true)),
        ("meta.created lt \"2025-12-31T23:00:00+02:00\"".into(), vec![]),
        ("meta.lastModified ge \"2026-01-01T00:00:00Z\"".into(), pick(&|_| true)),
        ("meta.lastModified gt \"2026-01-01T00:00:00Z\"".into(), vec![]),
        ("meta.resourceType eq \"Group\"".into(), vec![]),
        ("meta.resourceType eq \"User\"".into(), pick(&|_| true)),
        (by_id, pick(&|i| i == 3)),
        (by_id_ne, pick(&|i| i != 3)),
        (
            "userName eq \"nobody\" or userName eq \"user04@x.io\"".into(),
            pick(&|i| i == 4),
        ),
    ];
    for (filter, want) in cases {
        assert_eq!(c.ids(t, u, &filter).await, want, "filter {filter}");
    }
    let groups: Vec<(String, Vec<String>)> = vec![
        (format!("members[value eq \"{}\"]", all[2].1), vec![g.clone()]),
        (format!("members.value eq \"{}\"", all[1].1), vec![g.clone()]),
        (format!("members eq \"{}\"", all[1].1), vec![g.clone()]),
        (format!("members.value eq \"{}\"", all[5].1), vec![]),
        ("members pr".into(), vec![g.clone()]),
        ("displayName eq \"team\"".into(), vec![g.clone()]),
    ];
    for (filter, want) in groups {
        assert_eq!(
            c.ids(t, ResourceKind::Group, &filter).await,
            want,
            "group filter {filter}"
        );
    }
}
