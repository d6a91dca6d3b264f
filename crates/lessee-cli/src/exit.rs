//! Exit codes a script can rely on, and the one table from service error codes to them.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | internal error |
//! | 2 | usage error (bad arguments) |
//! | 3 | not found (also: no screening list imported) |
//! | 4 | invalid input (malformed JSON, unknown fields, invalid values) |
//! | 5 | conflict (external id taken, idempotency key reused) |
//! | 6 | not authorized |
//! | 7 | unavailable (database unreachable, port taken) |
//! | 8 | cannot read the input file |
//! | 9 | the audit log or an export does not verify (tampered) |

use lessee_service::{Error, ErrorCode};

pub const INTERNAL: u8 = 1;
/// `mrz check`: the document is not valid (same code as internal, as the issue asks for 1).
pub const NOT_VALID: u8 = 1;
pub const USAGE: u8 = 2;
pub const NOT_FOUND: u8 = 3;
pub const DATA: u8 = 4;
pub const CONFLICT: u8 = 5;
pub const DENIED: u8 = 6;
pub const UNAVAILABLE: u8 = 7;
pub const NO_INPUT: u8 = 8;
pub const TAMPERED: u8 = 9;

pub fn code_of(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::MalformedJson
        | ErrorCode::InvalidBody
        | ErrorCode::UnknownField
        | ErrorCode::UnsupportedMediaType
        | ErrorCode::PayloadTooLarge
        | ErrorCode::ValidationFailed
        | ErrorCode::InvalidIdempotencyKey
        | ErrorCode::InvalidPurpose => DATA,
        ErrorCode::InvalidQuery | ErrorCode::MethodNotAllowed => USAGE,
        ErrorCode::Unauthenticated | ErrorCode::Forbidden => DENIED,
        ErrorCode::NotFound | ErrorCode::NoLists => NOT_FOUND,
        ErrorCode::ExternalIdConflict | ErrorCode::IdempotencyKeyMismatch | ErrorCode::Conflict => CONFLICT,
        ErrorCode::Unavailable => UNAVAILABLE,
        ErrorCode::Internal => INTERNAL,
    }
}

/// A failed command: its exit code and what to print on stderr.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
    pub details: Vec<String>,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure { code, message: message.into(), details: Vec::new() }
    }

    pub fn io(e: impl std::fmt::Display) -> Self {
        Failure::new(INTERNAL, e.to_string())
    }

    pub fn report(&self) {
        eprintln!("error: {}", self.message);
        for d in &self.details {
            eprintln!("  {d}");
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        if let Some(cause) = &e.internal {
            tracing::error!(code = e.code.as_str(), error = %cause, "Command failed.");
        }
        let mut details: Vec<String> =
            e.errors.iter().map(|f| format!("{}: {} ({})", f.pointer, f.message, f.code)).collect();
        if let Some(a) = e.existing_account {
            details.push(format!("existing account: {a}"));
        }
        Failure { code: code_of(e.code), message: format!("{}: {}", e.code.as_str(), e.detail), details }
    }
}
