//! Webhook endpoints and their delivery state. Each endpoint has its own cursor into the
//! tenant's feed (the last `seq` it was sent or skipped), so a restart resumes where it
//! stood; a lease per tenant makes one replica at a time deliver that tenant's events.

use async_trait::async_trait;

use super::TenantId;
use crate::error::Result;
use crate::events::EventType;
use crate::time_fmt::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    /// The event types to send; empty for every type.
    pub events: Vec<EventType>,
}

impl NewWebhook {
    /// The endpoint as stored when created: delivery starts after seq `after`.
    pub fn created(
        self,
        id: String,
        tenant: TenantId,
        tenant_name: String,
        secret: String,
        now: Timestamp,
        after: i64,
    ) -> Webhook {
        Webhook {
            id,
            tenant,
            tenant_name,
            url: self.url,
            events: self.events,
            secret,
            created: now,
            delivery: Delivery {
                delivered: after,
                ..Default::default()
            },
        }
    }
}

/// Where an endpoint's delivery stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivery {
    /// The last `seq` sent with a 2xx answer, or skipped because its type is not wanted.
    pub delivered: i64,
    /// Failed attempts at the next event since the last success.
    pub attempts: u32,
    pub next_attempt: Option<Timestamp>,
    /// When the current run of failures began.
    pub failing_since: Option<Timestamp>,
    pub last_error: Option<String>,
    pub last_success: Option<Timestamp>,
    /// Retries stopped (after three days of failures); events stay in the feed.
    pub failing: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub tenant: TenantId,
    /// The tenant's name, which events carry.
    pub tenant_name: String,
    pub url: String,
    pub events: Vec<EventType>,
    /// `whsec_…` (Standard Webhooks): kept, because every delivery is signed with it.
    pub secret: String,
    pub created: Timestamp,
    pub delivery: Delivery,
}

impl Webhook {
    pub fn wants(&self, event: EventType) -> bool {
        self.events.is_empty() || self.events.contains(&event)
    }
}

#[async_trait]
pub trait WebhookStore: Send + Sync + 'static {
    /// A new endpoint, with a new id and signing secret, whose delivery starts after the
    /// tenant's newest event.
    async fn create_webhook(&self, tenant: TenantId, hook: NewWebhook, now: Timestamp) -> Result<Webhook>;
    async fn webhooks(&self, tenant: TenantId) -> Result<Vec<Webhook>>;
    async fn delete_webhook(&self, tenant: TenantId, id: &str) -> Result<bool>;
    /// Writes an endpoint's delivery state, if `holder` still holds the tenant's lease at
    /// `now`; false when it does not (another replica took over) or the endpoint is gone.
    async fn record_delivery(
        &self,
        tenant: TenantId,
        id: &str,
        delivery: &Delivery,
        holder: &str,
        now: Timestamp,
    ) -> Result<bool>;
    /// Sets an endpoint's delivery state regardless of leases (an operator's resume).
    async fn reset_delivery(&self, tenant: TenantId, id: &str, delivery: &Delivery) -> Result<bool>;
    /// Takes or renews, until `until`, the leases of up to `max` tenants with endpoints whose
    /// lease is free, expired at `now` or already `holder`'s; returns the tenants held.
    async fn acquire_leases(&self, holder: &str, now: Timestamp, until: Timestamp, max: usize)
    -> Result<Vec<TenantId>>;
    /// The endpoints with work to do for `holder` at `now`: their tenant's lease is its,
    /// they are not failing, their next attempt is due, and the feed holds events after their
    /// cursor. One query however many tenants the replica holds.
    async fn due_webhooks(&self, holder: &str, now: Timestamp) -> Result<Vec<Webhook>>;
    /// Gives up `holder`'s leases of `tenants` (a clean shutdown hands over at once).
    async fn release_leases(&self, holder: &str, tenants: &[TenantId]) -> Result<()>;
}
