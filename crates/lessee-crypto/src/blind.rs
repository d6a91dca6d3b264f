//! Keyed blind indexes: equality lookups on personal data without plaintext columns.

use std::fmt;
use std::net::IpAddr;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{CryptoError, NormalizeError};
use crate::keys::{KeyMaterial, Keyring};

/// Length of a blind index: HMAC-SHA256 truncated to 128 bits.
pub const BLIND_INDEX_LEN: usize = 16;
/// SHA-256's block size, HMAC's key block.
const HMAC_BLOCK_LEN: usize = 64;
/// HKDF `info` prefix of a purpose's key; the purpose's name follows.
const INFO_PREFIX: &[u8] = b"lessee/blind-index/v1/";

/// What a blind index is for. Each purpose has its own key, so equal values under different
/// purposes give unrelated indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IndexPurpose {
    /// Email address: trimmed, lowercased.
    Email,
    /// Phone number: ASCII digits, with `+` kept when the number starts with it.
    Phone,
    /// National identification number: letters and digits only, uppercased.
    NationalId,
    /// IP address: canonical text form (IPv4 dotted quad; IPv6 per RFC 5952; an IPv4-mapped
    /// IPv6 address becomes its IPv4 address).
    IpAddress,
    /// Payment fingerprint or network token (never a card number): trimmed, case kept.
    PaymentFingerprint,
    /// A retrieval key of a customer name for re-screening (`lessee_screening::keys`): 16 hex
    /// digits of a 64-bit hash, lowercased. Never a name.
    ScreeningKey,
}

impl IndexPurpose {
    /// Every purpose.
    pub const ALL: [IndexPurpose; 6] = [
        IndexPurpose::Email,
        IndexPurpose::Phone,
        IndexPurpose::NationalId,
        IndexPurpose::IpAddress,
        IndexPurpose::PaymentFingerprint,
        IndexPurpose::ScreeningKey,
    ];

    /// The purpose's stable name, part of its key derivation: never change one.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            IndexPurpose::Email => "email",
            IndexPurpose::Phone => "phone",
            IndexPurpose::NationalId => "national_id",
            IndexPurpose::IpAddress => "ip_address",
            IndexPurpose::PaymentFingerprint => "payment_fingerprint",
            IndexPurpose::ScreeningKey => "screening_key",
        }
    }
}

impl fmt::Display for IndexPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Normalizes `raw` for `purpose` (the value that is indexed). Idempotent.
pub fn normalize(purpose: IndexPurpose, raw: &str) -> Result<String, NormalizeError> {
    let refuse = |reason| NormalizeError { purpose: purpose.name(), reason };
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(refuse("empty"));
    }
    match purpose {
        IndexPurpose::Email => {
            if !trimmed.contains('@') {
                return Err(refuse("no @"));
            }
            Ok(trimmed.to_lowercase())
        }
        IndexPurpose::Phone => {
            let mut out = String::with_capacity(trimmed.len());
            if trimmed.starts_with('+') {
                out.push('+');
            }
            out.extend(trimmed.chars().filter(char::is_ascii_digit));
            if out.len() <= usize::from(out.starts_with('+')) {
                return Err(refuse("no digits"));
            }
            Ok(out)
        }
        IndexPurpose::NationalId => {
            let out: String = trimmed.chars().flat_map(char::to_uppercase).filter(|c| c.is_alphanumeric()).collect();
            if out.is_empty() {
                return Err(refuse("no letters or digits"));
            }
            Ok(out)
        }
        IndexPurpose::IpAddress => {
            let bare = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(trimmed);
            let ip: IpAddr = bare.parse().map_err(|_| refuse("not an IP address"))?;
            Ok(ip.to_canonical().to_string())
        }
        IndexPurpose::PaymentFingerprint => {
            if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(refuse("contains spaces or control characters"));
            }
            Ok(trimmed.to_string())
        }
        IndexPurpose::ScreeningKey => {
            let out = trimmed.to_ascii_lowercase();
            if !out.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(refuse("not hex digits"));
            }
            Ok(out)
        }
    }
}

/// A blind index: HMAC-SHA256(purpose key, normalized value), first 16 bytes. Stored as the
/// 16 raw bytes or as 32 lowercase hex digits. Compared in constant time.
#[derive(Clone, Copy, Eq)]
pub struct BlindIndex([u8; BLIND_INDEX_LEN]);

impl BlindIndex {
    /// The 16 bytes to store.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; BLIND_INDEX_LEN] {
        &self.0
    }

    /// An index read back from storage.
    #[must_use]
    pub fn from_bytes(bytes: [u8; BLIND_INDEX_LEN]) -> Self {
        BlindIndex(bytes)
    }

    /// 32 lowercase hex digits.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl PartialEq for BlindIndex {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::hash::Hash for BlindIndex {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindIndex({})", self.to_hex())
    }
}

impl fmt::Display for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Computes blind indexes for one purpose. The purpose key is zeroized on drop; `Debug`
/// prints the purpose only.
pub struct BlindIndexer {
    purpose: IndexPurpose,
    key: KeyMaterial,
}

impl fmt::Debug for BlindIndexer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlindIndexer").field("purpose", &self.purpose).finish_non_exhaustive()
    }
}

impl BlindIndexer {
    pub(crate) fn new(keyring: &dyn Keyring, purpose: IndexPurpose) -> Result<Self, CryptoError> {
        let mut info = Vec::with_capacity(INFO_PREFIX.len().saturating_add(purpose.name().len()));
        info.extend_from_slice(INFO_PREFIX);
        info.extend_from_slice(purpose.name().as_bytes());
        let key = keyring.derive_index_key(&info)?;
        Ok(BlindIndexer { purpose, key })
    }

    /// The purpose.
    #[must_use]
    pub fn purpose(&self) -> IndexPurpose {
        self.purpose
    }

    /// The blind index of `raw` after [`normalize`]: equal after normalization, equal index.
    pub fn index(&self, raw: &str) -> Result<BlindIndex, CryptoError> {
        let normalized = Zeroizing::new(normalize(self.purpose, raw)?);
        Ok(self.index_normalized(normalized.as_bytes()))
    }

    /// The blind index of a value already normalized by the caller.
    #[must_use]
    pub fn index_normalized(&self, normalized: &[u8]) -> BlindIndex {
        // Keyed per call rather than keeping HMAC's inner and outer states, which are as good
        // as the key and would not be zeroized. HMAC zero-pads a short key to the block size;
        // doing it here gives the same MAC through the infallible constructor.
        let mut block = Zeroizing::new([0u8; HMAC_BLOCK_LEN]);
        for (b, k) in block.iter_mut().zip(self.key.expose()) {
            *b = *k;
        }
        let mut mac = <Hmac<Sha256> as KeyInit>::new((&*block).into());
        mac.update(normalized);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; BLIND_INDEX_LEN];
        for (o, b) in out.iter_mut().zip(full.iter()) {
            *o = *b;
        }
        BlindIndex(out)
    }
}
