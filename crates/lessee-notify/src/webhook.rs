//! Signed webhooks: signing and one classified delivery attempt (outbound), signature and
//! freshness checks (inbound).
//!
//! # The signature
//!
//! ```text
//! Lessee-Signature: t=1767225600,v1=<64 lowercase hex digits>
//! ```
//!
//! `t` is the Unix time of signing (seconds); each `v1` is the lowercase hex
//! `HMAC-SHA256(secret, "<t>.<body>")` over the exact body bytes. This is Stripe's scheme with
//! our header name. While a secret is being rotated the sender signs with both secrets and
//! sends two `v1` entries; a receiver accepts the delivery if any `v1` matches any of its (at
//! most two) secrets. Entries of other schemes (`v0=`, ...) are ignored.
//!
//! A receiver ([`verify_signature`]) rejects a header that is malformed, a `t` further than the
//! tolerance from its clock in either direction (stale or from the future), and a body no
//! secret signed; comparisons are constant time.
//!
//! # Replays and duplicates
//!
//! Two different things, both the receiver's job:
//! - *Replay* (an attacker resends a captured delivery within the tolerance): remember the
//!   [`SignedAt::replay_key`] of each accepted delivery until [`SignedAt::remember_until`] and
//!   reject a key seen before ([`reject_replay`]). The key is the matched MAC, which covers `t`
//!   and the body, so changing the unsigned `Lessee-Event-Id` header does not make a new key.
//!   Older deliveries need no memory: the tolerance already rejects them.
//! - *Duplicate* (the sender legitimately retries; each attempt has a new `t` and signature):
//!   dedupe by event id. Outbound events carry it in `Lessee-Event-Id` and should also carry it
//!   in the signed body (as `"id"`), which is the one to trust.
//!
//! # Outbound delivery
//!
//! [`WebhookSender::deliver`] makes one attempt and classifies the result
//! ([`DeliveryResult`]); the outbox and its retry schedule belong to the caller. Redirects are
//! not followed. URLs must be `https` (rustls, webpki roots), except `http` to a loopback host
//! for a local gateway and for tests.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, USER_AGENT};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretSlice};
use subtle::ConstantTimeEq;

use crate::mac::hmac_sha256;
use crate::util::is_loopback_host;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "Lessee-Signature";
/// The event id header (a convenience copy; the signed body's `id` is authoritative).
pub const EVENT_ID_HEADER: &str = "Lessee-Event-Id";
/// The event type header.
pub const EVENT_TYPE_HEADER: &str = "Lessee-Event-Type";
/// The tolerance receivers should use unless they have a reason not to (Stripe's).
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

/// Most secrets in use at once (the current one and the one being retired).
pub const MAX_SECRETS: usize = 2;
/// The shortest secret [`WebhookSecret::new`] accepts.
pub const MIN_SECRET_LEN: usize = 16;
const MAX_HEADER_LEN: usize = 1024;
const MAX_SIGNATURES: usize = 8;

/// A webhook signing secret. `Debug` prints nothing; zeroized on drop.
#[derive(Clone)]
pub struct WebhookSecret(SecretSlice<u8>);

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([REDACTED])")
    }
}

impl WebhookSecret {
    /// A secret from its bytes (at least [`MIN_SECRET_LEN`]).
    ///
    /// # Errors
    /// [`WebhookError::SecretTooShort`].
    pub fn new(bytes: Vec<u8>) -> Result<Self, WebhookError> {
        if bytes.len() < MIN_SECRET_LEN {
            return Err(WebhookError::SecretTooShort);
        }
        Ok(Self(SecretSlice::from(bytes)))
    }

    fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

/// `HMAC-SHA256(secret, "<timestamp>.<body>")`.
#[must_use]
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> [u8; 32] {
    hmac_sha256(secret, &[timestamp.to_string().as_bytes(), b".", body])
}

/// The `Lessee-Signature` value: `t=<timestamp>` and one `v1=` per secret.
#[must_use]
pub fn signature_header(secrets: &[WebhookSecret], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&hex::encode(sign(secret.expose(), timestamp, body)));
    }
    header
}

/// A delivery whose signature checked out.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedAt {
    /// The signing time (`t`), Unix seconds.
    pub timestamp: i64,
    /// Which of the receiver's secrets matched (0 or 1): a match on the old secret tells the
    /// operator the sender has not rotated yet.
    pub secret_index: usize,
    replay_key: [u8; 32],
}

impl fmt::Debug for SignedAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedAt")
            .field("timestamp", &self.timestamp)
            .field("secret_index", &self.secret_index)
            .finish_non_exhaustive()
    }
}

impl SignedAt {
    /// What to remember to recognise a replay of this exact delivery: the matched MAC (covers
    /// `t` and the body). Not a secret.
    #[must_use]
    pub fn replay_key(&self) -> [u8; 32] {
        self.replay_key
    }

    /// Until when (Unix seconds) the replay key must be remembered: after that, the timestamp
    /// check rejects the delivery anyway.
    #[must_use]
    pub fn remember_until(&self, tolerance_secs: u64) -> i64 {
        self.timestamp.saturating_add(i64::try_from(tolerance_secs).unwrap_or(i64::MAX))
    }
}

/// Why an inbound delivery was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The receiver passed no secret or more than [`MAX_SECRETS`] (a configuration bug).
    #[error("between 1 and 2 secrets are needed to verify a signature")]
    SecretCount,
    /// The header is missing parts, too long or not of the form `t=...,v1=...`.
    #[error("the signature header is malformed")]
    Malformed,
    /// `t` is older than the tolerance.
    #[error("the signature is too old")]
    Stale,
    /// `t` is further in the future than the tolerance.
    #[error("the signature is from the future")]
    FromFuture,
    /// No `v1` matches any secret: wrong secret or altered body.
    #[error("no signature matches")]
    Mismatch,
    /// The delivery was accepted before ([`reject_replay`]).
    #[error("the delivery was already received (replay)")]
    Replayed,
}

/// Checks an inbound `Lessee-Signature` header against the raw `body` bytes.
///
/// `secrets` are the receiver's current secrets (1 or 2); `now_unix` its clock;
/// `tolerance_secs` how far `t` may be from it in either direction
/// ([`DEFAULT_TOLERANCE_SECS`]). Then call [`reject_replay`] with whether
/// [`SignedAt::replay_key`] was seen before.
///
/// # Errors
/// [`SignatureError`].
pub fn verify_signature(
    header_value: &str,
    body: &[u8],
    secrets: &[&[u8]],
    now_unix: i64,
    tolerance_secs: u64,
) -> Result<SignedAt, SignatureError> {
    if secrets.is_empty() || secrets.len() > MAX_SECRETS {
        return Err(SignatureError::SecretCount);
    }
    let parsed = parse_header(header_value)?;

    let tolerance = i64::try_from(tolerance_secs).unwrap_or(i64::MAX);
    let age = now_unix.saturating_sub(parsed.timestamp);
    if age > tolerance {
        return Err(SignatureError::Stale);
    }
    if age < tolerance.saturating_neg() {
        return Err(SignatureError::FromFuture);
    }

    // Every (secret, signature) pair is compared, in constant time each, so the time taken
    // depends only on the counts, not on which pair (if any) matched.
    let mut matched: Option<(usize, [u8; 32])> = None;
    for (index, secret) in secrets.iter().enumerate() {
        let expected = sign(secret, parsed.timestamp, body);
        for candidate in &parsed.signatures {
            if bool::from(expected.ct_eq(candidate)) && matched.is_none() {
                matched = Some((index, expected));
            }
        }
    }
    match matched {
        Some((secret_index, replay_key)) => Ok(SignedAt { timestamp: parsed.timestamp, secret_index, replay_key }),
        None => Err(SignatureError::Mismatch),
    }
}

/// The replay decision, given whether the store already holds this delivery's
/// [`SignedAt::replay_key`]. Pure; the caller stores the key (until
/// [`SignedAt::remember_until`]) when this returns `Ok`, atomically with the check (e.g.
/// `INSERT ... ON CONFLICT DO NOTHING` and `already_seen` = "no row inserted").
///
/// # Errors
/// [`SignatureError::Replayed`] when `already_seen`.
pub fn reject_replay(already_seen: bool) -> Result<(), SignatureError> {
    if already_seen { Err(SignatureError::Replayed) } else { Ok(()) }
}

struct ParsedHeader {
    timestamp: i64,
    signatures: Vec<[u8; 32]>,
}

fn parse_header(value: &str) -> Result<ParsedHeader, SignatureError> {
    if value.len() > MAX_HEADER_LEN {
        return Err(SignatureError::Malformed);
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in value.split(',') {
        let (key, val) = item.trim().split_once('=').ok_or(SignatureError::Malformed)?;
        match key {
            "t" => {
                if timestamp.is_some() || val.is_empty() || !val.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(SignatureError::Malformed);
                }
                timestamp = Some(val.parse::<i64>().map_err(|_| SignatureError::Malformed)?);
            }
            "v1" => {
                let mut mac = [0u8; 32];
                hex::decode_to_slice(val, &mut mac).map_err(|_| SignatureError::Malformed)?;
                if signatures.len() >= MAX_SIGNATURES {
                    return Err(SignatureError::Malformed);
                }
                signatures.push(mac);
            }
            _ => {}
        }
    }
    match timestamp {
        Some(timestamp) if !signatures.is_empty() => Ok(ParsedHeader { timestamp, signatures }),
        _ => Err(SignatureError::Malformed),
    }
}

/// Where to deliver and how.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The receiver's URL: `https`, or `http` to a loopback host.
    pub url: String,
    /// The signing secrets: the current one first, and during a rotation the other one too
    /// (every delivery is signed with each).
    pub secrets: Vec<WebhookSecret>,
    /// Limit for the whole attempt (connect, send, response headers).
    pub timeout: Duration,
    /// Limit for connecting.
    pub connect_timeout: Duration,
}

impl WebhookConfig {
    /// A configuration with one secret, a 10 s timeout and a 5 s connect timeout.
    #[must_use]
    pub fn new(url: impl Into<String>, secret: WebhookSecret) -> Self {
        Self {
            url: url.into(),
            secrets: vec![secret],
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A configuration or event [`WebhookSender`] refuses. Not retryable: a bug or a
/// misconfiguration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The URL does not parse.
    #[error("the webhook URL is not a valid URL")]
    InvalidUrl,
    /// The URL is neither `https` nor `http` to a loopback host.
    #[error("the webhook URL must be https (http only to a loopback host)")]
    InsecureUrl,
    /// No secret, or more than [`MAX_SECRETS`].
    #[error("between 1 and 2 webhook secrets are needed")]
    SecretCount,
    /// A secret shorter than [`MIN_SECRET_LEN`] bytes.
    #[error("a webhook secret must be at least 16 bytes")]
    SecretTooShort,
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
    /// The event id or type is empty, longer than 255 bytes or not visible ASCII.
    #[error("the event {0} must be 1 to 255 visible ASCII characters")]
    InvalidEventField(&'static str),
    /// The body is not JSON.
    #[error("the event body is not valid JSON")]
    InvalidBody,
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    /// The receiver answered 2xx: done.
    Delivered {
        /// The status.
        status: u16,
    },
    /// Try again later: 408, 429, 5xx, a connection failure or a timeout.
    Retry {
        /// What happened.
        cause: RetryCause,
        /// The receiver's `Retry-After` in seconds form, if it sent one (capped at a day).
        retry_after: Option<Duration>,
    },
    /// Do not try again: any other status (other 4xx, 1xx, and 3xx since redirects are not
    /// followed). The event needs attention.
    Permanent {
        /// The status.
        status: u16,
    },
}

/// Why a delivery should be retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryCause {
    /// The receiver answered 408, 429 or 5xx.
    Status(u16),
    /// The attempt timed out.
    Timeout,
    /// The connection could not be made (refused, DNS, TLS handshake).
    Connect(String),
    /// Another transport error (reset mid-request, ...).
    Other(String),
}

/// Classifies an HTTP status.
#[must_use]
pub fn classify_status(status: u16) -> DeliveryResult {
    match status {
        200..=299 => DeliveryResult::Delivered { status },
        408 | 429 | 500..=599 => DeliveryResult::Retry { cause: RetryCause::Status(status), retry_after: None },
        _ => DeliveryResult::Permanent { status },
    }
}

/// Delivers signed events to one URL.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    url: Url,
    secrets: Vec<WebhookSecret>,
}

impl WebhookSender {
    /// Checks the configuration and builds the HTTP client.
    ///
    /// # Errors
    /// [`WebhookError`] for a bad URL, an insecure URL or a wrong number of secrets.
    pub fn new(config: WebhookConfig) -> Result<Self, WebhookError> {
        let url = Url::parse(&config.url).map_err(|_| WebhookError::InvalidUrl)?;
        let host = url.host_str().ok_or(WebhookError::InvalidUrl)?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback_host(host) => {}
            _ => return Err(WebhookError::InsecureUrl),
        }
        if config.secrets.is_empty() || config.secrets.len() > MAX_SECRETS {
            return Err(WebhookError::SecretCount);
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| WebhookError::Client(e.without_url().to_string()))?;
        Ok(Self { client, url, secrets: config.secrets })
    }

    /// One attempt to deliver an event, signed now (the system clock).
    ///
    /// `json_body` is sent byte for byte (store it once and resend the same bytes); it should
    /// contain `"id": event_id` so the receiver can dedupe on a signed value.
    ///
    /// # Errors
    /// [`WebhookError::InvalidEventField`] or [`WebhookError::InvalidBody`] (not retryable);
    /// every transport outcome is an `Ok` [`DeliveryResult`].
    pub async fn deliver(
        &self,
        event_id: &str,
        event_type: &str,
        json_body: &[u8],
    ) -> Result<DeliveryResult, WebhookError> {
        self.deliver_at(event_id, event_type, json_body, unix_now()).await
    }

    /// [`WebhookSender::deliver`] with the signing time given.
    ///
    /// # Errors
    /// As [`WebhookSender::deliver`].
    pub async fn deliver_at(
        &self,
        event_id: &str,
        event_type: &str,
        json_body: &[u8],
        now_unix: i64,
    ) -> Result<DeliveryResult, WebhookError> {
        let id = header_field(event_id, "id")?;
        let kind = header_field(event_type, "type")?;
        serde_json::from_slice::<serde::de::IgnoredAny>(json_body).map_err(|_| WebhookError::InvalidBody)?;
        let signature = HeaderValue::from_str(&signature_header(&self.secrets, now_unix, json_body))
            .map_err(|_| WebhookError::InvalidBody)?;

        let response = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("lessee/", env!("CARGO_PKG_VERSION")))
            .header(EVENT_ID_HEADER, id)
            .header(EVENT_TYPE_HEADER, kind)
            .header(SIGNATURE_HEADER, signature)
            .body(json_body.to_vec())
            .send()
            .await;

        Ok(match response {
            Ok(response) => {
                let status = response.status();
                let retry_after = retry_after(&response);
                match classify_status(status.as_u16()) {
                    DeliveryResult::Retry { cause, .. } => DeliveryResult::Retry { cause, retry_after },
                    other => other,
                }
            }
            Err(error) => DeliveryResult::Retry { cause: classify_transport_error(&error), retry_after: None },
        })
    }
}

fn header_field(value: &str, what: &'static str) -> Result<HeaderValue, WebhookError> {
    if value.is_empty() || value.len() > 255 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(WebhookError::InvalidEventField(what));
    }
    HeaderValue::from_str(value).map_err(|_| WebhookError::InvalidEventField(what))
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    if !matches!(response.status(), StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE) {
        return None;
    }
    let seconds: u64 = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds.min(86_400)))
}

/// Describes a transport error without its URL (which may carry a token).
fn classify_transport_error(error: &reqwest::Error) -> RetryCause {
    if error.is_timeout() {
        RetryCause::Timeout
    } else if error.is_connect() {
        RetryCause::Connect(error_chain(error))
    } else {
        RetryCause::Other(error_chain(error))
    }
}

fn error_chain(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = String::from("the request failed");
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub(crate) fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
