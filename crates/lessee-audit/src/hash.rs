//! SHA-256 hashes and the RFC 6962 §2.1 hashing rules with their domain separation:
//! a leaf is hashed as `SHA-256(0x00 || data)`, an interior node as
//! `SHA-256(0x01 || left || right)`, and the empty tree as `SHA-256("")`.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Length of a SHA-256 output in bytes.
pub const HASH_LEN: usize = 32;

/// A SHA-256 value: a leaf hash, a node hash or a tree head.
///
/// Displayed and serialized as 64 lowercase hex digits. Equality is constant-time.
#[derive(Clone, Copy, Eq)]
pub struct Hash([u8; HASH_LEN]);

impl Hash {
    /// The root of the empty tree, `SHA-256("")`
    /// (`e3b0c442…b855`, RFC 6962 §2.1).
    pub const EMPTY_ROOT: Hash = Hash([
        0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae,
        0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
    ]);

    /// Wraps 32 bytes.
    pub const fn from_bytes(bytes: [u8; HASH_LEN]) -> Self {
        Self(bytes)
    }

    /// Reads a hash from a slice, which must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashParseError> {
        let array: [u8; HASH_LEN] = bytes.try_into().map_err(|_| HashParseError::Length(bytes.len()))?;
        Ok(Self(array))
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, HashParseError> {
        let bytes = hex::decode(text).map_err(|_| HashParseError::Hex)?;
        Self::from_slice(&bytes)
    }

    /// Standard base64 with padding (RFC 4648 §4), as in checkpoints.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// Parses standard base64 with padding.
    pub fn from_base64(text: &str) -> Result<Self, HashParseError> {
        let bytes = BASE64.decode(text).map_err(|_| HashParseError::Base64)?;
        Self::from_slice(&bytes)
    }
}

impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::hash::Hash for Hash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl FromStr for Hash {
    type Err = HashParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_hex(text)
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a text or byte string is not a hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    /// The bytes are not 32 long.
    #[error("a SHA-256 hash is 32 bytes, not {0}")]
    Length(usize),
    /// The text is not hex.
    #[error("a hash must be written as 64 hex digits")]
    Hex,
    /// The text is not standard base64.
    #[error("a hash must be written in standard base64")]
    Base64,
}

/// `SHA-256(0x00 || data)`: the hash of a leaf whose data is `data` (RFC 6962 §2.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(data);
    Hash(hasher.finalize().into())
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node (RFC 6962 §2.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left.0);
    hasher.update(right.0);
    Hash(hasher.finalize().into())
}

/// Plain `SHA-256(data)`, for content digests that are not tree nodes.
pub(crate) fn sha256(data: &[u8]) -> [u8; HASH_LEN] {
    Sha256::digest(data).into()
}
