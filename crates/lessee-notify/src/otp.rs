//! One-time codes: generation, keyed hashing, constant-time verification and the challenge
//! state machine (expiry, attempt limit).
//!
//! Pure: nothing here reads a clock or touches a network; the caller passes `now`.
//!
//! A code is never stored. The store keeps its [`CodeHash`]:
//! `HMAC-SHA256(server key, "lessee-otp-v1" ‖ len ‖ purpose ‖ len ‖ subject ‖ len ‖ code)`
//! (each length a big-endian `u32`), so
//! - a database leak does not reveal codes (10⁶ candidates are trivial to try against a plain
//!   hash, not against an HMAC whose key is not in the database);
//! - a code issued for one subject (or purpose) does not verify for another.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::Mac;
use rand::Rng;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Number of digits of a code.
pub const CODE_DIGITS: usize = 6;
const CODE_SPACE: u32 = 1_000_000;
const DOMAIN: &[u8] = b"lessee-otp-v1";

/// The server key codes are hashed under (32 bytes). Kept out of the database; `Debug` prints
/// nothing; zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct OtpKey([u8; 32]);

impl OtpKey {
    /// The key from its 32 bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key from a slice, which must be exactly 32 bytes long.
    ///
    /// # Errors
    /// [`OtpKeyLengthError`] when the slice is not 32 bytes long.
    pub fn try_from_slice(bytes: &[u8]) -> Result<Self, OtpKeyLengthError> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| OtpKeyLengthError { got: bytes.len() })?;
        Ok(Self(array))
    }
}

impl fmt::Debug for OtpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpKey([REDACTED])")
    }
}

/// An [`OtpKey`] of the wrong length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an OTP key is 32 bytes, got {got}")]
pub struct OtpKeyLengthError {
    /// The length given.
    pub got: usize,
}

/// What a code proves. Part of the hash, so a code for one purpose is useless for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// Ownership of an email address.
    EmailVerification,
    /// Ownership of a phone number.
    PhoneVerification,
}

impl Purpose {
    /// The stable name, used in the hash and on the wire (`"email_verification"`,
    /// `"phone_verification"`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmailVerification => "email_verification",
            Self::PhoneVerification => "phone_verification",
        }
    }
}

/// A plaintext code (six ASCII digits) on its way to the user. `Debug` prints nothing;
/// zeroized on drop. Never store it and never log it: store the [`CodeHash`].
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct OneTimeCode(String);

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeCode([REDACTED])")
    }
}

impl OneTimeCode {
    /// A fresh uniformly random code (from the thread-local CSPRNG, ChaCha seeded by the OS)
    /// and its hash for `purpose` and `subject` (the id of what is being verified, e.g. the
    /// contact or account id).
    #[must_use]
    pub fn generate(key: &OtpKey, purpose: Purpose, subject: &str) -> (Self, CodeHash) {
        // `random_range` samples uniformly (no modulo bias).
        let n: u32 = rand::rng().random_range(0..CODE_SPACE);
        let code = Self(format!("{n:0width$}", width = CODE_DIGITS));
        let hash = CodeHash::compute(key, purpose, subject, &code.0);
        (code, hash)
    }

    /// The digits, to put in the message. Do not log.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A code from its digits (for senders and tests). `None` unless exactly six ASCII digits.
    #[must_use]
    pub fn from_digits(digits: &str) -> Option<Self> {
        is_code_shaped(digits).then(|| Self(digits.to_owned()))
    }
}

fn is_code_shaped(s: &str) -> bool {
    s.len() == CODE_DIGITS && s.bytes().all(|b| b.is_ascii_digit())
}

/// The stored form of a code: 32 bytes of HMAC-SHA256. `Debug` prints nothing. Compare with
/// [`CodeHash::ct_eq`] (constant time); it deliberately does not implement `PartialEq`.
#[derive(Clone)]
pub struct CodeHash([u8; 32]);

impl fmt::Debug for CodeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeHash([REDACTED])")
    }
}

impl CodeHash {
    /// The hash of `code` for `purpose` and `subject` under `key`.
    #[must_use]
    pub fn compute(key: &OtpKey, purpose: Purpose, subject: &str, code: &str) -> Self {
        let mut mac = crate::mac::keyed(&key.0);
        for part in [DOMAIN, purpose.as_str().as_bytes(), subject.as_bytes(), code.as_bytes()] {
            mac.update(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
            mac.update(part);
        }
        Self(mac.finalize().into_bytes().into())
    }

    /// The bytes, to store.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A stored hash read back.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Constant-time equality.
    #[must_use]
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// Whether `presented` is the code whose hash is `stored`, for this `purpose` and `subject`.
///
/// Surrounding whitespace is ignored; anything but six ASCII digits is wrong. The hash is
/// computed and compared in constant time whatever was presented, so the time taken does not
/// depend on how many digits were right.
#[must_use]
pub fn verify(key: &OtpKey, purpose: Purpose, subject: &str, presented: &str, stored: &CodeHash) -> bool {
    let presented = presented.trim();
    let shaped = is_code_shaped(presented);
    let computed = CodeHash::compute(key, purpose, subject, presented);
    // Both evaluated; the shape is not secret, the comparison is constant time.
    computed.ct_eq(stored) & shaped
}

/// The state of one outstanding code, as the store keeps it.
///
/// The caller persists the whole struct after each [`Challenge::check`] (the attempt counter
/// goes up *before* the code is compared), ideally with a conditional update
/// (`... SET attempts = $new WHERE id = $id AND attempts = $old`) so two concurrent guesses
/// cannot share one attempt. On [`Verdict::Confirmed`] the caller deletes (or marks used) the
/// challenge so the code cannot be used twice.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// What the code proves.
    pub purpose: Purpose,
    /// Whose code it is (e.g. the contact id).
    pub subject: String,
    /// The stored hash of the code.
    pub hash: CodeHash,
    /// After this instant the code is expired.
    pub expires_at: DateTime<Utc>,
    /// Attempts made so far (right or wrong).
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
}

/// The result of [`Challenge::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The right code, in time, within the attempt limit.
    Confirmed,
    /// A wrong code; `remaining` attempts are left (0: the next check is [`Verdict::Locked`]).
    Wrong {
        /// Attempts left.
        remaining: u32,
    },
    /// The code expired (checked before anything else; no attempt is counted).
    Expired,
    /// The attempt limit was reached; a new code must be issued.
    Locked,
}

impl Challenge {
    /// A challenge for a freshly generated code: expires `ttl` after `now`.
    #[must_use]
    pub fn new(
        purpose: Purpose,
        subject: impl Into<String>,
        hash: CodeHash,
        now: DateTime<Utc>,
        ttl: TimeDelta,
        max_attempts: u32,
    ) -> Self {
        Self {
            purpose,
            subject: subject.into(),
            hash,
            expires_at: now.checked_add_signed(ttl).unwrap_or(now),
            attempts: 0,
            max_attempts,
        }
    }

    /// Check a presented code at `now`. Order: expired, then locked, then the attempt is counted
    /// and the code compared (constant time).
    pub fn check(&mut self, key: &OtpKey, now: DateTime<Utc>, presented: &str) -> Verdict {
        if now >= self.expires_at {
            return Verdict::Expired;
        }
        if self.attempts >= self.max_attempts {
            return Verdict::Locked;
        }
        self.attempts = self.attempts.saturating_add(1);
        if verify(key, self.purpose, &self.subject, presented, &self.hash) {
            Verdict::Confirmed
        } else {
            Verdict::Wrong { remaining: self.max_attempts.saturating_sub(self.attempts) }
        }
    }
}
