//! Failure notifications: a JSON POST to a webhook, signed with HMAC-SHA256 over the body
//! (`X-Scimd-Signature: sha256=<hex>`), so the receiver can verify it came from this job.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::error::EngineError;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    /// `quarantine`, `deletion_threshold`, `cycle_failed`.
    pub event: String,
    pub job: String,
    pub at: String,
    pub reason: String,
    pub details: serde_json::Value,
}

#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    pub secret: Option<String>,
}

/// `sha256=<hex>` of the body under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Webhook {
    pub fn new(url: &str, secret: Option<String>) -> Webhook {
        Webhook {
            url: url.to_string(),
            secret,
        }
    }

    pub async fn send(&self, event: &Event) -> Result<(), EngineError> {
        let body = serde_json::to_vec(event).map_err(|e| EngineError::Config(e.to_string()))?;
        let mut headers = vec![("x-scimd-event", event.event.clone())];
        if let Some(secret) = &self.secret {
            headers.push(("x-scimd-signature", signature(secret, &body)));
        }
        let status = scim_client::post_json(&self.url, &headers, body, std::time::Duration::from_secs(10))
            .await
            .map_err(|e| EngineError::Transport(format!("webhook {}: {e}", self.url)))?;
        if !(200..300).contains(&status) {
            return Err(EngineError::Transport(format!(
                "webhook {} answered HTTP {status}",
                self.url
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_matches_rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            super::signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
