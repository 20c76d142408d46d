//! What one resource may hold. Every limit is far above what Entra ID and Okta send, and is
//! checked before anything is stored: beyond it the request fails with 400 `invalidValue`
//! naming the attribute (README, "Limits"). Lengths count characters (Unicode scalar values).

use crate::schema::AttrType;

/// `userName`, `displayName` and `externalId`, and a member's `value`. Entra's
/// userPrincipalName is at most 113 characters and a displayName 256; Okta's login 100.
pub const MAX_NAME_CHARS: usize = 256;
/// Any other string value, core, enterprise or sub-attribute (Entra's longest directory
/// strings hold 1,024).
pub const MAX_STRING_CHARS: usize = 2_048;
/// A binary value (`x509Certificates`, base64): a certificate chain of a few kilobytes.
pub const MAX_BINARY_CHARS: usize = 32_768;
/// Values of one multi-valued attribute (`emails`, `phoneNumbers`, `addresses`, `roles`, …).
pub const MAX_VALUES: usize = 100;
/// Members named by one request: a group's POST or PUT body, or one PATCH's member operations.
pub const MAX_MEMBERS_PER_REQUEST: usize = 10_000;
/// An extension this server has no schema for is kept verbatim, up to this much JSON.
pub const MAX_UNKNOWN_EXTENSION_BYTES: usize = 65_536;

/// The most characters a string of this type at this attribute path may have.
pub fn max_chars(ty: AttrType, path: &str) -> usize {
    match ty {
        AttrType::Binary => MAX_BINARY_CHARS,
        _ if matches!(path, "userName" | "displayName" | "externalId") => MAX_NAME_CHARS,
        _ => MAX_STRING_CHARS,
    }
}

/// `Err(message)` when `s` has more than `max` characters.
pub fn check_length(s: &str, max: usize, path: &str) -> Result<(), String> {
    // Bytes bound characters from above: count only when the bytes could be too many.
    if s.len() > max && s.chars().count() > max {
        return Err(format!(
            "'{path}' is {} characters long; at most {max} are allowed",
            s.chars().count()
        ));
    }
    Ok(())
}
