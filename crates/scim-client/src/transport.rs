//! The HTTP/1.1 transport: hyper's pooled client, with rustls (ring provider, platform
//! certificate verifier) for `https` base URLs.
//!
//! This deliberately does not enable a TLS feature of the workspace's `reqwest`: Cargo
//! unifies features across the workspace, and reqwest's `rustls-no-provider` makes every
//! other crate's `reqwest::Client::new()` panic unless it installs a crypto provider first.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use hyper::http::{HeaderMap, Method, Request};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls_platform_verifier::BuilderVerifierExt;

use crate::error::chain;
use crate::{ClientError, ClientOptions, SCIM_JSON};

/// Largest response body read (a bigger one is a [`ClientError::Decode`]).
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// How long an idle pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// A response read in full.
pub(crate) struct RawResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

enum Pool {
    Http(Client<HttpConnector, Full<Bytes>>),
    Https(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
}

pub(crate) struct Transport {
    pool: Pool,
    timeout: Duration,
    user_agent: HeaderValue,
    auth: HeaderValue,
}

/// A connection pool for plain HTTP, or for HTTPS with rustls (ring) and the platform's
/// certificate verifier.
fn build_pool(https: bool) -> Result<Pool, ClientError> {
    let mut builder = Client::builder(TokioExecutor::new());
    builder.pool_timer(TokioTimer::new()).pool_idle_timeout(POOL_IDLE);
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    if !https {
        return Ok(Pool::Http(builder.build(http)));
    }
    crate::install_crypto_provider();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Config(format!("TLS: {e}")))?
        .with_platform_verifier()
        .map_err(|e| ClientError::Config(format!("TLS certificate verifier: {e}")))?
        .with_no_client_auth();
    http.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .wrap_connector(http);
    Ok(Pool::Https(builder.build(connector)))
}

/// POSTs a JSON body to any URL (webhooks), with extra headers; returns the status code.
pub async fn post_json(
    url: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<u16, ClientError> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| ClientError::Config(format!("URL {url:?}: {e}")))?;
    let pool = build_pool(uri.scheme_str() == Some("https"))?;
    let mut rb = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, concat!("scimd/", env!("CARGO_PKG_VERSION")));
    for (k, v) in headers {
        rb = rb.header(*k, v.as_str());
    }
    let req = rb
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| ClientError::Config(format!("request to {url:?}: {e}")))?;
    let send = async {
        let resp = match &pool {
            Pool::Http(c) => c.request(req).await,
            Pool::Https(c) => c.request(req).await,
        }
        .map_err(|e| ClientError::Transport(chain(&e)))?;
        Ok(resp.status().as_u16())
    };
    tokio::time::timeout(timeout, send)
        .await
        .map_err(|_| ClientError::Timeout)?
}

impl Transport {
    /// `https` selects TLS; plain `http` base URLs never touch rustls.
    pub(crate) fn new(https: bool, auth: HeaderValue, opts: &ClientOptions) -> Result<Transport, ClientError> {
        let user_agent = HeaderValue::from_str(&opts.user_agent)
            .map_err(|_| ClientError::Config(format!("user agent {:?} is not a valid header", opts.user_agent)))?;
        let pool = build_pool(https)?;
        Ok(Transport {
            pool,
            timeout: opts.timeout,
            user_agent,
            auth,
        })
    }

    /// Sends one request and reads the whole response, all within the timeout.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<String>,
    ) -> Result<RawResponse, ClientError> {
        let mut rb = Request::builder()
            .method(method)
            .uri(url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, SCIM_JSON)
            .header(USER_AGENT, self.user_agent.clone());
        let body = match body {
            Some(b) => {
                rb = rb.header(CONTENT_TYPE, SCIM_JSON);
                Full::new(Bytes::from(b))
            }
            None => Full::default(),
        };
        let req = rb
            .body(body)
            .map_err(|e| ClientError::Config(format!("request to {url:?}: {e}")))?;
        let exchange = async {
            let resp = match &self.pool {
                Pool::Http(c) => c.request(req).await,
                Pool::Https(c) => c.request(req).await,
            }
            .map_err(|e| ClientError::Transport(chain(&e)))?;
            let (parts, body) = resp.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<LengthLimitError>() {
                        ClientError::Decode(format!("response body larger than {MAX_RESPONSE_BYTES} bytes"))
                    } else {
                        ClientError::Transport(format!("reading response body: {}", chain(e.as_ref())))
                    }
                })?
                .to_bytes();
            Ok(RawResponse {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout)?
    }
}
