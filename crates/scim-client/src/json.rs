//! [`JsonClient`]: the same transport for a plain JSON API that is not SCIM (Microsoft
//! Graph), with OAuth 2.0 client credentials for a `scope`, and any status handed back to the
//! caller, which decides what to retry.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hyper::http::Method;
use hyper::http::header::{HeaderValue, RETRY_AFTER};

use crate::oauth::TokenSource;
use crate::transport::{Auth, Transport};
use crate::{ClientError, ClientOptions, parse_retry_after};

/// A response: status, `Retry-After` when the server sent one, and the body.
#[derive(Debug, Clone)]
pub struct JsonResponse {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Bytes,
}

/// A client for one JSON API authenticated by OAuth 2.0 client credentials.
pub struct JsonClient {
    transport: Transport,
}

impl JsonClient {
    /// Requests go to URLs under `base_url` (its scheme picks TLS); tokens come from
    /// `token_url` for `scope`.
    pub fn client_credentials(
        base_url: &str,
        token_url: &str,
        client_id: &str,
        client_secret: &str,
        scope: &str,
        opts: &ClientOptions,
    ) -> Result<JsonClient, ClientError> {
        let uri: hyper::Uri = base_url
            .parse()
            .map_err(|e| ClientError::Config(format!("URL {base_url:?}: {e}")))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(ClientError::Config(format!(
                    "URL {base_url:?}: scheme must be http or https"
                )));
            }
        };
        let tokens = TokenSource::new(token_url, client_id, client_secret, opts.timeout)?.with_scope(scope);
        let mut transport = Transport::new(https, Auth::OAuth(tokens), opts)?;
        transport.media_type = HeaderValue::from_static("application/json");
        Ok(JsonClient { transport })
    }

    /// `GET url` with extra headers. Any status comes back; only a failure to get an answer
    /// (or a token) is an error.
    pub async fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<JsonResponse, ClientError> {
        let r = self.transport.send_with(Method::GET, url, headers, None).await?;
        let retry_after = r
            .headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        Ok(JsonResponse {
            status: r.status,
            retry_after,
            body: r.body,
        })
    }

    /// Drops the cached access token after a 401, so the next request fetches a new one.
    pub async fn refused(&self) -> bool {
        self.transport.refused().await
    }
}
