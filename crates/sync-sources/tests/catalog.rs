//! The catalog checks every `[source]` section the way `sync validate` reports it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

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
        ("graph ok", "type = \"graph\"\ntenant_id = \"t\"\nclient_id = \"c\"\nclient_secret_env = \"S\"", &["ok ["]),
        ("graph no secret", "type = \"graph\"\ntenant_id = \"t\"\nclient_id = \"c\"", &["set exactly one of client_secret, client_secret_env, client_secret_file"]),
        ("graph keys", "type = \"graph\"\ntenant_id = \" \"\nclient_id = \"c\"\nclient_secret = \"s\"\ngraph_url = \"graph\"\npage_size = 1000",
            &["source.tenant_id is empty", "source.graph_url", "source.page_size = 1000: must be 1 to 999"]),
        ("graph stray key", "type = \"graph\"\ntenant_id = \"t\"\nclient_id = \"c\"\nclient_secret = \"s\"\nsecret = \"x\"", &["unknown field `secret`"]),
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

#[test]
fn assigned_mode_on_graph_needs_the_application_or_groups() {
    let graph = "type = \"graph\"\ntenant_id = \"t\"\nclient_id = \"c\"\nclient_secret = \"s\"";
    let text = job(graph).replace("mode = \"all\"", "mode = \"assigned\"");
    let err = sync_sources::validate(&JobConfig::parse(&text).unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("source.service_principal_id") && err.contains("Object ID"),
        "{err}"
    );
    let with_groups = text.replace("mode = \"assigned\"", "mode = \"assigned\"\ngroups = [\"Sales\"]");
    let warnings = sync_sources::validate(&JobConfig::parse(&with_groups).unwrap()).unwrap();
    assert!(
        warnings.iter().any(|w| w.contains("only scope.groups assign users")),
        "{warnings:?}"
    );
    let with_sp = format!("{graph}\nservice_principal_id = \"sp\"");
    let ok = job(&with_sp).replace("mode = \"all\"", "mode = \"assigned\"");
    assert!(sync_sources::validate(&JobConfig::parse(&ok).unwrap()).is_ok());
}
