//! Parser: valid inputs, invalid inputs with positions, printing round trips, limits.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use sync_expr::{
    CompareOp, Constant, Expr, ExprKind, Func, MAX_DEPTH, MAX_EXPRESSION_CHARS, ParseErrorKind, ParseOptions, Span,
    parse, parse_with,
};

const VALID: &[&str] = &[
    r#"Append([userPrincipalName], ".test")"#,
    r#"AppRoleAssignmentsComplex([appRoleAssignments])"#,
    r#"AssertiveAppRoleAssignmentsComplex([appRoleAssignments])"#,
    r#"BitAnd(&HF, &HF7)"#,
    r#"CBool([attribute1] = [attribute2])"#,
    r#"CDate([StatusHireDate])"#,
    r#"Coalesce([mail],[userPrincipalName])"#,
    r#"ConvertToBase64("Hello world!")"#,
    r#"ConvertToUTF8Hex("Hello world!")"#,
    r#"Count([proxyAddresses])"#,
    r#"CStr([dn])"#,
    r#"DateAdd("d", 7, CDate([StatusHireDate]))"#,
    r#"DateAdd("d", -10, CDate([StatusHireDate]))"#,
    r#"DateDiff("d", Now(), CDate([StatusHireDate]))"#,
    "Switch([Active], , \n  \"1\", IIF(DateDiff(\"d\", Now(), CDate([StatusHireDate])) > 5, \"False\", \"True\"), \n  \"0\", \"False\")",
    r#"DateFromNum(129699324000000000)"#,
    r#"FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")"#,
    r#"Guid()"#,
    r#"IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof.", "3445", "Prof. Dr."))"#,
    r#"IIF([country]="USA",IIF([state]="CA","True","False"),"False")"#,
    r#"InStr("repEated","e",3,vbBinaryCompare)"#,
    r#"InStr("repEated","e",3,vbTextCompare)"#,
    r#"Switch(IsPresent([directManager]),[directManager], IsPresent([skiplevelManager]),[skiplevelManager], IsPresent([director]),[director])"#,
    r#"Item([proxyAddresses], 1)"#,
    r#"Join(", ", "", [surname], [givenName])"#,
    r#"Left("John Doe", 3)"#,
    r#"NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))"#,
    r#"PCase([lastName]," '-")"#,
    r#"Redact(RandomString(6,3,0,0,3))"#,
    r#"RandomString(10,2,2,2,1,"?,")"#,
    r#"Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", , "${phoneNumber}", , )"#,
    r#"Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber" , , [mobile], )"#,
    r#"Replace([mail], "@contoso.com", , ,"", ,)"#,
    "SelectUniqueValue( \n        Join(\"@\", NormalizeDiacritics(StripSpaces(Join(\".\",  [PreferredFirstName], [PreferredLastName]))), \"contoso.com\"), \n        Join(\"@\", NormalizeDiacritics(StripSpaces(Join(\".\",  Mid([PreferredFirstName], 1, 1), [PreferredLastName]))), \"contoso.com\")\n    )",
    r#"SingleAppRoleAssignment([appRoleAssignments])"#,
    r#"Split([extensionAttribute5], ",")"#,
    r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
    r#"ToLower([statusFlag], "tr-TR")"#,
    r#"Word("This,string!has&many separators",3,",!&#")"#,
    r#"Join("", 1000, Replace(ConvertToUTF8Hex([objectId]), , "[a-zA-Z_]*", , "", , ))"#,
    r#"Not([IsSoftDeleted])"#,
    r#"[mail]"#,
    r#""just a constant""#,
    r#""Company name: \"Contoso\" \\ done""#,
    r#"IIF([a] <> [b], "x", "y")"#,
    r#"IIF([a] >= 10, "x", IIF([a] <= 2, "y", IIF([a] < 5, "z", "w")))"#,
    r#"[urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber]"#,
    "  \t Append ( [a] ,\r\n \"b\" )  ",
];

#[test]
fn valid_expressions_parse_and_round_trip() {
    assert!(VALID.len() >= 30);
    for src in VALID {
        let e = parse(src).unwrap_or_else(|err| panic!("{src}: {err}"));
        let printed = e.to_string();
        let again = parse(&printed).unwrap_or_else(|err| panic!("{printed}: {err}"));
        assert_eq!(again, e, "compact round trip of {src}");
        assert_eq!(again.to_string(), printed, "printing is stable for {src}");
        let pretty = format!("{e:#}");
        let from_pretty = parse(&pretty).unwrap_or_else(|err| panic!("{pretty}: {err}"));
        assert_eq!(from_pretty, e, "pretty round trip of {src}");
    }
}

#[test]
fn canonical_printing() {
    let cases = [
        (
            r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
            r#"Switch([IsSoftDeleted], , "False", "True", "True", "False")"#,
        ),
        (
            r#"Replace([mail], "@contoso.com", , ,"", ,)"#,
            r#"Replace([mail], "@contoso.com", , , "", , )"#,
        ),
        (r#"BitAnd(&HF, &hf7)"#, r#"BitAnd(&HF, &HF7)"#),
        (
            r#"IIF([country]="USA",[country],[department])"#,
            r#"IIF([country] = "USA", [country], [department])"#,
        ),
        (r#""a \"b\" \\ c""#, r#""a \"b\" \\ c""#),
        (r#""\d+""#, r#""\\d+""#),
        (r#"Guid( )"#, r#"Guid()"#),
        (r#"[ mail ]"#, r#"[mail]"#),
        (
            r#"InStr("a", "b", 1, vbTextCompare)"#,
            r#"InStr("a", "b", 1, vbTextCompare)"#,
        ),
    ];
    for (src, want) in cases {
        assert_eq!(parse(src).unwrap().to_string(), want, "{src}");
    }
}

#[test]
fn pretty_printing_indents_nested_calls() {
    let e = parse(r#"Join("@", ToLower([a]), "x")"#).unwrap();
    assert_eq!(format!("{e:#}"), "Join(\n  \"@\",\n  ToLower([a]),\n  \"x\"\n)");
}

#[test]
fn ast_shape_and_spans() {
    let e = parse(r#"Append([a], "b")"#).unwrap();
    assert_eq!(e.span, Span::new(0, 16));
    let ExprKind::Call { func, args } = &e.kind else {
        panic!("not a call")
    };
    assert_eq!(*func, Func::Append);
    assert_eq!(args[0].kind, ExprKind::Attribute("a".into()));
    assert_eq!(args[0].span, Span::new(7, 10));
    assert_eq!(args[1].kind, ExprKind::Str("b".into()));
    assert_eq!(args[1].span, Span::new(12, 15));

    let e = parse(r#"Switch([x], , "a", "b")"#).unwrap();
    let ExprKind::Call { args, .. } = &e.kind else {
        panic!("not a call")
    };
    assert_eq!(args[1].kind, ExprKind::Empty);
    assert_eq!(args[1].span, Span::new(12, 12));

    let e = parse(r#"IIF([n] >= -3, "a", "b")"#).unwrap();
    let ExprKind::Call { args, .. } = &e.kind else {
        panic!("not a call")
    };
    let ExprKind::Compare { op, lhs, rhs } = &args[0].kind else {
        panic!("not a comparison")
    };
    assert_eq!(*op, CompareOp::Ge);
    assert_eq!(lhs.kind, ExprKind::Attribute("n".into()));
    assert_eq!(rhs.kind, ExprKind::Number { value: -3, hex: false });
    assert_eq!(args[0].span, Span::new(4, 13));

    let e = parse(r#"InStr("a", "b", 1, vbTextCompare)"#).unwrap();
    let ExprKind::Call { args, .. } = &e.kind else {
        panic!("not a call")
    };
    assert_eq!(args[3].kind, ExprKind::Constant(Constant::VbTextCompare));
}

#[test]
fn equality_ignores_spans_but_not_structure() {
    assert_eq!(
        parse("Append([a],\"b\")").unwrap(),
        parse("  Append( [a] , \"b\" )").unwrap()
    );
    assert_ne!(parse("Append([a],\"b\")").unwrap(), parse("Append([a],\"c\")").unwrap());
    assert_ne!(parse("BitAnd(&HF, 1)").unwrap(), parse("BitAnd(15, 1)").unwrap());
}

#[test]
fn attributes_and_functions_are_listed_once_in_order() {
    let e = parse(VALID[33]).unwrap();
    assert_eq!(
        e.attributes(),
        vec!["PreferredFirstName".to_string(), "PreferredLastName".to_string()]
    );
    assert_eq!(
        e.functions(),
        vec![
            Func::SelectUniqueValue,
            Func::Join,
            Func::NormalizeDiacritics,
            Func::StripSpaces,
            Func::Mid
        ]
    );
    let e = parse(r#"Replace([telephoneNumber], , "p", "g", , [mobile], )"#).unwrap();
    assert_eq!(
        e.attributes(),
        vec!["telephoneNumber".to_string(), "mobile".to_string()]
    );
    assert!(parse(r#"Guid()"#).unwrap().attributes().is_empty());
}

/// (source, byte position, fragment of the message)
const INVALID: &[(&str, usize, &str)] = &[
    (r#"Append([a] "b")"#, 11, "expected ',' or ')', found string constant"),
    ("", 0, "expected an expression, found end of input"),
    ("   ", 3, "expected an expression, found end of input"),
    (r#"Append([a], "b""#, 15, "expected ',' or ')', found end of input"),
    (
        r#"append([a], "b")"#,
        0,
        "unknown function 'append' (did you mean 'Append'?)",
    ),
    (r#"Foo(1)"#, 0, "unknown function 'Foo'"),
    (r#"Left("abc")"#, 0, "function Left takes 2 arguments, found 1"),
    (r#"Guid(1)"#, 0, "function Guid takes no arguments, found 1"),
    (
        r#"Switch([a], "d", "k")"#,
        0,
        "function Switch takes an even number (at least 4) of arguments, found 3",
    ),
    (
        r#"Join(",", Coalesce())"#,
        10,
        "function Coalesce takes at least 1 argument, found 0",
    ),
    (r#"Append([a], "b))"#, 12, "unterminated string constant"),
    (r#"Append([a, "b")"#, 7, "unterminated attribute name"),
    (r#"Append([], "b")"#, 7, "empty attribute name"),
    (r#"Append([ ], "b")"#, 7, "empty attribute name"),
    (r#"Append([a], "b") extra"#, 17, "expected end of input, found 'extra'"),
    (r#"Append([a], "b"))"#, 16, "expected end of input, found ')'"),
    (r#"Append([a]; "b")"#, 10, "unexpected character ';'"),
    (
        r#"Append"#,
        6,
        "expected '(' after the function name, found end of input",
    ),
    (
        r#"Append [a]"#,
        7,
        "expected '(' after the function name, found attribute [a]",
    ),
    (r#"foo"#, 0, "unknown identifier 'foo'"),
    (
        r#"InStr("a", "b", 1, vbtextcompare)"#,
        19,
        "unknown identifier 'vbtextcompare'",
    ),
    (
        r#"BitAnd(&H, 1)"#,
        9,
        "expected hexadecimal digits after '&H', found ','",
    ),
    (
        r#"Mid("a", 99999999999999999999, 1)"#,
        9,
        "number constant out of range",
    ),
    (r#"BitAnd(&HFFFFFFFFFFFFFFFFF, 1)"#, 7, "number constant out of range"),
    (
        r#"Join(",", SelectUniqueValue("a", "b"))"#,
        10,
        "SelectUniqueValue must be the top-level expression",
    ),
    (
        r#"SelectUniqueValue("a", "b") = "a""#,
        0,
        "SelectUniqueValue must be the top-level expression",
    ),
    (
        r#"IIF([a] = [b] = [c], "x", "y")"#,
        14,
        "expected ',' or ')', found '='",
    ),
    (r#"IIF([a] = , "x", "y")"#, 10, "expected an expression, found ','"),
    (r#"Append(,"#, 8, "expected an expression, found end of input"),
    (r#"Append((1), 2)"#, 7, "expected an expression, found '('"),
    (r#"Append([a], -)"#, 12, "unexpected character '-'"),
    (r#"Append("é" x)"#, 12, "expected ',' or ')', found 'x'"),
    (r#"Append([a[b]], "c")"#, 9, "unexpected character '['"),
    (r#"Append("\"#, 7, "unterminated string constant"),
];

#[test]
fn invalid_expressions_report_position_and_expectation() {
    assert!(INVALID.len() >= 20);
    for (src, pos, fragment) in INVALID {
        let err = parse(src).expect_err(src);
        assert_eq!(err.pos, *pos, "{src}: {err}");
        let msg = err.to_string();
        assert!(msg.contains(fragment), "{src}: message {msg:?} lacks {fragment:?}");
        assert!(msg.ends_with(&format!("at byte {pos}")), "{src}: {msg}");
    }
}

#[test]
fn the_brief_example_message() {
    let err = parse(r#"Append([mail] ".x")"#).unwrap_err();
    assert_eq!(err.to_string(), "expected ',' or ')', found string constant at byte 14");
    assert!(matches!(
        err.kind,
        ParseErrorKind::Expected {
            expected: "',' or ')'",
            ..
        }
    ));
}

#[test]
fn argument_count_error_names_the_function() {
    let err = parse(r#"IIF([a] = "b", "c")"#).unwrap_err();
    assert_eq!(
        err.kind,
        ParseErrorKind::ArgumentCount {
            function: "IIF",
            expected: "3 arguments",
            found: 2
        }
    );
}

fn nested(depth: usize) -> String {
    format!("{}\"a\"{}", "StripSpaces(".repeat(depth), ")".repeat(depth))
}

#[test]
fn length_limit_is_ten_thousand_characters() {
    let body = |n: usize| format!("\"{}\"", "x".repeat(n - 2));
    assert!(parse(&body(MAX_EXPRESSION_CHARS)).is_ok());
    let err = parse(&body(MAX_EXPRESSION_CHARS + 1)).unwrap_err();
    assert_eq!(err.pos, MAX_EXPRESSION_CHARS);
    assert_eq!(
        err.kind,
        ParseErrorKind::TooLong {
            len: 10_001,
            max: 10_000
        }
    );
    // Characters, not bytes: 9,998 two-byte characters are fine.
    let wide = format!("\"{}\"", "é".repeat(MAX_EXPRESSION_CHARS - 2));
    assert!(parse(&wide).is_ok());
}

#[test]
fn depth_limit() {
    assert!(parse(&nested(MAX_DEPTH)).is_ok());
    let err = parse(&nested(MAX_DEPTH + 1)).unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::TooDeep { max: MAX_DEPTH });
    assert_eq!(err.pos, MAX_DEPTH * "StripSpaces(".len());
    let printed = parse(&nested(MAX_DEPTH)).unwrap().to_string();
    assert_eq!(printed, nested(MAX_DEPTH));
}

#[test]
fn hundred_thousand_deep_input_is_an_error_not_a_crash() {
    let deep = nested(100_000);
    let err = parse(&deep).unwrap_err();
    assert!(matches!(err.kind, ParseErrorKind::TooLong { .. }), "{err}");
    let unlimited = ParseOptions {
        max_chars: usize::MAX,
        ..ParseOptions::default()
    };
    let err = parse_with(&deep, &unlimited).unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::TooDeep { max: MAX_DEPTH });
    let opens = "(".repeat(100_000);
    assert!(parse_with(&format!("Guid{opens}"), &unlimited).is_err());
    let tight = ParseOptions {
        max_chars: 100,
        max_depth: 2,
    };
    assert_eq!(
        parse_with(&nested(3), &tight).unwrap_err().kind,
        ParseErrorKind::TooDeep { max: 2 }
    );
    assert!(parse_with(&nested(2), &tight).is_ok());
}

#[test]
fn every_function_name_is_case_sensitive() {
    for f in Func::ALL {
        assert_eq!(Func::from_name(f.name()), Some(*f));
        assert_eq!(Func::from_name(&f.name().to_lowercase()), None, "{f}");
        assert_eq!(Func::from_name(&f.name().to_uppercase()).filter(|g| g != f), None);
    }
}

#[test]
fn expr_values_build_by_hand_print() {
    let e = Expr::new(
        ExprKind::Call {
            func: Func::Append,
            args: vec![
                Expr::new(ExprKind::Attribute("a".into()), Span::default()),
                Expr::new(ExprKind::Str("q\"".into()), Span::default()),
            ],
        },
        Span::default(),
    );
    assert_eq!(e.to_string(), r#"Append([a], "q\"")"#);
    assert_eq!(parse(&e.to_string()).unwrap(), e);
}
