//! `examples/openldap.toml`, pointed at a real slapd the test starts, provisions a real
//! `scimd serve`: an initial cycle, then a department change and a disable.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use std::collections::HashSet;

use common::sync::*;
use sync_testkit::slapd::{ADMIN_DN, ADMIN_PASSWORD, BASE_DN, Slapd};

fn seed() -> String {
    let mut ldif = String::new();
    // Ten more members, so that one disable stays under the example's 20 % threshold.
    let more: Vec<(String, &str)> = (0..10).map(|i| (format!("m{i}"), "Support")).collect();
    let named = [("ann", "Sales"), ("bob", "R&D"), ("cid", "Ops"), ("dee", "Ops")];
    for (uid, dept) in named
        .iter()
        .map(|(u, d)| (u.to_string(), *d))
        .chain(more.iter().cloned())
    {
        ldif += &format!(
            "dn: uid={uid},ou=people,{BASE_DN}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: Example\n\
             givenName: {uid}\nmail: {uid}@example.org\ndepartmentNumber: {dept}\n\n"
        );
    }
    let member = |u: &str| format!("member: uid={u},ou=people,{BASE_DN}\n");
    ldif += &format!("dn: cn=App Users,ou=groups,{BASE_DN}\nobjectClass: groupOfNames\ncn: App Users\n");
    ldif += &(member("ann") + &member("bob") + &member("cid"));
    for (m, _) in &more {
        ldif += &member(m);
    }
    ldif
}

#[test]
fn the_openldap_example_provisions_scimd_serve() {
    let Some(slapd) = Slapd::start_if_installed(&seed()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = serve(d);
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/openldap.toml")).unwrap();
    let job = example
        .replace("ldap://ldap.contoso.example", &slapd.url)
        .replace("starttls = true", "starttls = false")
        .replace("cn=scimd,ou=services,dc=contoso,dc=example", ADMIN_DN)
        .replace("dc=contoso,dc=example", BASE_DN)
        .replace("https://app.example/scim/v2/contoso", &server.url);
    std::fs::write(d.join("job.toml"), job).unwrap();
    let env = [
        ("APP_SCIM_TOKEN", server.token.as_str()),
        ("LDAP_PASSWORD", ADMIN_PASSWORD),
    ];
    let (ok, out, err) = run_in(d, &["sync", "validate", "job.toml"], &env);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert!(ok, "{out}{err}");
    assert!(out.contains("initial cycle") && out.contains("read 15"), "{out}");
    assert_eq!(users(&server), 13, "the members of App Users; dee is not one");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut ldap = slapd.admin().await;
        let bob = format!("uid=bob,ou=people,{BASE_DN}");
        let m = ldap3::Mod::Replace("departmentNumber", HashSet::from(["Sales"]));
        ldap.modify(&bob, vec![m]).await.unwrap().success().unwrap();
        let cid = format!("uid=cid,ou=people,{BASE_DN}");
        let m = ldap3::Mod::Replace("employeeType", HashSet::from(["disabled"]));
        ldap.modify(&cid, vec![m]).await.unwrap().success().unwrap();
    });
    let (ok, out, err) = run_in(d, &["sync", "run", "job.toml", "--once"], &env);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("incremental cycle") && out.contains("update 1 disable 1"),
        "{out}"
    );
    assert_eq!(users(&server), 13);
}
