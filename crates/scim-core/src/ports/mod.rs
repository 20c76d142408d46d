//! Storage ports: what the server needs from a store. Adapters (SQLite, PostgreSQL) live in
//! `scim-store`; callers see only these traits.

pub mod audit;
pub mod feed;
pub mod requests;
pub mod sync;
pub mod webhooks;

pub use audit::{AuditEntry, AuditQuery, AuditRecord, AuditStore};
pub use feed::{Event, FeedPosition, FeedStore, FeedWatch};
pub use requests::{LoggedRequest, RequestEntry, RequestLogStore, RequestQuery, StatusFilter};
pub use webhooks::{Delivery, NewWebhook, Webhook, WebhookStore};

use async_trait::async_trait;
use scim_proto::SortOrder;

use crate::error::Result;
use crate::index::IndexEntry;
use crate::normalize::Member;
use crate::patch::MemberOp;
use crate::resolve::RFilter;
use crate::resource::{Prepared, StoredResource};
use crate::schema::ResourceKind;
use crate::time_fmt::Timestamp;

pub type TenantId = i64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub created: Timestamp,
    /// A random per-tenant key that signs what the server hands out and must get back
    /// unchanged (pagination cursors). Kept in the database, so every replica has it.
    pub secret: Secret,
    /// This tenant's own request rate, if an operator set one; else the server's default.
    pub rate: Option<TenantRate>,
}

/// A tenant's token bucket: `per_second` requests a second on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantRate {
    pub per_second: u32,
    pub burst: u32,
}

impl TenantRate {
    /// The server's default: four times Entra's documented 25 requests a second.
    pub const DEFAULT: TenantRate = TenantRate {
        per_second: 100,
        burst: 200,
    };
    /// The largest rate or burst an operator may set.
    pub const MAX: u32 = 1_000_000;

    /// The burst when none is given: twice the rate (at most [`TenantRate::MAX`]).
    pub fn default_burst(per_second: u64) -> u64 {
        per_second.saturating_mul(2).min(u64::from(Self::MAX))
    }

    /// A rate and burst, each from 1 to [`TenantRate::MAX`].
    pub fn new(per_second: u64, burst: u64) -> std::result::Result<TenantRate, String> {
        let check = |what: &str, n: u64| {
            u32::try_from(n)
                .ok()
                .filter(|n| (1..=Self::MAX).contains(n))
                .ok_or_else(|| format!("{what} {n} is out of range; give 1 to {}", Self::MAX))
        };
        Ok(TenantRate {
            per_second: check("a rate of", per_second)?,
            burst: check("a burst of", burst)?,
        })
    }
}

impl std::str::FromStr for TenantRate {
    type Err = String;

    /// `100/200` (per second / burst), or `100` (a burst of twice the rate).
    fn from_str(s: &str) -> std::result::Result<TenantRate, String> {
        let bad = || format!("{s:?} is not a rate; write requests per second and burst as 100/200, or just 100");
        let (rate, burst) = match s.trim().split_once('/') {
            Some((r, b)) => (r.trim(), Some(b.trim())),
            None => (s.trim(), None),
        };
        let rate: u64 = rate.parse().map_err(|_| bad())?;
        let burst: u64 = match burst {
            Some(b) => b.parse().map_err(|_| bad())?,
            None => Self::default_burst(rate),
        };
        TenantRate::new(rate, burst)
    }
}

/// Who a token authenticated: the tenant, and the OAuth client whose access token it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub tenant: Tenant,
    pub client_id: Option<String>,
}

/// Key material; never printed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(pub Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub prefix: String,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
    pub revoked: Option<Timestamp>,
    /// When the token last authenticated a request, to within a minute (tenant tokens only).
    pub last_used: Option<Timestamp>,
}

/// A new token: the secret is shown once and never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub prefix: String,
    pub expires: Option<Timestamp>,
}

/// What to sort by.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    /// Creation order: stable, and what paging without `sortBy` uses.
    Created,
    Column(crate::resolve::Column),
    Index(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub filter: Option<RFilter>,
    pub sort: SortKey,
    pub order: SortOrder,
    /// 1-based; ignored (taken as 1) when `seek` is set.
    pub start_index: u64,
    pub count: u64,
    /// Cursor paging: continue from a sort position instead of an offset, so a deep page
    /// costs what the first does. Only for [`SortKey::Created`] and the non-null columns.
    pub seek: Option<Seek>,
}

/// A position in a sorted list: the sort value (None for [`SortKey::Created`], whose key is
/// the id) and the id that breaks ties.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    #[serde(rename = "v", skip_serializing_if = "Option::is_none", default)]
    pub value: Option<String>,
    #[serde(rename = "i")]
    pub id: String,
}

/// Rows strictly after `from` in the query's order, or (`backwards`) the `count` rows just
/// before it. Items still come back in the query's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seek {
    pub from: Position,
    pub backwards: bool,
}

impl SortKey {
    /// Whether cursor pages can seek on this sort (its values are never null).
    pub fn seekable(&self) -> bool {
        use crate::resolve::Column;
        matches!(
            self,
            SortKey::Created | SortKey::Column(Column::Id | Column::NameKey | Column::Created | Column::LastModified)
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub total: u64,
    pub items: Vec<StoredResource>,
}

/// The result of an update closure: the new document, the index rows of the old one (so
/// the store writes only the difference) and member changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub prepared: Prepared,
    pub old_index: Vec<IndexEntry>,
    pub members: Vec<MemberOp>,
    /// False when the change is a no-op: nothing is written and the version stays.
    pub changed: bool,
    /// The event the document's change makes; `None` when only members changed.
    pub event: Option<crate::events::EventType>,
}

/// Computes the new state from the current one. It runs inside the store's write
/// transaction, so read-modify-write is atomic without retries.
pub type UpdateFn = Box<dyn FnOnce(&StoredResource) -> Result<Update> + Send>;

#[async_trait]
pub trait ResourceStore: Send + Sync + 'static {
    /// A fresh, unique resource id.
    fn new_id(&self) -> String;
    async fn create(
        &self,
        tenant: TenantId,
        kind: ResourceKind,
        prepared: Prepared,
        members: Vec<Member>,
        now: Timestamp,
    ) -> Result<StoredResource>;
    async fn get(&self, tenant: TenantId, kind: ResourceKind, id: &str) -> Result<Option<StoredResource>>;
    /// Member objects (serialised JSON) of a group, in insertion order.
    async fn members(&self, tenant: TenantId, group_id: &str) -> Result<Vec<String>>;
    /// The members if there are at most `limit`, else `None`; costs O(limit), not O(members).
    async fn members_upto(&self, tenant: TenantId, group_id: &str, limit: usize) -> Result<Option<Vec<String>>>;
    /// Up to `limit` members of a group in member-id order, after `after`: `(member id,
    /// member JSON)`. One index range per call, so a caller can stream a group of any size in
    /// bounded memory.
    async fn members_after(
        &self,
        tenant: TenantId,
        group_id: &str,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<(String, String)>>;
    async fn update(
        &self,
        tenant: TenantId,
        kind: ResourceKind,
        id: &str,
        if_version: Option<i64>,
        now: Timestamp,
        f: UpdateFn,
    ) -> Result<StoredResource>;
    async fn delete(
        &self,
        tenant: TenantId,
        kind: ResourceKind,
        id: &str,
        if_version: Option<i64>,
        now: Timestamp,
    ) -> Result<()>;
    async fn query(&self, tenant: TenantId, kind: ResourceKind, q: Query) -> Result<Page>;
}

#[async_trait]
pub trait TenantStore: Send + Sync + 'static {
    /// The tenant named in the URL, if `token` is one of its known, unrevoked and unexpired
    /// tokens. Keyed by tenant first, so tokens can live beside the tenant's data.
    async fn authenticate(&self, tenant: &str, token: &str, now: Timestamp) -> Result<Option<Authenticated>>;
    async fn create_tenant(&self, name: &str, now: Timestamp) -> Result<Tenant>;
    async fn tenant(&self, name: &str) -> Result<Option<Tenant>>;
    async fn tenants(&self) -> Result<Vec<Tenant>>;
    /// Sets the tenant's own request rate (`None`: back to the server's default); false if
    /// there is no such tenant.
    async fn set_tenant_rate(&self, tenant: TenantId, rate: Option<TenantRate>) -> Result<bool>;
    async fn issue_token(&self, tenant: TenantId, expires: Option<Timestamp>, now: Timestamp) -> Result<IssuedToken>;
    async fn tokens(&self, tenant: TenantId) -> Result<Vec<TokenInfo>>;
    /// Revokes every token of the tenant starting with `prefix`; returns how many.
    async fn revoke_tokens(&self, tenant: TenantId, prefix: &str, now: Timestamp) -> Result<u64>;
    /// Records that `token` (of `tenant`) was used at `now`; a write at most once a minute per
    /// token, however often it is called.
    async fn touch_token(&self, tenant: TenantId, token: &str, now: Timestamp) -> Result<()>;
    /// Removes the tenant and everything it holds (resources, members, journal, tokens), in
    /// one transaction; false if there was no such tenant.
    async fn delete_tenant(&self, tenant: TenantId) -> Result<bool>;
}

/// The operators' credentials for the admin API: not bound to a tenant, hashed like the
/// tenants' tokens but kept apart from them (a SCIM token never opens the admin API).
#[async_trait]
pub trait AdminStore: Send + Sync + 'static {
    async fn issue_admin_token(&self, expires: Option<Timestamp>, now: Timestamp) -> Result<IssuedToken>;
    async fn admin_tokens(&self) -> Result<Vec<TokenInfo>>;
    /// Revokes the admin tokens starting with `prefix`; returns how many.
    async fn revoke_admin_tokens(&self, prefix: &str, now: Timestamp) -> Result<u64>;
    /// Whether `token` is a known, unrevoked and unexpired admin token.
    async fn authenticate_admin(&self, token: &str, now: Timestamp) -> Result<bool>;
}

/// An OAuth client's credentials as first issued (or a further secret, for rotation): the
/// secret is shown once and never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedClient {
    /// `{tenant}.{random}`: the token endpoint finds the tenant from it.
    pub client_id: String,
    pub client_secret: String,
    pub secret_prefix: String,
    pub expires: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    pub client_id: String,
    pub created: Timestamp,
    /// The client's secrets (prefixes and dates), oldest first.
    pub secrets: Vec<TokenInfo>,
}

/// OAuth 2.0 client credentials (RFC 6749 §4.4), bound to one tenant. An access token is a
/// tenant token that expires and belongs to its client: deleting the client revokes it.
#[async_trait]
pub trait ClientStore: Send + Sync + 'static {
    async fn create_client(
        &self,
        tenant: TenantId,
        secret_expires: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<IssuedClient>;
    /// Another live secret for the client (rotation); `None` if the tenant has no such client.
    async fn add_client_secret(
        &self,
        tenant: TenantId,
        client_id: &str,
        expires: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Option<IssuedClient>>;
    async fn revoke_client_secret(
        &self,
        tenant: TenantId,
        client_id: &str,
        prefix: &str,
        now: Timestamp,
    ) -> Result<u64>;
    async fn clients(&self, tenant: TenantId) -> Result<Vec<ClientInfo>>;
    /// Removes the client and revokes its access tokens; false if there was none.
    async fn delete_client(&self, tenant: TenantId, client_id: &str, now: Timestamp) -> Result<bool>;
    /// Checks a client's secret; if it is live, issues an access token for the client's tenant
    /// that expires at `expires`.
    async fn client_credentials(
        &self,
        client_id: &str,
        secret: &str,
        expires: Timestamp,
        now: Timestamp,
    ) -> Result<Option<IssuedToken>>;
}

/// Everything the server needs.
pub trait Store:
    ResourceStore + TenantStore + AdminStore + ClientStore + FeedStore + WebhookStore + RequestLogStore + AuditStore
{
}
impl<T> Store for T where
    T: ResourceStore + TenantStore + AdminStore + ClientStore + FeedStore + WebhookStore + RequestLogStore + AuditStore
{
}

/// One database handle: every port. `scim_store::open(url)` returns one for any backend;
/// `Arc<dyn Backend>` coerces to `Arc<dyn Store>` and `Arc<dyn SyncStateStore>`.
pub trait Backend: Store + sync::SyncStateStore {}
impl<T: Store + sync::SyncStateStore> Backend for T {}
