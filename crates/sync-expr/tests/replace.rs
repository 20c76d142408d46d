//! Replace: the five documented behaviours, .NET substitutions, errors.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use common::Want::{Err, Null, Str};
use common::{multi, row, rowa, run, s};

const PHONE: &str =
    r#"Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", , "${phoneNumber}", , )"#;
const FALLBACK: &str =
    r#"Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber" , , [mobile], )"#;

#[test]
fn old_value_and_replacement_value() {
    run(&[
        rowa(
            r#"Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )"#,
            vec![("BusinessTitle", s("Product Developer"))],
            Str("Software Engineer"),
        ),
        rowa(
            r#"Replace([mail], "@contoso.com", , ,"", ,)"#,
            vec![("mail", s("john.doe@contoso.com"))],
            Str("john.doe"),
        ),
        row(r#"Replace("a-b-c", "-", , , "+", , )"#, Str("a+b+c")),
        row(r#"Replace("Abc abc", "abc", , , "x", , )"#, Str("Abc x")),
        row(r#"Replace("a-b", "-", , , [missing], , )"#, Str("ab")),
        row(r#"Replace([missing], "-", , , "+", , )"#, Null),
        row(r#"Replace("", "-", , , "+", , )"#, Str("")),
        row(r#"Replace("a", "", , , "+", , )"#, Err("InvalidArgument", "Replace")),
        rowa(
            r#"Replace([p], "-", , , "+", , )"#,
            vec![("p", multi(&["a-b"]))],
            Err("TypeMismatch", "Replace"),
        ),
    ]);
}

#[test]
fn old_value_and_template() {
    run(&[
        rowa(
            r#"Replace([UserID],"<username>", , , , , "<username>@contoso.com")"#,
            vec![("UserID", s("jsmith"))],
            Str("jsmith@contoso.com"),
        ),
        row(r#"Replace("x", "*", , , , , "*-*")"#, Str("x-x")),
        row(r#"Replace([missing],"<u>", , , , , "<u>@contoso.com")"#, Null),
        row(r#"Replace("x","<u>", , , , , [missing])"#, Null),
    ]);
}

#[test]
fn regex_pattern_and_replacement_value() {
    run(&[
        rowa(PHONE, vec![("telephoneNumber", s("+91 9998887777"))], Str("9998887777")),
        // The doc claims "19998887777", but its pattern does not remove '+'.
        rowa(
            r#"Replace([mobile], , "[()\\s-]+", , "", , )"#,
            vec![("mobile", s("+1 (999) 888-7777"))],
            Str("+19998887777"),
        ),
        rowa(
            r#"Replace([mailNickname], , "[a-zA-Z_]*", , "", , )"#,
            vec![("mailNickname", s("john_doe72"))],
            Str("72"),
        ),
        row(
            r#"Replace("John Smith", , "(\\w+) (\\w+)", , "$2, $1", , )"#,
            Str("Smith, John"),
        ),
        row(
            r#"Replace("John Smith", , "(?<f>\\w+) (?<l>\\w+)", , "${l} ${f}", , )"#,
            Str("Smith John"),
        ),
        row(r#"Replace("ab", , "b", , "[$&]", , )"#, Str("a[b]")),
        row(r#"Replace("ab", , "b", , "$$", , )"#, Str("a$")),
        row(r#"Replace("abc", , "b", , "<$`|$'>", , )"#, Str("a<a|c>c")),
        row(r#"Replace("ab", , "b", , "$_", , )"#, Str("aab")),
        row(r#"Replace("ab", , "(a)(b)", , "$+", , )"#, Str("b")),
        row(r#"Replace("ab", , "b", , "${nope}$9$x", , )"#, Str("a${nope}$9$x")),
        row(r#"Replace("ab", , "(b)", , "$10", , )"#, Str("ab0")),
        row(r#"Replace([missing], , "a", , "b", , )"#, Null),
        row(r#"Replace("a", , "(", , "b", , )"#, Err("InvalidRegex", "Replace")),
        rowa(
            PHONE,
            vec![("telephoneNumber", multi(&["+91 9998887777"]))],
            Err("TypeMismatch", "Replace"),
        ),
    ]);
}

#[test]
fn regex_group_and_replacement_value() {
    run(&[
        rowa(
            r#"Replace([AddressLineData], ,"(?<streetNumber>^\\d*)","streetNumber", "888", , )"#,
            vec![("AddressLineData", s("545 Tremont Street"))],
            Str("888 Tremont Street"),
        ),
        rowa(
            r#"Replace([userPrincipalName], , "(?<Suffix>@(.)*)", "Suffix", "", , )"#,
            vec![("userPrincipalName", s("jsmith@contoso.com"))],
            Str("jsmith"),
        ),
        row(r#"Replace("a1b22c", , "(?<d>\\d+)", "d", "*", , )"#, Str("a*b*c")),
        row(r#"Replace("a1b", , "x(?<d>\\d)?|(?<e>b)", "d", "*", , )"#, Str("a1b")),
        row(r#"Replace([missing], , "(?<d>\\d)", "d", "*", , )"#, Null),
        row(
            r#"Replace("a1", , "(?<d>\\d)", "nope", "*", , )"#,
            Err("InvalidArgument", "Replace"),
        ),
    ]);
}

#[test]
fn regex_group_and_replacement_attribute() {
    run(&[
        rowa(
            FALLBACK,
            vec![("telephoneNumber", s("")), ("mobile", s("+91 8887779999"))],
            Str("8887779999"),
        ),
        rowa(FALLBACK, vec![("mobile", s("+91 8887779999"))], Str("8887779999")),
        rowa(
            FALLBACK,
            vec![("telephoneNumber", s("+1 555")), ("mobile", s("+91 8887779999"))],
            Str("+1 555"),
        ),
        rowa(FALLBACK, vec![("mobile", s("no digits"))], Null),
        row(FALLBACK, Null),
    ]);
}

#[test]
fn unsupported_argument_combinations() {
    run(&[
        row(r#"Replace("a", "b")"#, Err("InvalidArgument", "Replace")),
        row(r#"Replace("a", , "b")"#, Err("InvalidArgument", "Replace")),
        row(r#"Replace("a", , , , "b", , )"#, Err("InvalidArgument", "Replace")),
        row(
            r#"Replace("a", , "(?<g>a)", "g", , , )"#,
            Err("InvalidArgument", "Replace"),
        ),
    ]);
}
