//! One LDAP entry as a source object: ids (`entryUUID`, or AD's binary `objectGUID`), DNs
//! normalised for lookups, attributes as strings (a list when there are several values), and
//! whether the account is enabled.

use std::collections::HashMap;

use serde_json::{Map, Value};
use sync_engine::model::{ObjectKind, SourceObject, hash128};

/// AD's `userAccountControl` bit for a disabled account (ACCOUNTDISABLE).
const ACCOUNTDISABLE: u64 = 0x2;

/// A DN as a lookup key: lower-cased, without the blanks around `,` `=` and `+` that
/// directories add or drop (`CN=Ann, OU=People` is `cn=ann,ou=people`).
pub fn dn_key(dn: &str) -> u128 {
    let mut out = String::with_capacity(dn.len());
    let mut chars = dn.trim().chars().peekable();
    let mut escaped = false;
    while let Some(c) = chars.next() {
        if !escaped && matches!(c, ',' | '=' | '+') {
            while out.ends_with(' ') {
                out.pop();
            }
            out.push(c);
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            continue;
        }
        escaped = !escaped && c == '\\';
        out.extend(c.to_lowercase());
    }
    hash128(&out.as_str())
}

/// AD's `objectGUID` (16 bytes, the first three fields little-endian) in its usual text form.
pub fn guid_text(b: &[u8]) -> Option<String> {
    let b: &[u8; 16] = b.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    ))
}

/// How an entry's account state is read.
#[derive(Debug, Clone, Default)]
pub struct Enabled {
    /// An attribute whose presence disables the account (`nsAccountLock`,
    /// `pwdAccountLockedTime`, …); with `values`, only those values (any case) disable it.
    pub disabled_attribute: Option<String>,
    pub disabled_values: Vec<String>,
}

impl Enabled {
    /// `userAccountControl` bit 2 where the directory has it (AD), else the configured
    /// attribute; `None` when neither says anything (the account counts as enabled).
    pub fn of(&self, attrs: &HashMap<String, Vec<String>>) -> Option<bool> {
        if let Some(uac) = get(attrs, "userAccountControl").and_then(|v| v.first()) {
            return uac.trim().parse::<u64>().ok().map(|f| f & ACCOUNTDISABLE == 0);
        }
        let name = self.disabled_attribute.as_deref()?;
        let values = get(attrs, name)?;
        let disables = |v: &String| {
            if self.disabled_values.is_empty() {
                !matches!(v.trim().to_ascii_lowercase().as_str(), "false" | "0" | "")
            } else {
                self.disabled_values.iter().any(|d| d.eq_ignore_ascii_case(v.trim()))
            }
        };
        Some(!values.iter().any(disables))
    }
}

/// An attribute's values, the name matched without regard to case.
pub fn get<'a>(attrs: &'a HashMap<String, Vec<String>>, name: &str) -> Option<&'a Vec<String>> {
    attrs
        .get(name)
        .or_else(|| attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// The entry's id from `id_attribute` (text, or a binary GUID).
pub fn id_of(
    attrs: &HashMap<String, Vec<String>>,
    bin: &HashMap<String, Vec<Vec<u8>>>,
    id_attribute: &str,
) -> Option<String> {
    if let Some(v) = get(attrs, id_attribute).and_then(|v| v.first()) {
        return Some(v.clone());
    }
    bin.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(id_attribute))
        .and_then(|(_, v)| v.first())
        .and_then(|b| guid_text(b))
}

/// The attributes a mapping may read: one value as a string, several as a list. `skip`
/// names attributes kept out (the id, the member list).
pub fn attributes(attrs: HashMap<String, Vec<String>>, skip: &[&str]) -> Map<String, Value> {
    attrs
        .into_iter()
        .filter(|(k, _)| !skip.iter().any(|s| s.eq_ignore_ascii_case(k)))
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, mut v)| {
            let value = if v.len() == 1 {
                Value::String(v.remove(0))
            } else {
                Value::Array(v.into_iter().map(Value::String).collect())
            };
            (k, value)
        })
        .collect()
}

pub fn object(kind: ObjectKind, id: String, attrs: Map<String, Value>) -> SourceObject {
    SourceObject {
        kind,
        id,
        attrs,
        members: Vec::new(),
        app_roles: Vec::new(),
        deleted: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &[&str])]) -> HashMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn dns_compare_without_case_or_blanks() {
        assert_eq!(
            dn_key("CN=Ann Lee, OU=People,DC=Example, DC=org"),
            dn_key("cn=ann lee,ou=people,dc=example,dc=org")
        );
        assert_ne!(
            dn_key("cn=ann lee,dc=x"),
            dn_key("cn=annlee,dc=x"),
            "blanks inside a value count"
        );
        assert_ne!(dn_key(r"cn=a\,b,dc=x"), dn_key("cn=a,b,dc=x"));
    }

    #[test]
    fn object_guid_text_is_mixed_endian() {
        let b = [
            0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
        ];
        assert_eq!(guid_text(&b).unwrap(), "00112233-4455-6677-8899-aabbccddeeff");
        assert_eq!(guid_text(&b[..15]), None);
    }

    #[test]
    fn account_state_from_user_account_control_or_an_attribute() {
        let none = Enabled::default();
        assert_eq!(none.of(&attrs(&[("userAccountControl", &["512"])])), Some(true));
        assert_eq!(none.of(&attrs(&[("useraccountcontrol", &["514"])])), Some(false));
        assert_eq!(none.of(&attrs(&[("cn", &["x"])])), None);
        let lock = Enabled {
            disabled_attribute: Some("nsAccountLock".into()),
            disabled_values: vec![],
        };
        assert_eq!(lock.of(&attrs(&[("nsAccountLock", &["TRUE"])])), Some(false));
        assert_eq!(lock.of(&attrs(&[("nsaccountlock", &["false"])])), Some(true));
        assert_eq!(lock.of(&attrs(&[("cn", &["x"])])), None);
        let typed = Enabled {
            disabled_attribute: Some("employeeType".into()),
            disabled_values: vec!["Disabled".into(), "left".into()],
        };
        assert_eq!(typed.of(&attrs(&[("employeeType", &["contractor"])])), Some(true));
        assert_eq!(typed.of(&attrs(&[("employeeType", &["disabled"])])), Some(false));
    }

    #[test]
    fn one_value_is_a_string_several_a_list() {
        let a = attributes(
            attrs(&[
                ("mail", &["a@x"]),
                ("ou", &["A", "B"]),
                ("entryUUID", &["id"]),
                ("sn", &[]),
            ]),
            &["entryuuid"],
        );
        assert_eq!(a["mail"], "a@x");
        assert_eq!(a["ou"], serde_json::json!(["A", "B"]));
        assert!(!a.contains_key("entryUUID") && !a.contains_key("sn"));
    }
}
