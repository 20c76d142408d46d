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
    auth: Auth,
    /// `Accept` and the `Content-Type` of bodies (SCIM's media type unless told otherwise).
    pub(crate) media_type: HeaderValue,
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
    let mut all: Vec<(&str, HeaderValue)> = vec![("content-type", HeaderValue::from_static("application/json"))];
    for (k, v) in headers {
        let v = HeaderValue::from_str(v).map_err(|_| ClientError::Config(format!("header {k} is not header-safe")))?;
        all.push((k, v));
    }
    post(url, &all, body, timeout).await.map(|(status, _)| status)
}

/// POSTs a form (an OAuth token request) with an `Authorization` header; returns the
/// status and the body.
pub(crate) async fn post_form(
    url: &str,
    auth: HeaderValue,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(u16, String), ClientError> {
    let headers = [
        (
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        ),
        ("accept", HeaderValue::from_static("application/json")),
        ("authorization", auth),
    ];
    post(url, &headers, body, timeout).await
}

async fn post(
    url: &str,
    headers: &[(&str, HeaderValue)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(u16, String), ClientError> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| ClientError::Config(format!("URL {url:?}: {e}")))?;
    let pool = build_pool(uri.scheme_str() == Some("https"))?;
    let mut rb = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(USER_AGENT, concat!("scimd/", env!("CARGO_PKG_VERSION")));
    for (k, v) in headers {
        rb = rb.header(*k, v.clone());
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
        let status = resp.status().as_u16();
        let body = Limited::new(resp.into_body(), 1024 * 1024)
            .collect()
            .await
            .map(|b| String::from_utf8_lossy(&b.to_bytes()).into_owned())
            .unwrap_or_default();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, send)
        .await
        .map_err(|_| ClientError::Timeout)?
}

/// How requests are authorised: a fixed header, or tokens from a token endpoint.
pub(crate) enum Auth {
    Static(HeaderValue),
    OAuth(crate::oauth::TokenSource),
}

impl Transport {
    /// `https` selects TLS; plain `http` base URLs never touch rustls.
    pub(crate) fn new(https: bool, auth: Auth, opts: &ClientOptions) -> Result<Transport, ClientError> {
        let user_agent = HeaderValue::from_str(&opts.user_agent)
            .map_err(|_| ClientError::Config(format!("user agent {:?} is not a valid header", opts.user_agent)))?;
        let pool = build_pool(https)?;
        Ok(Transport {
            pool,
            timeout: opts.timeout,
            user_agent,
            auth,
            media_type: HeaderValue::from_static(SCIM_JSON),
        })
    }

    /// Drops a cached access token after the server refused it; true if there was one to
    /// drop (a static token cannot get better by retrying).
    pub(crate) async fn refused(&self) -> bool {
        match &self.auth {
            Auth::Static(_) => false,
            Auth::OAuth(source) => {
                source.invalidate().await;
                true
            }
        }
    }

    /// Sends one request and reads the whole response, all within the timeout.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<String>,
    ) -> Result<RawResponse, ClientError> {
        self.send_with(method, url, &[], body).await
    }

    /// [`Self::send`] with extra headers.
    pub(crate) async fn send_with(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<RawResponse, ClientError> {
        let auth = match &self.auth {
            Auth::Static(h) => h.clone(),
            Auth::OAuth(source) => source.header().await?,
        };
        let mut rb = Request::builder()
            .method(method)
            .uri(url)
            .header(AUTHORIZATION, auth)
            .header(ACCEPT, self.media_type.clone())
            .header(USER_AGENT, self.user_agent.clone());
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let body = match body {
            Some(b) => {
                rb = rb.header(CONTENT_TYPE, self.media_type.clone());
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
