//! OAuth 2.0 client credentials (RFC 6749 §4.4) for targets that issue short-lived access
//! tokens instead of a static secret token: the token is fetched on first use, kept until a
//! minute before it expires, and fetched again after a 401.

use std::time::{Duration, Instant};

use base64::Engine;
use hyper::http::header::HeaderValue;
use tokio::sync::Mutex;

use crate::ClientError;
use crate::transport::post_form;

/// How a client authenticates to the SCIM server.
#[derive(Clone)]
pub enum Credentials {
    /// A static secret token, sent as `Authorization: Bearer`.
    Bearer(String),
    /// Client credentials exchanged at `token_url` for access tokens.
    ClientCredentials {
        token_url: String,
        client_id: String,
        client_secret: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Bearer(_) => f.write_str("Bearer(…)"),
            Credentials::ClientCredentials {
                token_url, client_id, ..
            } => {
                write!(f, "ClientCredentials({client_id} at {token_url})")
            }
        }
    }
}

/// Tokens are renewed this long before they expire.
const EARLY: Duration = Duration::from_secs(60);

pub(crate) struct TokenSource {
    token_url: String,
    basic: HeaderValue,
    timeout: Duration,
    /// Sent as `scope` (Microsoft's token endpoint needs one, e.g. `…/.default`).
    scope: Option<String>,
    cached: Mutex<Option<(HeaderValue, Instant)>>,
}

impl TokenSource {
    pub(crate) fn new(token_url: &str, client_id: &str, secret: &str, timeout: Duration) -> Result<Self, ClientError> {
        let uri: hyper::Uri = token_url
            .parse()
            .map_err(|e| ClientError::Config(format!("token_url {token_url:?}: {e}")))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(ClientError::Config(format!(
                "token_url {token_url:?}: scheme must be http or https"
            )));
        }
        if client_id.trim().is_empty() || secret.trim().is_empty() {
            return Err(ClientError::Config(
                "client_id and client_secret must not be empty".into(),
            ));
        }
        // §2.3.1: each part form-encoded, then Basic.
        let enc = |s: &str| form_urlencoded::byte_serialize(s.trim().as_bytes()).collect::<String>();
        let pair = format!("{}:{}", enc(client_id), enc(secret));
        let b64 = base64::engine::general_purpose::STANDARD.encode(pair);
        let mut basic = HeaderValue::from_str(&format!("Basic {b64}"))
            .map_err(|_| ClientError::Config("client credentials are not header-safe".into()))?;
        basic.set_sensitive(true);
        Ok(TokenSource {
            token_url: token_url.to_string(),
            basic,
            timeout,
            scope: None,
            cached: Mutex::new(None),
        })
    }

    /// Asks for tokens with this `scope`.
    pub(crate) fn with_scope(mut self, scope: &str) -> Self {
        self.scope = Some(scope.to_string());
        self
    }

    /// The `Authorization` header to send now.
    pub(crate) async fn header(&self) -> Result<HeaderValue, ClientError> {
        let mut cached = self.cached.lock().await;
        if let Some((h, until)) = &*cached
            && Instant::now() + EARLY < *until
        {
            return Ok(h.clone());
        }
        let (h, lifetime) = self.fetch().await?;
        *cached = Some((h.clone(), Instant::now() + lifetime));
        Ok(h)
    }

    /// Forgets the token (the server refused it); the next request fetches another.
    pub(crate) async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self) -> Result<(HeaderValue, Duration), ClientError> {
        // Built in a block: the serializer is not `Send` and must not live across an await.
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "client_credentials");
            if let Some(scope) = &self.scope {
                form.append_pair("scope", scope);
            }
            form.finish().into_bytes()
        };
        let (status, text) = post_form(&self.token_url, self.basic.clone(), body, self.timeout).await?;
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        if status != 200 {
            let why = v["error_description"]
                .as_str()
                .or(v["error"].as_str())
                .unwrap_or("no error given");
            // As a status error, so a refused client counts like a refused token.
            return Err(ClientError::Status {
                status,
                scim_type: None,
                detail: format!("token endpoint {}: {why}", self.token_url),
                retry_after: None,
            });
        }
        let token = v["access_token"]
            .as_str()
            .ok_or_else(|| ClientError::Decode(format!("token endpoint {}: no access_token", self.token_url)))?;
        let lifetime = Duration::from_secs(v["expires_in"].as_u64().unwrap_or(3600));
        let mut h = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ClientError::Decode("the access token is not header-safe".into()))?;
        h.set_sensitive(true);
        Ok((h, lifetime))
    }
}
