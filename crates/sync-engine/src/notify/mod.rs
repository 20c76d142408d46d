//! Failure notifications: a signed webhook POST and an email (`[notify.email]`, Entra's
//! "Notification Email"), on quarantine, on a tripped deletion threshold, and when a cycle's
//! failures pass `failure_share`. At most one per job and kind in the `throttle` window (24 h
//! by default), claimed in the state store so processes sharing it send one.

use scim_core::ports::sync::SyncStateStore;
use serde::Serialize;
use time::OffsetDateTime;

use crate::config::{DEFAULT_FAILURE_SHARE, DEFAULT_THROTTLE, NotifyConfig, duration};

pub mod email;
mod webhook;

pub use email::{Email, compose};
pub use webhook::{Webhook, check_secret};

/// The most objects a notification lists.
pub const MAX_OBJECTS: usize = 20;

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Quarantine,
    DeletionThreshold,
    Failures,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Quarantine => "quarantine",
            Kind::DeletionThreshold => "deletion_threshold",
            Kind::Failures => "failures",
        }
    }
}

/// One object a notification names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    pub source_id: String,
    pub display: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    pub event: Kind,
    pub job: String,
    pub at: String,
    pub reason: String,
    pub details: serde_json::Value,
    /// Up to [`MAX_OBJECTS`] of the objects concerned (`details` has the totals).
    pub objects: Vec<ObjectRef>,
    /// What the admin should do, in plain words.
    pub next_steps: String,
}

impl Event {
    /// The throttle key: the kind, and for quarantine its reason (Entra re-sends when the
    /// reason changes).
    fn throttle_key(&self) -> String {
        match self.event {
            Kind::Quarantine => format!("quarantine:{}", self.reason),
            k => k.as_str().to_string(),
        }
    }
}

/// Where notifications go.
#[derive(Clone, Default)]
pub struct Notifier {
    pub webhook: Option<Webhook>,
    pub email: Option<Email>,
}

/// What [`Notifier::dispatch`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dispatched {
    pub throttled: bool,
    pub webhook: bool,
    pub email: bool,
}

/// The share of failed actions above which a cycle notifies.
pub fn failure_share(cfg: &NotifyConfig) -> f64 {
    cfg.failure_share.unwrap_or(DEFAULT_FAILURE_SHARE)
}

fn throttle(cfg: &NotifyConfig) -> time::Duration {
    let text = cfg.throttle.as_deref().unwrap_or(DEFAULT_THROTTLE);
    let d = duration("notify.throttle", text).unwrap_or(std::time::Duration::from_secs(86_400));
    time::Duration::try_from(d).unwrap_or(time::Duration::DAY)
}

impl Notifier {
    /// The channels of `[notify]`, with their secrets read (relative files against `base`).
    pub fn from_config(cfg: &NotifyConfig, base: &std::path::Path) -> Result<Notifier, crate::EngineError> {
        let webhook = match &cfg.webhook {
            Some(w) => {
                let r = crate::config::SecretRef {
                    token: w.secret.clone(),
                    token_env: w.secret_env.clone(),
                    token_file: w.secret_file.clone(),
                    ..Default::default()
                };
                let secret = if r.is_set() {
                    Some(r.resolve("notify.webhook secret", base)?)
                } else {
                    None
                };
                Some(Webhook::new(&w.url, secret))
            }
            None => None,
        };
        let email = cfg.email.as_ref().map(|e| Email::new(e, base)).transpose()?;
        Ok(Notifier { webhook, email })
    }

    pub fn is_empty(&self) -> bool {
        self.webhook.is_none() && self.email.is_none()
    }

    /// Sends `ev` on every channel unless a notice of its kind went out within the throttle
    /// window. A channel that fails is logged, never fails the cycle.
    pub async fn dispatch(
        &self,
        cfg: &NotifyConfig,
        state: &dyn SyncStateStore,
        ev: &Event,
        now: OffsetDateTime,
    ) -> Dispatched {
        let mut done = Dispatched::default();
        if self.is_empty() {
            return done;
        }
        let since = scim_core::Timestamp::new(now - throttle(cfg));
        match state
            .claim_notice(&ev.job, &ev.throttle_key(), scim_core::Timestamp::new(now), since)
            .await
        {
            Ok(false) => {
                done.throttled = true;
                return done;
            }
            Ok(true) => {}
            // The alarm matters more than the throttle: send anyway.
            Err(e) => tracing::warn!(error = %e, "notification throttle unavailable"),
        }
        if let Some(w) = &self.webhook {
            match w.send(ev, now.unix_timestamp()).await {
                Ok(()) => done.webhook = true,
                Err(e) => tracing::warn!(error = %e, "webhook notification failed"),
            }
        }
        if let Some(m) = &self.email {
            match m.send(ev).await {
                Ok(()) => done.email = true,
                Err(e) => tracing::warn!(error = %e, "email notification failed"),
            }
        }
        done
    }
}

/// The next steps for a notification, by kind and reason.
pub fn next_steps(kind: Kind, reason: &str, job: &str) -> String {
    match (kind, reason) {
        (Kind::Quarantine, crate::quarantine::REASON_CREDENTIALS) => format!(
            "The target refused the job's credentials. Check the token or OAuth client in the job's [target] \
             table, run `scimd sync test-connection` on the job file, then `scimd sync restart --lift-quarantine`. \
             Until then {job} retries on its own after 6 h, 12 h, 24 h and daily."
        ),
        (Kind::Quarantine, _) => format!(
            "Most of {job}'s object actions failed. `scimd sync logs --job {job} --status failure` lists them with \
             their error codes (docs/sync.md says what to do for each); fix the mapping or the target, then \
             `scimd sync restart --lift-quarantine`."
        ),
        (Kind::DeletionThreshold, _) => format!(
            "The deletions and disables were held back and nothing was removed. If the change in the source is \
             intended, run `scimd sync run --once --allow-deletes` on {job}'s job file; otherwise fix the source \
             (an emptied group, a changed filter) and the next cycle goes on normally."
        ),
        (Kind::Failures, _) => format!(
            "The failed objects are escrowed and retried next cycle, then after 1 h, 4 h and 24 h. \
             `scimd sync logs --job {job} --status failure` shows each error code and message."
        ),
    }
}
