//! The catalog checks every `[source]` section the way `sync validate` reports it.

use sync_engine::config::JobConfig;

fn job(source: &str) -> String {
    format!(
        r#"
version = 1
[job]
name = "catalog"
[source]
{source}
[target]
url = "https://scim.example.com/scim/v2/acme"
token = "t"
[scope]
mode = "all"
[[users.mappings]]
target = "userName"
source = "userPrincipalName"
matching = 1
"#
    )
}

fn problems(source: &str) -> String {
    match JobConfig::parse(&job(source)) {
        Err(e) => e.to_string(),
        Ok(cfg) => match sync_sources::validate(&cfg) {
            Ok(w) => format!("ok {w:?}"),
            Err(e) => e.to_string(),
        },
    }
}

#[test]
fn every_source_section_mistake_is_named() {
    #[rustfmt::skip]
    let cases: &[(&str, &str, &[&str])] = &[
        ("file ok", "type = \"file\"\npath = \"d.json\"", &["ok [\"safety"]),
        ("file format", "type = \"file\"\npath = \"d.xml\"", &["source.path", "extension"]),
        ("file format name", "type = \"file\"\npath = \"d.json\"\nformat = \"yaml\"", &["source.format \"yaml\""]),
        ("file empty path", "type = \"file\"\npath = \"\"", &["source.path is empty"]),
        ("file stray key", "type = \"file\"\npath = \"d.json\"\npaht = \"x\"", &["source (type = \"file\")", "unknown field `paht`"]),
        ("file no path", "type = \"file\"", &["missing field `path`"]),
        ("scim", "type = \"scim\"\nurl = \"scim.example\"\npage_size = 0",
            &["source.url", "source: set one of token", "source.page_size = 0"]),
        ("scim plain http", "type = \"scim\"\nurl = \"http://scim.example/v2\"\ntoken = \"t\"", &["ok [", "plain http"]),
        ("scim stray key", "type = \"scim\"\nurl = \"https://s.example/v2\"\ntoken = \"t\"\npagesize = 5", &["source (type = \"scim\")", "unknown field `pagesize`"]),
        ("unknown type", "type = \"workday\"", &["source.type = \"workday\" is not a source type", "\"file\", \"scim\""]),
        ("no type", "path = \"d.json\"", &["source.type is missing"]),
        ("type not a string", "type = 1", &["source.type must be a string"]),
    ];
    for (name, source, want) in cases {
        let got = problems(source);
        for w in *want {
            assert!(got.contains(w), "{name}: {w:?} not in {got}");
        }
    }
}
