//! The pluggable code sender: one trait, an implementation per channel.

use async_trait::async_trait;

use crate::otp::OneTimeCode;

/// Delivers a one-time code to a contact point (an email address, a phone number).
///
/// Implementations: [`crate::email::SmtpSender`] (email) and
/// [`crate::phone::WebhookCodeSender`] (phone, through the provider's SMS gateway).
#[async_trait]
pub trait CodeSender: Send + Sync {
    /// Sends `code` to `to`, telling the recipient it is valid for `valid_minutes`.
    ///
    /// # Errors
    /// [`SendError`]; [`SendError::is_retryable`] says whether trying again later may help.
    async fn send_code(&self, to: &str, code: &OneTimeCode, valid_minutes: u32) -> Result<(), SendError>;
}

/// Why a code was not sent. The messages never carry the code, the recipient or text the
/// remote side wrote (which may quote the recipient), so they are safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The recipient is not what this channel sends to.
    #[error("the recipient is not {expected}")]
    InvalidRecipient {
        /// What was expected, e.g. "an email address".
        expected: &'static str,
    },
    /// The message could not be built (a bug or a bad template).
    #[error("the message could not be built: {detail}")]
    InvalidMessage {
        /// What went wrong.
        detail: String,
    },
    /// TLS could not be established (no `STARTTLS` offered, handshake or certificate failure).
    /// Not retryable: the configuration or the server must change.
    #[error("TLS could not be established: {detail}")]
    Tls {
        /// What went wrong.
        detail: String,
    },
    /// The remote side is unreachable, timed out or answered "try later". Retryable.
    #[error("the message could not be delivered now: {detail}")]
    Unavailable {
        /// What went wrong.
        detail: String,
    },
    /// The remote side refused the message for good (SMTP 5xx, HTTP 4xx).
    #[error("the message was refused (code {})", code.map_or_else(|| "none".to_owned(), |c| c.to_string()))]
    Rejected {
        /// The SMTP reply code or HTTP status, if there was one.
        code: Option<u16>,
    },
}

impl SendError {
    /// Whether trying again later may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}
