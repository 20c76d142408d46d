//! Table-driven tests of PATCH paths (RFC 7644 §3.5.2), plain attribute paths
//! (`attributes=`, `sortBy`) and the JSON nesting pre-check.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use scim_proto::{MAX_FILTER_LEN, json_depth_exceeds, parse_attr_path, parse_patch_path};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// What a valid PATCH path parses to.
struct PathCase {
    src: &'static str,
    urn: Option<&'static str>,
    name: &'static str,
    attr_sub: Option<&'static str>,
    /// The value filter as printed.
    filter: Option<&'static str>,
    /// The sub-attribute after `]`.
    sub: Option<&'static str>,
    /// The path as printed.
    display: &'static str,
}

const fn ok(src: &'static str, name: &'static str, display: &'static str) -> PathCase {
    PathCase {
        src,
        urn: None,
        name,
        attr_sub: None,
        filter: None,
        sub: None,
        display,
    }
}

const VALID_PATHS: &[PathCase] = &[
    ok("members", "members", "members"),
    ok("userName", "userName", "userName"),
    ok("  displayName  ", "displayName", "displayName"),
    ok("active", "active", "active"),
    ok("$ref", "$ref", "$ref"),
    PathCase {
        attr_sub: Some("givenName"),
        ..ok("name.givenName", "name", "name.givenName")
    },
    PathCase {
        attr_sub: Some("FAMILYNAME"),
        ..ok("NAME.FAMILYNAME", "NAME", "NAME.FAMILYNAME")
    },
    PathCase {
        filter: Some(r#"value eq "id""#),
        ..ok(r#"members[value eq "id"]"#, "members", r#"members[value eq "id"]"#)
    },
    PathCase {
        filter: Some(r#"value eq "2819c223-7f76-453a-919d-413861904646""#),
        ..ok(
            r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
            "members",
            r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
        )
    },
    PathCase {
        filter: Some(r#"value eq "a" or value eq "b""#),
        ..ok(
            r#"members[value eq "a" or value eq "b"]"#,
            "members",
            r#"members[value eq "a" or value eq "b"]"#,
        )
    },
    PathCase {
        filter: Some(r#"value eq "abc""#),
        ..ok("members[value eq abc]", "members", r#"members[value eq "abc"]"#)
    },
    PathCase {
        filter: Some(r#"type eq "work""#),
        sub: Some("value"),
        ..ok(
            r#"emails[type eq "work"].value"#,
            "emails",
            r#"emails[type eq "work"].value"#,
        )
    },
    PathCase {
        filter: Some(r#"TYPE eq "Work""#),
        sub: Some("Value"),
        ..ok(
            r#"emails[TYPE EQ "Work"].Value"#,
            "emails",
            r#"emails[TYPE eq "Work"].Value"#,
        )
    },
    PathCase {
        filter: Some(r#"type eq "work""#),
        sub: Some("country"),
        ..ok(
            r#"addresses[type eq "work"].country"#,
            "addresses",
            r#"addresses[type eq "work"].country"#,
        )
    },
    PathCase {
        filter: Some(r#"type eq "work""#),
        sub: Some("locality"),
        ..ok(
            "addresses[type eq work].locality",
            "addresses",
            r#"addresses[type eq "work"].locality"#,
        )
    },
    PathCase {
        filter: Some(r#"type eq "work" and primary eq true"#),
        ..ok(
            r#"emails[type eq "work" and primary eq true]"#,
            "emails",
            r#"emails[type eq "work" and primary eq true]"#,
        )
    },
    PathCase {
        filter: Some(r#"not (type eq "work")"#),
        ..ok(
            r#"emails[not (type eq "work")]"#,
            "emails",
            r#"emails[not (type eq "work")]"#,
        )
    },
    PathCase {
        filter: Some(r#"value co "@x""#),
        ..ok(r#"  emails[ value co "@x" ]  "#, "emails", r#"emails[value co "@x"]"#)
    },
    PathCase {
        filter: Some(r#"value eq "m1""#),
        ..ok(r#"manager[value eq "m1"]"#, "manager", r#"manager[value eq "m1"]"#)
    },
    PathCase {
        urn: Some(ENT),
        ..ok(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "department",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        )
    },
    PathCase {
        urn: Some(ENT),
        ..ok(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "manager",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        )
    },
    PathCase {
        urn: Some(ENT),
        attr_sub: Some("value"),
        ..ok(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "manager",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        )
    },
    PathCase {
        urn: Some(ENT),
        filter: Some(r#"value eq "m1""#),
        ..ok(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq "m1"]"#,
            "manager",
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[value eq "m1"]"#,
        )
    },
    PathCase {
        urn: Some("urn:ietf:params:scim:schemas:core:2.0:User"),
        attr_sub: Some("familyName"),
        ..ok(
            "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName",
            "name",
            "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName",
        )
    },
    PathCase {
        urn: Some("urn:ietf:params:scim:schemas:core:2.0:User"),
        filter: Some(r#"type eq "work""#),
        sub: Some("value"),
        ..ok(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value"#,
            "emails",
            r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value"#,
        )
    },
    PathCase {
        urn: Some("urn:acme:ext:1.0:User"),
        ..ok("urn:acme:ext:1.0:User:badge", "badge", "urn:acme:ext:1.0:User:badge")
    },
];

#[test]
fn valid_patch_paths() {
    let mut failures = Vec::new();
    for c in VALID_PATHS {
        let pp = match parse_patch_path(c.src) {
            Ok(pp) => pp,
            Err(e) => {
                failures.push(format!("{:?}: {e}", c.src));
                continue;
            }
        };
        let got = (
            pp.attr.urn.as_deref(),
            pp.attr.name.as_str(),
            pp.attr.sub.as_deref(),
            pp.filter.as_ref().map(ToString::to_string),
            pp.sub.as_deref(),
            pp.to_string(),
        );
        let want = (
            c.urn,
            c.name,
            c.attr_sub,
            c.filter.map(str::to_string),
            c.sub,
            c.display.to_string(),
        );
        if got != want {
            failures.push(format!("{:?}:\n   got {got:?}\n  want {want:?}", c.src));
            continue;
        }
        match parse_patch_path(&pp.to_string()) {
            Ok(again) if again == pp => {}
            other => failures.push(format!("{:?}: printed form does not round-trip: {other:?}", c.src)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// (input, error offset, text the message must contain).
#[rustfmt::skip]
const INVALID_PATHS: &[(&str, usize, &str)] = &[
    ("", 0, "expected an attribute path"),
    ("   ", 3, "expected an attribute path"),
    (r#"[type eq "work"]"#, 0, "expected an attribute path"),
    (r#"emails[type eq "work""#, 21, "expected ']'"),
    (r#"emails[type eq "work"]."#, 23, "expected a sub-attribute name"),
    (r#"emails[type eq "work"].value.x"#, 23, "expected a sub-attribute name"),
    (r#"emails[type eq "work"].1x"#, 23, "expected a sub-attribute name"),
    (r#"emails[type eq "work"]x"#, 22, "unexpected"),
    (r#"emails[type eq "work"]]"#, 22, "unexpected"),
    (r#"emails[type eq "work"].value eq "x""#, 29, "unexpected"),
    ("name.givenName[x eq 1]", 0, "names a sub-attribute"),
    ("display Name", 8, "unexpected"),
    ("emails[]", 7, "expected an attribute name or '('"),
    ("emails[type eq]", 14, "expected a comparison value"),
    (r#"emails[type xx "a"]"#, 12, "expected an operator"),
    (r#"emails[emails[type eq "a"]]"#, 13, "cannot be nested"),
    (r#"emails[type.x eq "a"]"#, 7, "sub-attribute only"),
    (r#"emails[(type eq "a"]"#, 19, "expected ')'"),
    (r#"emails[type eq "a]"#, 15, "unterminated string literal"),
    ("a.b.c", 2, "not a valid sub-attribute name"),
    ("name.", 5, "not a valid sub-attribute name"),
    ("1abc", 0, "not a valid attribute name"),
    ("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:", 0, "URN without an attribute name"),
    ("émails", 0, "expected an attribute path"),
    ("emails, name", 6, "unexpected"),
];

#[test]
fn invalid_patch_paths() {
    assert!(VALID_PATHS.len() + INVALID_PATHS.len() >= 25);
    let mut failures = Vec::new();
    for (src, offset, needle) in INVALID_PATHS {
        match parse_patch_path(src) {
            Ok(pp) => failures.push(format!("{src:?}: accepted as {pp:?}")),
            Err(e) if e.offset == *offset && e.message.contains(needle) => {}
            Err(e) => failures.push(format!(
                "{src:?}: got offset {} {:?}; want offset {offset} and {needle:?}",
                e.offset, e.message
            )),
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
fn patch_path_length_limit() {
    let long = format!("members[value eq \"{}\"]", "x".repeat(MAX_FILTER_LEN));
    let e = parse_patch_path(&long).expect_err("over-long path");
    assert!(e.message.contains("longer than"), "{e}");
    let fits = format!("members[value eq \"{}\"]", "x".repeat(MAX_FILTER_LEN - 40));
    assert!(parse_patch_path(&fits).is_ok());
}

#[test]
fn attribute_paths() {
    // (input, Ok((urn, name, sub)) or Err((offset, needle))).
    type Want = Result<(Option<&'static str>, &'static str, Option<&'static str>), (usize, &'static str)>;
    let cases: &[(&str, Want)] = &[
        ("userName", Ok((None, "userName", None))),
        ("  title  ", Ok((None, "title", None))),
        ("name.givenName", Ok((None, "name", Some("givenName")))),
        ("emails.value", Ok((None, "emails", Some("value")))),
        ("meta.lastModified", Ok((None, "meta", Some("lastModified")))),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            Ok((Some(ENT), "manager", Some("value"))),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            Ok((Some(ENT), "department", None)),
        ),
        ("", Err((0, "empty attribute path"))),
        ("   ", Err((0, "empty attribute path"))),
        ("name.", Err((5, "not a valid sub-attribute name"))),
        ("  name.1x", Err((7, "not a valid sub-attribute name"))),
        (r#"emails[type eq "x"]"#, Err((6, "unexpected"))),
        ("a b", Err((1, "unexpected"))),
        ("  a b", Err((3, "unexpected"))),
        ("1abc", Err((0, "not a valid attribute name"))),
        ("a.b.c", Err((2, "not a valid sub-attribute name"))),
        ("urn:x:y:", Err((0, "URN without an attribute name"))),
    ];
    for (src, want) in cases {
        let got = parse_attr_path(src)
            .map(|p| (p.urn, p.name, p.sub))
            .map_err(|e| (e.offset, e.message));
        let want = want
            .map(|(u, n, s)| (u.map(str::to_string), n.to_string(), s.map(str::to_string)))
            .map_err(|(o, n)| (o, n.to_string()));
        match (&got, &want) {
            (Ok(g), Ok(w)) => assert_eq!(g, w, "{src:?}"),
            (Err((off, msg)), Err((woff, needle))) => {
                assert!(
                    off == woff && msg.contains(needle.as_str()),
                    "{src:?}: got ({off}, {msg:?}), want ({woff}, {needle:?})"
                )
            }
            _ => panic!("{src:?}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn json_depth() {
    // (body, max, exceeds?)
    let cases: &[(&str, usize, bool)] = &[
        ("", 0, false),
        ("{}", 1, false),
        ("{}", 0, true),
        ("[[[]]]", 3, false),
        ("[[[]]]", 2, true),
        ("[][][][]", 1, false),
        (r#"{"a":[{"b":[{"c":1}]}]}"#, 5, false),
        (r#"{"a":[{"b":[{"c":1}]}]}"#, 4, true),
        // Brackets inside strings do not count.
        (r#"{"a":"[[[[[{{{{{"}"#, 1, false),
        (r#"{"[[[[":"]]]]"}"#, 1, false),
        // An escaped quote does not end the string.
        (r#"{"a":"\"[[[["}"#, 1, false),
        (r#"{"a":"\\\"[[[["}"#, 1, false),
        // An escaped backslash does: the brackets after it count.
        (r#"{"a":"\\",[[1]]}"#, 2, true),
        (r#"{"a":"\\",[[1]]}"#, 3, false),
        // Stray closers cannot make the depth negative.
        ("]]]]]][[", 2, false),
        ("]]]]]][[", 1, true),
        // Not JSON at all: unterminated string hides everything after it.
        (r#""[[[["#, 0, false),
        (r#"{"a":"é日本😀[[[[","b":[[]]}"#, 3, false),
        (r#"{"a":"é日本😀[[[[","b":[[]]}"#, 2, true),
        ("{\"a\":\"\\u005b\"}", 1, false),
    ];
    for (body, max, want) in cases {
        assert_eq!(
            json_depth_exceeds(body.as_bytes(), *max),
            *want,
            "json_depth_exceeds({body:?}, {max})"
        );
    }
    let deep = "[".repeat(100_000);
    assert!(json_depth_exceeds(deep.as_bytes(), 64));
    assert!(!json_depth_exceeds(deep.as_bytes(), 100_000));
    let wide = "[1],".repeat(100_000);
    assert!(!json_depth_exceeds(wide.as_bytes(), 1));
}
