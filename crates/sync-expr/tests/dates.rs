//! Date functions: documented examples, null, empty and wrong-type cases.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

mod common;

use common::Want::{Err, Null, Num, Str, Val};
use common::{multi, row, rowa, run, s, value};
use sync_expr::{EvalEnv, Outcome, SplitMix64, Value, format_date_time, parse};
use time::macros::datetime;

fn hire(date: &str) -> Vec<(&'static str, Value)> {
    vec![("StatusHireDate", s(date))]
}

#[test]
fn cdate() {
    run(&[
        rowa(
            r#"CStr(CDate([StatusHireDate]))"#,
            hire("2020-03-16-07:00"),
            Str("3/16/2020 7:00:00 AM"),
        ),
        rowa(
            r#"CDate([StatusHireDate])"#,
            hire("2020-03-16-07:00"),
            Val(Value::DateTime(datetime!(2020-03-16 07:00 UTC))),
        ),
        row(r#"CStr(CDate("2021-06-30+08:00"))"#, Str("6/29/2021 4:00:00 PM")),
        row(
            r#"CStr(CDate("2009-06-15T01:45:30-07:00"))"#,
            Str("6/15/2009 8:45:30 AM"),
        ),
        row(
            r#"CDate("8/25/2021 5:41:18 PM")"#,
            Val(Value::DateTime(datetime!(2021-08-25 17:41:18 UTC))),
        ),
        row(
            r#"CDate("12/31/2020 12:00:00 AM")"#,
            Val(Value::DateTime(datetime!(2020-12-31 00:00 UTC))),
        ),
        row(
            r#"CDate("2020-12-31 23:59:59-08:00")"#,
            Val(Value::DateTime(datetime!(2021-01-01 07:59:59 UTC))),
        ),
        row(
            r#"CDate("2009-06-15T13:45:30.5Z")"#,
            Val(Value::DateTime(datetime!(2009-06-15 13:45:30.5 UTC))),
        ),
        row(
            r#"CDate("20150123105347.1Z")"#,
            Val(Value::DateTime(datetime!(2015-01-23 10:53:47.1 UTC))),
        ),
        row(
            r#"CDate(CDate("2021-08-24"))"#,
            Val(Value::DateTime(datetime!(2021-08-24 00:00 UTC))),
        ),
        row(r#"CDate([missing])"#, Null),
        row(r#"CDate("")"#, Null),
        row(r#"CDate("garbage")"#, Err("InvalidArgument", "CDate")),
        row(r#"CDate("2021-02-30")"#, Err("InvalidArgument", "CDate")),
        row(r#"CDate("2021-01-01T25:00")"#, Err("InvalidArgument", "CDate")),
        row(r#"CDate(5)"#, Err("TypeMismatch", "CDate")),
        rowa(
            r#"CDate([p])"#,
            vec![("p", multi(&["2021-01-01"]))],
            Err("TypeMismatch", "CDate"),
        ),
    ]);
}

#[test]
fn date_add() {
    let h = || hire("2012-03-16-07:00");
    run(&[
        rowa(
            r#"CStr(DateAdd("d", 7, CDate([StatusHireDate])))"#,
            h(),
            Str("3/23/2012 7:00:00 AM"),
        ),
        rowa(
            r#"CStr(DateAdd("d", -10, CDate([StatusHireDate])))"#,
            h(),
            Str("3/6/2012 7:00:00 AM"),
        ),
        rowa(
            r#"CStr(DateAdd("ww", 2, CDate([StatusHireDate])))"#,
            h(),
            Str("3/30/2012 7:00:00 AM"),
        ),
        rowa(
            r#"CStr(DateAdd("m", 10, CDate([StatusHireDate])))"#,
            h(),
            Str("1/16/2013 7:00:00 AM"),
        ),
        rowa(
            r#"CStr(DateAdd("yyyy", 2, CDate([StatusHireDate])))"#,
            h(),
            Str("3/16/2014 7:00:00 AM"),
        ),
        row(
            r#"CStr(DateAdd("m", 1, CDate("2021-01-31")))"#,
            Str("2/28/2021 12:00:00 AM"),
        ),
        row(
            r#"CStr(DateAdd("yyyy", 1, CDate("2020-02-29")))"#,
            Str("2/28/2021 12:00:00 AM"),
        ),
        row(
            r#"CStr(DateAdd("m", -13, CDate("2021-03-31")))"#,
            Str("2/29/2020 12:00:00 AM"),
        ),
        row(r#"CStr(DateAdd("h", 5, "2021-01-01"))"#, Str("1/1/2021 5:00:00 AM")),
        row(r#"CStr(DateAdd("n", 90, "2021-01-01"))"#, Str("1/1/2021 1:30:00 AM")),
        row(r#"CStr(DateAdd("s", -1, "2021-01-01"))"#, Str("12/31/2020 11:59:59 PM")),
        row(r#"CStr(DateAdd("d", "3", Now()))"#, Str("8/28/2021 5:41:18 PM")),
        row(r#"DateAdd("d", 1, [missing])"#, Null),
        row(r#"DateAdd("d", 1, "")"#, Null),
        row(r#"DateAdd("x", 1, Now())"#, Err("InvalidArgument", "DateAdd")),
        row(r#"DateAdd(, 1, Now())"#, Err("InvalidArgument", "DateAdd")),
        row(r#"DateAdd("d", "abc", Now())"#, Err("TypeMismatch", "DateAdd")),
        row(r#"DateAdd("d", , Now())"#, Err("InvalidArgument", "DateAdd")),
        row(r#"DateAdd("yyyy", 100000, Now())"#, Err("InvalidArgument", "DateAdd")),
        row(r#"DateAdd("d", 1, "not a date")"#, Err("InvalidArgument", "DateAdd")),
        row(r#"DateAdd("d", 1, 5)"#, Err("TypeMismatch", "DateAdd")),
    ]);
}

#[test]
fn date_diff() {
    let h = || hire("2012-03-16-07:00");
    run(&[
        row(
            r#"DateDiff("d", CDate("2021-08-18+08:00"), CDate("2021-08-31+08:00"))"#,
            Num(13),
        ),
        rowa(r#"DateDiff("d", Now(), CDate([StatusHireDate]))"#, h(), Num(-3449)),
        rowa(r#"DateDiff("ww", Now(), CDate([StatusHireDate]))"#, h(), Num(-493)),
        rowa(r#"DateDiff("m", Now(), CDate([StatusHireDate]))"#, h(), Num(-113)),
        rowa(r#"DateDiff("yyyy", Now(), CDate([StatusHireDate]))"#, h(), Num(-9)),
        row(r#"DateDiff("d", "2021-08-31+08:00", "2021-08-31+08:00")"#, Num(0)),
        row(r#"DateDiff("h", "2021-08-24", "2021-08-25")"#, Num(24)),
        row(r#"DateDiff("n", "2021-08-24", "2021-08-25")"#, Num(1440)),
        row(r#"DateDiff("s", "2021-08-24", "2021-08-25")"#, Num(86400)),
        row(r#"DateDiff("d", "2021-08-24T12:00", "2021-08-25T11:59")"#, Num(0)),
        row(r#"DateDiff("yyyy", "2021-12-31T23:59", "2022-01-01")"#, Num(1)),
        row(r#"DateDiff("q", "2021-03-31", "2021-04-01")"#, Num(1)),
        row(r#"DateDiff("d", [missing], Now())"#, Null),
        row(r#"DateDiff("d", Now(), "")"#, Null),
        row(r#"DateDiff("days", Now(), Now())"#, Err("InvalidArgument", "DateDiff")),
        row(r#"DateDiff("d", Now(), "soon")"#, Err("InvalidArgument", "DateDiff")),
        rowa(
            r#"DateDiff("d", Now(), [p])"#,
            vec![("p", multi(&["2021-01-01"]))],
            Err("TypeMismatch", "DateDiff"),
        ),
    ]);
}

#[test]
fn date_diff_inside_switch_and_iif() {
    let src = "Switch([Active], , \n  \"1\", IIF(DateDiff(\"d\", Now(), CDate([StatusHireDate])) > 5, \"False\", \"True\"), \n  \"0\", \"False\")";
    let with = |active: &str, hired: &str| vec![("Active", s(active)), ("StatusHireDate", s(hired))];
    run(&[
        rowa(src, with("1", "2021-09-04"), Str("False")),
        rowa(src, with("1", "2021-08-28"), Str("True")),
        rowa(src, with("0", "2021-08-28"), Str("False")),
        rowa(src, with("2", "2021-08-28"), Null),
        rowa(src, vec![("Active", s("1"))], Err("NullCondition", "IIF")),
    ]);
}

#[test]
fn date_from_num() {
    run(&[
        row(
            r#"DateFromNum(129699324000000000)"#,
            Val(Value::DateTime(datetime!(2012-01-01 23:00 UTC))),
        ),
        row(r#"CStr(DateFromNum(129699324000000000))"#, Str("1/1/2012 11:00:00 PM")),
        rowa(
            r#"DateFromNum([lastLogonTimestamp])"#,
            vec![("lastLogonTimestamp", Value::Number(129_699_324_000_000_000))],
            Val(Value::DateTime(datetime!(2012-01-01 23:00 UTC))),
        ),
        rowa(
            r#"DateFromNum([lastLogonTimestamp])"#,
            vec![("lastLogonTimestamp", s("129699324000000000"))],
            Val(Value::DateTime(datetime!(2012-01-01 23:00 UTC))),
        ),
        row(
            r#"DateFromNum(0)"#,
            Val(Value::DateTime(datetime!(1601-01-01 00:00 UTC))),
        ),
        row(r#"DateFromNum([missing])"#, Null),
        row(r#"DateFromNum("")"#, Null),
        row(r#"DateFromNum(-1)"#, Err("InvalidArgument", "DateFromNum")),
        row(
            r#"DateFromNum(9223372036854775807)"#,
            Err("InvalidArgument", "DateFromNum"),
        ),
        row(r#"DateFromNum("abc")"#, Err("TypeMismatch", "DateFromNum")),
        rowa(
            r#"DateFromNum([p])"#,
            vec![("p", multi(&["1"]))],
            Err("TypeMismatch", "DateFromNum"),
        ),
    ]);
}

#[test]
fn num_from_date() {
    run(&[
        row(r#"NumFromDate("2012-01-01T23:00:00Z")"#, Num(129_699_324_000_000_000)),
        rowa(
            r#"NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))"#,
            vec![("ContractEndDate", s("2020-12-31-08:00"))],
            Num(132_539_615_990_000_000),
        ),
        rowa(
            r#"NumFromDate(Join("",FormatDateTime([endDate], ,"M/d/yyyy hh:mm:ss tt","yyyy-MM-dd")," 23:59:59-08:00"))"#,
            vec![("endDate", s("12/31/2020 12:00:00 AM"))],
            Num(132_539_615_990_000_000),
        ),
        row(
            r#"NumFromDate(DateFromNum(132539615990000000))"#,
            Num(132_539_615_990_000_000),
        ),
        row(r#"NumFromDate([missing])"#, Null),
        row(r#"NumFromDate("")"#, Null),
        row(r#"NumFromDate("someday")"#, Err("InvalidArgument", "NumFromDate")),
        row(r#"NumFromDate(7)"#, Err("TypeMismatch", "NumFromDate")),
    ]);
}

#[test]
fn format_date_time_function() {
    run(&[
        rowa(
            r#"FormatDateTime([extensionAttribute1], , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")"#,
            vec![("extensionAttribute1", s("20150123105347.1Z"))],
            Str("2015-01-23"),
        ),
        row(
            r#"FormatDateTime("2015-01-23", "yyyy-MM-dd", "dd/MM/yyyy")"#,
            Str("23/01/2015"),
        ),
        row(
            r#"FormatDateTime("  2015-01-23 ", , "yyyy-MM-dd", "yyyyMMdd")"#,
            Str("20150123"),
        ),
        row(
            r#"FormatDateTime("12/31/2020 01:30:00 PM", , "M/d/yyyy hh:mm:ss tt", "yyyy-MM-dd HH:mm")"#,
            Str("2020-12-31 13:30"),
        ),
        row(
            r#"FormatDateTime("12/31/2020 12:00:00 AM", , "M/d/yyyy hh:mm:ss tt", "yyyy-MM-dd HH:mm")"#,
            Str("2020-12-31 00:00"),
        ),
        row(
            r#"FormatDateTime("2020-12-31-08:00", , "yyyy-MM-ddzzz", "yyyy-MM-dd HH:mm")"#,
            Str("2020-12-31 08:00"),
        ),
        row(
            r#"FormatDateTime("15 Jun 2009", , "dd MMM yyyy", "yyyy-MM-dd")"#,
            Str("2009-06-15"),
        ),
        row(
            r#"FormatDateTime("Monday, June 15, 2009", , "dddd, MMMM d, yyyy", "o")"#,
            Str("2009-06-15T00:00:00.0000000Z"),
        ),
        row(
            r#"FormatDateTime("13:45", , "HH:mm", "yyyy-MM-dd HH:mm")"#,
            Str("2021-08-25 13:45"),
        ),
        row(
            r#"FormatDateTime("99-1-2", , "yy-M-d", "yyyy-MM-dd")"#,
            Str("1999-01-02"),
        ),
        row(
            r#"FormatDateTime("2009-06-15T13:45:30", , "s", "'Date:' d MMM")"#,
            Str("Date: 15 Jun"),
        ),
        row(
            r#"FormatDateTime(Now(), , "ignored", "yyyy-MM-ddTHH:mm:ssK")"#,
            Str("2021-08-25T17:41:18Z"),
        ),
        row(
            r#"FormatDateTime("2015-01-23", "AdjustToUniversal, AssumeUniversal", "yyyy-MM-dd", "yyyyMMdd")"#,
            Str("20150123"),
        ),
        row(
            r#"FormatDateTime("2015-01-23", "DateTimeStyles.RoundtripKind", "yyyy-MM-dd", "yyyyMMdd")"#,
            Str("20150123"),
        ),
        row(
            r#"FormatDateTime("2015-01-23", "Bogus", "yyyy-MM-dd", "yyyyMMdd")"#,
            Err("InvalidArgument", "FormatDateTime"),
        ),
        row(
            r#"FormatDateTime("2015/01/23", , "yyyy-MM-dd", "yyyyMMdd")"#,
            Err("InvalidArgument", "FormatDateTime"),
        ),
        row(
            r#"FormatDateTime("2015-01-23x", , "yyyy-MM-dd", "yyyyMMdd")"#,
            Err("InvalidArgument", "FormatDateTime"),
        ),
        row(
            r#"FormatDateTime("2015-13-23", , "yyyy-MM-dd", "yyyyMMdd")"#,
            Err("InvalidArgument", "FormatDateTime"),
        ),
        row(
            r#"FormatDateTime("2015-01-23", , "yyyy-MM-dd", "'open")"#,
            Err("InvalidArgument", "FormatDateTime"),
        ),
        row(
            r#"FormatDateTime("2015-01-23", , "yyyy-MM-dd", )"#,
            Err("InvalidArgument", "FormatDateTime"),
        ),
        row(
            r#"FormatDateTime("2015-01-23", , , "yyyy")"#,
            Err("InvalidArgument", "FormatDateTime"),
        ),
        row(r#"FormatDateTime([missing], , "yyyy-MM-dd", "yyyyMMdd")"#, Null),
        row(r#"FormatDateTime("", , "yyyy-MM-dd", "yyyyMMdd")"#, Null),
        row(
            r#"FormatDateTime(5, , "yyyy-MM-dd", "yyyyMMdd")"#,
            Err("TypeMismatch", "FormatDateTime"),
        ),
        rowa(
            r#"FormatDateTime([p], , "yyyy", "yyyy")"#,
            vec![("p", multi(&["2015"]))],
            Err("TypeMismatch", "FormatDateTime"),
        ),
    ]);
}

#[test]
fn dotnet_output_specifiers() {
    let dt = datetime!(2009-06-15 13:45:30.6175425 UTC);
    let cases = [
        ("yyyy", "2009"),
        ("yy", "09"),
        ("%y", "9"),
        ("yyyyy", "02009"),
        ("MM", "06"),
        ("%M", "6"),
        ("MMM", "Jun"),
        ("MMMM", "June"),
        ("dd", "15"),
        ("%d", "15"),
        ("ddd", "Mon"),
        ("dddd", "Monday"),
        ("HH", "13"),
        ("%H", "13"),
        ("hh", "01"),
        ("%h", "1"),
        ("mm", "45"),
        ("%m", "45"),
        ("ss", "30"),
        ("%s", "30"),
        ("%f", "6"),
        ("fff", "617"),
        ("fffffff", "6175425"),
        ("FFF", "617"),
        ("tt", "PM"),
        ("%t", "P"),
        ("zzz", "+00:00"),
        ("zz", "+00"),
        ("%z", "+0"),
        ("%K", "Z"),
        ("%g", "A.D."),
        ("'yyyy' yyyy", "yyyy 2009"),
        ("\"at\" HH", "at 13"),
        ("\\y yyyy", "y 2009"),
        ("HH:mm:ss.fff", "13:45:30.617"),
        ("d", "6/15/2009"),
        ("D", "Monday, June 15, 2009"),
        ("g", "6/15/2009 1:45 PM"),
        ("G", "6/15/2009 1:45:30 PM"),
        ("t", "1:45 PM"),
        ("T", "1:45:30 PM"),
        ("s", "2009-06-15T13:45:30"),
        ("u", "2009-06-15 13:45:30Z"),
        ("o", "2009-06-15T13:45:30.6175425Z"),
        ("r", "Mon, 15 Jun 2009 13:45:30 GMT"),
        ("M", "June 15"),
        ("y", "June 2009"),
        ("M/d/yyyy h:mm:ss tt", "6/15/2009 1:45:30 PM"),
    ];
    for (fmt, want) in cases {
        assert_eq!(format_date_time(dt, fmt).as_deref(), Ok(want), "format {fmt:?}");
    }
    let whole = datetime!(2009-06-15 00:05:00 UTC);
    assert_eq!(format_date_time(whole, "ss.FFF").as_deref(), Ok("00"));
    assert_eq!(format_date_time(whole, "h tt").as_deref(), Ok("12 AM"));
    assert_eq!(
        format_date_time(datetime!(2009-06-15 00:00:00.5 UTC), "ss.FFF").as_deref(),
        Ok("00.5")
    );
    assert!(format_date_time(dt, "ffffffff").is_err());
    assert!(format_date_time(dt, "yyyy\\").is_err());
}

#[test]
fn now_uses_the_callers_clock_in_utc_to_the_second() {
    run(&[
        row(r#"CStr(Now())"#, Str("8/25/2021 5:41:18 PM")),
        row(r#"Now()"#, Val(Value::DateTime(datetime!(2021-08-25 17:41:18 UTC)))),
        row(r#"IsString(Now())"#, common::Want::Bool(true)),
    ]);
    let mut rng = SplitMix64::new(1);
    let mut next = || rng.next_u64();
    let mut env = EvalEnv::new(datetime!(2021-07-02 17:33:38.9 +02:00), &mut next);
    let out = parse("CStr(Now())").unwrap().eval(&|_: &str| None, &mut env).unwrap();
    assert_eq!(
        out,
        Outcome::Value {
            value: s("7/2/2021 3:33:38 PM"),
            redacted: false
        }
    );
}

#[test]
fn date_values_compare_chronologically() {
    run(&[
        row(r#"IIF(CDate("2021-01-01") < Now(), "past", "future")"#, Str("past")),
        row(r#"IIF(Now() > "2030-01-01", "future", "past")"#, Str("past")),
        row(
            r#"IIF(CDate("2021-08-25T19:41:18+02:00") = Now(), "same", "different")"#,
            Str("same"),
        ),
    ]);
    assert_eq!(
        value(r#"DateAdd("d", 1, Now())"#, &[]),
        Value::DateTime(datetime!(2021-08-26 17:41:18 UTC))
    );
}
