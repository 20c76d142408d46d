//! Requests to Microsoft Graph: a token by client credentials (renewed a minute before it
//! expires, and after a 401), throttling waited out, pages followed.
//!
//! - 429 and 503 are waited out for `Retry-After` (or a doubling back-off when it is
//!   absent), as Graph's throttling guidance asks; so are 500, 502, 504 and lost
//!   connections. A request is given up after [`ATTEMPTS`] tries. Each page is its own
//!   request, so a failure mid-round retries that page, not the round.
//! - 410 Gone (an expired delta token, `resyncRequired`) is [`Fetch::Resync`]: the caller
//!   reads in full instead.

use std::time::Duration;

use scim_client::{ClientOptions, JsonClient};
use serde_json::Value;
use sync_engine::EngineError;

/// Tries per request before it fails.
pub const ATTEMPTS: u32 = 8;
/// The longest single wait, whatever `Retry-After` says.
const MAX_WAIT: Duration = Duration::from_secs(300);
/// The scope of a client-credentials token for Graph.
pub const SCOPE: &str = "https://graph.microsoft.com/.default";

/// What a GET came back with.
pub enum Fetch {
    Json(Value),
    /// The delta token expired: read from scratch.
    Resync,
    NotFound,
}

pub struct Graph {
    client: JsonClient,
    base: String,
    /// `Prefer` sent with delta requests (`odata.maxpagesize=N`).
    prefer: String,
    /// Waits are scaled by this (tests run with short back-offs; `Retry-After` is obeyed).
    backoff: Duration,
}

fn src(msg: String) -> EngineError {
    EngineError::Source(msg)
}

impl Graph {
    pub fn new(
        graph_url: &str,
        token_url: &str,
        client_id: &str,
        secret: &str,
        page_size: u32,
    ) -> Result<Graph, EngineError> {
        let opts = ClientOptions {
            timeout: Duration::from_secs(120),
            ..ClientOptions::default()
        };
        let client = JsonClient::client_credentials(graph_url, token_url, client_id, secret, SCOPE, &opts)
            .map_err(|e| EngineError::Config(format!("source (type = \"graph\"): {e}")))?;
        Ok(Graph {
            client,
            base: graph_url.trim_end_matches('/').to_string(),
            prefer: format!("odata.maxpagesize={page_size}"),
            backoff: Duration::from_secs(1),
        })
    }

    /// `path` under the Graph URL (`/users/delta?…`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GETs a URL, waiting out throttling and transient failures.
    pub async fn get(&self, url: &str) -> Result<Fetch, EngineError> {
        let mut refused = false;
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            let wait = match self.client.get(url, &[("prefer", &self.prefer)]).await {
                Ok(r) => match r.status {
                    200 => {
                        return serde_json::from_slice(&r.body)
                            .map(Fetch::Json)
                            .map_err(|e| src(format!("Graph {}: not JSON: {e}", self.short(url))));
                    }
                    404 => return Ok(Fetch::NotFound),
                    410 => return Ok(Fetch::Resync),
                    401 if !refused => {
                        // The token may have been revoked early: one more try with a new one.
                        refused = self.client.refused().await;
                        if !refused {
                            return Err(self.failed(url, r.status, &r.body));
                        }
                        continue;
                    }
                    429 | 500 | 502 | 503 | 504 => {
                        last = format!("HTTP {}", r.status);
                        r.retry_after.unwrap_or(self.backoff * 2u32.pow(attempt))
                    }
                    _ => return Err(self.failed(url, r.status, &r.body)),
                },
                Err(scim_client::ClientError::Status { status, detail, .. }) => {
                    // The token endpoint refused the client: no retry will fix that.
                    return Err(src(format!("Graph sign-in failed (HTTP {status}): {detail}")));
                }
                Err(e) => {
                    last = e.to_string();
                    self.backoff * 2u32.pow(attempt)
                }
            };
            tracing::warn!(url = %self.short(url), %last, wait_ms = wait.as_millis() as u64, "Graph: waiting before a retry");
            tokio::time::sleep(wait.min(MAX_WAIT)).await;
        }
        Err(src(format!(
            "Graph {}: still failing after {ATTEMPTS} tries ({last})",
            self.short(url)
        )))
    }

    /// A GET whose answer must exist.
    pub async fn json(&self, url: &str) -> Result<Value, EngineError> {
        match self.get(url).await? {
            Fetch::Json(v) => Ok(v),
            Fetch::NotFound => Err(src(format!("Graph {}: not found (404)", self.short(url)))),
            Fetch::Resync => Err(src(format!("Graph {}: gone (410)", self.short(url)))),
        }
    }

    /// Follows `@odata.nextLink` from `first`, handing each page's `value` to `f`. Returns
    /// the final `@odata.deltaLink` (a delta round), or `None` for a plain list; `Resync`
    /// when the token expired.
    pub async fn pages(
        &self,
        first: String,
        mut f: impl FnMut(Vec<Value>) -> Result<(), EngineError>,
    ) -> Result<Paged, EngineError> {
        let mut url = first;
        loop {
            let mut page = match self.get(&url).await? {
                Fetch::Json(v) => v,
                Fetch::Resync => return Ok(Paged::Resync),
                Fetch::NotFound => return Err(src(format!("Graph {}: not found (404)", self.short(&url)))),
            };
            match page.get_mut("value").map(Value::take) {
                Some(Value::Array(items)) => f(items)?,
                _ => {
                    return Err(src(format!(
                        "Graph {}: the answer has no \"value\" list",
                        self.short(&url)
                    )));
                }
            }
            if let Some(next) = page.get("@odata.nextLink").and_then(Value::as_str) {
                url = next.to_string();
                continue;
            }
            let delta = page.get("@odata.deltaLink").and_then(Value::as_str).map(str::to_string);
            return Ok(Paged::Done(delta));
        }
    }

    fn failed(&self, url: &str, status: u16, body: &[u8]) -> EngineError {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let code = v.pointer("/error/code").and_then(Value::as_str).unwrap_or("");
        let message = v.pointer("/error/message").and_then(Value::as_str).unwrap_or("");
        let hint = match status {
            401 | 403 => {
                " (does the application have User.Read.All, GroupMember.Read.All and Application.Read.All, with admin consent?)"
            }
            _ => "",
        };
        src(format!(
            "Graph {}: HTTP {status} {code}: {message}{hint}",
            self.short(url)
        ))
    }

    /// The URL without its base and query, for messages (tokens stay out of logs).
    fn short<'u>(&self, url: &'u str) -> &'u str {
        let path = url.strip_prefix(&self.base).unwrap_or(url);
        path.split('?').next().unwrap_or(path)
    }
}

/// How a paged read ended.
pub enum Paged {
    /// All pages read; the delta link, if this was a delta round.
    Done(Option<String>),
    /// The delta token expired.
    Resync,
}
