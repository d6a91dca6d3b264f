//! # lessee-notify
//!
//! The messages identity verification (issue #5) sends and receives. A library without a
//! database or a clock of its own where it matters: the service stores challenges, the outbox
//! and seen-delivery keys, and passes `now`.
//!
//! | module | what |
//! |---|---|
//! | [`otp`] | pure: [`OneTimeCode::generate`] (6 digits, CSPRNG) → plaintext + [`CodeHash`] (HMAC-SHA256 under the server [`OtpKey`] over purpose, subject and code), [`otp::verify`] (constant time), [`Challenge::check`] → [`Verdict`] (`Confirmed`, `Wrong{remaining}`, `Expired`, `Locked`) |
//! | [`email`] | [`SmtpSender`] over lettre (tokio, rustls + webpki roots, no OpenSSL): [`SmtpConfig`] (host, port, [`Tls`] `None`/`StartTls` (required, no downgrade)/`Tls` (SMTPS), optional credentials with a redacted password, sender, subject and body templates with `{code}` and `{minutes}`) |
//! | [`webhook`] | `Lessee-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` (Stripe's scheme; one `v1` per secret during a rotation); [`WebhookSender::deliver`] → [`DeliveryResult`] (`Delivered`; `Retry` on 408/429/5xx/connection/timeout; `Permanent` otherwise, redirects not followed); [`verify_signature`] for inbound vendor results (1–2 secrets, tolerance both ways, constant time) and [`reject_replay`] |
//! | [`phone`] | [`WebhookCodeSender`]: codes to the provider's SMS gateway as signed webhooks |
//! | [`sender`] | the [`CodeSender`] trait both senders implement, and [`SendError`] (never holds a code, recipient or remote text; [`SendError::is_retryable`]) |
//!
//! ## Invariants
//! - Codes are never stored or logged: the store keeps a [`CodeHash`], keyed so a database
//!   leak does not reveal codes and bound to purpose and subject so a code for one subject does
//!   not confirm another. Every secret type ([`OtpKey`], [`OneTimeCode`], [`WebhookSecret`],
//!   the SMTP password) prints `[REDACTED]` under `Debug`.
//! - A challenge counts the attempt before comparing; it is expired at `expires_at` and
//!   locked after `max_attempts`. The caller persists it after every check and deletes it on
//!   `Confirmed`.
//! - No header injection: subject template, sender and recipient may not contain control
//!   characters; recipients must parse as addresses (email) or be E.164 (phone).
//! - Transport security: SMTP credentials are refused without TLS unless the relay is
//!   loopback; `StartTls` fails rather than continue in plaintext; webhook URLs are `https`
//!   (rustls) except `http` to loopback.
//! - Inbound webhooks: rejected when malformed, when `t` is outside the tolerance (default
//!   300 s) in either direction, when no `v1` matches a secret, and (with the caller's store of
//!   [`SignedAt::replay_key`] until [`SignedAt::remember_until`]) when replayed. Duplicates
//!   from honest retries are deduplicated by event id, which decision events carry in the
//!   signed body (`"id"`) as well as in `Lessee-Event-Id`.
//!
//! ## Tests
//! `tests/smtp.rs` sends through a real SMTP server, `aiosmtpd` from the project venv
//! (`scripts/requirements-peers.txt`; `scripts/test.sh` creates `.venv`), in plaintext, with
//! required STARTTLS and with SMTPS (certificates made by `rcgen` at test time), and reads the
//! code back from the received message. `tests/webhook.rs` delivers to a local axum receiver.

#![forbid(unsafe_code)]

pub mod email;
mod mac;
pub mod otp;
pub mod phone;
pub mod sender;
mod util;
pub mod webhook;

pub use email::{SmtpConfig, SmtpSender, Tls};
pub use otp::{Challenge, CodeHash, OneTimeCode, OtpKey, Purpose, Verdict};
pub use phone::WebhookCodeSender;
pub use sender::{CodeSender, SendError};
pub use webhook::{
    DeliveryResult, RetryCause, SignatureError, SignedAt, WebhookConfig, WebhookSecret, WebhookSender, reject_replay,
    verify_signature,
};
