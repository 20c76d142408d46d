//! App role functions, Guid, RandomString and SelectUniqueValue.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use std::collections::HashMap;

use common::Want::{Err, Null, Str, Val};
use common::{NOW, eval, role, row, rowa, run, s, value};
use serde_json::json;
use sync_expr::{
    AppRoleAssignment, EvalEnv, EvalError, Outcome, RolePatchMode, SPECIAL_CHARACTERS, SplitMix64, Value, parse, roles,
};

fn assignments() -> Vec<AppRoleAssignment> {
    vec![
        role("06b07648-ecfe-589f-9d2f-6325724a46ee", "Admin", "Administrator"),
        role("a1", "User", "User"),
    ]
}

fn with_roles(r: Vec<AppRoleAssignment>) -> Vec<(&'static str, Value)> {
    vec![("appRoleAssignments", Value::AppRoleAssignments(r))]
}

#[test]
fn single_app_role_assignment() {
    run(&[
        rowa(
            r#"SingleAppRoleAssignment([appRoleAssignments])"#,
            with_roles(assignments()[..1].to_vec()),
            Str("Admin"),
        ),
        rowa(
            r#"SingleAppRoleAssignment([appRoleAssignments])"#,
            with_roles(assignments()),
            Str("Admin"),
        ),
        rowa(
            r#"SingleAppRoleAssignment([appRoleAssignments])"#,
            with_roles(vec![]),
            Null,
        ),
        row(r#"SingleAppRoleAssignment([appRoleAssignments])"#, Null),
        rowa(
            r#"SingleAppRoleAssignment([appRoleAssignments])"#,
            vec![("appRoleAssignments", s("Admin"))],
            Err("TypeMismatch", "SingleAppRoleAssignment"),
        ),
    ]);
    assert_eq!(
        roles::single_role_post_json("Admin"),
        json!([{ "primary": true, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin" }])
    );
}

#[test]
fn app_role_assignments_complex_and_assertive() {
    let complex = |mode| {
        Val(Value::ComplexRoles {
            roles: assignments(),
            mode,
        })
    };
    run(&[
        rowa(
            r#"AppRoleAssignmentsComplex([appRoleAssignments])"#,
            with_roles(assignments()),
            complex(RolePatchMode::Add),
        ),
        rowa(
            r#"AssertiveAppRoleAssignmentsComplex([appRoleAssignments])"#,
            with_roles(assignments()),
            complex(RolePatchMode::Replace),
        ),
        rowa(
            r#"AssertiveAppRoleAssignmentsComplex([appRoleAssignments])"#,
            with_roles(vec![]),
            Val(Value::ComplexRoles {
                roles: vec![],
                mode: RolePatchMode::Replace,
            }),
        ),
        row(r#"AppRoleAssignmentsComplex([appRoleAssignments])"#, Null),
        row(r#"AssertiveAppRoleAssignmentsComplex([appRoleAssignments])"#, Null),
        rowa(
            r#"AppRoleAssignmentsComplex([appRoleAssignments])"#,
            vec![("appRoleAssignments", s("x"))],
            Err("TypeMismatch", "AppRoleAssignmentsComplex"),
        ),
        rowa(
            r#"AssertiveAppRoleAssignmentsComplex([appRoleAssignments])"#,
            vec![("appRoleAssignments", common::multi(&["x"]))],
            Err("TypeMismatch", "AssertiveAppRoleAssignmentsComplex"),
        ),
    ]);
    assert_eq!(
        roles::complex_roles_post_json(&assignments()),
        json!([
            { "primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Administrator", "value": "Admin" },
            { "primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "User", "value": "User" }
        ])
    );
    let patch = roles::roles_patch_json(&[role("06b07648-ecfe-589f-9d2f-6325724a46ee", "25", "Role1234")]);
    assert_eq!(
        patch,
        json!([{ "value": "{\"id\":\"06b07648-ecfe-589f-9d2f-6325724a46ee\",\"value\":\"25\",\"displayName\":\"Role1234\"}" }])
    );
}

fn guid_with_seed(seed: u64) -> String {
    let mut rng = SplitMix64::new(seed);
    let mut next = || rng.next_u64();
    let mut env = EvalEnv::new(NOW, &mut next);
    let out = parse("Guid()").unwrap().eval(&|_: &str| None, &mut env).unwrap();
    out.into_value()
        .and_then(|v| v.as_str().map(str::to_string))
        .expect("a string")
}

#[test]
fn guid() {
    let g = guid_with_seed(1);
    assert_eq!(g.len(), 36);
    let parts: Vec<&str> = g.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        vec![8, 4, 4, 4, 12],
        "{g}"
    );
    assert!(
        g.chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{g}"
    );
    assert!(parts[2].starts_with('4'), "version 4: {g}");
    assert!(
        matches!(parts[3].chars().next(), Some('8' | '9' | 'a' | 'b')),
        "RFC 4122 variant: {g}"
    );
    assert_eq!(guid_with_seed(1), g, "deterministic for a seed");
    assert_ne!(guid_with_seed(2), g);
    let twice = value(r#"IIF(Guid() = Guid(), "same", "different")"#, &[]);
    assert_eq!(twice, s("different"));
}

fn random_string(src: &str, seed: u64) -> Result<String, EvalError> {
    let mut rng = SplitMix64::new(seed);
    let mut next = || rng.next_u64();
    let mut env = EvalEnv::new(NOW, &mut next);
    let out = parse(src).unwrap().eval(&|_: &str| None, &mut env)?;
    Ok(out
        .into_value()
        .and_then(|v| v.as_str().map(str::to_string))
        .expect("a string"))
}

fn classes(v: &str) -> [usize; 4] {
    [
        v.chars().filter(char::is_ascii_digit).count(),
        v.chars().filter(|c| SPECIAL_CHARACTERS.contains(*c)).count(),
        v.chars().filter(char::is_ascii_uppercase).count(),
        v.chars().filter(char::is_ascii_lowercase).count(),
    ]
}

#[test]
fn random_string_meets_its_minimums() {
    for seed in 0..50 {
        let v = random_string("RandomString(6,3,0,0,3)", seed).unwrap();
        assert_eq!(v.chars().count(), 6, "{v}");
        let [d, _, _, l] = classes(&v);
        assert!(d >= 3 && l >= 3, "{v}");

        let v = random_string(r#"RandomString(10,2,2,2,1,"?,")"#, seed).unwrap();
        assert_eq!(v.chars().count(), 10, "{v}");
        let [d, sp, u, l] = classes(&v);
        assert!(d >= 2 && sp >= 2 && u >= 2 && l >= 1, "{v}");
        assert!(!v.contains('?') && !v.contains(','), "{v}");
    }
    let all_digits = random_string(r#"RandomString(8,8,0,0,0)"#, 3).unwrap();
    assert!(all_digits.chars().all(|c| c.is_ascii_digit()), "{all_digits}");
    assert_eq!(random_string("RandomString(256,0,0,0,0)", 9).unwrap().len(), 256);
    assert_eq!(
        random_string("RandomString(12,1,1,1,1)", 5).unwrap(),
        random_string("RandomString(12,1,1,1,1)", 5).unwrap()
    );
    assert_ne!(
        random_string("RandomString(12,1,1,1,1)", 5).unwrap(),
        random_string("RandomString(12,1,1,1,1)", 6).unwrap()
    );
}

#[test]
fn random_string_errors_name_the_function() {
    run(&[
        row(r#"RandomString(257,0,0,0,0)"#, Err("InvalidArgument", "RandomString")),
        row(r#"RandomString(0,0,0,0,0)"#, Err("InvalidArgument", "RandomString")),
        row(r#"RandomString(4,2,2,1,0)"#, Err("InvalidArgument", "RandomString")),
        row(r#"RandomString(4,-1,0,0,0)"#, Err("InvalidArgument", "RandomString")),
        row(
            r#"RandomString(4,1,0,0,0,"0123456789")"#,
            Err("InvalidArgument", "RandomString"),
        ),
        row(r#"RandomString(, 1, 0, 0, 0)"#, Err("InvalidArgument", "RandomString")),
        row(r#"RandomString("six",1,0,0,0)"#, Err("TypeMismatch", "RandomString")),
    ]);
}

const UPN: &str = "SelectUniqueValue( \n        Join(\"@\", NormalizeDiacritics(StripSpaces(Join(\".\",  [PreferredFirstName], [PreferredLastName]))), \"contoso.com\"), \n        Join(\"@\", NormalizeDiacritics(StripSpaces(Join(\".\",  Mid([PreferredFirstName], 1, 1), [PreferredLastName]))), \"contoso.com\"),\n        Join(\"@\", NormalizeDiacritics(StripSpaces(Join(\".\",  Mid([PreferredFirstName], 1, 2), [PreferredLastName]))), \"contoso.com\")\n    )";

fn select_unique(taken: &[&str], first: &str, last: &str) -> (Result<Outcome, EvalError>, Vec<String>) {
    let user: HashMap<String, Value> = [
        ("PreferredFirstName".to_string(), s(first)),
        ("PreferredLastName".to_string(), s(last)),
    ]
    .into();
    let mut checked = Vec::new();
    let out = {
        let mut check = |v: &str| {
            checked.push(v.to_string());
            !taken.contains(&v)
        };
        let mut rng = SplitMix64::new(1);
        let mut next = || rng.next_u64();
        let mut env = EvalEnv::new(NOW, &mut next).with_uniqueness(&mut check);
        parse(UPN).unwrap().eval(&user, &mut env)
    };
    (out, checked)
}

#[test]
fn select_unique_value() {
    let ok = |v: &str| {
        Ok(Outcome::Value {
            value: s(v),
            redacted: false,
        })
    };
    let (out, checked) = select_unique(&[], "John", "Smith");
    assert_eq!(out, ok("John.Smith@contoso.com"));
    assert_eq!(checked, vec!["John.Smith@contoso.com"]);

    let (out, _) = select_unique(&["John.Smith@contoso.com"], "John", "Smith");
    assert_eq!(out, ok("J.Smith@contoso.com"));

    let (out, checked) = select_unique(&["John.Smith@contoso.com", "J.Smith@contoso.com"], "John", "Smith");
    assert_eq!(out, ok("Jo.Smith@contoso.com"));
    assert_eq!(checked.len(), 3);

    let (out, _) = select_unique(&[], "Jéssica", "Smith");
    assert_eq!(out, ok("Jessica.Smith@contoso.com"));

    let all = ["John.Smith@contoso.com", "J.Smith@contoso.com", "Jo.Smith@contoso.com"];
    let (out, _) = select_unique(&all, "John", "Smith");
    assert_eq!(
        out,
        Result::Err(EvalError::NoUniqueValue {
            function: "SelectUniqueValue",
            candidates: all.iter().map(|c| c.to_string()).collect()
        })
    );
}

#[test]
fn select_unique_value_skips_empty_rules_and_needs_a_check() {
    let mut check = |v: &str| v != "taken";
    let mut rng = SplitMix64::new(1);
    let mut next = || rng.next_u64();
    let mut env = EvalEnv::new(NOW, &mut next).with_uniqueness(&mut check);
    let e = parse(r#"SelectUniqueValue([missing], "", "taken", "free")"#).unwrap();
    assert_eq!(
        e.eval(&|_: &str| None, &mut env).unwrap(),
        Outcome::Value {
            value: s("free"),
            redacted: false
        }
    );
    let e = parse(r#"SelectUniqueValue([missing], "taken")"#).unwrap();
    let err = e.eval(&|_: &str| None, &mut env).unwrap_err();
    assert_eq!(
        err,
        EvalError::NoUniqueValue {
            function: "SelectUniqueValue",
            candidates: vec!["taken".into()]
        }
    );
    let err = parse(r#"SelectUniqueValue("taken", Split("b,c", ","))"#)
        .unwrap()
        .eval(&|_: &str| None, &mut env)
        .unwrap_err();
    assert!(
        matches!(
            err,
            EvalError::TypeMismatch {
                function: "SelectUniqueValue",
                argument: 2,
                ..
            }
        ),
        "{err}"
    );

    let err = eval(r#"SelectUniqueValue("a", "b")"#, &[]).unwrap_err();
    assert_eq!(err.function(), "SelectUniqueValue");
    assert!(matches!(err, EvalError::Unsupported { .. }), "{err}");
}

#[test]
fn unique_candidates_lists_every_rule_value_for_an_asynchronous_check() {
    let user: HashMap<String, Value> = [
        ("PreferredFirstName".to_string(), s("Jéssica")),
        ("PreferredLastName".to_string(), s("Smith")),
    ]
    .into();
    let mut rng = SplitMix64::new(1);
    let mut next = || rng.next_u64();
    let mut env = EvalEnv::new(NOW, &mut next);
    let got = parse(UPN).unwrap().unique_candidates(&user, &mut env);
    assert_eq!(
        got,
        Some(Ok(vec![
            "Jessica.Smith@contoso.com".to_string(),
            "J.Smith@contoso.com".to_string(),
            "Je.Smith@contoso.com".to_string()
        ]))
    );
    // Empty and ignored rules are skipped, repeats dropped; other expressions have none.
    let e = parse(r#"SelectUniqueValue([missing], "a", IgnoreFlowIfNullOrEmpty([missing]), "a", "b")"#).unwrap();
    let got = e.unique_candidates(&|_: &str| None, &mut env);
    assert_eq!(got, Some(Ok(vec!["a".to_string(), "b".to_string()])));
    assert_eq!(
        parse(r#"Join("", "a")"#).unwrap().unique_candidates(&user, &mut env),
        None
    );
    let err = parse(r#"SelectUniqueValue("a", Split("b,c", ","))"#)
        .unwrap()
        .unique_candidates(&user, &mut env);
    assert!(
        matches!(err, Some(Result::Err(EvalError::TypeMismatch { argument: 2, .. }))),
        "{err:?}"
    );
}
