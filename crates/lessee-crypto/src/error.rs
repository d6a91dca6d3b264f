//! The crate's errors. Messages never contain key bytes or plaintext.

use std::path::PathBuf;

use crate::keys::{KekVersion, KeyId};

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// Authentication failed: the data was altered, or belongs to another record, customer or key.
    #[error("decryption failed: the ciphertext was altered, or belongs to another record or key")]
    Decrypt,
    /// The bytes are not in any format this crate writes.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being parsed (`ciphertext`, `wrapped data key`, …).
        what: &'static str,
        /// Why it was refused.
        reason: &'static str,
    },
    /// The format version byte is one this build does not know.
    #[error("unsupported {what} format version {version}")]
    UnsupportedFormat {
        /// What was being parsed.
        what: &'static str,
        /// The version byte found.
        version: u8,
    },
    /// A ciphertext was opened with a data key other than the one that sealed it.
    #[error("the ciphertext was sealed under data key {found}, not {expected}")]
    WrongKey {
        /// The data key given.
        expected: KeyId,
        /// The data key named in the ciphertext.
        found: KeyId,
    },
    /// The KEK version that wrapped a data key is not (or no longer) in the keyring.
    #[error("key-encryption key version {0} is not in the keyring")]
    UnknownKekVersion(KekVersion),
    /// A wrapped key was made by another kind of keyring.
    #[error("the data key was wrapped by a {found} keyring; this is a {expected} keyring")]
    WrongKeyring {
        /// This keyring's kind.
        expected: &'static str,
        /// The kind named in the wrapped key.
        found: &'static str,
    },
    /// A KEK version cannot be removed.
    #[error("cannot remove key-encryption key version {version}: {reason}")]
    CannotRemove {
        /// The version asked for.
        version: KekVersion,
        /// Why not.
        reason: &'static str,
    },
    /// The key file is readable or writable by group or others.
    #[error(
        "key file {} is accessible by group or others (mode {mode:04o}); refusing to use it: \
         run `chmod 600 {}` if it has not leaked, otherwise treat its keys as compromised",
        path.display(), path.display()
    )]
    InsecureKeyFile {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file's content is not valid.
    #[error("key file {}: {reason}", path.display())]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong (never key bytes).
        reason: String,
    },
    /// A file-system operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done (`reading`, `creating`, …).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The PKCS#11 module or token failed or is misconfigured.
    #[error("PKCS#11: {0}")]
    Pkcs11(String),
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    /// A lock was poisoned by a panic in another thread.
    #[error("internal lock poisoned")]
    Poisoned,
    /// A value could not be normalized for a blind index.
    #[error(transparent)]
    Normalize(#[from] NormalizeError),
}

/// A value that cannot be normalized for its blind-index purpose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {purpose} for a blind index: {reason}")]
pub struct NormalizeError {
    /// The purpose's name (`email`, `phone`, …).
    pub purpose: &'static str,
    /// Why the value was refused (never the value itself).
    pub reason: &'static str,
}

impl From<cryptoki::error::Error> for CryptoError {
    fn from(error: cryptoki::error::Error) -> Self {
        CryptoError::Pkcs11(error.to_string())
    }
}

pub(crate) fn random_error(error: getrandom::Error) -> CryptoError {
    CryptoError::Random(error.to_string())
}
