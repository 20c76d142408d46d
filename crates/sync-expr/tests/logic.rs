//! Conditional, boolean and multi-value functions.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use common::Want::{Bool, Err, Ignore, Multi, Null, Num, Str, Val};
use common::{eval, multi, role, row, rowa, run, s};
use sync_expr::{Outcome, Value};

#[test]
fn bit_and() {
    run(&[
        row(r#"BitAnd(&HF, &HF7)"#, Num(7)),
        rowa(
            r#"BitAnd([userAccountControl], 2)"#,
            vec![("userAccountControl", Value::Number(514))],
            Num(2),
        ),
        rowa(
            r#"BitAnd([userAccountControl], 2)"#,
            vec![("userAccountControl", s("512"))],
            Num(0),
        ),
        row(r#"BitAnd("&HF", 3)"#, Num(3)),
        row(r#"BitAnd(-1, 255)"#, Num(255)),
        row(r#"BitAnd([missing], 2)"#, Null),
        row(r#"BitAnd(2, "")"#, Null),
        row(r#"BitAnd("abc", 2)"#, Err("TypeMismatch", "BitAnd")),
        rowa(
            r#"BitAnd([p], 2)"#,
            vec![("p", multi(&["1"]))],
            Err("TypeMismatch", "BitAnd"),
        ),
    ]);
}

#[test]
fn cbool() {
    let pair = |a: &str, b: &str| vec![("attribute1", s(a)), ("attribute2", s(b))];
    run(&[
        rowa(r#"CBool([attribute1] = [attribute2])"#, pair("x", "x"), Bool(true)),
        rowa(r#"CBool([attribute1] = [attribute2])"#, pair("x", "y"), Bool(false)),
        row(r#"CBool(1)"#, Bool(true)),
        row(r#"CBool(-5)"#, Bool(true)),
        row(r#"CBool(0)"#, Bool(false)),
        row(r#"CBool("True")"#, Bool(true)),
        row(r#"CBool("false")"#, Bool(false)),
        row(r#"CBool("12")"#, Bool(true)),
        row(r#"CBool([missing])"#, Bool(false)),
        row(r#"CBool("")"#, Bool(false)),
        row(r#"CBool("abc")"#, Err("InvalidArgument", "CBool")),
        rowa(
            r#"CBool([p])"#,
            vec![("p", multi(&["1"]))],
            Err("TypeMismatch", "CBool"),
        ),
    ]);
}

#[test]
fn coalesce() {
    run(&[
        rowa(
            r#"Coalesce([mail],[userPrincipalName])"#,
            vec![("userPrincipalName", s("John.Doe@contoso.com"))],
            Str("John.Doe@contoso.com"),
        ),
        rowa(
            r#"Coalesce([mail],[userPrincipalName])"#,
            vec![
                ("mail", s("jd@contoso.com")),
                ("userPrincipalName", s("John.Doe@contoso.com")),
            ],
            Str("jd@contoso.com"),
        ),
        row(r#"Coalesce([mail],[userPrincipalName])"#, Null),
        row(r#"Coalesce([mail],[userPrincipalName], "none")"#, Str("none")),
        row(r#"Coalesce([mail], , "d")"#, Str("d")),
        row(r#"Coalesce([mail], "")"#, Str("")),
        rowa(r#"Coalesce([mail], "x")"#, vec![("mail", s(""))], Str("")),
        rowa(r#"Coalesce([p], "x")"#, vec![("p", Value::Multi(vec![]))], Str("x")),
        rowa(r#"Coalesce([p], "x")"#, vec![("p", multi(&["a"]))], Multi(vec!["a"])),
        row(r#"Coalesce("first", Mid("x", 0, 1))"#, Str("first")),
    ]);
}

#[test]
fn count() {
    run(&[
        rowa(
            r#"Count([proxyAddresses])"#,
            vec![("proxyAddresses", multi(&["a", "b", "c"]))],
            Num(3),
        ),
        row(r#"Count([missing])"#, Num(0)),
        rowa(r#"Count([p])"#, vec![("p", Value::Multi(vec![]))], Num(0)),
        rowa(r#"Count([p])"#, vec![("p", s("single"))], Num(1)),
        rowa(
            r#"Count([r])"#,
            vec![(
                "r",
                Value::AppRoleAssignments(vec![role("1", "A", "A"), role("2", "B", "B")]),
            )],
            Num(2),
        ),
    ]);
}

#[test]
fn ignore_flow_if_null_or_empty() {
    let prefix =
        r#"IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof.", "3445", "Prof. Dr."))"#;
    run(&[
        row(r#"IgnoreFlowIfNullOrEmpty([department])"#, Ignore),
        rowa(
            r#"IgnoreFlowIfNullOrEmpty([department])"#,
            vec![("department", s(""))],
            Ignore,
        ),
        rowa(
            r#"IgnoreFlowIfNullOrEmpty([department])"#,
            vec![("department", s("Sales"))],
            Str("Sales"),
        ),
        rowa(
            r#"IgnoreFlowIfNullOrEmpty([p])"#,
            vec![("p", Value::Multi(vec![]))],
            Ignore,
        ),
        rowa(prefix, vec![("prefix", s("3444"))], Str("Prof.")),
        rowa(prefix, vec![("prefix", s("9999"))], Ignore),
        row(prefix, Ignore),
        row(r#"Join(",", IgnoreFlowIfNullOrEmpty([a]), "x")"#, Ignore),
        row(r#"IIF(1 = 2, IgnoreFlowIfNullOrEmpty([a]), "kept")"#, Str("kept")),
        row(
            r#"IgnoreFlowIfNullOrEmpty(Mid("x", 0, 1))"#,
            Err("InvalidArgument", "Mid"),
        ),
    ]);
}

#[test]
fn ignore_is_distinct_from_null() {
    let ignored = eval(r#"IgnoreFlowIfNullOrEmpty([department])"#, &[]).unwrap();
    assert!(ignored.is_ignored());
    assert_eq!(ignored.value(), None);
    let null = eval(r#"Coalesce([department])"#, &[]).unwrap();
    assert!(!null.is_ignored());
    assert_eq!(null.value(), Some(&Value::Null));
    assert_ne!(ignored, null);
}

#[test]
fn iif() {
    let geo = |country: Option<&str>, state: Option<&str>| {
        let mut v = vec![("department", s("Sales"))];
        if let Some(c) = country {
            v.push(("country", s(c)));
        }
        if let Some(st) = state {
            v.push(("state", s(st)));
        }
        v
    };
    let and = r#"IIF([country]="USA",IIF([state]="CA","True","False"),"False")"#;
    let or = r#"IIF([country]="USA","True",IIF([state]="CA","True","False"))"#;
    run(&[
        rowa(
            r#"IIF([country]="USA",[country],[department])"#,
            geo(Some("USA"), None),
            Str("USA"),
        ),
        rowa(
            r#"IIF([country]="USA",[country],[department])"#,
            geo(Some("Canada"), None),
            Str("Sales"),
        ),
        rowa(and, geo(Some("USA"), Some("CA")), Str("True")),
        rowa(and, geo(Some("USA"), Some("NY")), Str("False")),
        rowa(and, geo(Some("Mexico"), None), Str("False")),
        rowa(and, geo(Some("USA"), None), Err("NullCondition", "IIF")),
        rowa(or, geo(Some("Mexico"), Some("CA")), Str("True")),
        rowa(or, geo(Some("USA"), None), Str("True")),
        // The documented unsupported forms: a null or empty attribute in the condition fails.
        rowa(
            r#"IIF([country]="","Other",[country])"#,
            geo(None, None),
            Err("NullCondition", "IIF"),
        ),
        rowa(
            r#"IIF(IsNullOrEmpty([country]),"Other",[country])"#,
            geo(Some(""), None),
            Err("NullCondition", "IIF"),
        ),
        rowa(
            r#"IIF(IsPresent([country]),[country],"Other")"#,
            geo(None, None),
            Err("NullCondition", "IIF"),
        ),
        rowa(
            r#"IIF(IsPresent([country]),[country],"Other")"#,
            geo(Some("US"), None),
            Str("US"),
        ),
        row(r#"IIF(5 > 3, "y", "n")"#, Str("y")),
        row(r#"IIF(3 >= 3, "y", "n")"#, Str("y")),
        row(r#"IIF(2 < 1, "y", "n")"#, Str("n")),
        row(r#"IIF(2 <= 2, "y", "n")"#, Str("y")),
        row(r#"IIF("a" <> "b", "y", "n")"#, Str("y")),
        row(r#"IIF("a" = "A", "y", "n")"#, Str("n")),
        row(r#"IIF("b" > "a", "y", "n")"#, Str("y")),
        rowa(r#"IIF([n] > 9, "big", "small")"#, vec![("n", s("10"))], Str("big")),
        rowa(r#"IIF([n] > "9", "big", "small")"#, vec![("n", s("10"))], Str("small")),
        rowa(
            r#"IIF([d] = "True", "y", "n")"#,
            vec![("d", Value::Bool(true))],
            Str("y"),
        ),
        rowa(r#"IIF([d], "y", "n")"#, vec![("d", Value::Bool(false))], Str("n")),
        row(r#"IIF("True", "y", "n")"#, Str("y")),
        row(r#"IIF(0, "y", "n")"#, Str("n")),
        row(r#"IIF("maybe", "a", "b")"#, Err("InvalidArgument", "IIF")),
        row(r#"IIF(1 = 1, "ok", Mid("x", 0, 1))"#, Str("ok")),
        row(r#"IIF(1 = 1, , "x")"#, Null),
        rowa(
            r#"IIF([p] = "a", "y", "n")"#,
            vec![("p", multi(&["a"]))],
            Err("TypeMismatch", "="),
        ),
        rowa(
            r#"IIF([p], "y", "n")"#,
            vec![("p", multi(&["a"]))],
            Err("TypeMismatch", "IIF"),
        ),
    ]);
}

#[test]
fn comparisons_outside_iif() {
    run(&[
        rowa(r#"[a] = [b]"#, vec![("a", s("x")), ("b", s("x"))], Bool(true)),
        row(r#"[a] = [b]"#, Bool(true)),
        row(r#"[a] = """#, Bool(true)),
        row(r#"CBool(10 > 9)"#, Bool(true)),
        row(r#"CBool(&HA = 10)"#, Bool(true)),
        row(r#"Switch(CStr(1 < 2), "?", "True", "yes")"#, Str("yes")),
        rowa(r#"[p] <> "a""#, vec![("p", multi(&["a"]))], Err("TypeMismatch", "<>")),
    ]);
}

#[test]
fn is_null_family() {
    let present = |v: Value| vec![("displayName", v)];
    run(&[
        row(r#"IsNull([displayName])"#, Bool(true)),
        rowa(r#"IsNull([displayName])"#, present(s("")), Bool(false)),
        rowa(r#"IsNull([displayName])"#, present(s("Jo")), Bool(false)),
        rowa(r#"IsNull([displayName])"#, present(Value::Multi(vec![])), Bool(true)),
        row(r#"IsNull(Coalesce([a], "x"))"#, Bool(false)),
        row(r#"IsNullOrEmpty([displayName])"#, Bool(true)),
        rowa(r#"IsNullOrEmpty([displayName])"#, present(s("")), Bool(true)),
        rowa(r#"IsNullOrEmpty([displayName])"#, present(s("Jo")), Bool(false)),
        rowa(r#"IsNullOrEmpty([displayName])"#, present(multi(&["a"])), Bool(false)),
        row(r#"IsPresent([displayName])"#, Bool(false)),
        rowa(r#"IsPresent([displayName])"#, present(s("")), Bool(false)),
        rowa(r#"IsPresent([displayName])"#, present(s("Jo")), Bool(true)),
        rowa(r#"IsPresent([displayName])"#, present(Value::Number(0)), Bool(true)),
        row(r#"IsString("a")"#, Bool(true)),
        row(r#"IsString("")"#, Bool(true)),
        row(r#"IsString(1)"#, Bool(false)),
        row(r#"IsString([missing])"#, Bool(false)),
        row(r#"IsString(CDate("2021-01-01"))"#, Bool(true)),
        row(r#"IsString(IsNull([x]))"#, Bool(false)),
        rowa(r#"IsString([p])"#, present(multi(&["a"])), Bool(false)),
    ]);
}

#[test]
fn is_present_doc_example_evaluates_as_a_switch() {
    let src = r#"Switch(IsPresent([directManager]),[directManager], IsPresent([skiplevelManager]),[skiplevelManager], IsPresent([director]),[director])"#;
    let all = vec![
        ("directManager", s("M")),
        ("skiplevelManager", s("S")),
        ("director", s("D")),
    ];
    run(&[
        // Source "True" matches the first key IsPresent([skiplevelManager]) = "True".
        rowa(src, all, Str("S")),
        // Nothing present: source "False" matches key IsPresent([skiplevelManager]).
        row(src, Null),
    ]);
}

#[test]
fn item() {
    let p = || vec![("proxyAddresses", multi(&["SMTP:a@x", "smtp:b@x"]))];
    run(&[
        rowa(r#"Item([proxyAddresses], 1)"#, p(), Str("SMTP:a@x")),
        rowa(r#"Item([proxyAddresses], 2)"#, p(), Str("smtp:b@x")),
        rowa(r#"Item([proxyAddresses], "2")"#, p(), Str("smtp:b@x")),
        rowa(r#"Item([proxyAddresses], 5)"#, p(), Null),
        rowa(r#"Item([proxyAddresses], 0)"#, p(), Err("InvalidArgument", "Item")),
        rowa(r#"Item([proxyAddresses], "x")"#, p(), Err("TypeMismatch", "Item")),
        rowa(r#"Item([one], 1)"#, vec![("one", s("solo"))], Str("solo")),
        rowa(r#"Item([one], 2)"#, vec![("one", s("solo"))], Null),
        row(r#"Item([missing], 1)"#, Null),
        rowa(
            r#"Item([r], 1)"#,
            vec![("r", Value::AppRoleAssignments(vec![role("1", "A", "A")]))],
            Err("TypeMismatch", "Item"),
        ),
    ]);
}

#[test]
fn not() {
    run(&[
        rowa(
            r#"Not([IsSoftDeleted])"#,
            vec![("IsSoftDeleted", Value::Bool(false))],
            Bool(true),
        ),
        rowa(
            r#"Not([IsSoftDeleted])"#,
            vec![("IsSoftDeleted", Value::Bool(true))],
            Bool(false),
        ),
        row(r#"Not("True")"#, Bool(false)),
        row(r#"Not("true")"#, Bool(false)),
        row(r#"Not("False")"#, Bool(true)),
        row(r#"Not([missing])"#, Bool(true)),
        row(r#"Not("")"#, Bool(true)),
        row(r#"Not("abc")"#, Bool(true)),
        row(r#"Not(Not("True"))"#, Bool(true)),
    ]);
}

#[test]
fn redact() {
    let out = eval(
        r#"Redact([userPrincipalName])"#,
        &[("userPrincipalName", s("jd@contoso.com"))],
    )
    .unwrap();
    assert!(out.is_redacted());
    assert_eq!(out.value(), Some(&s("jd@contoso.com")));
    assert_eq!(out.log_text(), "[Redact]");

    let out = eval(r#"Redact("StringToBeRedacted")"#, &[]).unwrap();
    assert_eq!(
        out,
        Outcome::Value {
            value: s("StringToBeRedacted"),
            redacted: true
        }
    );

    let out = eval(r#"Redact(RandomString(6,3,0,0,3))"#, &[]).unwrap();
    assert!(out.is_redacted());
    assert_eq!(out.value().and_then(Value::as_str).map(|v| v.chars().count()), Some(6));

    let out = eval(r#"Join("-", Redact([a]), "x")"#, &[("a", s("secret"))]).unwrap();
    assert_eq!(
        out,
        Outcome::Value {
            value: s("secret-x"),
            redacted: true
        }
    );

    let plain = eval(r#"Append("a", "b")"#, &[]).unwrap();
    assert!(!plain.is_redacted());
    assert_eq!(plain.log_text(), "ab");

    run(&[
        row(r#"Redact([missing])"#, Null),
        row(r#"Redact(IIF(1 = 2, Redact("x"), "y"))"#, Str("y")),
    ]);
    let branch = eval(r#"IIF(1 = 2, Redact("x"), "y")"#, &[]).unwrap();
    assert!(!branch.is_redacted(), "an unevaluated Redact does not mark the result");
}

#[test]
fn remove_duplicates() {
    run(&[
        rowa(
            r#"RemoveDuplicates([proxyAddresses])"#,
            vec![("proxyAddresses", multi(&["a", "b", "a", "c", "b"]))],
            Multi(vec!["a", "b", "c"]),
        ),
        rowa(
            r#"RemoveDuplicates([p])"#,
            vec![("p", multi(&["A", "a"]))],
            Multi(vec!["A", "a"]),
        ),
        rowa(
            r#"RemoveDuplicates([p])"#,
            vec![("p", Value::Multi(vec![]))],
            Multi(vec![]),
        ),
        rowa(r#"RemoveDuplicates([p])"#, vec![("p", s("solo"))], Str("solo")),
        row(r#"RemoveDuplicates([missing])"#, Null),
        row(r#"Count(RemoveDuplicates(Split("x,y,x", ",")))"#, Num(2)),
        rowa(
            r#"RemoveDuplicates([r])"#,
            vec![(
                "r",
                Value::AppRoleAssignments(vec![role("1", "A", "A"), role("1", "A", "A")]),
            )],
            Val(Value::AppRoleAssignments(vec![role("1", "A", "A")])),
        ),
    ]);
}

#[test]
fn switch() {
    let tz = r#"Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane", "SA", "Australia/Adelaide")"#;
    let active = r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#;
    let st = |v: &str| vec![("state", s(v))];
    run(&[
        rowa(tz, st("QLD"), Str("Australia/Brisbane")),
        rowa(tz, st("SA"), Str("Australia/Adelaide")),
        rowa(tz, st("XX"), Str("Australia/Sydney")),
        rowa(tz, st("qld"), Str("Australia/Sydney")),
        row(tz, Str("Australia/Sydney")),
        rowa(active, vec![("IsSoftDeleted", Value::Bool(false))], Str("True")),
        rowa(active, vec![("IsSoftDeleted", Value::Bool(true))], Str("False")),
        rowa(active, vec![("IsSoftDeleted", s("False"))], Str("True")),
        row(active, Null),
        rowa(
            r#"Switch(ToLower([statusFlag]), "0", "true", "1", "false", "0")"#,
            vec![("statusFlag", s("TRUE"))],
            Str("1"),
        ),
        rowa(
            r#"Switch([statusFlag], "Default Value", "true", "1", "", "0")"#,
            vec![("statusFlag", s(""))],
            Str("0"),
        ),
        row(
            r#"Switch([statusFlag], "Default Value", "true", "1", "", "0")"#,
            Str("0"),
        ),
        rowa(
            r#"Switch([statusFlag], "Default Value", "true", "1", "", "0")"#,
            vec![("statusFlag", s("x"))],
            Str("Default Value"),
        ),
        row(r#"Switch([BusinessTitle],[BusinessTitle],"","N/A")"#, Str("N/A")),
        rowa(
            r#"Switch([BusinessTitle],[BusinessTitle],"","N/A")"#,
            vec![("BusinessTitle", s("Dev"))],
            Str("Dev"),
        ),
        rowa(
            r#"Switch([n], "other", 1, "one", 2, "two")"#,
            vec![("n", Value::Number(2))],
            Str("two"),
        ),
        row(r#"Switch("a", Mid("x", 0, 1), "a", "ok")"#, Str("ok")),
        row(r#"Switch("b", "d", "a", Mid("x", 0, 1))"#, Str("d")),
        rowa(
            r#"Switch([p], "d", "a", "b")"#,
            vec![("p", multi(&["a"]))],
            Err("TypeMismatch", "Switch"),
        ),
        rowa(
            r#"Switch("a", "d", [p], "b")"#,
            vec![("p", multi(&["a"]))],
            Err("TypeMismatch", "Switch"),
        ),
    ]);
}

#[test]
fn switch_type_mismatch_reports_the_argument_position() {
    let err = eval(r#"Switch("z", "d", "a", "b", [p], "c")"#, &[("p", multi(&["a"]))]).unwrap_err();
    assert_eq!(
        err,
        sync_expr::EvalError::TypeMismatch {
            function: "Switch",
            argument: 5,
            expected: "a single value",
            found: "multi-valued"
        }
    );
}
