//! How credentials look: their kinds' prefixes, and the leading part that names a
//! credential in listings, revocation and the request log (never the whole secret).

pub const TOKEN_PREFIX: &str = "scimd_";
/// How many leading characters identify a token in listings and revocation.
pub const DISPLAY_PREFIX_LEN: usize = 14;

/// Admin tokens look different, so neither kind is pasted where the other belongs unnoticed.
pub const ADMIN_TOKEN_PREFIX: &str = "scimdadm_";

/// OAuth client secrets.
pub const CLIENT_SECRET_PREFIX: &str = "scimdcs_";

/// The first characters of a token: its kind's prefix and 8 hex digits.
pub fn display_prefix(token: &str) -> String {
    let len = if token.starts_with(ADMIN_TOKEN_PREFIX) {
        ADMIN_TOKEN_PREFIX.len() + 8
    } else if token.starts_with(CLIENT_SECRET_PREFIX) {
        CLIENT_SECRET_PREFIX.len() + 8
    } else {
        DISPLAY_PREFIX_LEN
    };
    token.chars().take(len).collect()
}
