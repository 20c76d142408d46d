//! A real OpenLDAP `slapd` (sync-testkit's: its own database, loaded with `slapadd`) holding
//! the demo's sample directory as inetOrgPerson and groupOfNames entries, for the LDAP
//! source's memory and speed benchmark (`scripts/sync-cli.sh` with `SOURCE=ldap`).
//!
//! ```text
//! ldap-directory --users 100000 --groups 1000
//! ```
//! Prints `url`, `base_dn`, `bind_dn` and `bind_password` lines, then `ready`. Reads commands
//! on stdin: `change N` gives every Nth user a new departmentNumber.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use clap::Parser;
use serde_json::Value;
use sync_engine::model::{ObjectKind, SourceObject};
use sync_engine::source::sample::sample_directory;
use sync_testkit::slapd::{ADMIN_DN, ADMIN_PASSWORD, BASE_DN, Slapd};

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    #[arg(long, default_value_t = 1_000)]
    groups: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn s<'a>(o: &'a SourceObject, k: &str) -> Option<&'a str> {
    o.attrs.get(k).and_then(Value::as_str).filter(|v| !v.trim().is_empty())
}

/// One LDIF line; values that LDIF cannot carry as they are go base64.
fn line(out: &mut String, attr: &str, value: &str) {
    let safe = value.is_ascii()
        && !value.starts_with([' ', ':', '<'])
        && !value.ends_with(' ')
        && !value.contains(['\n', '\r', '\0']);
    if safe {
        out.push_str(&format!("{attr}: {value}\n"));
    } else {
        use base64::Engine;
        out.push_str(&format!(
            "{attr}:: {}\n",
            base64::engine::general_purpose::STANDARD.encode(value)
        ));
    }
}

fn ldif(objects: &[SourceObject]) -> (String, Vec<String>) {
    let mut dn_of: HashMap<&str, String> = HashMap::new();
    let mut uids = Vec::new();
    for o in objects.iter().filter(|o| o.kind == ObjectKind::User) {
        let uid = s(o, "userPrincipalName")
            .and_then(|u| u.split('@').next())
            .unwrap_or(&o.id)
            .to_string();
        dn_of.insert(&o.id, format!("uid={uid},ou=people,{BASE_DN}"));
        uids.push(uid);
    }
    let mut out = String::new();
    for (o, uid) in objects.iter().filter(|o| o.kind == ObjectKind::User).zip(&uids) {
        out.push_str(&format!("dn: {}\nobjectClass: inetOrgPerson\n", dn_of[o.id.as_str()]));
        line(&mut out, "uid", uid);
        line(&mut out, "cn", s(o, "displayName").unwrap_or(uid));
        line(&mut out, "sn", s(o, "surname").unwrap_or(uid));
        for (ldap, graph) in [
            ("givenName", "givenName"),
            ("mail", "mail"),
            ("departmentNumber", "department"),
            ("l", "officeLocation"),
            ("preferredLanguage", "preferredLanguage"),
            ("employeeNumber", "employeeId"),
        ] {
            if let Some(v) = s(o, graph) {
                line(&mut out, ldap, v);
            }
        }
        if o.is_disabled() {
            line(&mut out, "employeeType", "disabled");
        }
        if let Some(m) = s(o, "manager").and_then(|m| dn_of.get(m)) {
            line(&mut out, "manager", m);
        }
        out.push('\n');
    }
    let mut names = HashSet::new();
    for (i, g) in objects.iter().filter(|o| o.kind == ObjectKind::Group).enumerate() {
        let members: Vec<&String> = g.members.iter().filter_map(|m| dn_of.get(m.as_str())).collect();
        if members.is_empty() {
            continue; // groupOfNames needs a member
        }
        let mut cn = s(g, "displayName").unwrap_or(&g.id).to_string();
        if !names.insert(cn.clone()) {
            cn = format!("{cn} {i}");
            names.insert(cn.clone());
        }
        let escaped = cn.replace(',', "\\,").replace('+', "\\+");
        out.push_str(&format!(
            "dn: cn={escaped},ou=groups,{BASE_DN}\nobjectClass: groupOfNames\n"
        ));
        line(&mut out, "cn", &cn);
        for m in members {
            line(&mut out, "member", m);
        }
        out.push('\n');
    }
    (out, uids)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (text, uids) = ldif(&sample_directory(args.users, args.groups, args.seed));
    let slapd = Slapd::start(&text);
    drop(text);
    println!("url {}", slapd.url);
    println!("base_dn {BASE_DN}");
    println!("bind_dn {ADMIN_DN}");
    println!("bind_password {ADMIN_PASSWORD}");
    println!("ready");
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(4);
    std::thread::spawn(move || {
        for l in std::io::stdin().lock().lines().map_while(Result::ok) {
            if tx.blocking_send(l).is_err() {
                break;
            }
        }
    });
    let mut round = 0;
    while let Some(cmd) = rx.recv().await {
        if let Some(n) = cmd
            .trim()
            .strip_prefix("change ")
            .and_then(|n| n.trim().parse::<usize>().ok())
        {
            round += 1;
            let mut ldap = slapd.admin().await;
            let value = format!("Changed {round}");
            let mut changed = 0;
            for uid in uids.iter().step_by(n.max(1)) {
                let dn = format!("uid={uid},ou=people,{BASE_DN}");
                let m = ldap3::Mod::Replace("departmentNumber", HashSet::from([value.as_str()]));
                ldap.modify(&dn, vec![m]).await?.success()?;
                changed += 1;
            }
            println!("changed {changed}");
        }
    }
    std::future::pending::<()>().await;
    Ok(())
}
