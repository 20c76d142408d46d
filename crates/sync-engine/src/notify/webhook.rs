//! The notification webhook: a JSON POST signed as Standard Webhooks prescribes
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
//! id.timestamp.body>`), the way the server signs its change-feed webhooks, so one
//! verifier serves both. The secret is a `whsec_…` key.

use super::Event;
use crate::error::EngineError;

#[derive(Clone)]
pub struct Webhook {
    pub url: String,
    pub secret: Option<String>,
}

/// Checks that `secret` is a usable Standard Webhooks key (`whsec_` + base64).
pub fn check_secret(secret: &str) -> Result<(), String> {
    standardwebhooks::Webhook::new(secret)
        .map(|_| ())
        .map_err(|e| format!("not a Standard Webhooks secret (whsec_ followed by base64): {e}"))
}

impl Webhook {
    pub fn new(url: &str, secret: Option<String>) -> Webhook {
        Webhook {
            url: url.to_string(),
            secret,
        }
    }

    /// POSTs the event; `at` (unix seconds) is the signature's timestamp.
    pub async fn send(&self, event: &Event, at: i64) -> Result<(), EngineError> {
        let body = serde_json::to_vec(event).map_err(|e| EngineError::Config(e.to_string()))?;
        let id = format!("msg_{}", uuid::Uuid::now_v7().simple());
        let mut headers = vec![
            ("x-scimd-event", event.event.as_str().to_string()),
            (standardwebhooks::HEADER_WEBHOOK_ID, id.clone()),
            (standardwebhooks::HEADER_WEBHOOK_TIMESTAMP, at.to_string()),
        ];
        if let Some(secret) = &self.secret {
            let signer = standardwebhooks::Webhook::new(secret)
                .map_err(|e| EngineError::Config(format!("notify.webhook secret: {e}")))?;
            let signature = signer
                .sign(&id, at, &body)
                .map_err(|e| EngineError::Config(format!("notify.webhook signing: {e}")))?;
            headers.push((standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature));
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
