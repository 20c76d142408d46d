//! The LDAP source end to end: a real OpenLDAP `slapd` (Debian's package, started by the
//! test on a loopback port) → the engine → a real scimd target. An initial and an incremental
//! cycle with a department change, a disable, a user leaving the assigned group, a deletion,
//! membership added and removed; then reads by `modifyTimestamp` in `mode = "all"`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use std::collections::HashSet;

use ldap3::Mod;
use sync_testkit::slapd::{ADMIN_DN, ADMIN_PASSWORD, BASE_DN, Slapd};

use common::{ENTERPRISE, Rig};

fn job(s: &Slapd, mode: &str) -> String {
    format!(
        r#"
version = 1
[job]
name = "hoxhunt-ldap"
[source]
type = "ldap"
url = "{url}"
bind_dn = "{ADMIN_DN}"
bind_password = "{ADMIN_PASSWORD}"
base_dn = "{BASE_DN}"
page_size = 2
disabled_attribute = "employeeType"
disabled_values = ["disabled"]
[target]
url = "{{TARGET_URL}}"
token = "{{TARGET_TOKEN}}"
[scope]
mode = "{mode}"
groups = ["Security Awareness"]
[safety]
deletion_threshold = 100
[[users.mappings]]
target = "userName"
source = "mail"
matching = 1
[[users.mappings]]
target = "name.givenName"
source = "givenName"
[[users.mappings]]
target = "name.familyName"
source = "sn"
[[users.mappings]]
target = "{ENTERPRISE}:department"
source = "departmentNumber"
[[users.mappings]]
target = "{ENTERPRISE}:manager"
source = "manager"
[[users.mappings]]
target = "active"
type = "expression"
expression = 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'
[groups]
[[groups.mappings]]
target = "displayName"
source = "cn"
matching = 1
"#,
        url = s.url
    )
}

fn person(uid: &str) -> String {
    format!("uid={uid},ou=people,{BASE_DN}")
}

fn group_dn(cn: &str) -> String {
    format!("cn={cn},ou=groups,{BASE_DN}")
}

/// Seven people and two groups, each entry stamped a second after the one before (in 2026's
/// first minutes), so a watermark names exactly one of them.
fn seed() -> String {
    let mut ldif = String::new();
    let mut second = 0;
    let mut stamp = || {
        second += 1;
        format!("202601010000{second:02}Z")
    };
    let people = [
        ("ann", "Sales", None),
        ("bob", "R&D", Some("ann")),
        ("cid", "R&D", Some("bob")),
        ("dee", "Ops", None),
        ("eve", "Ops", None),
        ("fay", "Ops", None),
        ("hal", "Ops", None),
    ];
    for (uid, dept, manager) in people {
        ldif += &format!(
            "dn: {}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid} Example\nsn: Example\ngivenName: {uid}\n\
             mail: {uid}@example.org\ndepartmentNumber: {dept}\nemployeeType: staff\nmodifyTimestamp: {}\n",
            person(uid),
            stamp()
        );
        if let Some(m) = manager {
            ldif += &format!("manager: {}\n", person(m));
        }
        ldif += "\n";
    }
    for (cn, members) in [
        ("Security Awareness", &["ann", "bob", "cid", "hal"][..]),
        ("Sales", &["ann", "dee"][..]),
    ] {
        ldif += &format!(
            "dn: {}\nobjectClass: groupOfNames\ncn: {cn}\nmodifyTimestamp: {}\n",
            group_dn(cn),
            stamp()
        );
        for m in members {
            ldif += &format!("member: {}\n", person(m));
        }
        ldif += "\n";
    }
    ldif
}

async fn modify(s: &Slapd, dn: &str, mods: Vec<Mod<&str>>) {
    let mut ldap = s.admin().await;
    ldap.modify(dn, mods)
        .await
        .and_then(|r| r.success())
        .unwrap_or_else(|e| panic!("modify {dn}: {e}"));
}

/// A working day: bob moves to Sales, cid is disabled, ann leaves (deleted, and out of her
/// groups), gus joins the assigned group, hal leaves it.
async fn a_working_day(s: &Slapd) {
    let set = |a: &'static str, v: &'static str| Mod::Replace(a, HashSet::from([v]));
    modify(s, &person("bob"), vec![set("departmentNumber", "Sales")]).await;
    modify(s, &person("cid"), vec![set("employeeType", "disabled")]).await;
    let ann = person("ann");
    modify(
        s,
        &group_dn("Security Awareness"),
        vec![Mod::Delete("member", HashSet::from([ann.as_str()]))],
    )
    .await;
    modify(
        s,
        &group_dn("Sales"),
        vec![Mod::Delete("member", HashSet::from([ann.as_str()]))],
    )
    .await;
    let mut ldap = s.admin().await;
    ldap.delete(&ann).await.and_then(|r| r.success()).unwrap();
    let bob = person("bob");
    let gus = vec![
        ("objectClass", HashSet::from(["inetOrgPerson"])),
        ("uid", HashSet::from(["gus"])),
        ("cn", HashSet::from(["gus Example"])),
        ("sn", HashSet::from(["Example"])),
        ("givenName", HashSet::from(["gus"])),
        ("mail", HashSet::from(["gus@example.org"])),
        ("departmentNumber", HashSet::from(["Ops"])),
        ("manager", HashSet::from([bob.as_str()])),
    ];
    ldap.add(&person("gus"), gus).await.and_then(|r| r.success()).unwrap();
    let (gus, hal) = (person("gus"), person("hal"));
    modify(
        s,
        &group_dn("Security Awareness"),
        vec![
            Mod::Add("member", HashSet::from([gus.as_str()])),
            Mod::Delete("member", HashSet::from([hal.as_str()])),
        ],
    )
    .await;
}

fn dept(u: &serde_json::Value) -> &str {
    u[ENTERPRISE]["department"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slapd_to_scimd_initial_then_incremental_in_assigned_mode() {
    let Some(s) = Slapd::start_if_installed(&seed()) else {
        return;
    };
    let rig = Rig::new(&job(&s, "assigned")).await;

    let r = rig.cycle().await;
    assert_eq!(r.counts.read, 9, "7 people and 2 groups: {:?}", r.counts);
    let users = rig.users().await;
    let names: Vec<&str> = users.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "ann@example.org",
            "bob@example.org",
            "cid@example.org",
            "hal@example.org"
        ]
    );
    assert_eq!(
        users["cid@example.org"][ENTERPRISE]["manager"]["value"], users["bob@example.org"]["id"],
        "the manager's DN resolved to its id, then to the target id"
    );
    assert_eq!(
        rig.members("Security Awareness").await,
        [
            "ann@example.org",
            "bob@example.org",
            "cid@example.org",
            "hal@example.org"
        ]
    );
    let filters = s.filters();
    let user_pages = filters.iter().filter(|f| *f == "(objectClass=inetOrgPerson)").count();
    assert_eq!(
        user_pages, 4,
        "seven users in pages of two (the paged-results control): {filters:?}"
    );
    let log = s.log().join("\n");
    assert!(
        log.contains("attr=entryUUID modifyTimestamp employeeType mail givenName sn departmentNumber manager"),
        "only what the mappings read: {log}"
    );

    a_working_day(&s).await;
    rig.target.clear_requests();
    rig.cycle().await;
    let users = rig.users().await;
    assert!(
        !users.contains_key("ann@example.org"),
        "deleted in the directory: deleted"
    );
    assert_eq!(dept(&users["bob@example.org"]), "Sales");
    assert_eq!(
        users["bob@example.org"][ENTERPRISE].get("manager"),
        None,
        "ann was bob's manager"
    );
    assert_eq!(
        users["cid@example.org"]["active"], false,
        "disabled in the directory: disabled"
    );
    assert_eq!(
        users["hal@example.org"]["active"], false,
        "left the assigned group: disabled"
    );
    assert_eq!(users["gus@example.org"]["active"], true);
    assert_eq!(
        users["gus@example.org"][ENTERPRISE]["manager"]["value"],
        users["bob@example.org"]["id"]
    );
    assert_eq!(
        rig.members("Security Awareness").await,
        ["bob@example.org", "gus@example.org"]
    );
    assert_eq!(
        rig.writes(),
        [
            "DELETE Users",
            "PATCH Groups",
            "PATCH Groups",
            "PATCH Users",
            "PATCH Users",
            "PATCH Users",
            "PATCH Users",
            "POST Users"
        ],
        "bob twice (department, manager), cid and hal disabled, gus created, the group's members"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_mode_all_the_next_cycle_reads_by_modify_timestamp() {
    let Some(s) = Slapd::start_if_installed(&seed()) else {
        return;
    };
    let rig = Rig::new(&job(&s, "all")).await;
    rig.cycle().await;
    assert_eq!(rig.users().await.len(), 7);
    assert_eq!(rig.members("Sales").await, ["ann@example.org", "dee@example.org"]);

    a_working_day(&s).await;
    s.clear_log();
    rig.target.clear_requests();
    let r = rig.cycle().await;
    // Changed: bob, cid, gus (new), both groups; and the Sales group, stamped last in the seed,
    // which the watermark names. ann's deletion waits for the daily full read.
    assert_eq!(r.counts.read, 5, "{:?}", r.counts);
    let filters = s.filters();
    assert!(
        filters.iter().any(|f| f.contains("modifyTimestamp>=20260101000009Z")),
        "{filters:?}"
    );
    let users = rig.users().await;
    assert_eq!(dept(&users["bob@example.org"]), "Sales");
    assert_eq!(users["cid@example.org"]["active"], false);
    assert_eq!(
        users["gus@example.org"][ENTERPRISE]["manager"]["value"],
        users["bob@example.org"]["id"]
    );
    assert_eq!(users["hal@example.org"]["active"], true, "mode = all");
    assert_eq!(
        rig.members("Security Awareness").await,
        ["bob@example.org", "gus@example.org"]
    );
    assert_eq!(rig.members("Sales").await, ["dee@example.org"]);
    assert!(
        users.contains_key("ann@example.org"),
        "a deletion is seen by a full read only"
    );

    let full = sync_engine::cycle::CycleOptions {
        full: true,
        ..Default::default()
    };
    rig.try_cycle(full).await.unwrap();
    assert!(
        !rig.users().await.contains_key("ann@example.org"),
        "the full read sees it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_bind_password_fails_the_cycle_and_sends_nothing() {
    let Some(s) = Slapd::start_if_installed(&seed()) else {
        return;
    };
    let text = job(&s, "all").replace(ADMIN_PASSWORD, "wrong");
    let rig = Rig::new(&text).await;
    let err = rig.try_cycle(Default::default()).await.unwrap_err().to_string();
    assert!(err.contains("bind as cn=admin") && err.contains("49"), "{err}");
    assert!(rig.target.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_with_and_without_certificate_checks() {
    let Some(s) = Slapd::start_tls_if_installed(&seed()) else {
        return;
    };
    let plain = job(&s, "all");
    let tls = plain.replace("page_size = 2", "page_size = 2\nstarttls = true");
    // The directory's certificate is self-signed: refused unless checks are off.
    let rig = Rig::new(&tls).await;
    let err = rig.try_cycle(Default::default()).await.unwrap_err().to_string();
    assert!(
        err.contains("LDAP connecting to ldap://127.0.0.1") && err.contains("not trusted here"),
        "{err}"
    );
    assert!(rig.target.writes().is_empty());
    let rig = Rig::new(&tls.replace("starttls = true", "starttls = true\ntls_no_verify = true")).await;
    rig.cycle().await;
    assert_eq!(rig.users().await.len(), 7, "read over TLS");
}
