//! Secret tokens: 256 random bits, shown once, stored only as a SHA-256 hash.

use rand::RngCore;
use sha2::{Digest, Sha256};

pub use scim_core::credential::{
    ADMIN_TOKEN_PREFIX, CLIENT_SECRET_PREFIX, DISPLAY_PREFIX_LEN, TOKEN_PREFIX, display_prefix,
};

pub fn generate() -> String {
    generate_with(TOKEN_PREFIX)
}

pub fn generate_admin() -> String {
    generate_with(ADMIN_TOKEN_PREFIX)
}

pub fn generate_client_secret() -> String {
    generate_with(CLIENT_SECRET_PREFIX)
}

/// A client id: the tenant's name, a dot (never in a tenant name), 24 random hex digits.
pub fn generate_client_id(tenant: &str) -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    format!("{tenant}.{}", hex::encode(bytes))
}

/// The tenant named in a client id.
pub fn client_tenant(client_id: &str) -> Option<&str> {
    client_id.rsplit_once('.').map(|(t, _)| t)
}

fn generate_with(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// A webhook endpoint's id: `wh_` and a UUIDv7 in hex, so ids sort in creation order.
pub fn webhook_id() -> String {
    format!("wh_{}", uuid::Uuid::now_v7().simple())
}

/// A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64.
pub fn webhook_secret() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(bytes))
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

/// A freshly generated secret with what is stored of it.
pub struct NewSecret {
    pub secret: String,
    pub prefix: String,
    pub hash: [u8; 32],
}

impl NewSecret {
    pub fn from(secret: String) -> NewSecret {
        NewSecret {
            prefix: display_prefix(&secret),
            hash: hash(&secret),
            secret,
        }
    }

    pub fn issued(self, expires: Option<scim_core::Timestamp>) -> scim_core::ports::IssuedToken {
        scim_core::ports::IssuedToken {
            token: self.secret,
            prefix: self.prefix,
            expires,
        }
    }
}
