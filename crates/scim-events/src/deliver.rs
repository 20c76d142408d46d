//! One delivery: the body signed as Standard Webhooks prescribes (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`)
//! and POSTed. A 2xx answer is a delivery; anything else, or no answer in time, is not.

use std::time::Duration;

use scim_core::Timestamp;
use scim_core::ports::Webhook;

/// The longest a receiver may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

const USER_AGENT: &str = concat!("scimd-webhooks/", env!("CARGO_PKG_VERSION"));

/// POSTs `body` as message `msg_id`; `Ok` with the status on a 2xx, else why not.
pub async fn send(w: &Webhook, msg_id: &str, body: &str, now: Timestamp, timeout: Duration) -> Result<u16, String> {
    let signer =
        standardwebhooks::Webhook::new(&w.secret).map_err(|e| format!("the endpoint's secret is unusable: {e}"))?;
    let ts = now.datetime().unix_timestamp();
    let signature = signer
        .sign(msg_id, ts, body.as_bytes())
        .map_err(|e| format!("signing failed: {e}"))?;
    let headers = [
        (standardwebhooks::HEADER_WEBHOOK_ID, msg_id.to_string()),
        (standardwebhooks::HEADER_WEBHOOK_TIMESTAMP, ts.to_string()),
        (standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature),
        ("user-agent", USER_AGENT.to_string()),
    ];
    match scim_client::post_json(&w.url, &headers, body.as_bytes().to_vec(), timeout).await {
        Ok(status) if (200..300).contains(&status) => Ok(status),
        Ok(status) => Err(format!("the receiver answered HTTP {status}")),
        Err(e) => Err(format!("no answer from the receiver: {e}")),
    }
}

/// The body of `POST …/webhooks/{id}/test`: a `webhook.test` message, not part of the feed.
pub fn test_message(w: &Webhook, now: Timestamp) -> (String, String) {
    let id = format!("test_{}", uuid::Uuid::now_v7());
    let body = serde_json::json!({
        "id": id,
        "type": "webhook.test",
        "tenant": w.tenant_name,
        "at": now,
        "data": {"webhook": w.id},
    });
    (id, body.to_string())
}
