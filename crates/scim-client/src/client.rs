//! [`ScimClient`]: the HTTP calls.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper::http::Method;
use hyper::http::header::{HeaderValue, LOCATION, RETRY_AFTER};
use scim_proto::PatchOperation;
use serde_json::{Value, json};

use crate::bulk::{BulkLimits, BulkRequest, BulkResponse, parse_response};
use crate::error::parse_retry_after;
use crate::oauth::{Credentials, TokenSource};
use crate::transport::{Auth, Transport};
use crate::{
    ClientError, ClientOptions, ConnectionReport, Endpoint, ListResponse, PATCH_OP_SCHEMA, Probe, ProbeResult,
};

/// A SCIM 2.0 client bound to one tenant base URL and bearer token. Cheap to clone.
#[derive(Clone)]
pub struct ScimClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    base_url: String,
}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("base_url", &self.inner.base_url)
            .finish_non_exhaustive()
    }
}

/// What came back from the server, read in full.
struct Reply {
    status: u16,
    retry_after: Option<Duration>,
    location: Option<String>,
    body: String,
}

impl Reply {
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn into_error(self) -> ClientError {
        let mut e = ClientError::from_response(self.status, self.retry_after, &self.body);
        if let (ClientError::Status { detail, .. }, Some(loc)) = (&mut e, &self.location)
            && (300..400).contains(&self.status)
        {
            detail.push_str(&format!(" (redirect to {loc}; redirects are not followed)"));
        }
        e
    }

    fn json(&self) -> Result<Value, ClientError> {
        serde_json::from_str(&self.body).map_err(|e| {
            let snippet: String = self.body.chars().take(200).collect();
            ClientError::Decode(format!("HTTP {}: {e}; body: {snippet:?}", self.status))
        })
    }

    /// The JSON body, or `None` when the body is empty.
    fn json_opt(&self) -> Result<Option<Value>, ClientError> {
        if self.body.trim().is_empty() {
            Ok(None)
        } else {
            self.json().map(Some)
        }
    }
}

impl ScimClient {
    /// A client for the tenant at `base_url` (e.g. `https://host/scim/v2/acme`; a trailing
    /// `/` is trimmed). Fails with [`ClientError::Config`] on a non-http(s) URL, an empty or
    /// non-header-safe token, or when the HTTP client cannot be built.
    pub fn new(base_url: &str, token: &str, opts: ClientOptions) -> Result<ScimClient, ClientError> {
        Self::with_credentials(base_url, Credentials::Bearer(token.to_string()), opts)
    }

    /// A client that authenticates with `creds`: a static token, or OAuth 2.0 client
    /// credentials whose access tokens are fetched and renewed as needed.
    pub fn with_credentials(
        base_url: &str,
        creds: Credentials,
        opts: ClientOptions,
    ) -> Result<ScimClient, ClientError> {
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        let bad = |why: &str| ClientError::Config(format!("base URL {base_url:?}: {why}"));
        let uri: hyper::Uri = base_url.parse().map_err(|e| bad(&format!("{e}")))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad("scheme must be http or https")),
        };
        if uri.host().is_none_or(str::is_empty) {
            return Err(bad("no host"));
        }
        if uri.query().is_some() || base_url.contains('#') {
            return Err(bad("must not have a query or fragment"));
        }
        let auth = match creds {
            Credentials::Bearer(token) => {
                if token.trim().is_empty() {
                    return Err(ClientError::Config("empty bearer token".into()));
                }
                let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
                    ClientError::Config("bearer token contains characters not allowed in a header".into())
                })?;
                auth.set_sensitive(true);
                Auth::Static(auth)
            }
            Credentials::ClientCredentials {
                token_url,
                client_id,
                client_secret,
            } => Auth::OAuth(TokenSource::new(&token_url, &client_id, &client_secret, opts.timeout)?),
        };
        let transport = Transport::new(https, auth, &opts)?;
        Ok(ScimClient {
            inner: Arc::new(Inner { transport, base_url }),
        })
    }

    /// The tenant base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// `GET /{ep}/{id}`; a 404 is `Ok(None)`.
    pub async fn get(&self, ep: Endpoint, id: &str, attributes: Option<&str>) -> Result<Option<Value>, ClientError> {
        let mut url = self.resource_url(ep, id)?;
        if let Some(a) = attributes {
            url.push('?');
            url.push_str(&query(&[("attributes", a)]));
        }
        let reply = self.send(Method::GET, url, None).await?;
        match reply.status {
            404 => Ok(None),
            200..=299 => reply.json().map(Some),
            _ => Err(reply.into_error()),
        }
    }

    /// `GET /{ep}?filter=…&attributes=…&startIndex=…&count=…` (form-encoded query).
    pub async fn search(
        &self,
        ep: Endpoint,
        filter: Option<&str>,
        attributes: Option<&str>,
        start_index: u64,
        count: u64,
    ) -> Result<ListResponse, ClientError> {
        let (start, cnt) = (start_index.to_string(), count.to_string());
        let mut pairs = Vec::with_capacity(4);
        if let Some(f) = filter {
            pairs.push(("filter", f));
        }
        if let Some(a) = attributes {
            pairs.push(("attributes", a));
        }
        pairs.push(("startIndex", &start));
        pairs.push(("count", &cnt));
        let url = format!("{}?{}", self.endpoint_url(ep), query(&pairs));
        let reply = self.send(Method::GET, url, None).await?;
        if !reply.is_success() {
            return Err(reply.into_error());
        }
        parse_list(&reply.json()?, start_index)
    }

    /// `POST /{ep}`; expects 201 Created (200 is accepted) with the created resource.
    pub async fn create(&self, ep: Endpoint, body: &Value) -> Result<Value, ClientError> {
        let reply = self.send(Method::POST, self.endpoint_url(ep), Some(body)).await?;
        match reply.status {
            200 | 201 => reply.json(),
            s if reply.is_success() => Err(ClientError::Decode(format!(
                "create answered HTTP {s}, expected 201 with the resource"
            ))),
            _ => Err(reply.into_error()),
        }
    }

    /// `PATCH /{ep}/{id}` with a PatchOp body; `None` when the server answers without a
    /// body (204 No Content).
    pub async fn patch(&self, ep: Endpoint, id: &str, ops: &[PatchOperation]) -> Result<Option<Value>, ClientError> {
        let url = self.resource_url(ep, id)?;
        let body = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops});
        let reply = self.send(Method::PATCH, url, Some(&body)).await?;
        if !reply.is_success() {
            return Err(reply.into_error());
        }
        if reply.status == 204 {
            return Ok(None);
        }
        reply.json_opt()
    }

    /// `PUT /{ep}/{id}`; expects the replaced resource.
    pub async fn replace(&self, ep: Endpoint, id: &str, body: &Value) -> Result<Value, ClientError> {
        let url = self.resource_url(ep, id)?;
        let reply = self.send(Method::PUT, url, Some(body)).await?;
        if !reply.is_success() {
            return Err(reply.into_error());
        }
        reply
            .json_opt()?
            .ok_or_else(|| ClientError::Decode(format!("replace answered HTTP {} without a body", reply.status)))
    }

    /// `DELETE /{ep}/{id}`; any 2xx is success, a 404 is `Err(Status { status: 404, .. })`.
    pub async fn delete(&self, ep: Endpoint, id: &str) -> Result<(), ClientError> {
        let url = self.resource_url(ep, id)?;
        let reply = self.send(Method::DELETE, url, None).await?;
        if reply.is_success() {
            Ok(())
        } else {
            Err(reply.into_error())
        }
    }

    /// `GET /ServiceProviderConfig`.
    pub async fn service_provider_config(&self) -> Result<Value, ClientError> {
        let url = format!("{}/ServiceProviderConfig", self.inner.base_url);
        let reply = self.send(Method::GET, url, None).await?;
        if !reply.is_success() {
            return Err(reply.into_error());
        }
        reply.json()
    }

    /// The `bulk` entry of `/ServiceProviderConfig`.
    pub async fn bulk_limits(&self) -> Result<BulkLimits, ClientError> {
        self.service_provider_config()
            .await
            .map(|spc| BulkLimits::from_spc(&spc))
    }

    /// `POST /Bulk`. A 2xx answer with a readable BulkResponse is `Ok` whatever its
    /// operations' statuses; any other answer is the request's error (a 429 carries its
    /// `Retry-After`, a 413 means the request was over the server's limits).
    pub async fn bulk(&self, request: &BulkRequest) -> Result<BulkResponse, ClientError> {
        let url = format!("{}/Bulk", self.inner.base_url);
        let reply = self.send(Method::POST, url, Some(&request.to_json())).await?;
        if !reply.is_success() {
            return Err(reply.into_error());
        }
        parse_response(&reply.json()?)
    }

    /// Entra's "Test Connection" with the default matching attribute: `GET
    /// /Users?filter=userName eq "<random_guid>"` must answer 200 with `totalResults` 0; then
    /// the ServiceProviderConfig is read for a capability report. See [`Self::test_connection_with`].
    pub async fn test_connection(&self, random_guid: &str) -> Result<ConnectionReport, ClientError> {
        let probe = Probe {
            endpoint: Endpoint::Users,
            path: "userName".into(),
        };
        self.test_connection_with(&[probe], random_guid).await
    }

    /// Test Connection probing each given matching attribute (Entra probes the configured one,
    /// and groups by `displayName` when groups are provisioned). An HTTP error status is
    /// reported (not returned as `Err`); only a probe that gets no HTTP answer at all
    /// (timeout, transport, config) is an `Err`.
    pub async fn test_connection_with(
        &self,
        probes: &[Probe],
        random_guid: &str,
    ) -> Result<ConnectionReport, ClientError> {
        let mut report = ConnectionReport::default();
        for p in probes {
            let r = self.probe(p, random_guid).await?;
            if report.probes.iter().all(|r| r.ok) {
                report.probe_status = r.status;
                report.probe_detail = r.detail.clone();
            }
            report.probes.push(r);
        }
        report.probe_ok = !report.probes.is_empty() && report.probes.iter().all(|r| r.ok);
        match self.service_provider_config().await {
            Ok(spc) => report.apply_spc(&spc),
            Err(e) => report.spc_error = Some(e.to_string()),
        }
        Ok(report)
    }

    async fn probe(&self, p: &Probe, random_guid: &str) -> Result<ProbeResult, ClientError> {
        let filter = format!("{} eq {}", p.path, Value::String(random_guid.to_string()));
        let mut params = vec![("filter", filter.as_str())];
        if p.endpoint == Endpoint::Groups {
            params.push(("excludedAttributes", "members"));
        }
        let url = format!("{}?{}", self.endpoint_url(p.endpoint), query(&params));
        let reply = self.send(Method::GET, url, None).await?;
        let mut r = ProbeResult {
            request: format!("GET /{}?filter={filter}", p.endpoint.path()),
            status: reply.status,
            ..Default::default()
        };
        if reply.status != 200 {
            r.detail = reply.into_error().to_string();
            return Ok(r);
        }
        match reply.json().and_then(|v| parse_list(&v, 1)) {
            Ok(l) if l.total_results == 0 => {
                r.ok = true;
                r.detail = "200 OK, totalResults 0".into();
            }
            Ok(l) => r.detail = format!("expected totalResults 0 for a random value, got {}", l.total_results),
            Err(e) => r.detail = e.to_string(),
        }
        Ok(r)
    }

    fn endpoint_url(&self, ep: Endpoint) -> String {
        format!("{}/{}", self.inner.base_url, ep.path())
    }

    fn resource_url(&self, ep: Endpoint, id: &str) -> Result<String, ClientError> {
        if id.is_empty() {
            return Err(ClientError::Config(format!("empty {ep} id")));
        }
        Ok(format!("{}/{}", self.endpoint_url(ep), encode_segment(id)))
    }

    async fn send(&self, method: Method, url: String, body: Option<&Value>) -> Result<Reply, ClientError> {
        let t = &self.inner.transport;
        let body = body.map(Value::to_string);
        let mut raw = t.send(method.clone(), &url, body.clone()).await?;
        // An access token may be revoked or expire early: fetch another once and retry.
        if raw.status == 401 && t.refused().await {
            raw = t.send(method, &url, body).await?;
        }
        let header = |name| raw.headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
        let retry_after = header(RETRY_AFTER).and_then(|v| parse_retry_after(v, SystemTime::now()));
        let location = header(LOCATION).map(str::to_string);
        Ok(Reply {
            status: raw.status,
            retry_after,
            location,
            body: String::from_utf8_lossy(&raw.body).into_owned(),
        })
    }
}

/// Form-encodes query pairs (space as `+`, as Entra sends them).
fn query(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Percent-encodes a path segment: everything but RFC 3986 unreserved characters.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reads a ListResponse. `totalResults` is required; `Resources` may be absent when empty;
/// `startIndex` / `itemsPerPage` default to the requested start and the page length.
fn parse_list(v: &Value, requested_start: u64) -> Result<ListResponse, ClientError> {
    let obj = v
        .as_object()
        .ok_or_else(|| ClientError::Decode("ListResponse is not a JSON object".into()))?;
    let num = |k: &str| match obj.get(k) {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let resources = match obj.get("Resources").or_else(|| obj.get("resources")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(ClientError::Decode("ListResponse Resources is not an array".into())),
    };
    let total_results =
        num("totalResults").ok_or_else(|| ClientError::Decode("ListResponse has no valid totalResults".into()))?;
    Ok(ListResponse {
        total_results,
        start_index: num("startIndex").unwrap_or(requested_start),
        items_per_page: num("itemsPerPage").unwrap_or(resources.len() as u64),
        resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_queries_are_encoded() {
        assert_eq!(encode_segment("a b/c?d#e%"), "a%20b%2Fc%3Fd%23e%25");
        assert_eq!(encode_segment("0f-A_b.c~"), "0f-A_b.c~");
        assert_eq!(encode_segment("ä"), "%C3%A4");
        assert_eq!(
            query(&[("filter", "userName eq \"a&b=c+d\"")]),
            "filter=userName+eq+%22a%26b%3Dc%2Bd%22"
        );
    }

    #[test]
    fn list_parsing() {
        let l = parse_list(
            &json!({"totalResults": 5, "startIndex": 3, "itemsPerPage": 1, "Resources": [{"id": "x"}]}),
            1,
        )
        .unwrap();
        assert_eq!(
            (l.total_results, l.start_index, l.items_per_page, l.resources.len()),
            (5, 3, 1, 1)
        );
        let l = parse_list(&json!({"totalResults": "0"}), 7).unwrap();
        assert_eq!((l.total_results, l.start_index, l.items_per_page), (0, 7, 0));
        assert!(matches!(
            parse_list(&json!({"Resources": []}), 1),
            Err(ClientError::Decode(_))
        ));
        assert!(matches!(
            parse_list(&json!({"totalResults": 1, "Resources": {}}), 1),
            Err(ClientError::Decode(_))
        ));
        assert!(matches!(parse_list(&json!([]), 1), Err(ClientError::Decode(_))));
    }

    #[test]
    fn new_validates_config() {
        let ok = ScimClient::new("http://localhost:1/scim/v2/t///", "tok", ClientOptions::default()).unwrap();
        assert_eq!(ok.base_url(), "http://localhost:1/scim/v2/t");
        for (url, tok) in [
            ("ftp://h/x", "tok"),
            ("not a url", "tok"),
            ("http://h/x?y=1", "tok"),
            ("http://h/x", ""),
            ("http://h/x", "bad\ntoken"),
            ("http:///x", "tok"),
            ("http://h/x#frag", "tok"),
        ] {
            assert!(
                matches!(
                    ScimClient::new(url, tok, ClientOptions::default()),
                    Err(ClientError::Config(_))
                ),
                "{url:?} {tok:?}"
            );
        }
    }
}
