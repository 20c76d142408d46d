//! Table-driven tests of the RFC 7644 §3.4.2.2 filter grammar: valid filters against their
//! printed form (and a print → parse round trip), invalid filters against the error offset
//! and message, the length / depth limits, and a deterministic fuzz loop.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use scim_proto::{
    AttrPath, CompValue, CompareOp, Filter, MAX_FILTER_DEPTH, MAX_FILTER_LEN, parse_filter, parse_patch_path,
};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// (input, expected Display form).
#[rustfmt::skip]
const VALID: &[(&str, &str)] = &[
    // Every comparison operator, in lower, upper and mixed case.
    (r#"userName eq "bjensen""#, r#"userName eq "bjensen""#),
    (r#"userName EQ "bjensen""#, r#"userName eq "bjensen""#),
    (r#"userName Eq "bjensen""#, r#"userName eq "bjensen""#),
    (r#"userName ne "x""#, r#"userName ne "x""#),
    (r#"userName NE "x""#, r#"userName ne "x""#),
    (r#"name.familyName co "O'Malley""#, r#"name.familyName co "O'Malley""#),
    (r#"name.familyName cO "O'Malley""#, r#"name.familyName co "O'Malley""#),
    (r#"userName sw "J""#, r#"userName sw "J""#),
    (r#"userName SW "J""#, r#"userName sw "J""#),
    (r#"emails.value ew "@example.com""#, r#"emails.value ew "@example.com""#),
    (r#"emails.value eW "@example.com""#, r#"emails.value ew "@example.com""#),
    (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, r#"meta.lastModified gt "2011-05-13T04:42:34Z""#),
    (r#"meta.lastModified GE "2011-05-13T04:42:34Z""#, r#"meta.lastModified ge "2011-05-13T04:42:34Z""#),
    (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, r#"meta.lastModified lt "2011-05-13T04:42:34Z""#),
    (r#"meta.lastModified Le "2011-05-13T04:42:34Z""#, r#"meta.lastModified le "2011-05-13T04:42:34Z""#),
    ("title pr", "title pr"),
    ("title PR", "title pr"),
    ("title Pr", "title pr"),
    // Logical operators, precedence and grouping.
    (r#"title pr and userType eq "Employee""#, r#"title pr and userType eq "Employee""#),
    (r#"title pr AND userType eq "Employee""#, r#"title pr and userType eq "Employee""#),
    (r#"title pr or userType eq "Intern""#, r#"title pr or userType eq "Intern""#),
    (r#"title pr OR userType eq "Intern""#, r#"title pr or userType eq "Intern""#),
    ("a pr or b pr and c pr", "a pr or b pr and c pr"),
    ("a pr and b pr or c pr", "a pr and b pr or c pr"),
    ("(a pr or b pr) and c pr", "(a pr or b pr) and c pr"),
    ("a pr and (b pr or c pr)", "a pr and (b pr or c pr)"),
    ("(a pr and b pr) or c pr", "a pr and b pr or c pr"),
    ("a pr or (b pr and c pr)", "a pr or b pr and c pr"),
    ("(a pr or b pr) or c pr", "a pr or b pr or c pr"),
    ("a pr or (b pr or c pr)", "a pr or (b pr or c pr)"),
    ("a pr and (b pr and c pr)", "a pr and (b pr and c pr)"),
    ("((((a pr))))", "a pr"),
    ("((a pr or b pr)) and ((c pr))", "(a pr or b pr) and c pr"),
    ("(a pr or (b pr and (c pr or d pr)))", "a pr or b pr and (c pr or d pr)"),
    ("not (a pr)", "not (a pr)"),
    ("NOT (a pr)", "not (a pr)"),
    ("not(a pr)", "not (a pr)"),
    ("not (not (a pr))", "not (not (a pr))"),
    ("not (a pr and b pr)", "not (a pr and b pr)"),
    ("not (a pr) and b pr", "not (a pr) and b pr"),
    ("not ((a pr or b pr))", "not (a pr or b pr)"),
    (
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    ),
    (
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
    ),
    (r#"userType eq "Employee" and (emails.type eq "work")"#, r#"userType eq "Employee" and emails.type eq "work""#),
    // An attribute that merely starts with (or is) a keyword.
    (r#"notes eq "x""#, r#"notes eq "x""#),
    (r#"not eq "x""#, r#"not eq "x""#),
    ("order pr and andy pr", "order pr and andy pr"),
    // Value paths.
    (
        r#"emails[type eq "work" and value co "@x"]"#,
        r#"emails[type eq "work" and value co "@x"]"#,
    ),
    (
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
    ),
    (
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ),
    (r#"emails[type eq "work" or type eq "home"]"#, r#"emails[type eq "work" or type eq "home"]"#),
    (r#"emails[not (type eq "work")]"#, r#"emails[not (type eq "work")]"#),
    (r#"emails[ ( type eq "work" ) ]"#, r#"emails[type eq "work"]"#),
    (r#"members[value eq "2819c223"]"#, r#"members[value eq "2819c223"]"#),
    ("members[$ref pr]", "members[$ref pr]"),
    ("members[value eq abc]", r#"members[value eq "abc"]"#),
    // Entra: `attr[filter].sub op value` = one element with both properties.
    (r#"emails[type eq "work"].value eq "x""#, r#"emails[type eq "work" and value eq "x"]"#),
    (r#"emails[TYPE EQ "work"].VALUE EQ "x""#, r#"emails[TYPE eq "work" and VALUE eq "x"]"#),
    (r#"emails[type eq "work"].value pr"#, r#"emails[type eq "work" and value pr]"#),
    (
        r#"emails[type eq "work" or primary eq true].value eq "x""#,
        r#"emails[(type eq "work" or primary eq true) and value eq "x"]"#,
    ),
    (
        r#"emails[type eq "work"].value eq "a@b.c" and userName eq "u""#,
        r#"emails[type eq "work" and value eq "a@b.c"] and userName eq "u""#,
    ),
    // URN-qualified paths.
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"x\"",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"x\"",
    ),
    (
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"x\"",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"x\"",
    ),
    (
        "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"",
        "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"",
    ),
    ("URN:acme:ext:1.0:badge eq 7", "URN:acme:ext:1.0:badge eq 7"),
    (
        "schemas eq \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"",
        "schemas eq \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"",
    ),
    // Unquoted values (Entra docs) and date-times.
    ("externalId eq jyoung", r#"externalId eq "jyoung""#),
    ("(externalId eq jyoung)", r#"externalId eq "jyoung""#),
    (
        "meta.created gt 2015-10-10T14:38:21.8617979-07:00",
        r#"meta.created gt "2015-10-10T14:38:21.8617979-07:00""#,
    ),
    ("externalId eq 01", r#"externalId eq "01""#),
    ("externalId eq a\"b", r#"externalId eq "a\"b""#),
    ("externalId eq and", r#"externalId eq "and""#),
    // Numbers, booleans and null.
    ("x eq 42", "x eq 42"),
    ("x eq -3", "x eq -3"),
    ("x gt 1.5", "x gt 1.5"),
    ("x gt 1.50", "x gt 1.5"),
    ("x eq 0", "x eq 0"),
    ("x lt 1e3", "x lt 1000.0"),
    ("x eq 18446744073709551615", "x eq 18446744073709551615"),
    ("active eq true", "active eq true"),
    ("active eq TRUE", "active eq true"),
    ("active eq False", "active eq false"),
    (r#"active eq "true""#, r#"active eq "true""#),
    ("x eq null", "x eq null"),
    ("x ne NULL", "x ne null"),
    // JSON string escapes and unicode.
    (r#"displayName eq "a\"b""#, r#"displayName eq "a\"b""#),
    (r#"displayName eq "a\\b""#, r#"displayName eq "a\\b""#),
    (r#"displayName eq "\u00e9t\u00E9""#, "displayName eq \"été\""),
    (r#"displayName eq "tab\there""#, r#"displayName eq "tab\there""#),
    (r#"displayName eq "\/slash""#, r#"displayName eq "/slash""#),
    (r#"displayName eq "\ud83d\ude00""#, "displayName eq \"😀\""),
    ("displayName eq \"Jürgen 日本 😀\"", "displayName eq \"Jürgen 日本 😀\""),
    (r#"displayName eq """#, r#"displayName eq """#),
    (r#"displayName eq "a ) ] and or""#, r#"displayName eq "a ) ] and or""#),
    // Whitespace.
    ("  userName   eq   \"x\"  ", r#"userName eq "x""#),
    ("userName\teq\n\"x\"\r\nand\ttitle pr", r#"userName eq "x" and title pr"#),
    (r#"userName eq"x""#, r#"userName eq "x""#),
];

#[test]
fn valid_filters_print_and_round_trip() {
    assert!(VALID.len() >= 60, "only {} valid cases", VALID.len());
    let mut failures = Vec::new();
    for (i, (src, want)) in VALID.iter().enumerate() {
        let f = match parse_filter(src) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("#{i} {src:?}: parse failed: {e}"));
                continue;
            }
        };
        let printed = f.to_string();
        if printed != *want {
            failures.push(format!("#{i} {src:?}: printed {printed:?}, want {want:?}"));
            continue;
        }
        match parse_filter(&printed) {
            Ok(again) if again == f => {}
            Ok(again) => failures.push(format!("#{i} {src:?}: round trip changed the tree: {f:?} -> {again:?}")),
            Err(e) => failures.push(format!("#{i} {src:?}: printed form {printed:?} does not parse: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn p(name: &str) -> AttrPath {
    AttrPath::simple(name)
}

fn cmp(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare { path, op, value }
}

fn pr(name: &str) -> Filter {
    Filter::Present(p(name))
}

fn and(a: Filter, b: Filter) -> Filter {
    Filter::And(Box::new(a), Box::new(b))
}

fn or(a: Filter, b: Filter) -> Filter {
    Filter::Or(Box::new(a), Box::new(b))
}

fn not(a: Filter) -> Filter {
    Filter::Not(Box::new(a))
}

fn s(v: &str) -> CompValue {
    CompValue::Str(v.to_string())
}

#[test]
fn filter_trees() {
    let urn_path = |name: &str, sub: Option<&str>| AttrPath {
        urn: Some(ENT.to_string()),
        name: name.to_string(),
        sub: sub.map(str::to_string),
    };
    let mgr = format!("{ENT}:manager.value eq \"m1\"");
    let dept = format!("{ENT}:department eq Sales");
    let cases: Vec<(&str, Filter)> = vec![
        ("a pr or b pr and c pr", or(pr("a"), and(pr("b"), pr("c")))),
        ("a pr and b pr or c pr", or(and(pr("a"), pr("b")), pr("c"))),
        ("a pr and b pr and c pr", and(and(pr("a"), pr("b")), pr("c"))),
        ("a pr or b pr or c pr", or(or(pr("a"), pr("b")), pr("c"))),
        ("not (a pr) or b pr", or(not(pr("a")), pr("b"))),
        ("not (a pr or b pr) and c pr", and(not(or(pr("a"), pr("b"))), pr("c"))),
        (
            r#"emails[type eq "work"].value eq "x""#,
            Filter::ValuePath {
                path: p("emails"),
                filter: Box::new(and(
                    cmp(p("type"), CompareOp::Eq, s("work")),
                    cmp(p("value"), CompareOp::Eq, s("x")),
                )),
            },
        ),
        (&mgr, cmp(urn_path("manager", Some("value")), CompareOp::Eq, s("m1"))),
        (&dept, cmp(urn_path("department", None), CompareOp::Eq, s("Sales"))),
        (
            "name.givenName sw \"A\"",
            cmp(
                AttrPath {
                    urn: None,
                    name: "name".into(),
                    sub: Some("givenName".into()),
                },
                CompareOp::Sw,
                s("A"),
            ),
        ),
        ("x eq 42", cmp(p("x"), CompareOp::Eq, CompValue::Num(42.into()))),
        ("x eq -7", cmp(p("x"), CompareOp::Eq, CompValue::Num((-7).into()))),
        ("x eq true", cmp(p("x"), CompareOp::Eq, CompValue::Bool(true))),
        ("x eq fAlSe", cmp(p("x"), CompareOp::Eq, CompValue::Bool(false))),
        ("x eq null", cmp(p("x"), CompareOp::Eq, CompValue::Null)),
        (r#"x eq "null""#, cmp(p("x"), CompareOp::Eq, s("null"))),
        (r#"x eq "42""#, cmp(p("x"), CompareOp::Eq, s("42"))),
        (
            "x le 2015-10-10T14:38:21Z",
            cmp(p("x"), CompareOp::Le, s("2015-10-10T14:38:21Z")),
        ),
        ("x eq -", cmp(p("x"), CompareOp::Eq, s("-"))),
    ];
    for (src, want) in cases {
        let got = parse_filter(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        assert_eq!(got, want, "{src:?} parsed to the wrong tree");
    }
}

/// (input, error byte offset, text the message must contain).
#[rustfmt::skip]
const INVALID: &[(&str, usize, &str)] = &[
    ("", 0, "empty filter"),
    ("   ", 3, "empty filter"),
    ("userName", 8, "expected an operator"),
    ("userName eq", 11, "expected a comparison value"),
    ("userName eq ", 12, "expected a comparison value"),
    (r#"userName xx "a""#, 9, "expected an operator"),
    (r#"userName equals "a""#, 9, "expected an operator"),
    (r#"userName eq "abc"#, 12, "unterminated string literal"),
    (r#"(userName eq "a""#, 16, "expected ')'"),
    (r#"((userName eq "a")"#, 18, "expected ')'"),
    (r#"userName eq "a")"#, 15, "expected 'and', 'or' or end of filter"),
    (r#"userName eq "a" and"#, 19, "expected an attribute name or '('"),
    (r#"userName eq "a" AND"#, 19, "expected an attribute name or '('"),
    (r#"userName eq "a" or"#, 18, "expected an attribute name or '('"),
    (r#"and userName eq "a""#, 4, "expected an operator"),
    (r#"emails[type eq "work""#, 21, "expected ']'"),
    (r#"emails[type eq "work"]]"#, 22, "expected 'and', 'or' or end of filter"),
    (r#"emails[type eq "work"]."#, 23, "expected a sub-attribute name"),
    (r#"emails[type eq "work"].value"#, 28, "expected an operator"),
    (r#"emails[type eq "work"].value.x eq "a""#, 23, "expected a sub-attribute name"),
    (r#"emails[emails[type eq "a"]]"#, 13, "cannot be nested"),
    (r#"emails[type.sub eq "a"]"#, 7, "sub-attribute only"),
    ("name.givenName[x eq 1]", 0, "names a sub-attribute"),
    (r#"userName eq "a" userName eq "b""#, 16, "expected 'and', 'or' or end of filter"),
    ("1abc eq \"x\"", 0, "not a valid attribute name"),
    ("name.1x eq \"x\"", 5, "not a valid sub-attribute name"),
    ("a.b.c eq 1", 2, "not a valid sub-attribute name"),
    ("urn:ietf:params:scim:schemas:core:2.0:User: eq \"x\"", 0, "URN without an attribute name"),
    (r#"userName eq "a\q""#, 12, "invalid string literal"),
    (r#"userName eq "\ud800""#, 12, "invalid string literal"),
    ("userName eq \"a\nb\"", 12, "invalid string literal"),
    ("()", 1, "expected an attribute name or '('"),
    ("not ()", 5, "expected an attribute name or '('"),
    ("not (userName pr", 16, "expected ')'"),
    (r#"userName eq "a" and (title pr or )"#, 33, "expected an attribute name or '('"),
    ("@foo eq 1", 0, "expected an attribute name or '('"),
    ("userName eq ]", 12, "expected a comparison value"),
    ("userName eq )", 12, "expected a comparison value"),
    ("userName pr extra", 12, "expected 'and', 'or' or end of filter"),
    ("emails[]", 7, "expected an attribute name or '('"),
    ("emails[type eq]", 14, "expected a comparison value"),
    ("title pr and.x pr", 9, "expected 'and', 'or' or end of filter"),
    ("not title pr", 4, "expected an operator"),
];

#[test]
fn invalid_filters_report_offset_and_expectation() {
    assert!(INVALID.len() >= 30, "only {} invalid cases", INVALID.len());
    let mut failures = Vec::new();
    for (i, (src, offset, needle)) in INVALID.iter().enumerate() {
        match parse_filter(src) {
            Ok(f) => failures.push(format!("#{i} {src:?}: accepted as {f:?}")),
            Err(e) => {
                if e.offset != *offset || !e.message.contains(needle) {
                    failures.push(format!(
                        "#{i} {src:?}: got offset {} message {:?}; want offset {offset} and a message containing {needle:?}",
                        e.offset, e.message
                    ));
                }
                if e.offset > src.len() {
                    failures.push(format!("#{i} {src:?}: offset {} is past the end", e.offset));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn nested_parens(depth: usize) -> String {
    format!("{}a pr{}", "(".repeat(depth), ")".repeat(depth))
}

fn nested_nots(depth: usize) -> String {
    format!("{}a pr{}", "not (".repeat(depth), ")".repeat(depth))
}

#[test]
fn length_limit() {
    let pad = |len: usize| {
        let head = "userName eq \"";
        format!("{head}{}\"", "a".repeat(len - head.len() - 1))
    };
    let at_limit = pad(MAX_FILTER_LEN);
    assert_eq!(at_limit.len(), MAX_FILTER_LEN);
    assert!(
        parse_filter(&at_limit).is_ok(),
        "a filter of exactly MAX_FILTER_LEN bytes is accepted"
    );
    let over = pad(MAX_FILTER_LEN + 1);
    let e = parse_filter(&over).expect_err("one byte over the limit");
    assert_eq!(e.offset, MAX_FILTER_LEN);
    assert!(e.message.contains("limit"), "{e}");
    let huge = "a pr or ".repeat(100_000) + "a pr";
    assert!(parse_filter(&huge).is_err(), "an 800 kB filter is rejected");
    assert!(
        parse_patch_path(&format!("emails[{huge}]")).is_err(),
        "an 800 kB path is rejected"
    );
}

#[test]
fn depth_limit() {
    // (input, Ok?) around the boundary.
    let cases: Vec<(String, bool)> = vec![
        (nested_parens(1), true),
        (nested_parens(MAX_FILTER_DEPTH), true),
        (nested_parens(MAX_FILTER_DEPTH + 1), false),
        (nested_parens(1000), false),
        (nested_parens(100_000), false),
        (nested_nots(1), true),
        (nested_nots(MAX_FILTER_DEPTH / 2), true),
        (nested_nots(MAX_FILTER_DEPTH + 1), false),
        (nested_nots(100_000), false),
        ("(".repeat(MAX_FILTER_LEN), false),
        ("(".repeat(100_000), false),
        ("not (".repeat(100_000), false),
        ("not(".repeat(1000), false),
        (
            format!(
                "emails[{}type pr{}]",
                "(".repeat(MAX_FILTER_DEPTH - 1),
                ")".repeat(MAX_FILTER_DEPTH - 1)
            ),
            true,
        ),
        (
            format!(
                "emails[{}type pr{}]",
                "(".repeat(MAX_FILTER_DEPTH),
                ")".repeat(MAX_FILTER_DEPTH)
            ),
            false,
        ),
    ];
    for (src, ok) in &cases {
        let short = &src[..src.len().min(40)];
        match parse_filter(src) {
            Ok(_) if *ok => {}
            Ok(_) => panic!("{short:?}… ({} bytes) should be rejected", src.len()),
            Err(e) if *ok => panic!("{short:?}… should parse: {e}"),
            Err(e) => assert!(
                e.message.contains("deeper") || e.message.contains("limit"),
                "{short:?}…: unexpected error {e}"
            ),
        }
    }
    let e = parse_filter(&nested_parens(MAX_FILTER_DEPTH + 1)).unwrap_err();
    assert_eq!(
        e.offset,
        MAX_FILTER_DEPTH + 1,
        "depth error at the first paren too many: {e}"
    );
    assert!(e.message.contains(&MAX_FILTER_DEPTH.to_string()), "{e}");
    for src in [
        format!("members[{}]", "(".repeat(100_000)),
        format!("members[{}]", "(".repeat(2000)),
    ] {
        assert!(parse_patch_path(&src).is_err(), "deep patch path must be an error");
    }
}

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[rustfmt::skip]
const TOKENS: &[&str] = &[
    "userName", "emails", "name", ".", "value", "type", "givenName", "members", "$ref", "urn:", ENT, ":", "manager",
    " ", " ", " ", "\t", "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "and", "or", "not", "AND",
    "Or", "(", ")", "[", "]", "\"", "\"work\"", "\"a\\\"b\"", "\\", "\\u00e9", "\\ud800", "true", "false", "null", "42",
    "-1.5e3", "1e999", "2015-10-10T14:38:21Z", "é", "日本", "😀", "a", "Z", "0", "_", "-", ",", "@", "\u{a0}",
];

fn random_input(rng: &mut Rng) -> String {
    let n = 1 + rng.below(24);
    let mut s = String::new();
    for _ in 0..n {
        if rng.below(8) == 0 {
            // A raw byte-ish character from a small alphabet.
            let c = b"ab[]().:\"\\ $-_1"[rng.below(15)] as char;
            s.push(c);
        } else {
            s.push_str(TOKENS[rng.below(TOKENS.len())]);
        }
    }
    s
}

/// Sentences that are more likely to be valid, so the round-trip check gets exercised.
fn random_filter(rng: &mut Rng, depth: usize) -> String {
    let attrs = [
        "userName",
        "emails.value",
        "title",
        "name.givenName",
        "x",
        "urn:acme:ext:1.0:badge",
    ];
    let ops = ["eq", "NE", "co", "sw", "ew", "gt", "ge", "lt", "le"];
    let values = [
        "\"a b\"",
        "jyoung",
        "42",
        "-3.5",
        "true",
        "NULL",
        "\"é\\\"\"",
        "2015-10-10T14:38:21Z",
        "\"\"",
    ];
    match if depth > 3 { 0 } else { rng.below(7) } {
        0 => format!(
            "{} {} {}",
            attrs[rng.below(attrs.len())],
            ops[rng.below(ops.len())],
            values[rng.below(values.len())]
        ),
        1 => format!("{} pr", attrs[rng.below(attrs.len())]),
        2 => format!(
            "{} and {}",
            random_filter(rng, depth + 1),
            random_filter(rng, depth + 1)
        ),
        3 => format!("{} or {}", random_filter(rng, depth + 1), random_filter(rng, depth + 1)),
        4 => format!("not ({})", random_filter(rng, depth + 1)),
        5 => format!("({})", random_filter(rng, depth + 1)),
        _ => {
            let inner = [
                "type eq \"work\"",
                "value co x",
                "primary eq true or type pr",
                "not (display pr)",
            ];
            let tail = if rng.below(2) == 0 { ".value eq \"v\"" } else { "" };
            format!("emails[{}]{tail}", inner[rng.below(inner.len())])
        }
    }
}

#[test]
fn fuzz_no_panics_and_stable_round_trip() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut parsed, mut paths) = (0usize, 0usize);
    for i in 0..20_000 {
        let src = if i % 2 == 0 {
            random_input(&mut rng)
        } else {
            random_filter(&mut rng, 0)
        };
        if let Ok(f) = parse_filter(&src) {
            parsed += 1;
            let printed = f.to_string();
            let again = parse_filter(&printed).unwrap_or_else(|e| panic!("{src:?} printed as {printed:?}: {e}"));
            assert_eq!(again, f, "round trip of {src:?} via {printed:?}");
            assert_eq!(again.to_string(), printed, "printing is stable for {src:?}");
        }
        let path_src = if i % 3 == 0 {
            format!("emails[{src}].value")
        } else {
            src.clone()
        };
        if let Ok(pp) = parse_patch_path(&path_src) {
            paths += 1;
            let printed = pp.to_string();
            let again =
                parse_patch_path(&printed).unwrap_or_else(|e| panic!("{path_src:?} printed as {printed:?}: {e}"));
            assert_eq!(again, pp, "patch path round trip of {path_src:?} via {printed:?}");
        }
    }
    // The generator must actually reach the success paths.
    assert!(parsed > 5_000, "only {parsed} of 20000 inputs parsed as filters");
    assert!(paths > 100, "only {paths} of 20000 inputs parsed as patch paths");
}
