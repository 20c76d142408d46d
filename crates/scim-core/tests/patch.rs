//! Table-driven tests of the PATCH engine against RFC 7644 §3.5.2 and the Entra shapes in
//! entra-scim-client.md §1.5–§1.8 and §4. Each case: a starting resource, the operations,
//! and the resulting attributes (whole or by JSON pointer) or the expected error.
//!
//! In the JSON below `%E` stands for the enterprise extension URN.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use scim_core::ResourceKind::{self, Group as G, User as U};
use scim_core::patch::{MAX_PATCH_OPS, MemberOp, apply_patch, parse_patch_request};
use scim_core::{CoreError, Result};
use serde_json::{Value, json};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ABSENT: &str = "<absent>";

/// Named starting documents.
fn start_doc(key: &str) -> Value {
    let text = match key {
        "ALICE" => {
            r#"{"userName":"alice@contoso.com","externalId":"alice","active":true,"displayName":"Alice",
            "title":"Engineer","name":{"givenName":"Alice","familyName":"Example"},
            "emails":[{"value":"alice@contoso.com","type":"work","primary":true}],
            "addresses":[{"type":"work","country":"FI"}],
            "%E":{"department":"Sales","manager":{"value":"m1"}}}"#
        }
        "BOB" => r#"{"userName":"bob"}"#,
        "TWO" => {
            r#"{"userName":"bob","emails":[{"value":"a@x.io","type":"work","primary":true},
            {"value":"b@x.io","type":"home"}]}"#
        }
        "SALES" => r#"{"displayName":"Sales"}"#,
        inline => inline,
    };
    parse(text)
}

fn parse(text: &str) -> Value {
    serde_json::from_str(&text.replace("%E", ENT)).unwrap_or_else(|e| panic!("bad test JSON {text}: {e}"))
}

enum Want {
    /// The complete resulting attributes.
    Json(&'static str),
    /// JSON pointers and their expected JSON value (or [`ABSENT`]).
    Has(&'static [(&'static str, &'static str)]),
    /// Resulting attributes and the member changes, e.g. `add(u1,u2);remove(u3)`.
    Members(&'static str, &'static str),
    /// The `CoreError` variant name.
    Err(&'static str),
}

use Want::{Err as E, Has as H, Json as J, Members as M};

type Case = (&'static str, ResourceKind, &'static str, &'static str, Want);

#[rustfmt::skip]
const CASES: &[Case] = &[
    // §4 quirk 1: op in any case.
    ("capitalised Replace", U, "ALICE", r#"[{"op":"Replace","path":"displayName","value":"Alice E."}]"#, H(&[("/displayName", r#""Alice E.""#)])),
    ("upper-case REPLACE", U, "ALICE", r#"[{"op":"REPLACE","path":"title","value":"CTO"}]"#, H(&[("/title", r#""CTO""#)])),
    ("lower-case add", U, "BOB", r#"[{"op":"add","path":"nickName","value":"Ali"}]"#, J(r#"{"userName":"bob","nickName":"Ali"}"#)),
    ("mixed-case member keys", U, "BOB", r#"[{"OP":"Add","Path":"title","VALUE":"CTO"}]"#, J(r#"{"userName":"bob","title":"CTO"}"#)),
    // §1.6 / quirk 2: string booleans.
    ("active \"False\"", U, "ALICE", r#"[{"op":"Replace","path":"active","value":"False"}]"#, H(&[("/active", "false")])),
    ("active \"True\"", U, r#"{"userName":"bob","active":false}"#, r#"[{"op":"Replace","path":"active","value":"True"}]"#, J(r#"{"userName":"bob","active":true}"#)),
    ("active \"false\"", U, "ALICE", r#"[{"op":"Replace","path":"active","value":"false"}]"#, H(&[("/active", "false")])),
    ("active boolean", U, "ALICE", r#"[{"op":"replace","path":"active","value":false}]"#, H(&[("/active", "false")])),
    ("Add active = Replace", U, "ALICE", r#"[{"op":"Add","path":"active","value":"False"}]"#, H(&[("/active", "false")])),
    ("active not a boolean", U, "ALICE", r#"[{"op":"Replace","path":"active","value":"maybe"}]"#, E("InvalidValue")),
    // §1.5 A: default shape, one op per attribute.
    ("name.givenName keeps familyName", U, "ALICE", r#"[{"op":"Replace","path":"name.givenName","value":"Alicia"}]"#, H(&[("/name", r#"{"givenName":"Alicia","familyName":"Example"}"#)])),
    ("Add name.familyName creates name", U, "BOB", r#"[{"op":"Add","path":"name.familyName","value":"Ex"}]"#, J(r#"{"userName":"bob","name":{"familyName":"Ex"}}"#)),
    ("Add on set single-valued = Replace", U, "ALICE", r#"[{"op":"Add","path":"displayName","value":"New"}]"#, H(&[("/displayName", r#""New""#)])),
    ("Replace externalId", U, "ALICE", r#"[{"op":"Replace","path":"externalId","value":"alice2"}]"#, H(&[("/externalId", r#""alice2""#)])),
    ("Replace userName", U, "ALICE", r#"[{"op":"Replace","path":"userName","value":"alice2@contoso.com"}]"#, H(&[("/userName", r#""alice2@contoso.com""#)])),
    ("Replace enterprise department", U, "ALICE", r#"[{"op":"Replace","path":"%E:department","value":"Support"}]"#, H(&[("/%E", r#"{"department":"Support","manager":{"value":"m1"}}"#)])),
    ("Replace emails[type eq work].value", U, "ALICE", r#"[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"alice@new.example"}]"#, H(&[("/emails", r#"[{"value":"alice@new.example","type":"work","primary":true}]"#)])),
    ("filter on type is case-insensitive", U, r#"{"userName":"bob","emails":[{"value":"a@x.io","type":"Work"}]}"#, r#"[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"b@x.io"}]"#, H(&[("/emails", r#"[{"value":"b@x.io","type":"Work"}]"#)])),
    // Quirk 5: a filtered path creates the missing element (primary on the first email).
    ("Add emails[work].value creates primary work email", U, "BOB", r#"[{"op":"Add","path":"emails[type eq \"work\"].value","value":"bob@x.io"}]"#, J(r#"{"userName":"bob","emails":[{"type":"work","value":"bob@x.io","primary":true}]}"#)),
    ("Replace emails[work].value creates it too", U, "BOB", r#"[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"bob@x.io"}]"#, H(&[("/emails", r#"[{"type":"work","value":"bob@x.io","primary":true}]"#)])),
    ("second email is not primary", U, "ALICE", r#"[{"op":"Add","path":"emails[type eq \"home\"].value","value":"h@x.io"}]"#, H(&[("/emails/0/primary", "true"), ("/emails/1", r#"{"type":"home","value":"h@x.io"}"#)])),
    ("filter with and seeds both", U, "BOB", r#"[{"op":"Add","path":"emails[type eq \"work\" and primary eq true].value","value":"x@y.z"}]"#, H(&[("/emails", r#"[{"type":"work","primary":true,"value":"x@y.z"}]"#)])),
    ("Replace addresses[work].country creates address", U, "BOB", r#"[{"op":"Replace","path":"addresses[type eq \"work\"].country","value":"FI"}]"#, H(&[("/addresses", r#"[{"type":"work","country":"FI"}]"#)])),
    // Quirk 6: several sub-attribute ops land in one element.
    ("five address ops merge into one", U, "BOB", r#"[
        {"op":"Add","path":"addresses[type eq \"work\"].streetAddress","value":"Main St 1"},
        {"op":"Add","path":"addresses[type eq \"work\"].locality","value":"Helsinki"},
        {"op":"Add","path":"addresses[type eq \"work\"].region","value":"Uusimaa"},
        {"op":"Add","path":"addresses[type eq \"work\"].postalCode","value":"00100"},
        {"op":"Add","path":"addresses[type eq \"work\"].country","value":"FI"}]"#,
        H(&[("/addresses", r#"[{"type":"work","streetAddress":"Main St 1","locality":"Helsinki","region":"Uusimaa","postalCode":"00100","country":"FI"}]"#)])),
    ("address op merges into existing work address", U, "ALICE", r#"[{"op":"Add","path":"addresses[type eq \"work\"].locality","value":"Helsinki"}]"#, H(&[("/addresses", r#"[{"type":"work","country":"FI","locality":"Helsinki"}]"#)])),
    ("Replace existing address country", U, "ALICE", r#"[{"op":"Replace","path":"addresses[type eq \"work\"].country","value":"SE"}]"#, H(&[("/addresses", r#"[{"type":"work","country":"SE"}]"#)])),
    ("Replace emails[work] with an object", U, "ALICE", r#"[{"op":"Replace","path":"emails[type eq \"work\"]","value":{"value":"n@x.io","type":"work"}}]"#, H(&[("/emails", r#"[{"value":"n@x.io","type":"work"}]"#)])),
    ("Add emails[home] object creates element", U, "ALICE", r#"[{"op":"Add","path":"emails[type eq \"home\"]","value":{"value":"h@x.io"}}]"#, H(&[("/emails/1", r#"{"type":"home","value":"h@x.io"}"#)])),
    // §1.5 B / quirk 3: pathless value objects.
    ("pathless dotted and URN keys", U, "ALICE", r#"[{"op":"replace","value":{"displayName":"Alice E.","name.givenName":"Alicia","name.familyName":"Ex","%E:employeeNumber":"1234"}}]"#,
        H(&[("/displayName", r#""Alice E.""#), ("/name", r#"{"givenName":"Alicia","familyName":"Ex"}"#), ("/%E", r#"{"department":"Sales","employeeNumber":"1234","manager":{"value":"m1"}}"#)])),
    ("pathless extension URN -> object merges", U, "ALICE", r#"[{"op":"replace","value":{"%E":{"division":"EMEA","Department":"Support"}}}]"#, H(&[("/%E", r#"{"department":"Support","division":"EMEA","manager":{"value":"m1"}}"#)])),
    ("pathless URN:manager object", U, "ALICE", r#"[{"op":"Replace","value":{"%E:manager":{"value":"m2","$ref":"User"}}}]"#, H(&[("/%E/manager", r#"{"value":"m2","$ref":"User"}"#)])),
    ("pathless keys: case and string boolean", U, "ALICE", r#"[{"op":"Replace","value":{"DISPLAYNAME":"X","Active":"False"}}]"#, H(&[("/displayName", r#""X""#), ("/active", "false"), ("/DISPLAYNAME", ABSENT), ("/Active", ABSENT)])),
    ("pathless key with a value filter", U, "BOB", r#"[{"op":"add","value":{"emails[type eq \"work\"].value":"b@x.io"}}]"#, H(&[("/emails", r#"[{"type":"work","value":"b@x.io","primary":true}]"#)])),
    ("pathless skips id, meta, schemas", U, "ALICE", r#"[{"op":"add","value":{"id":"zzz","meta":{"x":1},"schemas":["x"],"title":"T"}}]"#, H(&[("/title", r#""T""#), ("/id", ABSENT), ("/meta", ABSENT), ("/schemas", ABSENT)])),
    ("pathless multi-valued replaces the list", U, "TWO", r#"[{"op":"replace","value":{"emails":[{"value":"c@x.io","type":"other"}]}}]"#, H(&[("/emails", r#"[{"value":"c@x.io","type":"other"}]"#)])),
    // §1.5 manager / quirk 10.
    ("manager as a bare string", U, "BOB", r#"[{"op":"Add","path":"%E:manager","value":"m9"}]"#, J(r#"{"userName":"bob","%E":{"manager":{"value":"m9"}}}"#)),
    ("manager as an object", U, "ALICE", r#"[{"op":"Replace","path":"%E:manager","value":{"value":"m2"}}]"#, H(&[("/%E/manager", r#"{"value":"m2"}"#)])),
    ("manager as an array, bare path", U, "BOB", r#"[{"op":"Add","path":"manager","value":[{"$ref":"https://host/scim/Users/m3","value":"m3"}]}]"#, J(r#"{"userName":"bob","%E":{"manager":{"value":"m3","$ref":"https://host/scim/Users/m3"}}}"#)),
    ("manager as an array, URN path", U, "ALICE", r#"[{"op":"Add","path":"%E:manager","value":[{"value":"m3"}]}]"#, H(&[("/%E/manager", r#"{"value":"m3"}"#)])),
    ("manager.value sub-path", U, "ALICE", r#"[{"op":"Replace","path":"%E:manager.value","value":"m4"}]"#, H(&[("/%E/manager", r#"{"value":"m4"}"#)])),
    ("Remove manager[value eq] matching, bare path", U, "ALICE", r#"[{"op":"Remove","path":"manager[value eq \"m1\"]"}]"#, H(&[("/%E", r#"{"department":"Sales"}"#)])),
    ("Remove URN manager[value eq] matching", U, "ALICE", r#"[{"op":"remove","path":"%E:manager[value eq \"m1\"]"}]"#, H(&[("/%E", r#"{"department":"Sales"}"#)])),
    ("Remove manager[value eq] not matching", U, "ALICE", r#"[{"op":"Remove","path":"%E:manager[value eq \"other\"]"}]"#, H(&[("/%E/manager", r#"{"value":"m1"}"#)])),
    ("Remove manager with matching value", U, "ALICE", r#"[{"op":"Remove","path":"%E:manager","value":"m1"}]"#, H(&[("/%E/manager", ABSENT), ("/%E/department", r#""Sales""#)])),
    ("Remove manager with matching object value", U, "ALICE", r#"[{"op":"Remove","path":"%E:manager","value":{"value":"m1"}}]"#, H(&[("/%E/manager", ABSENT)])),
    ("Remove manager with other value", U, "ALICE", r#"[{"op":"Remove","path":"%E:manager","value":"zzz"}]"#, H(&[("/%E/manager", r#"{"value":"m1"}"#)])),
    ("Remove only manager drops the block", U, r#"{"userName":"bob","%E":{"manager":{"value":"m1"}}}"#, r#"[{"op":"Remove","path":"%E:manager"}]"#, J(r#"{"userName":"bob"}"#)),
    // Quirk 11: "" and null clear.
    ("manager \"\" clears", U, "ALICE", r#"[{"op":"Replace","path":"%E:manager","value":""}]"#, H(&[("/%E", r#"{"department":"Sales"}"#)])),
    ("manager null clears", U, "ALICE", r#"[{"op":"Replace","path":"%E:manager","value":null}]"#, H(&[("/%E", r#"{"department":"Sales"}"#)])),
    ("title \"\" clears", U, "ALICE", r#"[{"op":"Replace","path":"title","value":""}]"#, H(&[("/title", ABSENT)])),
    ("title null clears", U, "ALICE", r#"[{"op":"Replace","path":"title","value":null}]"#, H(&[("/title", ABSENT)])),
    ("Add \"\" on absent is a no-op", U, "BOB", r#"[{"op":"Add","path":"nickName","value":""}]"#, J(r#"{"userName":"bob"}"#)),
    ("department \"\" clears the block", U, r#"{"userName":"bob","%E":{"department":"D"}}"#, r#"[{"op":"Replace","path":"%E:department","value":""}]"#, J(r#"{"userName":"bob"}"#)),
    ("name.givenName \"\" keeps familyName", U, "ALICE", r#"[{"op":"Replace","path":"name.givenName","value":""}]"#, H(&[("/name", r#"{"familyName":"Example"}"#)])),
    ("emails[work].value \"\" drops the element", U, "ALICE", r#"[{"op":"Replace","path":"emails[type eq \"work\"].value","value":""}]"#, H(&[("/emails", ABSENT)])),
    ("emails null clears the list", U, "TWO", r#"[{"op":"Replace","path":"emails","value":null}]"#, J(r#"{"userName":"bob"}"#)),
    // Quirk 7: Remove with a value.
    ("Remove emails[work].value, other value: no change", U, "ALICE", r#"[{"op":"Remove","path":"emails[type eq \"work\"].value","value":"old@x"}]"#, H(&[("/emails/0/value", r#""alice@contoso.com""#)])),
    ("Remove emails[work].value, matching value", U, "ALICE", r#"[{"op":"Remove","path":"emails[type eq \"work\"].value","value":"ALICE@contoso.com"}]"#, H(&[("/emails", ABSENT)])),
    ("Remove title with matching value", U, "ALICE", r#"[{"op":"Remove","path":"title","value":"Engineer"}]"#, H(&[("/title", ABSENT)])),
    ("Remove title with other value", U, "ALICE", r#"[{"op":"Remove","path":"title","value":"CEO"}]"#, H(&[("/title", r#""Engineer""#)])),
    ("Remove emails[work] element", U, "TWO", r#"[{"op":"Remove","path":"emails[type eq \"work\"]"}]"#, H(&[("/emails", r#"[{"value":"b@x.io","type":"home"}]"#)])),
    ("Remove emails[other]: nothing matches", U, "TWO", r#"[{"op":"Remove","path":"emails[type eq \"other\"]"}]"#, H(&[("/emails/1/value", r#""b@x.io""#), ("/emails/2", ABSENT)])),
    ("Remove emails with value removes listed only", U, "TWO", r#"[{"op":"Remove","path":"emails","value":[{"value":"a@x.io"}]}]"#, H(&[("/emails", r#"[{"value":"b@x.io","type":"home"}]"#)])),
    ("Remove name.givenName", U, "ALICE", r#"[{"op":"Remove","path":"name.givenName"}]"#, H(&[("/name", r#"{"familyName":"Example"}"#)])),
    ("Remove whole enterprise block", U, "ALICE", r#"[{"op":"remove","path":"%E"}]"#, H(&[("/%E", ABSENT), ("/title", r#""Engineer""#)])),
    // Quirk 13: multi-valued without a filter.
    ("Replace emails replaces the list", U, "TWO", r#"[{"op":"Replace","path":"emails","value":[{"value":"c@x.io","type":"other"}]}]"#, H(&[("/emails", r#"[{"value":"c@x.io","type":"other"}]"#)])),
    ("Add emails appends", U, "TWO", r#"[{"op":"Add","path":"emails","value":[{"value":"c@x.io","type":"other"}]}]"#, H(&[("/emails/0/value", r#""a@x.io""#), ("/emails/2", r#"{"value":"c@x.io","type":"other"}"#)])),
    ("Add primary email demotes the others", U, "TWO", r#"[{"op":"Add","path":"emails","value":[{"value":"c@x.io","primary":true}]}]"#, H(&[("/emails/0/primary", "false"), ("/emails/2/primary", "true")])),
    ("Add existing email merges", U, "TWO", r#"[{"op":"Add","path":"emails","value":{"value":"B@x.io","display":"Bee"}}]"#, H(&[("/emails/1/display", r#""Bee""#), ("/emails/2", ABSENT)])),
    ("Remove emails clears", U, "TWO", r#"[{"op":"Remove","path":"emails"}]"#, J(r#"{"userName":"bob"}"#)),
    ("Replace roles, full array", U, r#"{"userName":"bob","roles":[{"value":"a"}]}"#, r#"[{"op":"replace","path":"roles","value":[{"value":"Admin","display":"Admin","primary":"True"}]}]"#, H(&[("/roles", r#"[{"value":"Admin","display":"Admin","primary":true}]"#)])),
    ("Add name object merges", U, "ALICE", r#"[{"op":"Add","path":"name","value":{"givenName":"Al"}}]"#, H(&[("/name", r#"{"givenName":"Al","familyName":"Example"}"#)])),
    ("Replace name object merges", U, "ALICE", r#"[{"op":"Replace","path":"name","value":{"GivenName":"Al"}}]"#, H(&[("/name", r#"{"givenName":"Al","familyName":"Example"}"#)])),
    ("custom extension kept", U, "BOB", r#"[{"op":"add","path":"urn:acme:ext:1.0:User:badge","value":"B1"}]"#, J(r#"{"userName":"bob","urn:acme:ext:1.0:User":{"badge":"B1"}}"#)),
    ("Remove emails[work].value drops the element", U, "ALICE", r#"[{"op":"Remove","path":"emails[type eq \"work\"].value"}]"#, H(&[("/emails", ABSENT)])),
    ("Remove addresses[work].country drops the element", U, "ALICE", r#"[{"op":"Remove","path":"addresses[type eq \"work\"].country"}]"#, H(&[("/addresses", ABSENT)])),
    ("Replace emails[work].primary string boolean", U, "TWO", r#"[{"op":"Replace","path":"emails[type eq \"home\"].primary","value":"True"}]"#, H(&[("/emails/1/primary", "true")])),
    ("Remove active", U, "ALICE", r#"[{"op":"Remove","path":"active"}]"#, H(&[("/active", ABSENT)])),
    ("core-URN-qualified sub-attribute path", U, "ALICE", r#"[{"op":"Replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName","value":"Al"}]"#, H(&[("/name/givenName", r#""Al""#)])),
    ("pathless core URN block", U, "ALICE", r#"[{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:User":{"displayName":"D","name.familyName":"F"}}}]"#, H(&[("/displayName", r#""D""#), ("/name/familyName", r#""F""#), ("/urn:ietf:params:scim:schemas:core:2.0", ABSENT)])),
    ("pathless custom extension block", U, "BOB", r#"[{"op":"add","value":{"urn:acme:ext:1.0:User":{"badge":"B"}}}]"#, J(r#"{"userName":"bob","urn:acme:ext:1.0:User":{"badge":"B"}}"#)),
    ("custom extension attribute, other URN case", U, r#"{"userName":"bob","urn:ACME:ext:1.0:User":{"badge":"A"}}"#, r#"[{"op":"replace","path":"urn:acme:ext:1.0:User:badge","value":"B"}]"#, J(r#"{"userName":"bob","urn:ACME:ext:1.0:User":{"badge":"B"}}"#)),
    ("Remove custom extension attribute", U, r#"{"userName":"bob","urn:acme:ext:1.0:User":{"badge":"A"}}"#, r#"[{"op":"remove","path":"urn:acme:ext:1.0:User:badge"}]"#, J(r#"{"userName":"bob"}"#)),
    ("schemas path is ignored", U, "BOB", r#"[{"op":"replace","path":"schemas","value":["x"]}]"#, J(r#"{"userName":"bob"}"#)),
    ("ops apply in order", U, "ALICE", r#"[{"op":"Replace","path":"title","value":"A"},{"op":"Remove","path":"title"},{"op":"Add","path":"title","value":"B"}]"#, H(&[("/title", r#""B""#)])),
    // Errors.
    ("unknown op", U, "ALICE", r#"[{"op":"copy","path":"title","value":"x"}]"#, E("InvalidSyntax")),
    ("op missing", U, "ALICE", r#"[{"path":"title","value":"x"}]"#, E("InvalidSyntax")),
    ("path not a string", U, "ALICE", r#"[{"op":"add","path":5,"value":"x"}]"#, E("InvalidSyntax")),
    ("Remove without path", U, "ALICE", r#"[{"op":"Remove"}]"#, E("NoTarget")),
    ("pathless with non-object value", U, "ALICE", r#"[{"op":"Add","value":"x"}]"#, E("InvalidSyntax")),
    ("Add without value", U, "ALICE", r#"[{"op":"Add","path":"title"}]"#, E("InvalidSyntax")),
    ("unknown attribute", U, "ALICE", r#"[{"op":"Replace","path":"foo","value":"x"}]"#, E("InvalidPath")),
    ("unknown attribute, pathless", U, "ALICE", r#"[{"op":"Replace","value":{"foo":"x"}}]"#, E("InvalidPath")),
    ("unknown enterprise attribute", U, "ALICE", r#"[{"op":"Replace","path":"%E:foo","value":"x"}]"#, E("InvalidPath")),
    ("unknown sub-attribute", U, "ALICE", r#"[{"op":"Replace","path":"name.foo","value":"x"}]"#, E("InvalidPath")),
    ("sub-attribute of a simple attribute", U, "ALICE", r#"[{"op":"Replace","path":"displayName.x","value":"x"}]"#, E("InvalidPath")),
    ("filter on a single-valued simple attribute", U, "ALICE", r#"[{"op":"Replace","path":"title[value eq \"x\"]","value":"x"}]"#, E("InvalidPath")),
    ("non-ASCII URN path", U, "ALICE", r#"[{"op":"add","path":"urn:ééé","value":"x"}]"#, E("InvalidPath")),
    ("non-ASCII pathless key", U, "ALICE", r#"[{"op":"add","value":{"urn:é:titlé":"x"}}]"#, E("InvalidPath")),
    ("filtered multi-valued path with a string value", U, "ALICE", r#"[{"op":"Add","path":"emails[type eq \"work\"]","value":"x@y"}]"#, E("InvalidValue")),
    ("externalId with a filter", U, "ALICE", r#"[{"op":"Replace","path":"externalId[value eq \"a\"]","value":"x"}]"#, E("InvalidPath")),
    ("externalId sub-attribute", U, "ALICE", r#"[{"op":"Replace","path":"externalId.x","value":"x"}]"#, E("InvalidPath")),
    ("members on a user", U, "ALICE", r#"[{"op":"Add","path":"members","value":[{"value":"u1"}]}]"#, E("InvalidPath")),
    ("malformed path", U, "ALICE", r#"[{"op":"Replace","path":"emails[type eq","value":"x"}]"#, E("InvalidPath")),
    ("id is read-only", U, "ALICE", r#"[{"op":"Replace","path":"id","value":"x"}]"#, E("Mutability")),
    ("meta is read-only", U, "ALICE", r#"[{"op":"Replace","path":"meta","value":{}}]"#, E("Mutability")),
    ("meta.created is read-only", U, "ALICE", r#"[{"op":"Replace","path":"meta.created","value":"2020-01-01T00:00:00Z"}]"#, E("Mutability")),
    ("groups is read-only", U, "ALICE", r#"[{"op":"Add","path":"groups","value":[{"value":"g1"}]}]"#, E("Mutability")),
    ("removing userName", U, "ALICE", r#"[{"op":"Remove","path":"userName"}]"#, E("Mutability")),
    ("userName \"\"", U, "ALICE", r#"[{"op":"Replace","path":"userName","value":""}]"#, E("InvalidValue")),
    ("displayName a number", U, "ALICE", r#"[{"op":"Replace","path":"displayName","value":42}]"#, E("InvalidValue")),
    ("name a string", U, "ALICE", r#"[{"op":"Replace","path":"name","value":"Alice"}]"#, E("InvalidValue")),
    ("email value a number", U, "ALICE", r#"[{"op":"Replace","path":"emails[type eq \"work\"].value","value":42}]"#, E("InvalidValue")),
    ("extension block a string", U, "ALICE", r#"[{"op":"Replace","value":{"%E":"x"}}]"#, E("InvalidValue")),
    // §1.8: groups and member ops.
    ("group rename", G, "SALES", r#"[{"op":"Replace","path":"displayName","value":"Sales EMEA"}]"#, M(r#"{"displayName":"Sales EMEA"}"#, "")),
    ("Add two members", G, "SALES", r#"[{"op":"Add","path":"members","value":[{"$ref":null,"value":"u1"},{"value":"u2"}]}]"#, M(r#"{"displayName":"Sales"}"#, "add(u1,u2)")),
    ("Remove members by value array", G, "SALES", r#"[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"u1"}]}]"#, M(r#"{"displayName":"Sales"}"#, "remove(u1)")),
    ("remove members[value eq]", G, "SALES", r#"[{"op":"remove","path":"members[value eq \"u1\"]"}]"#, M(r#"{"displayName":"Sales"}"#, "remove(u1)")),
    ("remove members[value eq or value eq]", G, "SALES", r#"[{"op":"remove","path":"members[value eq \"u1\" or value eq \"u2\"]"}]"#, M(r#"{"displayName":"Sales"}"#, "remove(u1,u2)")),
    ("Remove all members", G, "SALES", r#"[{"op":"Remove","path":"members"}]"#, M(r#"{"displayName":"Sales"}"#, "removeAll")),
    ("Replace members", G, "SALES", r#"[{"op":"Replace","path":"members","value":[{"value":"u3"}]}]"#, M(r#"{"displayName":"Sales"}"#, "replace(u3)")),
    ("add member as bare string", G, "SALES", r#"[{"op":"add","path":"members","value":"string id 1"}]"#, M(r#"{"displayName":"Sales"}"#, "add(string id 1)")),
    ("member value as number", G, "SALES", r#"[{"op":"add","path":"members","value":[{"value":42}]}]"#, M(r#"{"displayName":"Sales"}"#, "add(42)")),
    ("duplicate members collapse", G, "SALES", r#"[{"op":"add","path":"members","value":[{"value":"u1"},{"value":"u1"}]}]"#, M(r#"{"displayName":"Sales"}"#, "add(u1)")),
    ("member ops keep their order", G, "SALES", r#"[{"op":"Add","path":"members","value":[{"value":"u1"}]},{"op":"Remove","path":"members","value":[{"value":"u1"}]}]"#, M(r#"{"displayName":"Sales"}"#, "add(u1);remove(u1)")),
    ("pathless group value", G, "SALES", r#"[{"op":"replace","value":{"displayName":"X","members":[{"value":"u1"}]}}]"#, M(r#"{"displayName":"X"}"#, "replace(u1)")),
    ("add members[value eq] is not supported", G, "SALES", r#"[{"op":"add","path":"members[value eq \"x\"]","value":[{"value":"x"}]}]"#, E("InvalidPath")),
    ("members.value path", G, "SALES", r#"[{"op":"add","path":"members.value","value":"x"}]"#, E("InvalidPath")),
    ("members[display eq]", G, "SALES", r#"[{"op":"remove","path":"members[display eq \"x\"]"}]"#, E("InvalidFilter")),
    ("member without value", G, "SALES", r#"[{"op":"Add","path":"members","value":[{"display":"x"}]}]"#, E("InvalidValue")),
    ("member not an object", G, "SALES", r#"[{"op":"Add","path":"members","value":[true]}]"#, E("InvalidValue")),
    ("removing displayName of a group", G, "SALES", r#"[{"op":"Remove","path":"displayName"}]"#, E("Mutability")),
];

fn variant(e: &CoreError) -> &'static str {
    match e {
        CoreError::InvalidFilter(_) => "InvalidFilter",
        CoreError::InvalidSyntax(_) => "InvalidSyntax",
        CoreError::InvalidPath(_) => "InvalidPath",
        CoreError::InvalidValue(_) => "InvalidValue",
        CoreError::NoTarget(_) => "NoTarget",
        CoreError::Mutability(_) => "Mutability",
        CoreError::Uniqueness(_) => "Uniqueness",
        CoreError::TooMany(_) => "TooMany",
        _ => "other",
    }
}

fn member_summary(ops: &[MemberOp]) -> String {
    ops.iter()
        .map(|op| match op {
            MemberOp::Add(list) => format!(
                "add({})",
                list.iter().map(|m| m.value.as_str()).collect::<Vec<_>>().join(",")
            ),
            MemberOp::Replace(list) => {
                format!(
                    "replace({})",
                    list.iter().map(|m| m.value.as_str()).collect::<Vec<_>>().join(",")
                )
            }
            MemberOp::Remove(ids) => format!("remove({})", ids.join(",")),
            MemberOp::RemoveAll => "removeAll".to_string(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn run(kind: ResourceKind, start: &str, ops: &str) -> Result<(Value, String)> {
    let Value::Object(attrs) = start_doc(start) else {
        panic!("start document must be an object")
    };
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": parse(ops)});
    let ops = parse_patch_request(&body)?;
    let out = apply_patch(kind, attrs, &ops)?;
    Ok((Value::Object(out.resource.attrs), member_summary(&out.members)))
}

fn check(case: &Case) -> std::result::Result<(), String> {
    let (_, kind, start, ops, want) = case;
    let got = run(*kind, start, ops);
    let (attrs, members) = match (got, want) {
        (Err(e), Want::Err(v)) if variant(&e) == *v => return Ok(()),
        (Err(e), _) => return Err(format!("unexpected error {}: {e}", variant(&e))),
        (Ok((attrs, _)), Want::Err(v)) => return Err(format!("expected {v}, got {attrs}")),
        (Ok(ok), _) => ok,
    };
    match want {
        Want::Json(j) => {
            if attrs != parse(j) || !members.is_empty() {
                return Err(format!("got {attrs} members {members:?}"));
            }
        }
        Want::Members(j, m) => {
            if attrs != parse(j) || members != *m {
                return Err(format!("got {attrs} members {members:?}, want members {m:?}"));
            }
        }
        Want::Has(checks) => {
            if !members.is_empty() {
                return Err(format!("unexpected member ops {members}"));
            }
            for (ptr, v) in *checks {
                let ptr = ptr.replace("%E", ENT);
                let actual = attrs.pointer(&ptr);
                let ok = if *v == ABSENT {
                    actual.is_none()
                } else {
                    actual == Some(&parse(v))
                };
                if !ok {
                    return Err(format!("{ptr}: got {actual:?}, want {v}; document {attrs}"));
                }
            }
        }
        Want::Err(_) => unreachable!(),
    }
    Ok(())
}

#[test]
fn patch_table() {
    assert!(CASES.len() >= 50, "only {} cases", CASES.len());
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|c| check(c).err().map(|e| format!("[{}] {e}", c.0)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn member_objects_are_canonical() {
    let body = json!({"Operations": [{"op": "Add", "path": "members",
        "value": [{"$ref": null, "Value": "u1", "DISPLAY": "U One", "junk": 1}, {"value": "u2", "type": "User"}]}]});
    let ops = parse_patch_request(&body).expect("body");
    let out = apply_patch(G, start_doc("SALES").as_object().cloned().unwrap(), &ops).expect("patch");
    let [MemberOp::Add(list)] = out.members.as_slice() else {
        panic!("{:?}", out.members)
    };
    let jsons: Vec<Value> = list.iter().map(|m| serde_json::from_str(&m.json).unwrap()).collect();
    assert_eq!(
        jsons,
        vec![
            json!({"value": "u1", "display": "U One"}),
            json!({"value": "u2", "type": "User"})
        ]
    );
}

#[test]
fn request_bodies() {
    let op = json!({"op": "add", "path": "title", "value": "x"});
    let many = |n: usize| json!({"Operations": vec![op.clone(); n]});
    // (body, Ok(number of ops) or Err(variant))
    let cases: Vec<(Value, std::result::Result<usize, &str>)> = vec![
        (json!([op]), Err("InvalidSyntax")),
        (json!("x"), Err("InvalidSyntax")),
        (
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}),
            Err("InvalidSyntax"),
        ),
        (json!({"Operations": op}), Err("InvalidSyntax")),
        (json!({"Operations": []}), Err("InvalidSyntax")),
        (json!({"Operations": ["add"]}), Err("InvalidSyntax")),
        (json!({"Operations": [{"op": 1}]}), Err("InvalidSyntax")),
        (
            json!({"Operations": [{"op": "add", "path": ["title"]}]}),
            Err("InvalidSyntax"),
        ),
        (json!({"Operations": [op]}), Ok(1)),
        (json!({"operations": [op, op]}), Ok(2)),
        (json!({"OPERATIONS": [{"op": "remove", "path": null}]}), Ok(1)),
        (many(MAX_PATCH_OPS), Ok(MAX_PATCH_OPS)),
        (many(MAX_PATCH_OPS + 1), Err("TooMany")),
    ];
    for (body, want) in cases {
        let got = parse_patch_request(&body).map(|ops| ops.len()).map_err(|e| variant(&e));
        let short: String = body.to_string().chars().take(80).collect();
        assert_eq!(got, want, "parse_patch_request({short})");
    }
    let ops = parse_patch_request(&json!({"Operations": [{"Op": "Replace", "PATH": "title", "Value": null}]})).unwrap();
    assert_eq!(ops[0].op, "Replace");
    assert_eq!(ops[0].path.as_deref(), Some("title"));
    assert_eq!(
        ops[0].value,
        Some(Value::Null),
        "an explicit null value is kept (it means clear)"
    );
}

#[test]
fn errors_name_the_failing_operation() {
    let body =
        json!({"Operations": [{"op": "add", "path": "title", "value": "x"}, {"op": "add", "path": "foo", "value": 1}]});
    let ops = parse_patch_request(&body).unwrap();
    let e = apply_patch(U, start_doc("BOB").as_object().cloned().unwrap(), &ops).unwrap_err();
    assert!(
        matches!(&e, CoreError::InvalidPath(m) if m.starts_with("Operations[1]")),
        "{e:?}"
    );
}

#[test]
fn one_patch_names_at_most_the_members_limit_across_its_operations() {
    use scim_core::limits::MAX_MEMBERS_PER_REQUEST;
    let half = |from: usize| {
        (from..from + MAX_MEMBERS_PER_REQUEST / 2)
            .map(|i| json!({"value": format!("m{i}")}))
            .collect::<Vec<_>>()
    };
    let body = |extra: Value| {
        json!({"Operations": [
            {"op": "add", "path": "members", "value": half(0)},
            {"op": "remove", "path": "members", "value": half(MAX_MEMBERS_PER_REQUEST)},
            extra
        ]})
    };
    let doc = || start_doc("SALES").as_object().cloned().unwrap();
    let at_limit = parse_patch_request(&body(json!({"op": "replace", "path": "displayName", "value": "S"}))).unwrap();
    assert!(apply_patch(G, doc(), &at_limit).is_ok(), "exactly the limit");
    let over = parse_patch_request(&body(
        json!({"op": "add", "path": "members", "value": [{"value": "one-more"}]}),
    ))
    .unwrap();
    match apply_patch(G, doc(), &over) {
        Err(CoreError::InvalidValue(m)) => assert!(m.contains("names 10001 members"), "{m}"),
        other => panic!("{other:?}"),
    }
}
