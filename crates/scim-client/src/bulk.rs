//! SCIM Bulk (RFC 7644 §3.7): the request and response shapes, the limits a server
//! advertises in `/ServiceProviderConfig`, and the id a created resource got.
//!
//! A request's serialized size is exactly [`BulkRequest::envelope_len`] plus the
//! [`BulkOperation::encoded_len`] of each operation plus one comma between operations, so a
//! caller can fill requests up to a server's `maxPayloadSize` without serializing them twice.

use serde_json::{Map, Value, json};

use crate::{ClientError, Endpoint};

/// The schema URN of a BulkRequest body.
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

/// The method of one Bulk operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkMethod {
    Post,
    Put,
    Patch,
    Delete,
}

impl BulkMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

/// One entry of a BulkRequest's `Operations`.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkOperation {
    pub method: BulkMethod,
    /// Names the operation in the response; `"bulkId:<it>"` elsewhere in the same request
    /// stands for the id a POST with this bulkId creates.
    pub bulk_id: Option<String>,
    /// Relative to the tenant base: `/Users`, `/Groups/{id}`.
    pub path: String,
    /// An ETag the target must still have (If-Match), for PUT, PATCH and DELETE.
    pub version: Option<String>,
    /// The request body; `None` for DELETE.
    pub data: Option<Value>,
}

impl BulkOperation {
    /// A POST of `data` to `/{ep}`, named `bulk_id`.
    pub fn create(ep: Endpoint, bulk_id: impl Into<String>, data: Value) -> BulkOperation {
        BulkOperation {
            method: BulkMethod::Post,
            bulk_id: Some(bulk_id.into()),
            path: format!("/{}", ep.path()),
            version: None,
            data: Some(data),
        }
    }

    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("method".into(), Value::String(self.method.as_str().into()));
        if let Some(b) = &self.bulk_id {
            o.insert("bulkId".into(), Value::String(b.clone()));
        }
        o.insert("path".into(), Value::String(self.path.clone()));
        if let Some(v) = &self.version {
            o.insert("version".into(), Value::String(v.clone()));
        }
        if let Some(d) = &self.data {
            o.insert("data".into(), d.clone());
        }
        Value::Object(o)
    }

    /// The bytes this operation takes in a serialized request.
    pub fn encoded_len(&self) -> usize {
        self.to_json().to_string().len()
    }
}

/// A BulkRequest message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkRequest {
    /// Stop after this many failed operations (`None`: attempt every operation).
    pub fail_on_errors: Option<u32>,
    pub operations: Vec<BulkOperation>,
}

impl BulkRequest {
    pub fn new(operations: Vec<BulkOperation>) -> BulkRequest {
        BulkRequest {
            fail_on_errors: None,
            operations,
        }
    }

    pub fn to_json(&self) -> Value {
        self.envelope(self.operations.iter().map(BulkOperation::to_json).collect())
    }

    fn envelope(&self, operations: Vec<Value>) -> Value {
        let mut body = json!({"schemas": [BULK_REQUEST_SCHEMA]});
        if let Some(n) = self.fail_on_errors {
            body["failOnErrors"] = json!(n);
        }
        body["Operations"] = Value::Array(operations);
        body
    }

    /// The serialized size of this request without any operation.
    pub fn envelope_len(&self) -> usize {
        self.envelope(Vec::new()).to_string().len()
    }

    /// The serialized size of the whole request, in bytes.
    pub fn encoded_len(&self) -> usize {
        let ops: usize = self.operations.iter().map(BulkOperation::encoded_len).sum();
        self.envelope_len() + ops + self.operations.len().saturating_sub(1)
    }
}

/// A BulkResponse: one result per operation the server performed, in its order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkResponse {
    pub operations: Vec<BulkResult>,
}

/// The outcome of one Bulk operation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkResult {
    pub method: Option<String>,
    pub bulk_id: Option<String>,
    /// The operation's HTTP status (sent as a string, as RFC 7644 shows, or a number).
    pub status: u16,
    pub location: Option<String>,
    pub version: Option<String>,
    /// The resource id: `response.id` when the server sent the resource, else the last
    /// segment of `location`.
    pub id: Option<String>,
    /// The error body's `scimType` and `detail`, for a failed operation.
    pub scim_type: Option<String>,
    pub detail: Option<String>,
    /// The operation's `response`, as sent.
    pub response: Option<Value>,
}

impl BulkResult {
    /// A 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A failed operation as the error a single request would have given (no `Retry-After`:
    /// the operation has no headers).
    pub fn error(&self) -> Option<ClientError> {
        if self.is_success() {
            return None;
        }
        let body = self.response.as_ref().map(Value::to_string).unwrap_or_default();
        Some(ClientError::from_response(self.status, None, &body))
    }
}

/// The `bulk` entry of a `/ServiceProviderConfig`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkLimits {
    pub supported: bool,
    /// `maxOperations`, when the server gave a valid one.
    pub max_operations: Option<u64>,
    /// `maxPayloadSize` in bytes, when the server gave a valid one.
    pub max_payload_size: Option<u64>,
}

impl BulkLimits {
    /// Reads `bulk` of a ServiceProviderConfig document; absent means unsupported. Numbers
    /// may come as JSON numbers or numeric strings, `supported` as a boolean or `"true"`.
    pub fn from_spc(spc: &Value) -> BulkLimits {
        let Some(bulk) = spc.get("bulk") else {
            return BulkLimits::default();
        };
        let supported = match bulk.get("supported") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
            _ => false,
        };
        BulkLimits {
            supported,
            max_operations: number(bulk.get("maxOperations")),
            max_payload_size: number(bulk.get("maxPayloadSize")),
        }
    }
}

fn number(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Parses a BulkResponse body. An operation without a readable `status` makes the whole
/// response unreadable: nothing could be concluded about it.
pub(crate) fn parse_response(v: &Value) -> Result<BulkResponse, ClientError> {
    let obj = v
        .as_object()
        .ok_or_else(|| ClientError::Decode("BulkResponse is not a JSON object".into()))?;
    let ops = match obj.get("Operations").or_else(|| obj.get("operations")) {
        Some(Value::Array(a)) => a,
        None | Some(Value::Null) => return Ok(BulkResponse::default()),
        Some(_) => return Err(ClientError::Decode("BulkResponse Operations is not an array".into())),
    };
    let operations = ops
        .iter()
        .enumerate()
        .map(|(i, op)| parse_result(i, op))
        .collect::<Result<_, _>>()?;
    Ok(BulkResponse { operations })
}

fn parse_result(i: usize, op: &Value) -> Result<BulkResult, ClientError> {
    let text = |k: &str| op.get(k).and_then(Value::as_str).map(str::to_string);
    // RFC 7644 sends "201"; SCIM 1.1 servers sent {"code": 201}.
    let status = match op.get("status") {
        Some(Value::Object(o)) => number(o.get("code")),
        other => number(other),
    }
    .and_then(|s| u16::try_from(s).ok())
    .filter(|s| (100..1000).contains(s))
    .ok_or_else(|| ClientError::Decode(format!("BulkResponse Operations[{i}] has no valid status")))?;
    let response = op.get("response").filter(|r| !r.is_null()).cloned();
    let location = text("location");
    let from_body = response
        .as_ref()
        .and_then(|r| r.get("id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let field = |k: &str| {
        response
            .as_ref()
            .and_then(|r| r.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Ok(BulkResult {
        method: text("method"),
        bulk_id: text("bulkId"),
        status,
        id: from_body.or_else(|| location.as_deref().and_then(id_from_location)),
        scim_type: field("scimType"),
        detail: field("detail"),
        version: text("version"),
        location,
        response,
    })
}

/// The percent-decoded last path segment of a resource location.
pub fn id_from_location(location: &str) -> Option<String> {
    let path = location.split(['?', '#']).next().unwrap_or_default();
    let segment = path.trim_end_matches('/').rsplit('/').next()?;
    let id = percent_decode(segment)?;
    (!id.is_empty()).then_some(id)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(i: usize, data: Value) -> BulkOperation {
        BulkOperation::create(Endpoint::Users, format!("b{i}"), data)
    }

    #[test]
    fn encoded_len_is_the_serialized_size() {
        let mut req = BulkRequest::default();
        assert_eq!(req.encoded_len(), req.to_json().to_string().len());
        for i in 0..5 {
            req.operations
                .push(op(i, json!({"userName": format!("ü{i}\"x"), "n": [i, {"a": null}]})));
            assert_eq!(req.encoded_len(), req.to_json().to_string().len(), "{i} ops");
        }
        req.fail_on_errors = Some(3);
        req.operations.push(BulkOperation {
            method: BulkMethod::Delete,
            bulk_id: None,
            path: "/Users/x".into(),
            version: Some("W/\"2\"".into()),
            data: None,
        });
        assert_eq!(req.encoded_len(), req.to_json().to_string().len());
        let body = req.to_json();
        assert_eq!(body["schemas"], json!([BULK_REQUEST_SCHEMA]));
        assert_eq!(body["failOnErrors"], 3);
        assert_eq!(body["Operations"][0]["method"], "POST");
        assert_eq!(body["Operations"][0]["path"], "/Users");
        assert_eq!(body["Operations"][0]["bulkId"], "b0");
        assert_eq!(body["Operations"][5]["version"], "W/\"2\"");
        assert!(body["Operations"][5].get("data").is_none());
    }

    #[test]
    fn results_parse_status_location_and_errors() {
        let r = parse_response(&json!({"schemas": ["x"], "Operations": [
            {"method": "POST", "bulkId": "b0", "location": "https://h/scim/v2/t/Users/a%20b", "version": "W/\"1\"", "status": "201"},
            {"method": "POST", "bulkId": "b1", "status": 409,
             "response": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409", "scimType": "uniqueness", "detail": "taken"}},
            {"method": "POST", "bulkId": "b2", "status": {"code": "201"}, "response": {"id": "from-body"}, "location": "https://h/Users/other"},
        ]}))
        .unwrap();
        let [a, b, c] = &r.operations[..] else { panic!("{r:?}") };
        assert_eq!((a.status, a.id.as_deref(), a.is_success()), (201, Some("a b"), true));
        assert_eq!(a.version.as_deref(), Some("W/\"1\""));
        assert_eq!(a.error(), None);
        assert_eq!((b.status, b.id.as_deref(), b.is_success()), (409, None, false));
        assert_eq!(b.scim_type.as_deref(), Some("uniqueness"));
        assert_eq!(b.detail.as_deref(), Some("taken"));
        let e = b.error().unwrap();
        assert_eq!(e.status(), Some(409));
        assert_eq!(e.to_string(), "HTTP 409 (uniqueness): taken");
        assert_eq!(c.id.as_deref(), Some("from-body"), "the response body's id wins");
        assert_eq!(c.status, 201);
    }

    #[test]
    fn unreadable_responses_are_decode_errors() {
        for body in [
            json!([]),
            json!({"Operations": {}}),
            json!({"Operations": [{"bulkId": "b0"}]}),
            json!({"Operations": [{"status": "created"}]}),
            json!({"Operations": [{"status": 99999}]}),
        ] {
            assert!(matches!(parse_response(&body), Err(ClientError::Decode(_))), "{body}");
        }
        assert_eq!(parse_response(&json!({})).unwrap().operations.len(), 0);
    }

    #[test]
    fn ids_from_locations() {
        assert_eq!(
            id_from_location("https://h/scim/v2/t/Users/abc").as_deref(),
            Some("abc")
        );
        assert_eq!(id_from_location("/Users/abc/").as_deref(), Some("abc"));
        assert_eq!(id_from_location("/Users/%C3%A4?x=1").as_deref(), Some("ä"));
        assert_eq!(id_from_location("/Users/%zz"), None);
        assert_eq!(id_from_location(""), None);
    }

    #[test]
    fn limits_from_spc() {
        let l = BulkLimits::from_spc(
            &json!({"bulk": {"supported": true, "maxOperations": 1000, "maxPayloadSize": "1048576"}}),
        );
        assert_eq!(
            l,
            BulkLimits {
                supported: true,
                max_operations: Some(1000),
                max_payload_size: Some(1_048_576)
            }
        );
        let off = BulkLimits::from_spc(&json!({"bulk": {"supported": false, "maxOperations": 0}}));
        assert_eq!((off.supported, off.max_operations), (false, Some(0)));
        assert_eq!(BulkLimits::from_spc(&json!({"patch": {}})), BulkLimits::default());
        let odd = BulkLimits::from_spc(&json!({"bulk": {"supported": "TRUE", "maxOperations": -1}}));
        assert_eq!(
            (odd.supported, odd.max_operations, odd.max_payload_size),
            (true, None, None)
        );
    }
}
