//! The one error type of the services, with stable codes. The HTTP status of each code lives
//! in one table in `lessee-api` (`problem.rs`); the CLI's exit codes in one table in `lessee-cli`.

use lessee_domain::{AccountId, FieldError};
use lessee_store::StoreError;

/// Stable, machine-readable error codes. Never renamed: clients match on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    MalformedJson,
    InvalidBody,
    UnknownField,
    UnsupportedMediaType,
    PayloadTooLarge,
    ValidationFailed,
    InvalidQuery,
    InvalidIdempotencyKey,
    InvalidPurpose,
    Unauthenticated,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    ExternalIdConflict,
    IdempotencyKeyMismatch,
    /// A concurrent change won (e.g. two policy versions installed at once).
    Conflict,
    /// Screening was asked for but no list is imported.
    NoLists,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::MalformedJson,
        ErrorCode::InvalidBody,
        ErrorCode::UnknownField,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::PayloadTooLarge,
        ErrorCode::ValidationFailed,
        ErrorCode::InvalidQuery,
        ErrorCode::InvalidIdempotencyKey,
        ErrorCode::InvalidPurpose,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::ExternalIdConflict,
        ErrorCode::IdempotencyKeyMismatch,
        ErrorCode::Conflict,
        ErrorCode::NoLists,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::InvalidIdempotencyKey => "invalid_idempotency_key",
            ErrorCode::InvalidPurpose => "invalid_purpose",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::ExternalIdConflict => "external_id_conflict",
            ErrorCode::IdempotencyKeyMismatch => "idempotency_key_mismatch",
            ErrorCode::Conflict => "conflict",
            ErrorCode::NoLists => "no_lists",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

/// An error a service returns. `detail` is safe to show a client: it never holds personal
/// data or internals. Internal causes are kept in `internal` for the log only.
#[derive(Debug, thiserror::Error)]
#[error("{}: {detail}", code.as_str())]
pub struct Error {
    pub code: ErrorCode,
    pub detail: String,
    /// Field-level problems (for `validation_failed` and body errors).
    pub errors: Vec<FieldError>,
    /// For `external_id_conflict`: the account that holds the external id.
    pub existing_account: Option<AccountId>,
    /// The cause, for logs; never sent to a client.
    pub internal: Option<String>,
}

impl Error {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Error { code, detail: detail.into(), errors: Vec::new(), existing_account: None, internal: None }
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let n = errors.len();
        Error {
            errors,
            ..Error::new(
                ErrorCode::ValidationFailed,
                format!("the request has {n} invalid value{}; see `errors`", if n == 1 { "" } else { "s" }),
            )
        }
    }

    pub fn not_found(what: &str) -> Self {
        Error::new(ErrorCode::NotFound, format!("no such {what}"))
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Error::new(ErrorCode::Forbidden, detail)
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Error::new(ErrorCode::Unauthenticated, detail)
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Error {
            internal: Some(cause.to_string()),
            ..Error::new(ErrorCode::Internal, "an internal error occurred; it has been logged with the request id")
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ExternalIdTaken { existing } => Error {
                existing_account: existing,
                ..Error::new(
                    ErrorCode::ExternalIdConflict,
                    "an account with this external_id already exists; replay with the same Idempotency-Key to get it back",
                )
            },
            StoreError::NotFound => Error::not_found("account"),
            StoreError::IdempotencyMismatch => Error::new(
                ErrorCode::IdempotencyKeyMismatch,
                "this Idempotency-Key was already used with a different request body",
            ),
            StoreError::Database(sqlx_err) if is_unavailable(&sqlx_err) => Error {
                internal: Some(sqlx_err.to_string()),
                ..Error::new(ErrorCode::Unavailable, "the database is not reachable; retry later")
            },
            other => Error::internal(other),
        }
    }
}

/// Errors that mean "the database is not there right now", as opposed to a bug.
fn is_unavailable(e: &lessee_store::SqlxError) -> bool {
    use lessee_store::SqlxError as E;
    match e {
        E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::WorkerCrashed => true,
        // PostgreSQL: connection exceptions (08xxx), operator intervention such as shutdown
        // (57Pxx), the database itself gone (3D000).
        E::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "3D000"),
        _ => false,
    }
}

pub type Result<T> = std::result::Result<T, Error>;
