//! Secret tokens: 256 random bits, shown once, stored only as a SHA-256 hash.

use rand::RngCore;
use sha2::{Digest, Sha256};

pub const TOKEN_PREFIX: &str = "scimd_";
/// How many leading characters identify a token in listings and revocation.
pub const DISPLAY_PREFIX_LEN: usize = 14;

pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// A tenant's signing key: 256 random bits.
pub fn tenant_secret() -> scim_core::ports::Secret {
    let mut bytes = vec![0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    scim_core::ports::Secret(bytes)
}

pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub fn display_prefix(token: &str) -> String {
    token.chars().take(DISPLAY_PREFIX_LEN).collect()
}
