//! A deterministic, realistic sample directory for `scimd demo` and tests.
//!
//! Users get Finnish, Swedish, Norwegian, Danish or English names by country, a
//! `first.last@contoso.example` userPrincipalName (ASCII, unique), a department, office,
//! country, preferredLanguage, an employeeId, and a manager (user 0 is the root; everyone
//! else reports to an earlier user, so managers form a tree). About 1 in 20 users is
//! disabled. App roles: most users have none (they are assigned through groups), some have
//! `User` or `Admin`, and about 1 in 12 has only "Default Access" and no group.
//!
//! Groups: group 0 is "Security Awareness" (the group the Hoxhunt example assigns; about
//! two thirds of the users, never the Default-Access-only ones), then one group per
//! department, then office groups and project teams. The last group, when there are at
//! least three, also contains group 1 as a nested member.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};
use sync_expr::SplitMix64;

use crate::model::{AppRoleAssignment, DEFAULT_ACCESS, ObjectKind, SourceObject};

pub const SAMPLE_DOMAIN: &str = "contoso.example";
/// The displayName of group 0.
pub const SAMPLE_ASSIGNED_GROUP: &str = "Security Awareness";

struct Region {
    country: &'static str,
    language: &'static str,
    offices: &'static [&'static str],
    first: &'static [&'static str],
    last: &'static [&'static str],
}

#[rustfmt::skip]
const REGIONS: &[Region] = &[
    Region {
        country: "Finland",
        language: "fi-FI",
        offices: &["Helsinki", "Tampere", "Oulu"],
        first: &[
            "Aino", "Eino", "Väinö", "Helmi", "Juha", "Sanna", "Mikko", "Liisa", "Onni", "Ilona", "Jukka", "Päivi",
            "Tuomas", "Kaisa", "Ville", "Minna", "Antti", "Elina", "Lauri", "Tiina",
        ],
        last: &[
            "Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen", "Koskinen",
            "Järvinen", "Lehtonen", "Lehtinen", "Saarinen", "Salminen", "Heinonen", "Niemi",
        ],
    },
    Region {
        country: "Sweden",
        language: "sv-SE",
        offices: &["Stockholm", "Göteborg"],
        first: &[
            "Astrid", "Björn", "Elsa", "Gustav", "Ingrid", "Lars", "Maja", "Nils", "Sofia", "Oskar", "Karin", "Erik",
        ],
        last: &[
            "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Svensson",
            "Lindqvist", "Åberg", "Öberg",
        ],
    },
    Region {
        country: "Norway",
        language: "nb-NO",
        offices: &["Oslo", "Bergen"],
        first: &["Ingvild", "Håkon", "Sigrid", "Torbjørn", "Solveig", "Magnus", "Ragnhild", "Øystein"],
        last: &["Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Berg", "Haugen", "Bråten"],
    },
    Region {
        country: "Denmark",
        language: "da-DK",
        offices: &["Copenhagen", "Aarhus"],
        first: &["Mette", "Søren", "Freja", "Mads", "Line", "Rasmus", "Ida", "Jens"],
        last: &["Jensen", "Nielsen", "Hansen", "Rasmussen", "Christensen", "Sørensen", "Møller", "Kjær"],
    },
    Region {
        country: "United Kingdom",
        language: "en-GB",
        offices: &["London", "Manchester"],
        first: &[
            "Oliver", "Amelia", "Harry", "Isla", "George", "Emily", "Jack", "Olivia", "Thomas", "Grace", "James",
            "Charlotte",
        ],
        last: &[
            "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Davies", "Evans", "Thomas", "Roberts",
            "O'Brien", "Walker",
        ],
    },
    Region {
        country: "United States",
        language: "en-US",
        offices: &["New York", "Seattle"],
        first: &["Liam", "Emma", "Noah", "Ava", "Ethan", "Mia", "Mason", "Harper", "Lucas", "Evelyn"],
        last: &["Johnson", "Miller", "Garcia", "Martinez", "Anderson", "Clark", "Lewis", "Young", "Hall"],
    },
];

/// Finland is a third of the staff, then the other countries.
const REGION_WEIGHTS: [u64; 6] = [6, 3, 2, 2, 3, 2];

const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Finance",
    "Human Resources",
    "Security",
    "Customer Success",
    "Legal",
    "Operations",
];

const TITLES: &[&str] = &[
    "Specialist",
    "Engineer",
    "Analyst",
    "Manager",
    "Lead",
    "Coordinator",
    "Consultant",
];
const PROJECTS: &[&str] = &[
    "Aurora",
    "Sisu",
    "Fjord",
    "Northwind",
    "Kalevala",
    "Polaris",
    "Midsummer",
    "Tundra",
];

const ROLE_USER: (&str, &str) = ("b7d5e3a1-0000-4000-8000-000000000001", "User");
const ROLE_ADMIN: (&str, &str) = ("b7d5e3a1-0000-4000-8000-000000000002", "Admin");
const ROLE_DEFAULT: (&str, &str) = ("00000000-0000-0000-0000-000000000000", DEFAULT_ACCESS);

struct Rng(SplitMix64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        (self.0.next_u64() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.0.next_u64().is_multiple_of(one_in)
    }

    fn guid(&mut self, taken: &mut HashSet<String>) -> String {
        loop {
            let (a, b) = (self.0.next_u64(), self.0.next_u64());
            let id = format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xfff,
                0x8000 | ((b >> 48) & 0x3fff),
                b & 0xffff_ffff_ffff
            );
            if taken.insert(id.clone()) {
                return id;
            }
        }
    }
}

/// `Väinö` → `vaino`, `O'Brien` → `obrien`, `Torbjørn` → `torbjoern`.
fn ascii_local(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'ä' | 'å' | 'á' | 'à' => out.push('a'),
            'ö' | 'ó' => out.push('o'),
            'ø' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            'é' | 'è' => out.push('e'),
            'ü' => out.push('u'),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

fn role(r: (&str, &str)) -> AppRoleAssignment {
    AppRoleAssignment {
        id: r.0.to_string(),
        value: r.1.to_string(),
        display_name: r.1.to_string(),
    }
}

fn attrs(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// A sample directory: `users` users followed by `groups` groups, the same for the same seed.
pub fn sample_directory(users: usize, groups: usize, seed: u64) -> Vec<SourceObject> {
    let mut rng = Rng(SplitMix64::new(seed));
    let mut ids = HashSet::new();
    let mut upns: HashMap<String, usize> = HashMap::new();
    let total: u64 = REGION_WEIGHTS.iter().sum();
    let mut out = Vec::with_capacity(users + groups);
    // Per user: department index, office, default-access-only.
    let mut facts: Vec<(usize, &str, bool)> = Vec::with_capacity(users);

    for i in 0..users {
        let mut w = rng.0.next_u64() % total;
        let region = REGIONS
            .iter()
            .zip(REGION_WEIGHTS)
            .find(|(_, rw)| {
                let hit = w < *rw;
                w = w.saturating_sub(*rw);
                hit
            })
            .map(|(r, _)| r)
            .unwrap_or(&REGIONS[0]);
        let (first, last) = (*rng.pick(region.first), *rng.pick(region.last));
        let local = format!("{}.{}", ascii_local(first), ascii_local(last));
        // The n-th user with a local part gets `local{n}` (names hold no digits, so these
        // never meet another's): one lookup per user, where probing `local2`, `local3`, …
        // took minutes at a million users.
        let seen = upns.entry(local.clone()).or_insert(0usize);
        *seen += 1;
        let upn = match *seen {
            1 => format!("{local}@{SAMPLE_DOMAIN}"),
            n => format!("{local}{n}@{SAMPLE_DOMAIN}"),
        };
        let dept = rng.below(DEPARTMENTS.len());
        let office = *rng.pick(region.offices);
        let enabled = i == 0 || !rng.chance(20);
        let default_only = i > 0 && rng.chance(12);
        let mut a = json!({
            "userPrincipalName": upn,
            "mail": upn,
            "givenName": first,
            "surname": last,
            "displayName": format!("{first} {last}"),
            "jobTitle": format!("{} {}", DEPARTMENTS[dept], rng.pick(TITLES)),
            "department": DEPARTMENTS[dept],
            "companyName": "Contoso",
            "officeLocation": office,
            "country": region.country,
            "usageLocation": &region.language[3..],
            "preferredLanguage": region.language,
            "employeeId": format!("E{:06}", 100_001 + i),
            "accountEnabled": enabled,
        });
        if i > 0 {
            // An earlier user, biased towards the first ones, so the tree has depth and breadth.
            let boss = rng.below(i.div_ceil(4));
            a["manager"] = Value::String(out.get(boss).map(|u: &SourceObject| u.id.clone()).unwrap_or_default());
        }
        let app_roles = if default_only {
            vec![role(ROLE_DEFAULT)]
        } else if i == 0 || rng.chance(25) {
            vec![role(ROLE_ADMIN)]
        } else if rng.chance(6) {
            vec![role(ROLE_USER)]
        } else {
            Vec::new()
        };
        out.push(SourceObject {
            kind: ObjectKind::User,
            id: rng.guid(&mut ids),
            attrs: attrs(a),
            members: Vec::new(),
            app_roles,
            deleted: false,
        });
        facts.push((dept, office, default_only));
    }

    let user_ids: Vec<String> = out.iter().map(|u| u.id.clone()).collect();
    let offices: Vec<&str> = REGIONS.iter().flat_map(|r| r.offices.iter().copied()).collect();
    let mut group_ids = Vec::with_capacity(groups);
    for g in 0..groups {
        let (name, members): (String, Vec<String>) = if g == 0 {
            let members = (0..users).filter(|&u| !facts[u].2 && (u == 0 || !rng.chance(3)));
            (
                SAMPLE_ASSIGNED_GROUP.to_string(),
                members.map(|u| user_ids[u].clone()).collect(),
            )
        } else if g <= DEPARTMENTS.len() {
            let members = (0..users).filter(|&u| facts[u].0 == g - 1);
            (
                DEPARTMENTS[g - 1].to_string(),
                members.map(|u| user_ids[u].clone()).collect(),
            )
        } else if g <= DEPARTMENTS.len() + offices.len() {
            let office = offices[g - DEPARTMENTS.len() - 1];
            let members = (0..users).filter(|&u| facts[u].1 == office);
            (
                format!("{office} Office"),
                members.map(|u| user_ids[u].clone()).collect(),
            )
        } else {
            let k = g - DEPARTMENTS.len() - offices.len() - 1;
            let name = match k / PROJECTS.len() {
                0 => format!("Project {}", PROJECTS[k % PROJECTS.len()]),
                n => format!("Project {} {}", PROJECTS[k % PROJECTS.len()], n + 1),
            };
            let size = 3 + rng.below(12);
            let mut members: Vec<String> = Vec::new();
            for _ in 0..size.min(users) {
                let id = &user_ids[rng.below(users)];
                if !members.contains(id) {
                    members.push(id.clone());
                }
            }
            (name, members)
        };
        let id = rng.guid(&mut ids);
        let nickname = ascii_local(&name);
        let app_roles = if g == 0 { vec![role(ROLE_USER)] } else { Vec::new() };
        out.push(SourceObject {
            kind: ObjectKind::Group,
            id: id.clone(),
            attrs: attrs(json!({
                "displayName": name,
                "description": format!("{name} (sample directory)"),
                "mailNickname": nickname,
                "securityEnabled": true,
                "mailEnabled": false,
            })),
            members,
            app_roles,
            deleted: false,
        });
        group_ids.push(id);
    }
    if groups >= 3 {
        let nested = group_ids[1].clone();
        if let Some(last) = out.last_mut() {
            last.members.push(nested);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn deterministic_for_a_seed() {
        assert_eq!(sample_directory(120, 25, 7), sample_directory(120, 25, 7));
        assert_ne!(sample_directory(120, 25, 7), sample_directory(120, 25, 8));
        let d = sample_directory(3, 1, 42);
        assert_eq!(d.len(), 4);
        assert!(sample_directory(0, 0, 1).is_empty());
        let only_groups = sample_directory(0, 4, 1);
        assert_eq!(only_groups.len(), 4);
        assert!(only_groups[0].members.is_empty());
    }

    #[test]
    fn invariants_hold() {
        let (n_users, n_groups) = (400, 40);
        let d = sample_directory(n_users, n_groups, 2024);
        let users: Vec<&SourceObject> = d.iter().filter(|o| o.kind == ObjectKind::User).collect();
        let groups: Vec<&SourceObject> = d.iter().filter(|o| o.kind == ObjectKind::Group).collect();
        assert_eq!((users.len(), groups.len()), (n_users, n_groups));

        let ids: HashSet<&str> = d.iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids.len(), d.len(), "ids are unique");
        let upns: HashSet<&str> = users
            .iter()
            .map(|u| u.attr("userPrincipalName").unwrap().as_str().unwrap())
            .collect();
        assert_eq!(upns.len(), n_users, "userPrincipalNames are unique");
        for upn in &upns {
            let (local, domain) = upn.split_once('@').unwrap();
            assert_eq!(domain, SAMPLE_DOMAIN);
            assert!(
                local.contains('.') && local.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'),
                "{upn}"
            );
        }
        for g in &groups {
            for m in &g.members {
                assert!(ids.contains(m.as_str()), "member {m} of {} exists", g.id);
            }
        }
        // Managers exist and form a tree rooted at user 0 (each manager comes earlier).
        let pos: HashMap<&str, usize> = users.iter().enumerate().map(|(i, u)| (u.id.as_str(), i)).collect();
        assert!(users[0].attr("manager").is_none());
        for (i, u) in users.iter().enumerate().skip(1) {
            let m = u.attr("manager").and_then(Value::as_str).unwrap();
            assert!(pos[m] < i, "manager of {i} is earlier");
        }
        let disabled = users.iter().filter(|u| u.is_disabled()).count();
        assert!((5..=50).contains(&disabled), "{disabled} disabled");
        let default_only: Vec<&&SourceObject> = users
            .iter()
            .filter(|u| u.app_roles.len() == 1 && u.app_roles[0].value == DEFAULT_ACCESS)
            .collect();
        assert!(default_only.len() >= 10, "{} default-access-only", default_only.len());
        let assigned = groups[0];
        assert_eq!(assigned.attr("displayName"), Some(&json!(SAMPLE_ASSIGNED_GROUP)));
        assert!(assigned.members.len() > n_users / 2);
        assert!(default_only.iter().all(|u| !assigned.members.contains(&u.id)));
        let countries: HashSet<&str> = users
            .iter()
            .map(|u| u.attr("country").unwrap().as_str().unwrap())
            .collect();
        assert!(countries.contains("Finland") && countries.len() >= 5, "{countries:?}");
        let names: HashSet<&str> = groups
            .iter()
            .map(|g| g.attr("displayName").unwrap().as_str().unwrap())
            .collect();
        assert_eq!(names.len(), n_groups, "group names are unique");
        assert!(
            groups.last().unwrap().members.contains(&groups[1].id),
            "one nested group"
        );
    }

    #[test]
    fn ascii_local_parts() {
        assert_eq!(ascii_local("Väinö"), "vaino");
        assert_eq!(ascii_local("Torbjørn"), "torbjoern");
        assert_eq!(ascii_local("O'Brien"), "obrien");
        assert_eq!(ascii_local("Åberg"), "aberg");
    }
}
