//! Table-driven tests of normalisation, filter resolution and in-memory element matching.
//! In the JSON and filters below `%E` stands for the enterprise extension URN and `%e` for
//! its lower-cased index prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use scim_core::ResourceKind::{self, Group as G, User as U};
use scim_core::eval::element_matches;
use scim_core::index::IndexValue;
use scim_core::normalize::normalize;
use scim_core::resolve::{RFilter, Target, resolve_filter};
use scim_core::schema::{AttrDef, GROUP_ATTRS, USER_ATTRS};
use scim_core::{CoreError, Result};
use scim_proto::parse_filter;
use serde_json::Value;

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
        CoreError::NoTarget(_) => "NoTarget",
        CoreError::Mutability(_) => "Mutability",
        _ => "other",
    }
}

/// `Ok(text)` compared with the rendered result, or `Err(variant)`.
type Want = std::result::Result<&'static str, &'static str>;

fn outcome<T>(got: Result<T>, render: impl Fn(T) -> String) -> std::result::Result<String, &'static str> {
    got.map(render).map_err(|e| variant(&e))
}

// ---------------------------------------------------------------------------------------
// normalize

#[rustfmt::skip]
const NORMALIZE: &[(&str, ResourceKind, &str, Want)] = &[
    ("string boolean True", U, r#"{"userName":"a","active":"True"}"#, Ok(r#"{"userName":"a","active":true}"#)),
    ("string boolean false", U, r#"{"userName":"a","active":"false"}"#, Ok(r#"{"userName":"a","active":false}"#)),
    ("string boolean FALSE", U, r#"{"userName":"a","active":"FALSE"}"#, Ok(r#"{"userName":"a","active":false}"#)),
    ("string boolean \"\" is absent", U, r#"{"userName":"a","active":""}"#, Ok(r#"{"userName":"a"}"#)),
    ("string boolean in elements", U, r#"{"userName":"a","emails":[{"value":"x@y","primary":"True"}]}"#, Ok(r#"{"userName":"a","emails":[{"value":"x@y","primary":true}]}"#)),
    ("not a boolean", U, r#"{"userName":"a","active":"yes"}"#, Err("InvalidValue")),
    ("number for boolean", U, r#"{"userName":"a","active":1}"#, Err("InvalidValue")),
    ("canonical key case", U, r#"{"USERNAME":"a","DisplayName":"D","NAME":{"GIVENNAME":"g"}}"#, Ok(r#"{"userName":"a","displayName":"D","name":{"givenName":"g"}}"#)),
    ("canonical enterprise keys", U, r#"{"userName":"a","%E":{"Department":"D","Manager":{"Value":"m"}}}"#, Ok(r#"{"userName":"a","%E":{"department":"D","manager":{"value":"m"}}}"#)),
    ("extension URN matched case-insensitively", U, r#"{"userName":"a","urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:User":{"division":"X"}}"#, Ok(r#"{"userName":"a","%E":{"division":"X"}}"#)),
    ("values kept as sent", U, r#"{"userName":"Alice@Contoso.COM","preferredLanguage":"fi-FI","addresses":[{"country":"fi","type":"Work"}]}"#, Ok(r#"{"userName":"Alice@Contoso.COM","preferredLanguage":"fi-FI","addresses":[{"country":"fi","type":"Work"}]}"#)),
    ("nulls, \"\" and [] dropped", U, r#"{"userName":"a","title":null,"nickName":"","emails":[],"roles":[],"addresses":null,"name":{"givenName":""},"%E":null}"#, Ok(r#"{"userName":"a"}"#)),
    ("null elements dropped", U, r#"{"userName":"a","emails":[null,{"value":"x@y"}]}"#, Ok(r#"{"userName":"a","emails":[{"value":"x@y"}]}"#)),
    // Neither Entra nor Okta sends one; the PATCH engine still takes a single value.
    ("single object for multi-valued", U, r#"{"userName":"a","emails":{"value":"x@y"}}"#, Err("InvalidValue")),
    ("string for multi-valued", U, r#"{"userName":"a","phoneNumbers":"+358 40 1"}"#, Err("InvalidValue")),
    ("bare values in a list", U, r#"{"userName":"a","emails":["x@y"]}"#, Ok(r#"{"userName":"a","emails":[{"value":"x@y"}]}"#)),
    ("read-only and write-only dropped", U, r#"{"userName":"a","id":"x","meta":{"resourceType":"User"},"schemas":["s"],"groups":[{"value":"g"}],"password":"secret"}"#, Ok(r#"{"userName":"a"}"#)),
    ("read-only sub-attribute dropped", U, r#"{"userName":"a","%E":{"manager":{"value":"m","displayName":"Boss"}}}"#, Ok(r#"{"userName":"a","%E":{"manager":{"value":"m"}}}"#)),
    ("unknown core attributes ignored", U, r#"{"userName":"a","foo":1,"name":{"bar":"x","givenName":"g"},"emails":[{"value":"x@y","weird":true}]}"#, Ok(r#"{"userName":"a","name":{"givenName":"g"},"emails":[{"value":"x@y"}]}"#)),
    ("unknown URN extension kept verbatim", U, r#"{"userName":"a","urn:acme:ext:1.0:User":{"Badge":"B","n":[1,2]}}"#, Ok(r#"{"userName":"a","urn:acme:ext:1.0:User":{"Badge":"B","n":[1,2]}}"#)),
    ("enterprise typo URN is another extension", U, r#"{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0User":{"x":1}}"#, Ok(r#"{"userName":"a","urn:ietf:params:scim:schemas:extension:enterprise:2.0User":{"x":1}}"#)),
    ("non-ASCII keys ignored", U, r#"{"userName":"a","abcé":1,"日本語":"x","é":2}"#, Ok(r#"{"userName":"a"}"#)),
    ("full URN key of an extension attribute", U, r#"{"userName":"a","%E:department":"D"}"#, Ok(r#"{"userName":"a","%E":{"department":"D"}}"#)),
    ("core URN block", U, r#"{"userName":"a","urn:ietf:params:scim:schemas:core:2.0:User":{"displayName":"D"}}"#, Ok(r#"{"userName":"a","displayName":"D"}"#)),
    ("manager as a string", U, r#"{"userName":"a","%E":{"manager":"m1"}}"#, Ok(r#"{"userName":"a","%E":{"manager":{"value":"m1"}}}"#)),
    ("manager as an array", U, r#"{"userName":"a","%E":{"manager":[{"$ref":"../Users/m1","value":"m1"}]}}"#, Ok(r#"{"userName":"a","%E":{"manager":{"$ref":"../Users/m1","value":"m1"}}}"#)),
    ("manager \"\" dropped", U, r#"{"userName":"a","%E":{"manager":""}}"#, Ok(r#"{"userName":"a"}"#)),
    ("externalId kept as sent", U, r#"{"userName":"a","EXTERNALID":"X1"}"#, Ok(r#"{"userName":"a","externalId":"X1"}"#)),
    ("userName missing", U, r#"{"displayName":"a"}"#, Err("InvalidValue")),
    ("userName empty", U, r#"{"userName":""}"#, Err("InvalidValue")),
    ("userName a number", U, r#"{"userName":5}"#, Err("InvalidValue")),
    ("body not an object", U, r#"["userName"]"#, Err("InvalidSyntax")),
    ("displayName a number", U, r#"{"userName":"a","displayName":42}"#, Err("InvalidValue")),
    ("name a string", U, r#"{"userName":"a","name":"Alice"}"#, Err("InvalidValue")),
    ("email value a number", U, r#"{"userName":"a","emails":[{"value":1}]}"#, Err("InvalidValue")),
    ("externalId a number", U, r#"{"userName":"a","externalId":5}"#, Err("InvalidValue")),
    ("extension block a string", U, r#"{"userName":"a","%E":"x"}"#, Err("InvalidValue")),
    ("group", G, r#"{"displayName":"Sales","schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"]}"#, Ok(r#"{"displayName":"Sales"}"#)),
    ("group without displayName", G, r#"{"externalId":"x"}"#, Err("InvalidValue")),
    ("group member not an object", G, r#"{"displayName":"S","members":[1]}"#, Err("InvalidValue")),
    ("group member without value", G, r#"{"displayName":"S","members":[{"display":"x"}]}"#, Err("InvalidValue")),
];

#[test]
fn normalize_table() {
    let mut failures = Vec::new();
    for (name, kind, input, want) in NORMALIZE {
        let got = outcome(normalize(*kind, &parse(input)), |n| Value::Object(n.attrs).to_string());
        let ok = match (&got, want) {
            (Ok(g), Ok(w)) => parse(g) == parse(w),
            (Err(g), Err(w)) => g == w,
            _ => false,
        };
        if !ok {
            failures.push(format!("[{name}] got {got:?}, want {want:?}"));
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
fn normalize_members() {
    let n = normalize(
        G,
        &parse(r#"{"displayName":"S","members":[{"value":"u1","Display":"U","$ref":null},{"value":"u1"},"u2",null]}"#),
    )
    .unwrap();
    let members: Vec<(String, Value)> = n
        .members
        .unwrap()
        .into_iter()
        .map(|m| (m.value, serde_json::from_str(&m.json).unwrap()))
        .collect();
    assert_eq!(
        members,
        vec![
            ("u1".to_string(), parse(r#"{"value":"u1","display":"U"}"#)),
            ("u2".to_string(), parse(r#"{"value":"u2"}"#)),
        ]
    );
    assert!(
        normalize(G, &parse(r#"{"displayName":"S"}"#))
            .unwrap()
            .members
            .is_none(),
        "no members key → None"
    );
    assert_eq!(
        normalize(U, &parse(r#"{"userName":"Alice"}"#)).unwrap().name_key(U),
        "alice"
    );
}

// ---------------------------------------------------------------------------------------
// resolve_filter

fn show(f: &RFilter) -> String {
    let target = |t: &Target| match t {
        Target::Column(c) => format!("{c:?}"),
        Target::Index(p) => p.clone(),
        Target::IndexPrefix(p) => format!("{p}*"),
        Target::Members => "members".to_string(),
    };
    let value = |v: &IndexValue| match v {
        IndexValue::Text(s) => format!("{s:?}"),
        IndexValue::Int(i) => format!("int {i}"),
        IndexValue::Real(r) => format!("real {r}"),
        IndexValue::Bool(b) => b.to_string(),
    };
    match f {
        RFilter::Cmp {
            target: t,
            op,
            value: v,
        } => format!("{} {} {}", target(t), op.as_str(), value(v)),
        RFilter::Present(t) => format!("{} pr", target(t)),
        RFilter::And(a, b) => format!("({} and {})", show(a), show(b)),
        RFilter::Or(a, b) => format!("({} or {})", show(a), show(b)),
        RFilter::Not(a) => format!("not({})", show(a)),
        RFilter::Element { prefix, filter } => format!("{prefix}[{}]", show(filter)),
        RFilter::Const(b) => format!("const {b}"),
    }
}

#[rustfmt::skip]
const RESOLVE: &[(ResourceKind, &str, Want)] = &[
    (U, r#"userName eq "Alice@X.com""#, Ok(r#"NameKey eq "alice@x.com""#)),
    (U, r#"USERNAME Eq "A""#, Ok(r#"NameKey eq "a""#)),
    (U, r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "A""#, Ok(r#"NameKey eq "a""#)),
    (U, r#"id eq "ABC""#, Ok(r#"Id eq "ABC""#)),
    (U, r#"ID eq "ABC""#, Ok(r#"Id eq "ABC""#)),
    (U, r#"externalId eq "AbC""#, Ok(r#"ExternalId eq "AbC""#)),
    (U, "externalId eq jyoung", Ok(r#"ExternalId eq "jyoung""#)),
    (U, "meta.created gt 2015-10-10T14:38:21.8617979-07:00", Ok(r#"Created gt "2015-10-10T21:38:21.861797Z""#)),
    (U, r#"meta.LASTMODIFIED le "2011-05-13T04:42:34Z""#, Ok(r#"LastModified le "2011-05-13T04:42:34.000000Z""#)),
    (U, r#"meta.created co "2015""#, Ok(r#"Created co "2015""#)),
    (U, r#"meta.created gt "yesterday""#, Err("InvalidFilter")),
    (U, "meta.created gt 5", Err("InvalidFilter")),
    (U, r#"meta.resourceType eq "User""#, Ok("const true")),
    (U, r#"meta.resourceType eq "Group""#, Ok("const false")),
    (U, r#"meta.resourceType ne "Group""#, Ok("const true")),
    (U, r#"meta.version eq "x""#, Err("InvalidFilter")),
    (U, r#"displayName co "Bob""#, Ok(r#"displayname co "bob""#)),
    (U, "displayName eq 42", Ok(r#"displayname eq "42""#)),
    (U, r#"name.familyName sw "O'M""#, Ok(r#"name.familyname sw "o'm""#)),
    (U, "name pr", Ok("name.* pr")),
    (U, r#"emails co "X""#, Ok(r#"emails.value co "x""#)),
    (U, r#"emails.value ew "@X.COM""#, Ok(r#"emails.value ew "@x.com""#)),
    (U, r#"emails[type eq "work" and value co "@X"]"#, Ok(r#"emails[(emails.type eq "work" and emails.value co "@x")]"#)),
    (U, r#"emails[type eq "work"].value eq "A@X""#, Ok(r#"emails[(emails.type eq "work" and emails.value eq "a@x")]"#)),
    (U, "emails[primary eq true]", Ok("emails[emails.primary eq true]")),
    (U, r#"phoneNumbers[type eq "mobile"].value eq "+358""#, Ok(r#"phonenumbers[(phonenumbers.type eq "mobile" and phonenumbers.value eq "+358")]"#)),
    (U, r#"emails[foo eq "x"]"#, Err("InvalidFilter")),
    (U, r#"userName[value eq "x"]"#, Err("InvalidFilter")),
    (U, r#"title[value eq "x"]"#, Err("InvalidFilter")),
    (U, "active eq true", Ok("active eq true")),
    (U, r#"active eq "True""#, Ok("active eq true")),
    (U, "active ne False", Ok("active ne false")),
    (U, "active pr", Ok("active pr")),
    (U, r#"active eq "yes""#, Err("InvalidFilter")),
    (U, r#"active co "t""#, Err("InvalidFilter")),
    (U, "active gt false", Err("InvalidFilter")),
    (U, "active eq 1", Err("InvalidFilter")),
    (U, "emails[primary sw true]", Err("InvalidFilter")),
    (U, r#"%E:department eq "Sales""#, Ok(r#"%e:department eq "sales""#)),
    (U, r#"%E:manager.value eq "M1""#, Ok(r#"%e:manager.value eq "m1""#)),
    (U, r#"%E:manager eq "m1""#, Ok(r#"%e:manager.value eq "m1""#)),
    (U, r#"manager eq "m1""#, Ok(r#"%e:manager.value eq "m1""#)),
    (U, r#"department eq "X""#, Ok(r#"%e:department eq "x""#)),
    (U, r#"urn:acme:ext:1.0:User:Badge eq "B""#, Ok(r#"urn:acme:ext:1.0:user:badge eq "b""#)),
    (U, "foo eq 1", Err("InvalidFilter")),
    (U, r#"name.foo eq "x""#, Err("InvalidFilter")),
    (U, r#"displayName.x eq "x""#, Err("InvalidFilter")),
    (U, r#"password eq "x""#, Err("InvalidFilter")),
    (U, r#"groups.value eq "g""#, Err("InvalidFilter")),
    (U, "%E:foo eq 1", Err("InvalidFilter")),
    (U, "title eq null", Ok("not(title pr)")),
    (U, "title ne null", Ok("title pr")),
    (U, "title gt null", Err("InvalidFilter")),
    (U, r#"not (userName eq "a") or externalId pr"#, Ok(r#"(not(NameKey eq "a") or ExternalId pr)"#)),
    (U, r#"id eq "1" and manager eq "m""#, Ok(r#"(Id eq "1" and %e:manager.value eq "m")"#)),
    (G, r#"displayName eq "Sales""#, Ok(r#"NameKey eq "sales""#)),
    (G, r#"members[value eq "U1"]"#, Ok(r#"members eq "U1""#)),
    (G, r#"members.value eq "u1""#, Ok(r#"members eq "u1""#)),
    (G, r#"members eq "u1""#, Ok(r#"members eq "u1""#)),
    (G, r#"members[value eq "a" or value eq "b"]"#, Ok(r#"(members eq "a" or members eq "b")"#)),
    (G, r#"members.display eq "x""#, Err("InvalidFilter")),
    (G, r#"members[value ne "a"]"#, Err("InvalidFilter")),
    (G, r#"members[type eq "User"]"#, Err("InvalidFilter")),
    (G, r#"meta.resourceType eq "Group""#, Ok("const true")),
    (G, r#"userName eq "x""#, Err("InvalidFilter")),
    (G, r#"manager eq "x""#, Err("InvalidFilter")),
];

#[test]
fn resolve_table() {
    let mut failures = Vec::new();
    for (kind, src, want) in RESOLVE {
        let src = expand(src);
        let f = parse_filter(&src).unwrap_or_else(|e| panic!("{src:?} does not parse: {e}"));
        let got = outcome(resolve_filter(*kind, &f), |r| show(&r));
        let want = want.map(expand);
        if got.as_deref().map_err(|e| *e) != want.as_deref().map_err(|e| *e) {
            failures.push(format!("{kind:?} {src:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// eval::element_matches

fn def(attrs: &'static [AttrDef], name: &str) -> Option<&'static AttrDef> {
    Some(attrs.iter().find(|d| d.name == name).expect("attribute in schema"))
}

#[test]
fn element_matches_table() {
    let emails = def(USER_ATTRS, "emails");
    let members = def(GROUP_ATTRS, "members");
    // (definition, filter, element, Ok(matches) or Err(variant))
    type MatchCase = (
        Option<&'static AttrDef>,
        &'static str,
        &'static str,
        std::result::Result<bool, &'static str>,
    );
    let cases: &[MatchCase] = &[
        (
            emails,
            r#"type eq "work""#,
            r#"{"type":"Work","value":"a@x"}"#,
            Ok(true),
        ),
        (emails, r#"type eq "work""#, r#"{"type":"home"}"#, Ok(false)),
        (emails, r#"TYPE eq "work""#, r#"{"Type":"work"}"#, Ok(true)),
        (emails, r#"type ne "work""#, r#"{"type":"home"}"#, Ok(true)),
        (emails, r#"type ne "work""#, r#"{"value":"a@x"}"#, Ok(true)),
        (emails, r#"type eq "work""#, r#"{"value":"a@x"}"#, Ok(false)),
        (emails, r#"value co "@X""#, r#"{"value":"a@x.io"}"#, Ok(true)),
        (emails, r#"value sw "A""#, r#"{"value":"a@x.io"}"#, Ok(true)),
        (emails, r#"value ew ".IO""#, r#"{"value":"a@x.io"}"#, Ok(true)),
        (emails, r#"value ew ".com""#, r#"{"value":"a@x.io"}"#, Ok(false)),
        (emails, r#"value gt "a""#, r#"{"value":"b"}"#, Ok(true)),
        (emails, r#"value lt "a""#, r#"{"value":"b"}"#, Ok(false)),
        (emails, r#"value ge "b""#, r#"{"value":"B"}"#, Ok(true)),
        (emails, r#"value le "a""#, r#"{"value":"b"}"#, Ok(false)),
        (members, r#"value eq "ABC""#, r#"{"value":"abc"}"#, Ok(false)),
        (members, r#"value eq "abc""#, r#"{"value":"abc"}"#, Ok(true)),
        (members, r#"display eq "ABC""#, r#"{"display":"abc"}"#, Ok(true)),
        (None, r#"value eq "ABC""#, r#"{"value":"abc"}"#, Ok(true)),
        (emails, "primary eq true", r#"{"primary":true}"#, Ok(true)),
        (emails, "primary eq false", r#"{"primary":true}"#, Ok(false)),
        (emails, r#"primary eq "True""#, r#"{"primary":true}"#, Ok(true)),
        (emails, "primary ne true", r#"{"primary":false}"#, Ok(true)),
        (emails, "primary pr", r#"{"primary":false}"#, Ok(true)),
        (emails, "value pr", r#"{"value":""}"#, Ok(false)),
        (emails, "value pr", r#"{"value":"x"}"#, Ok(true)),
        (emails, "value pr", r#"{"type":"work"}"#, Ok(false)),
        (emails, r#"not (type eq "work")"#, r#"{"type":"home"}"#, Ok(true)),
        (
            emails,
            r#"type eq "work" and value co "@x""#,
            r#"{"type":"work","value":"a@x"}"#,
            Ok(true),
        ),
        (
            emails,
            r#"type eq "work" and value co "@y""#,
            r#"{"type":"work","value":"a@x"}"#,
            Ok(false),
        ),
        (
            emails,
            r#"type eq "home" or value co "@x""#,
            r#"{"type":"work","value":"a@x"}"#,
            Ok(true),
        ),
        (emails, r#"value eq "x""#, r#""x""#, Ok(true)),
        (emails, r#"type eq "x""#, r#""x""#, Ok(false)),
        (None, "value gt 3", r#"{"value":5}"#, Ok(true)),
        (None, "value eq 5.0", r#"{"value":5}"#, Ok(true)),
        (None, "value le -1", r#"{"value":5}"#, Ok(false)),
        (emails, r#"value eq 5"#, r#"{"value":"5"}"#, Ok(false)),
        (emails, "display eq null", r#"{"value":"x"}"#, Ok(true)),
        (emails, "display eq null", r#"{"display":"d"}"#, Ok(false)),
        (emails, "display ne null", r#"{"display":"d"}"#, Ok(true)),
        (emails, "display ne null", r#"{"value":"x"}"#, Ok(false)),
        (emails, r#"type.sub eq "x""#, r#"{"type":"x"}"#, Err("InvalidFilter")),
        (emails, r#"urn:a:b eq "x""#, r#"{"b":"x"}"#, Err("InvalidFilter")),
        (
            emails,
            r#"emails[type eq "x"]"#,
            r#"{"type":"x"}"#,
            Err("InvalidFilter"),
        ),
    ];
    let mut failures = Vec::new();
    for (d, src, element, want) in cases {
        let f = parse_filter(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        let got = element_matches(*d, &f, &parse(element)).map_err(|e| variant(&e));
        if got != *want {
            failures.push(format!(
                "{:?} {src:?} on {element}: got {got:?}, want {want:?}",
                d.map(|d| d.name)
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

// ---------------------------------------------------------------------------------------
// limits: each at its edge and one past it, with the attribute named

#[test]
fn limits_per_attribute() {
    use scim_core::limits::*;
    use serde_json::json;
    let s = |n: usize| "é".repeat(n); // two bytes a character: lengths count characters
    let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let emails = |n: usize| {
        (0..n)
            .map(|i| json!({"value": format!("{i}@x.example")}))
            .collect::<Vec<_>>()
    };
    let members = |n: usize| (0..n).map(|i| json!({"value": format!("m{i}")})).collect::<Vec<_>>();
    #[rustfmt::skip]
    let cases: Vec<(&str, ResourceKind, Value, Option<&str>)> = vec![
        ("userName at the limit", U, json!({"userName": s(MAX_NAME_CHARS)}), None),
        ("userName over", U, json!({"userName": s(MAX_NAME_CHARS + 1)}), Some("'userName' is 257 characters long; at most 256")),
        ("displayName over", G, json!({"displayName": s(MAX_NAME_CHARS + 1)}), Some("'displayName' is 257")),
        ("externalId over", U, json!({"userName": "a", "externalId": s(MAX_NAME_CHARS + 1)}), Some("'externalId' is 257")),
        ("another string at its limit", U, json!({"userName": "a", "title": s(MAX_STRING_CHARS)}), None),
        ("another string over", U, json!({"userName": "a", "title": s(MAX_STRING_CHARS + 1)}), Some("'title' is 2049")),
        ("a sub-attribute over", U, json!({"userName": "a", "name": {"givenName": s(MAX_STRING_CHARS + 1)}}), Some("'name.givenName' is 2049")),
        ("an enterprise value over", U, json!({"userName": "a", ent: {"department": s(MAX_STRING_CHARS + 1)}}), Some("'department' is 2049")),
        ("values at the limit", U, json!({"userName": "a", "emails": emails(MAX_VALUES)}), None),
        ("too many values", U, json!({"userName": "a", "emails": emails(MAX_VALUES + 1)}), Some("'emails' has 101 values; at most 100")),
        ("a member id over", G, json!({"displayName": "g", "members": [{"value": s(MAX_NAME_CHARS + 1)}]}), Some("'members.value' is 257")),
        ("members at the limit", G, json!({"displayName": "g", "members": members(MAX_MEMBERS_PER_REQUEST)}), None),
        ("too many members", G, json!({"displayName": "g", "members": members(MAX_MEMBERS_PER_REQUEST + 1)}), Some("'members' names 10001 members")),
        ("an unknown extension over", U, json!({"userName": "a", "urn:example:custom:1.0:User": {"blob": "x".repeat(MAX_UNKNOWN_EXTENSION_BYTES)}}), Some("an extension this server has no schema for")),
        ("an object for a string", U, json!({"userName": "a", "title": {"x": 1}}), Some("'title' must be a string")),
        ("a number for a string", U, json!({"userName": 5}), Some("'userName' must be a string")),
        ("a string for a complex attribute", U, json!({"userName": "a", "name": "Ann"}), Some("'name' is a complex attribute")),
        ("an object for a list", U, json!({"userName": "a", "emails": {"value": "a@x"}}), Some("'emails' is multi-valued and must be a JSON array")),
    ];
    let mut failures = Vec::new();
    for (name, kind, body, want) in cases {
        let got = normalize(kind, &body);
        match (want, &got) {
            (None, Ok(_)) => {}
            (Some(w), Err(CoreError::InvalidValue(m))) if m.contains(w) => {}
            _ => failures.push(format!(
                "[{name}] want {want:?}, got {:?}",
                got.map(|_| "ok").map_err(|e| e.to_string())
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
