//! Table-driven tests of `attributes` / `excludedAttributes` projection, list parameters
//! (`ListParams::to_query`) and value-index rows. `%E` stands for the enterprise extension
//! URN and `%e` for its lower-cased index prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use scim_core::ResourceKind::{self, Group as G, User as U};
use scim_core::index::{IndexValue, entries};
use scim_core::ports::SortKey;
use scim_core::project::Projection;
use scim_core::query::{DEFAULT_COUNT, ListParams, MAX_COUNT};
use scim_core::resolve::Column;
use scim_core::{CoreError, Result};
use scim_proto::SortOrder;
use serde_json::{Map, Value, json};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn expand(text: &str) -> String {
    text.replace("%E", ENT).replace("%e", &ENT.to_ascii_lowercase())
}

fn parse(text: &str) -> Value {
    serde_json::from_str(&expand(text)).unwrap_or_else(|e| panic!("bad test JSON {text}: {e}"))
}

fn variant(e: &CoreError) -> &'static str {
    match e {
        CoreError::InvalidFilter(_) => "InvalidFilter",
        CoreError::InvalidSyntax(_) => "InvalidSyntax",
        CoreError::InvalidPath(_) => "InvalidPath",
        CoreError::InvalidValue(_) => "InvalidValue",
        _ => "other",
    }
}

type Want = std::result::Result<&'static str, &'static str>;

// ---------------------------------------------------------------------------------------
// Projection

/// A rendered user; `schemas` is checked separately and left out of the expectations.
const USER_DOC: &str = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","%E"],"id":"u1",
  "userName":"alice","displayName":"Alice","name":{"givenName":"Alice","familyName":"Ex"},
  "emails":[{"value":"a@x.io","type":"work","primary":true},{"value":"b@x.io","type":"home"}],
  "%E":{"department":"Sales","manager":{"value":"m1","displayName":"Boss"}},
  "meta":{"resourceType":"User","created":"2020-01-01T00:00:00.000000Z"}}"#;

const FULL: &str = r#"{"id":"u1","userName":"alice","displayName":"Alice","name":{"givenName":"Alice","familyName":"Ex"},
  "emails":[{"value":"a@x.io","type":"work","primary":true},{"value":"b@x.io","type":"home"}],
  "%E":{"department":"Sales","manager":{"value":"m1","displayName":"Boss"}},
  "meta":{"resourceType":"User","created":"2020-01-01T00:00:00.000000Z"}}"#;

/// (attributes, excludedAttributes, resulting document without `schemas`, or the error).
#[rustfmt::skip]
const PROJECTIONS: &[(Option<&str>, Option<&str>, Want)] = &[
    (None, None, Ok(FULL)),
    (Some(""), Some(" , "), Ok(FULL)),
    (Some("userName"), None, Ok(r#"{"id":"u1","userName":"alice"}"#)),
    (Some("USERNAME, displayname"), None, Ok(r#"{"id":"u1","userName":"alice","displayName":"Alice"}"#)),
    (Some("urn:ietf:params:scim:schemas:core:2.0:User:userName"), None, Ok(r#"{"id":"u1","userName":"alice"}"#)),
    (Some("id"), None, Ok(r#"{"id":"u1"}"#)),
    (Some("nickName"), None, Ok(r#"{"id":"u1"}"#)),
    (Some("name.givenName"), None, Ok(r#"{"id":"u1","name":{"givenName":"Alice"}}"#)),
    (Some("name,name.givenName"), None, Ok(r#"{"id":"u1","name":{"givenName":"Alice","familyName":"Ex"}}"#)),
    (Some("emails.value"), None, Ok(r#"{"id":"u1","emails":[{"value":"a@x.io"},{"value":"b@x.io"}]}"#)),
    (Some("emails.value,emails.TYPE"), None, Ok(r#"{"id":"u1","emails":[{"value":"a@x.io","type":"work"},{"value":"b@x.io","type":"home"}]}"#)),
    (Some(r#"emails[type eq "work"].value"#), None, Ok(r#"{"id":"u1","emails":[{"value":"a@x.io"},{"value":"b@x.io"}]}"#)),
    (Some(r#"emails[type eq "a,b"].value,userName"#), None, Ok(r#"{"id":"u1","userName":"alice","emails":[{"value":"a@x.io"},{"value":"b@x.io"}]}"#)),
    (Some("%E:department"), None, Ok(r#"{"id":"u1","%E":{"department":"Sales"}}"#)),
    (Some("%E"), None, Ok(r#"{"id":"u1","%E":{"department":"Sales","manager":{"value":"m1","displayName":"Boss"}}}"#)),
    (Some("%E:manager"), None, Ok(r#"{"id":"u1","%E":{"manager":{"value":"m1","displayName":"Boss"}}}"#)),
    (Some("%E:manager.value"), None, Ok(r#"{"id":"u1","%E":{"manager":{"value":"m1"}}}"#)),
    (Some("meta"), None, Ok(r#"{"id":"u1","meta":{"resourceType":"User","created":"2020-01-01T00:00:00.000000Z"}}"#)),
    (None, Some("emails"), Ok(r#"{"id":"u1","userName":"alice","displayName":"Alice","name":{"givenName":"Alice","familyName":"Ex"},"%E":{"department":"Sales","manager":{"value":"m1","displayName":"Boss"}},"meta":{"resourceType":"User","created":"2020-01-01T00:00:00.000000Z"}}"#)),
    (None, Some("displayName,meta,name,emails,%E"), Ok(r#"{"id":"u1","userName":"alice"}"#)),
    (None, Some("id,schemas,displayName"), Ok(r#"{"id":"u1","userName":"alice","name":{"givenName":"Alice","familyName":"Ex"},"emails":[{"value":"a@x.io","type":"work","primary":true},{"value":"b@x.io","type":"home"}],"%E":{"department":"Sales","manager":{"value":"m1","displayName":"Boss"}},"meta":{"resourceType":"User","created":"2020-01-01T00:00:00.000000Z"}}"#)),
    (None, Some("name.givenName,emails,%E,meta"), Ok(r#"{"id":"u1","userName":"alice","displayName":"Alice","name":{"familyName":"Ex"}}"#)),
    (None, Some("name.givenName,name.familyName,emails,%E,meta"), Ok(r#"{"id":"u1","userName":"alice","displayName":"Alice"}"#)),
    (None, Some("emails.type,emails.primary,name,%E,meta"), Ok(r#"{"id":"u1","userName":"alice","displayName":"Alice","emails":[{"value":"a@x.io"},{"value":"b@x.io"}]}"#)),
    (None, Some("%E:department,name,emails,meta"), Ok(r#"{"id":"u1","userName":"alice","displayName":"Alice","%E":{"manager":{"value":"m1","displayName":"Boss"}}}"#)),
    (None, Some("%E:manager.value,name,emails,meta"), Ok(r#"{"id":"u1","userName":"alice","displayName":"Alice","%E":{"department":"Sales","manager":{"displayName":"Boss"}}}"#)),
    (None, Some("%E:manager.value,%E:manager.displayName,name,emails,meta"), Ok(r#"{"id":"u1","userName":"alice","displayName":"Alice","%E":{"department":"Sales"}}"#)),
    (None, Some("%E:department,%E:manager,name,emails,meta"), Ok(r#"{"id":"u1","userName":"alice","displayName":"Alice"}"#)),
    (Some("name.middleName"), None, Ok(r#"{"id":"u1"}"#)),
    (Some("name.middleName,userName"), None, Ok(r#"{"id":"u1","userName":"alice"}"#)),
    (Some("emails.display"), None, Ok(r#"{"id":"u1"}"#)),
    (Some("%E:manager.displayName,%E:department"), None, Ok(r#"{"id":"u1","%E":{"department":"Sales","manager":{"displayName":"Boss"}}}"#)),
    (Some("%E:costCenter"), None, Ok(r#"{"id":"u1"}"#)),
    (Some("emails["), None, Err("InvalidValue")),
    (None, Some("user name"), Err("InvalidValue")),
    (None, Some("name."), Err("InvalidValue")),
];

#[test]
fn projection_table() {
    let mut failures = Vec::new();
    for (attributes, excluded, want) in PROJECTIONS {
        let attributes = attributes.map(expand);
        let excluded = excluded.map(expand);
        let got = Projection::parse(U, attributes.as_deref(), excluded.as_deref()).map(|p| {
            let Value::Object(mut doc) = parse(USER_DOC) else {
                unreachable!()
            };
            p.apply(&mut doc);
            let schemas = doc.shift_remove("schemas");
            (Value::Object(doc), schemas)
        });
        let ok = match (&got, want) {
            (Ok((doc, schemas)), Ok(w)) => *doc == parse(w) && schemas.is_some(),
            (Err(e), Err(w)) => variant(e) == *w,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "attributes={attributes:?} excluded={excluded:?}: got {got:?}, want {want:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn projection_wants() {
    // (kind, attributes, excludedAttributes, attribute asked about, expected)
    type WantsCase = (
        ResourceKind,
        Option<&'static str>,
        Option<&'static str>,
        &'static str,
        bool,
    );
    let cases: &[WantsCase] = &[
        (G, None, None, "members", true),
        (G, None, Some("members"), "members", false),
        (G, None, Some("MEMBERS"), "members", false),
        (G, None, Some("members.display"), "members", true),
        (G, Some("displayName"), None, "members", false),
        (G, Some("members"), None, "members", true),
        (G, Some("members.value"), None, "Members", true),
        (U, Some("userName"), None, "emails", false),
        (U, None, Some("emails"), "userName", true),
    ];
    for (kind, attributes, excluded, top, want) in cases {
        let p = Projection::parse(*kind, *attributes, *excluded).unwrap();
        assert_eq!(
            p.wants(top),
            *want,
            "{kind:?} attributes={attributes:?} excluded={excluded:?} wants({top})"
        );
        assert_eq!(p.is_identity(), attributes.is_none() && excluded.is_none());
    }
}

// ---------------------------------------------------------------------------------------
// ListParams::to_query

fn query_summary(kind: ResourceKind, pairs: &[(&str, &str)]) -> std::result::Result<String, &'static str> {
    let params = ListParams::from_pairs(pairs.iter().copied());
    let (q, _) = params.to_query(kind).map_err(|e| variant(&e))?;
    let filter = if q.filter.is_some() { "some" } else { "none" };
    Ok(format!(
        "start={} count={} order={:?} sort={:?} filter={filter}",
        q.start_index, q.count, q.order, q.sort
    ))
}

#[test]
fn list_params_table() {
    let d = |over: &str| -> String {
        let mut s = format!("start=1 count={DEFAULT_COUNT} order=Ascending sort=Created filter=none");
        for part in over.split(' ').filter(|p| !p.is_empty()) {
            let key = part.split('=').next().unwrap();
            let start = s.find(&format!("{key}=")).unwrap();
            let end = s[start..].find(' ').map_or(s.len(), |e| start + e);
            s.replace_range(start..end, part);
        }
        s
    };
    let max = format!("count={MAX_COUNT}");
    // (pairs, Ok(fields that differ from the defaults) or Err(variant))
    type QueryCase = (
        Vec<(&'static str, &'static str)>,
        std::result::Result<String, &'static str>,
    );
    let cases: Vec<QueryCase> = vec![
        (vec![], Ok(d(""))),
        (vec![("aadOptscim062020", "")], Ok(d(""))),
        (vec![("startIndex", "6")], Ok(d("start=6"))),
        (vec![("startIndex", " 7 ")], Ok(d("start=7"))),
        (vec![("startIndex", "0")], Ok(d("start=1"))),
        (vec![("startIndex", "-5")], Ok(d("start=1"))),
        (vec![("startIndex", "")], Ok(d(""))),
        (vec![("STARTINDEX", "3"), ("Count", "7")], Ok(d("start=3 count=7"))),
        (vec![("startIndex", "abc")], Err("InvalidValue")),
        (vec![("startIndex", "1.5")], Err("InvalidValue")),
        (vec![("count", "0")], Ok(d("count=0"))),
        (vec![("count", "-1")], Ok(d("count=0"))),
        (vec![("count", "5")], Ok(d("count=5"))),
        (vec![("count", "999")], Ok(d("count=999"))),
        (vec![("count", "1000")], Ok(d(&max))),
        (vec![("count", "5000")], Ok(d(&max))),
        (vec![("count", "")], Ok(d(""))),
        (vec![("count", "x")], Err("InvalidValue")),
        (vec![("count", "5e2")], Err("InvalidValue")),
        (vec![("sortOrder", "descending")], Ok(d("order=Descending"))),
        (vec![("sortOrder", "DESCENDING")], Ok(d("order=Descending"))),
        (vec![("sortOrder", "Ascending")], Ok(d(""))),
        (vec![("sortOrder", "up")], Err("InvalidValue")),
        (vec![("sortBy", "userName")], Ok(d("sort=Column(NameKey)"))),
        (vec![("sortBy", "id")], Ok(d("sort=Column(Id)"))),
        (vec![("sortBy", "meta.created")], Ok(d("sort=Column(Created)"))),
        (
            vec![("sortBy", "name.familyName")],
            Ok(d(r#"sort=Index("name.familyname")"#)),
        ),
        (vec![("sortBy", "emails")], Ok(d(r#"sort=Index("emails.value")"#))),
        (vec![("sortBy", "foo")], Err("InvalidValue")),
        (vec![("sortBy", r#"emails[type eq "work"]"#)], Err("InvalidValue")),
        (vec![("filter", r#"userName eq "x""#)], Ok(d("filter=some"))),
        (vec![("filter", "  ")], Ok(d(""))),
        (vec![("filter", "(")], Err("InvalidFilter")),
        (vec![("filter", "foo eq 1")], Err("InvalidFilter")),
        (vec![("attributes", "emails[")], Err("InvalidValue")),
    ];
    let mut failures = Vec::new();
    for (pairs, want) in &cases {
        let got = query_summary(U, pairs);
        if got.as_ref().map_err(|e| *e) != want.as_ref().map_err(|e| *e) {
            failures.push(format!("{pairs:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let ext = format!("{ENT}:department");
    assert_eq!(
        query_summary(U, &[("sortBy", &ext)]).unwrap(),
        d(&format!("sort=Index(\"{}:department\")", ENT.to_ascii_lowercase()))
    );
    assert_eq!(
        query_summary(G, &[("sortBy", "displayName")]).unwrap(),
        d("sort=Column(NameKey)")
    );
}

#[test]
fn search_body() {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "startIndex": 2, "count": "10", "attributes": ["userName", "emails"], "filter": "userName eq \"a\"",
        "sortOrder": "descending", "excludedAttributes": null, "extra": true});
    let params = ListParams::from_search_body(&body).unwrap();
    assert_eq!(params.attributes.as_deref(), Some("userName,emails"));
    let (q, proj) = params.to_query(U).unwrap();
    assert_eq!((q.start_index, q.count, q.order), (2, 10, SortOrder::Descending));
    assert!(q.filter.is_some());
    assert_eq!(q.sort, SortKey::Created);
    assert_eq!(proj.attributes.len(), 2);
    assert!(proj.excluded.is_empty());
    let bad: Result<ListParams> = ListParams::from_search_body(&json!(["filter"]));
    assert!(matches!(bad, Err(CoreError::InvalidSyntax(_))), "{bad:?}");
    assert_eq!(SortKey::Column(Column::NameKey), SortKey::Column(Column::NameKey));
}

// ---------------------------------------------------------------------------------------
// index::entries

fn rows(kind: ResourceKind, attrs: &str) -> Vec<String> {
    let Value::Object(attrs) = parse(attrs) else {
        panic!("attrs must be an object")
    };
    let attrs: Map<String, Value> = attrs;
    let mut out: Vec<String> = entries(kind, &attrs)
        .into_iter()
        .map(|e| {
            let v = match e.value {
                IndexValue::Text(s) => format!("{s:?}"),
                IndexValue::Int(i) => format!("int {i}"),
                IndexValue::Real(r) => format!("real {r}"),
                IndexValue::Bool(b) => b.to_string(),
            };
            format!("{}[{}]={v}", e.path, e.ord)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn index_entries_table() {
    let cases: &[(ResourceKind, &str, &[&str])] = &[
        (U, r#"{"userName":"Alice","externalId":"X"}"#, &[]),
        (
            U,
            r#"{"userName":"Alice","displayName":"Bob"}"#,
            &[r#"displayname[0]="bob""#],
        ),
        (U, r#"{"userName":"a","active":true}"#, &["active[0]=true"]),
        (
            U,
            r#"{"userName":"a","name":{"givenName":"Al","familyName":"B"}}"#,
            &[r#"name.familyname[0]="b""#, r#"name.givenname[0]="al""#],
        ),
        (
            U,
            r#"{"userName":"a","emails":[{"value":"A@x.io","type":"Work","primary":true},{"value":"b@x.io","type":"home"}]}"#,
            &[
                "emails.primary[0]=true",
                r#"emails.type[0]="work""#,
                r#"emails.type[1]="home""#,
                r#"emails.value[0]="a@x.io""#,
                r#"emails.value[1]="b@x.io""#,
            ],
        ),
        (
            U,
            r#"{"userName":"a","addresses":[{"type":"work","country":"FI","locality":"Helsinki"}]}"#,
            &[
                r#"addresses.country[0]="fi""#,
                r#"addresses.locality[0]="helsinki""#,
                r#"addresses.type[0]="work""#,
            ],
        ),
        (
            U,
            r#"{"userName":"a","%E":{"department":"Sales","manager":{"value":"M1"}}}"#,
            &[r#"%e:department[0]="sales""#, r#"%e:manager.value[0]="m1""#],
        ),
        (U, r#"{"userName":"a","password":"Secret"}"#, &[]),
        (U, r#"{"userName":"a","foo":"bar"}"#, &[]),
        (
            U,
            r#"{"userName":"a","urn:acme:ext:1.0:User":{"Badge":"B","Tags":["A","b"],"Level":3,"Ratio":1.5,"On":true,"Nested":{"Deep":"D"}}}"#,
            &[
                r#"urn:acme:ext:1.0:user:badge[0]="b""#,
                "urn:acme:ext:1.0:user:level[0]=int 3",
                r#"urn:acme:ext:1.0:user:nested.deep[0]="d""#,
                "urn:acme:ext:1.0:user:on[0]=true",
                "urn:acme:ext:1.0:user:ratio[0]=real 1.5",
                r#"urn:acme:ext:1.0:user:tags[0]="a""#,
                r#"urn:acme:ext:1.0:user:tags[1]="b""#,
            ],
        ),
        (G, r#"{"displayName":"Sales","externalId":"x"}"#, &[]),
    ];
    let mut failures = Vec::new();
    for (kind, attrs, want) in cases {
        let got = rows(*kind, attrs);
        let want: Vec<String> = want.iter().map(|w| expand(w)).collect();
        if got != want {
            failures.push(format!("{kind:?} {attrs}:\n   got {got:?}\n  want {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
