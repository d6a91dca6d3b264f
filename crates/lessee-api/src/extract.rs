//! Extractors: the request id, the authenticated caller, strict JSON bodies and queries.
//! Each rejects with an RFC 9457 problem.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use lessee_domain::FieldError;
use lessee_service::{Error, ErrorCode, Principal};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::problem::ApiError;

/// The id of this request: the caller's `X-Request-Id` when it is sane, else a new one.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn from_header(value: Option<&str>) -> Self {
        match value {
            Some(v)
                if !v.is_empty()
                    && v.len() <= 64
                    && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)) =>
            {
                RequestId(v.to_owned())
            }
            _ => RequestId(uuid::Uuid::now_v7().to_string()),
        }
    }
}

pub(crate) fn request_id(parts: &Parts) -> String {
    parts.extensions.get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default()
}

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestId(request_id(parts)))
    }
}

/// The authenticated caller, from `Authorization: Bearer <token>`.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let rid = request_id(parts);
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::new(Error::unauthenticated("send `Authorization: Bearer <token>`"), &rid))?;
        let token = match value.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
            _ => {
                return Err(ApiError::new(Error::unauthenticated("the Authorization scheme must be Bearer"), &rid));
            }
        };
        let principal = state.service.authenticate(token).await.map_err(|e| ApiError::new(e, &rid))?;
        Ok(Auth(principal))
    }
}

/// Converts a serde path into a JSON pointer.
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut p = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => p.push_str(&format!("/{index}")),
            Segment::Map { key } => p.push_str(&format!("/{}", key.replace('~', "~0").replace('/', "~1"))),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    p
}

/// Parses a JSON body strictly, mapping each failure to its code.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let mut ptr = pointer(e.path());
            let inner = e.into_inner();
            let msg = inner.to_string();
            // serde reports an unknown field at its parent; point at the field itself.
            if let Some(name) = msg.strip_prefix("unknown field `").and_then(|r| r.split('`').next()) {
                ptr = format!("{ptr}/{}", name.replace('~', "~0").replace('/', "~1"));
            }
            let (code, field_code) = match inner.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                    (ErrorCode::MalformedJson, "malformed_json")
                }
                _ if msg.starts_with("unknown field") => (ErrorCode::UnknownField, "unknown_field"),
                _ => (ErrorCode::InvalidBody, "invalid_value"),
            };
            let detail = match code {
                ErrorCode::MalformedJson => format!("the body is not valid JSON: {msg}"),
                ErrorCode::UnknownField => format!(
                    "{msg} (at `{ptr}`); lessee refuses fields it does not know so that no evidence is dropped silently"
                ),
                _ => format!("{msg} (at `{ptr}`)"),
            };
            Err(Error {
                errors: vec![FieldError { pointer: ptr, code: field_code.to_owned(), message: msg }],
                ..Error::new(code, detail)
            })
        }
    }
}

/// A JSON body parsed strictly: content type checked, size bounded, unknown fields refused.
pub struct StrictJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for StrictJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let rid = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        let ctype = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let mime = ctype.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if mime != "application/json" && !mime.ends_with("+json") {
            return Err(ApiError::new(
                Error::new(ErrorCode::UnsupportedMediaType, "send the body as `Content-Type: application/json`"),
                &rid,
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            let e = if rej.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::new(
                    ErrorCode::PayloadTooLarge,
                    format!("the body is larger than the limit of {} bytes", state.config.max_body_bytes),
                )
            } else {
                Error::new(ErrorCode::InvalidBody, "the body could not be read")
            };
            ApiError::new(e, &rid)
        })?;
        parse_json(&bytes).map(StrictJson).map_err(|e| ApiError::new(e, &rid))
    }
}

/// A query string parsed strictly.
pub struct StrictQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for StrictQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let rid = request_id(parts);
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| StrictQuery(q))
            .map_err(|rej| ApiError::new(Error::new(ErrorCode::InvalidQuery, rej.body_text()), &rid))
    }
}

/// The audit context of a request: its id and the client's address (the TCP peer).
pub struct Ctx(pub lessee_service::RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let client_ip = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        Ok(Ctx(lessee_service::RequestContext { request_id: request_id(parts), client_ip }))
    }
}

/// The `Lessee-Purpose` header: why the caller reads personal data.
pub struct PurposeHeader(pub lessee_service::Purpose);

impl<S: Send + Sync> FromRequestParts<S> for PurposeHeader {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let rid = request_id(parts);
        let all: Vec<&str> = lessee_service::Purpose::ALL.iter().map(|p| p.as_str()).collect();
        let raw = parts.headers.get("lessee-purpose").and_then(|v| v.to_str().ok());
        raw.and_then(lessee_service::Purpose::parse).map(PurposeHeader).ok_or_else(|| {
            ApiError::new(
                Error::new(
                    ErrorCode::InvalidPurpose,
                    format!("reading personal data needs a `Lessee-Purpose` header, one of: {}", all.join(", ")),
                ),
                &rid,
            )
        })
    }
}

/// A raw body, size-bounded, with the limit reported as a problem.
pub struct RawBody(pub Bytes);

impl FromRequest<AppState> for RawBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let rid = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        Bytes::from_request(req, state).await.map(RawBody).map_err(|rej| {
            let e = if rej.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::new(
                    ErrorCode::PayloadTooLarge,
                    format!(
                        "the body is larger than the limit of {} bytes; split the batch",
                        state.config.max_batch_bytes
                    ),
                )
            } else {
                Error::new(ErrorCode::InvalidBody, "the body could not be read")
            };
            ApiError::new(e, &rid)
        })
    }
}
