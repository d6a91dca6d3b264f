//! RFC 9457 problem details, and the one table from error code to HTTP status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lessee_domain::FieldError;
use lessee_service::{Error, ErrorCode};
use serde::Serialize;
use utoipa::ToSchema;

/// The HTTP status and title of every error code. This is the whole mapping.
pub fn status_of(code: ErrorCode) -> (StatusCode, &'static str) {
    match code {
        ErrorCode::MalformedJson => (StatusCode::BAD_REQUEST, "Malformed JSON"),
        ErrorCode::InvalidBody => (StatusCode::BAD_REQUEST, "Invalid request body"),
        ErrorCode::UnknownField => (StatusCode::BAD_REQUEST, "Unknown field"),
        ErrorCode::InvalidQuery => (StatusCode::BAD_REQUEST, "Invalid query"),
        ErrorCode::InvalidIdempotencyKey => (StatusCode::BAD_REQUEST, "Invalid Idempotency-Key"),
        ErrorCode::InvalidPurpose => (StatusCode::BAD_REQUEST, "Purpose required"),
        ErrorCode::Unauthenticated => (StatusCode::UNAUTHORIZED, "Authentication required"),
        ErrorCode::Forbidden => (StatusCode::FORBIDDEN, "Forbidden"),
        ErrorCode::NotFound => (StatusCode::NOT_FOUND, "Not found"),
        ErrorCode::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
        ErrorCode::ExternalIdConflict => (StatusCode::CONFLICT, "External id already used"),
        ErrorCode::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
        ErrorCode::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),
        ErrorCode::ValidationFailed => (StatusCode::UNPROCESSABLE_ENTITY, "Validation failed"),
        ErrorCode::IdempotencyKeyMismatch => (StatusCode::UNPROCESSABLE_ENTITY, "Idempotency-Key reused"),
        ErrorCode::Conflict => (StatusCode::CONFLICT, "Conflict"),
        ErrorCode::NoLists => (StatusCode::CONFLICT, "No screening list imported"),
        ErrorCode::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "Service unavailable"),
        ErrorCode::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
    }
}

/// An RFC 9457 problem details body (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:lessee:problem:<code>`.
    #[serde(rename = "type")]
    #[schema(example = "urn:lessee:problem:validation_failed")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// The request id, also in the `X-Request-Id` response header.
    pub request_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For `external_id_conflict`: the account that already has the external id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_account_id: Option<String>,
}

/// A service error on its way to the client, with the request id it belongs to.
pub struct ApiError {
    pub error: Error,
    pub request_id: String,
}

impl ApiError {
    pub fn new(error: Error, request_id: &str) -> Self {
        ApiError { error, request_id: request_id.to_owned() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ApiError { error, request_id } = self;
        let (status, title) = status_of(error.code);
        if let Some(cause) = &error.internal {
            tracing::error!(request_id = %request_id, code = error.code.as_str(), error = %cause, "Request failed.");
        }
        let body = Problem {
            problem_type: format!("urn:lessee:problem:{}", error.code.as_str()),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: error.detail,
            code: error.code.as_str().to_owned(),
            request_id,
            errors: error.errors,
            existing_account_id: error.existing_account.map(|a| a.to_string()),
        };
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut resp = (status, json).into_response();
        let headers = resp.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"lessee\""));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_4xx_or_5xx_status() {
        for code in ErrorCode::ALL {
            let (status, title) = status_of(code);
            assert!(status.is_client_error() || status.is_server_error(), "{code:?}");
            assert!(!title.is_empty());
        }
    }
}
