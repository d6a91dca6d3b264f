//! Phone ownership codes through the provider's SMS gateway, reached by a signed webhook.

use async_trait::async_trait;
use serde::Serialize;

use crate::otp::{OneTimeCode, Purpose};
use crate::sender::{CodeSender, SendError};
use crate::webhook::{DeliveryResult, RetryCause, WebhookConfig, WebhookError, WebhookSender, unix_now};

/// The `Lessee-Event-Type` of a code delivery.
pub const PHONE_CODE_EVENT_TYPE: &str = "phone_verification.code";

/// Sends codes by POSTing them to an SMS gateway, signed like every lessee webhook
/// ([`crate::webhook`]). The body:
///
/// ```json
/// {"id": "<event id>", "to": "+15551234567", "code": "123456",
///  "purpose": "phone_verification", "expires_in_minutes": 10}
/// ```
///
/// The body holds the code in plaintext: the gateway URL must be https (enforced, except for a
/// loopback host), and the gateway must not log it.
#[derive(Debug, Clone)]
pub struct WebhookCodeSender {
    webhook: WebhookSender,
}

#[derive(Serialize)]
struct CodeMessage<'a> {
    id: &'a str,
    to: &'a str,
    code: &'a str,
    purpose: &'static str,
    expires_in_minutes: u32,
}

/// Whether `s` is an E.164 number as sent on the wire: `+`, then 7 to 15 digits, the first not 0.
#[must_use]
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

impl WebhookCodeSender {
    /// A sender to the gateway at `config.url`.
    ///
    /// # Errors
    /// As [`WebhookSender::new`].
    pub fn new(config: WebhookConfig) -> Result<Self, WebhookError> {
        Ok(Self { webhook: WebhookSender::new(config)? })
    }

    /// Sends `code` to the E.164 number `to`; the gateway delivery is one attempt, signed now.
    ///
    /// # Errors
    /// [`SendError::InvalidRecipient`] unless `to` is E.164; [`SendError::Unavailable`] for a
    /// retryable delivery result; [`SendError::Rejected`] for a permanent one.
    pub async fn send_code(&self, to: &str, code: &OneTimeCode, valid_minutes: u32) -> Result<(), SendError> {
        if !is_e164(to) {
            return Err(SendError::InvalidRecipient { expected: "an E.164 phone number (+ and 7 to 15 digits)" });
        }
        let now = unix_now();
        let id = uuid::Uuid::now_v7().to_string();
        // Holds the code: wiped when dropped (reqwest's copy is out of reach).
        let body = zeroize::Zeroizing::new(
            serde_json::to_vec(&CodeMessage {
                id: &id,
                to,
                code: code.expose(),
                purpose: Purpose::PhoneVerification.as_str(),
                expires_in_minutes: valid_minutes,
            })
            .map_err(|e| SendError::InvalidMessage { detail: e.to_string() })?,
        );
        let result = self
            .webhook
            .deliver_at(&id, PHONE_CODE_EVENT_TYPE, &body, now)
            .await
            .map_err(|e| SendError::InvalidMessage { detail: e.to_string() })?;
        match result {
            DeliveryResult::Delivered { .. } => Ok(()),
            DeliveryResult::Permanent { status } => Err(SendError::Rejected { code: Some(status) }),
            DeliveryResult::Retry { cause, .. } => Err(SendError::Unavailable {
                detail: match cause {
                    RetryCause::Status(status) => format!("the gateway answered {status}"),
                    RetryCause::Timeout => "the gateway timed out".to_owned(),
                    RetryCause::Connect(detail) | RetryCause::Other(detail) => detail,
                },
            }),
        }
    }
}

#[async_trait]
impl CodeSender for WebhookCodeSender {
    async fn send_code(&self, to: &str, code: &OneTimeCode, valid_minutes: u32) -> Result<(), SendError> {
        WebhookCodeSender::send_code(self, to, code, valid_minutes).await
    }
}
