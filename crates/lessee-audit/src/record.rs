//! Audit records, their validation and their canonical byte encoding (the Merkle leaf data).
//!
//! # Invariant: no personal data
//!
//! An audit record holds references (token ids, account ids, request ids) and hashes, never
//! personal data: no name, email, phone, national id, address or IP address in the clear. The
//! log is kept for years, copied into exports and handed to auditors; personal data in it could
//! not be crypto-shredded with the customer's data key. When a record must point at personal
//! data (the client IP address of a request, a searched email), it holds a [`KeyedHash`] of it:
//! HMAC-SHA-256 under a key kept outside the log, so that whoever holds the key can check
//! "was this the address?" while the log alone reveals nothing.
//!
//! [`AuditRecord::validate`] enforces what a type can: every text field is a short ASCII token
//! without spaces or `@` (so no name or email fits), and the client address is a [`KeyedHash`]
//! by type.

use std::fmt;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::hash::{HASH_LEN, Hash, leaf_hash};

/// The first bytes of every encoded record: names the format and its version.
pub const RECORD_MAGIC: &[u8] = b"lessee-audit-record-v1";

/// Longest name field (role, purpose, action, target kind), in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// Longest identifier field (token id, target id, request id), in bytes.
pub const MAX_ID_LEN: usize = 128;

/// Who acted: the API token (or user session) and the role it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// The token's identifier, never the token's secret.
    pub token_id: String,
    /// The role the token holds (e.g. `reviewer`).
    pub role: String,
}

/// What was acted on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The kind of object (e.g. `account`, `key`, `export`).
    pub kind: String,
    /// Its identifier, or the hex of a [`KeyedHash`] when the object is itself personal data.
    pub id: String,
}

/// How the request that wrote the record ended, as known when the record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Authorized: the data is about to be returned or the change made.
    Allowed,
    /// Refused (e.g. the role lacks the purpose).
    Denied,
    /// Authorized but failed.
    Failed,
}

impl Outcome {
    fn code(self) -> u8 {
        match self {
            Outcome::Allowed => 1,
            Outcome::Denied => 2,
            Outcome::Failed => 3,
        }
    }
}

/// One audited action, before the log gives it a sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    /// Who acted.
    pub actor: Actor,
    /// The purpose the request stated (e.g. `review`, `legal_process`).
    pub purpose: String,
    /// What was done (e.g. `account.read`, `keys.rotate`).
    pub action: String,
    /// What it was done to.
    pub target: Target,
    /// When, as passed in by the caller (this crate reads no clock).
    pub time: DateTime<Utc>,
    /// The keyed hash of the client's IP address (see [`AuditHashKey::hash_ip`]).
    pub client_ip: KeyedHash,
    /// The request's id, to join with logs and traces.
    pub request_id: String,
    /// How it ended.
    pub outcome: Outcome,
}

/// An audit event at its place in the log. Its [canonical encoding](Self::canonical_bytes) is
/// the data of Merkle leaf `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// The leaf index, from 0. Part of the leaf data, so a record cannot move unnoticed.
    pub seq: u64,
    /// What happened.
    pub event: AuditEvent,
}

/// Why a record cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// A field is empty.
    #[error("field `{0}` is empty")]
    Empty(&'static str),
    /// A field is too long.
    #[error("field `{field}` is longer than {max} bytes")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its limit.
        max: usize,
    },
    /// A field has a character it may not have.
    #[error("field `{field}` has a character outside {allowed}")]
    BadCharacter {
        /// The field.
        field: &'static str,
        /// What the field allows.
        allowed: &'static str,
    },
    /// The time is a leap second, which the encoding cannot represent.
    #[error("the time is a leap second")]
    LeapSecond,
}

const NAME_CHARS: &str = "a-z 0-9 _ . : -";
const ID_CHARS: &str = "printable ASCII other than space and @";

fn check_name(field: &'static str, value: &str) -> Result<(), RecordError> {
    check_len(field, value, MAX_NAME_LEN)?;
    let ok = value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.:-".contains(&b));
    if ok { Ok(()) } else { Err(RecordError::BadCharacter { field, allowed: NAME_CHARS }) }
}

fn check_id(field: &'static str, value: &str) -> Result<(), RecordError> {
    check_len(field, value, MAX_ID_LEN)?;
    if value.bytes().all(|b| b.is_ascii_graphic() && b != b'@') {
        Ok(())
    } else {
        Err(RecordError::BadCharacter { field, allowed: ID_CHARS })
    }
}

fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), RecordError> {
    if value.is_empty() {
        return Err(RecordError::Empty(field));
    }
    if value.len() > max {
        return Err(RecordError::TooLong { field, max });
    }
    Ok(())
}

fn put_str(out: &mut Vec<u8>, value: &str) {
    // Validated fields are at most MAX_ID_LEN bytes, so the length fits in a u16.
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

impl AuditEvent {
    /// Checks every field against the rules of the [module documentation](self).
    pub fn validate(&self) -> Result<(), RecordError> {
        check_id("actor.token_id", &self.actor.token_id)?;
        check_name("actor.role", &self.actor.role)?;
        check_name("purpose", &self.purpose)?;
        check_name("action", &self.action)?;
        check_name("target.kind", &self.target.kind)?;
        check_id("target.id", &self.target.id)?;
        check_id("request_id", &self.request_id)?;
        if self.time.timestamp_subsec_nanos() >= 1_000_000_000 {
            return Err(RecordError::LeapSecond);
        }
        Ok(())
    }

    /// This event as record `seq`.
    pub fn at(self, seq: u64) -> AuditRecord {
        AuditRecord { seq, event: self }
    }
}

impl AuditRecord {
    /// Checks every field (see [`AuditEvent::validate`]).
    pub fn validate(&self) -> Result<(), RecordError> {
        self.event.validate()
    }

    /// The canonical encoding, version 1 (all integers big-endian; `str` is a `u16` byte length
    /// followed by the UTF-8 bytes):
    ///
    /// ```text
    /// "lessee-audit-record-v1"        22 bytes, no length
    /// seq                             u64
    /// actor.token_id, actor.role      str, str
    /// purpose, action                 str, str
    /// target.kind, target.id          str, str
    /// time                            i64 seconds since 1970-01-01T00:00:00Z, u32 nanoseconds
    /// client_ip                       32 bytes
    /// request_id                      str
    /// outcome                         u8: 1 allowed, 2 denied, 3 failed
    /// ```
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, RecordError> {
        self.validate()?;
        let e = &self.event;
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(RECORD_MAGIC);
        out.extend_from_slice(&self.seq.to_be_bytes());
        put_str(&mut out, &e.actor.token_id);
        put_str(&mut out, &e.actor.role);
        put_str(&mut out, &e.purpose);
        put_str(&mut out, &e.action);
        put_str(&mut out, &e.target.kind);
        put_str(&mut out, &e.target.id);
        out.extend_from_slice(&e.time.timestamp().to_be_bytes());
        out.extend_from_slice(&e.time.timestamp_subsec_nanos().to_be_bytes());
        out.extend_from_slice(e.client_ip.0.as_bytes());
        put_str(&mut out, &e.request_id);
        out.push(e.outcome.code());
        Ok(out)
    }

    /// The Merkle leaf hash: `SHA-256(0x00 || canonical_bytes)`.
    pub fn leaf_hash(&self) -> Result<Hash, RecordError> {
        Ok(leaf_hash(&self.canonical_bytes()?))
    }
}

/// HMAC-SHA-256 of a piece of personal data under an [`AuditHashKey`]; written as 64 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyedHash(pub Hash);

impl fmt::Display for KeyedHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The secret key of [`KeyedHash`]es. Kept outside the log (like the blind-index keys); `Debug`
/// prints nothing of it.
#[derive(Clone)]
pub struct AuditHashKey([u8; HASH_LEN]);

impl fmt::Debug for AuditHashKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditHashKey(..)")
    }
}

impl AuditHashKey {
    /// A key from 32 secret bytes.
    pub const fn from_bytes(bytes: [u8; HASH_LEN]) -> Self {
        Self(bytes)
    }

    /// A new random key from the operating system.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; HASH_LEN];
        getrandom::fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// The 32 secret bytes, to store the key.
    pub fn expose_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// `HMAC-SHA-256(key, kind || 0x00 || value)`. The `kind` (e.g. `ip`, `email`) separates
    /// domains, so equal bytes of different kinds do not match.
    pub fn hash(&self, kind: &str, value: &[u8]) -> KeyedHash {
        // HMAC pads a short key with zeros to the block size (RFC 2104 §2), so padding it here
        // gives the same MAC through the infallible constructor.
        let mut block = hmac::digest::Key::<Hmac<Sha256>>::default();
        for (slot, byte) in block.iter_mut().zip(self.0) {
            *slot = byte;
        }
        let mut mac = <Hmac<Sha256> as KeyInit>::new(&block);
        mac.update(kind.as_bytes());
        mac.update(&[0x00]);
        mac.update(value);
        KeyedHash(Hash::from_bytes(mac.finalize().into_bytes().into()))
    }

    /// The keyed hash of an IP address, in canonical text form (an IPv4-mapped IPv6 address
    /// counts as its IPv4 address).
    pub fn hash_ip(&self, ip: IpAddr) -> KeyedHash {
        self.hash("ip", ip.to_canonical().to_string().as_bytes())
    }
}
