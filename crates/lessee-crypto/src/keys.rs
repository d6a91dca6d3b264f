//! Key types and the [`Keyring`] trait that key-encryption-key stores implement.

use std::fmt;

use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};
use subtle::ConstantTimeEq;

use crate::error::{CryptoError, random_error};

/// Length in bytes of every symmetric key here (AES-256, HMAC-SHA256 keys).
pub(crate) const KEY_LEN: usize = 32;

/// A key-encryption-key version: 1, 2, … New wraps use the highest version in the keyring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KekVersion(u32);

impl KekVersion {
    /// The first version a new keyring holds.
    pub const FIRST: KekVersion = KekVersion(1);

    /// A version from its number; `None` for 0, which is never used.
    #[must_use]
    pub fn new(version: u32) -> Option<Self> {
        (version > 0).then_some(KekVersion(version))
    }

    /// The version's number.
    #[must_use]
    pub fn get(self) -> u32 {
        self.0
    }

    /// The version after this one.
    pub(crate) fn next(self) -> Result<Self, CryptoError> {
        self.0
            .checked_add(1)
            .map(KekVersion)
            .ok_or(CryptoError::Malformed { what: "keyring", reason: "no KEK version left" })
    }
}

impl fmt::Display for KekVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// The identifier of a data key: random, 64 bits, written in its wrapped form and in every
/// ciphertext it seals, so a reader knows which key a value needs.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(u64);

impl KeyId {
    /// A key id from its number (as stored by the caller).
    #[must_use]
    pub fn from_u64(id: u64) -> Self {
        KeyId(id)
    }

    /// The id's number.
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }

    pub(crate) fn random() -> Result<Self, CryptoError> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(random_error)?;
        Ok(KeyId(u64::from_be_bytes(bytes)))
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// 32 bytes of secret key material, on the heap, zeroized on drop; `Debug` prints nothing of it.
///
/// Only keyrings handle this type: the envelope layer turns it into an opaque [`DataKey`] or a
/// [`BlindIndexer`](crate::BlindIndexer) at once.
///
/// [`DataKey`]: crate::DataKey
pub struct KeyMaterial(SecretBox<[u8; KEY_LEN]>);

impl KeyMaterial {
    /// Fresh key material from the operating system's random number generator.
    pub fn random() -> Result<Self, CryptoError> {
        let mut key = Self::zeroed();
        getrandom::fill(key.expose_mut()).map_err(random_error)?;
        Ok(key)
    }

    /// Key material copied from `bytes`, which must be exactly 32 bytes long. The caller is
    /// responsible for zeroizing its own copy.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != KEY_LEN {
            return Err(CryptoError::Malformed { what: "key material", reason: "a key is 32 bytes" });
        }
        let mut key = Self::zeroed();
        key.expose_mut().copy_from_slice(bytes);
        Ok(key)
    }

    pub(crate) fn zeroed() -> Self {
        KeyMaterial(SecretBox::new(Box::new([0u8; KEY_LEN])))
    }

    /// The key bytes. For keyring implementations only.
    #[must_use]
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        self.0.expose_secret()
    }

    pub(crate) fn expose_mut(&mut self) -> &mut [u8; KEY_LEN] {
        self.0.expose_secret_mut()
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyMaterial([REDACTED])")
    }
}

/// Constant-time equality: comparing keys must not leak where they differ.
impl PartialEq for KeyMaterial {
    fn eq(&self, other: &Self) -> bool {
        self.expose().ct_eq(other.expose()).into()
    }
}

impl Eq for KeyMaterial {}

/// Key material encrypted under one KEK version, as a keyring returns it. The bytes are the
/// keyring's own (for both keyrings here: 12-byte nonce, then AES-256-GCM ciphertext and tag).
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedSecret {
    /// The KEK version that wrapped it.
    pub version: KekVersion,
    /// The keyring-specific wrapped bytes.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for WrappedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedSecret").field("version", &self.version).field("len", &self.bytes.len()).finish()
    }
}

/// The kinds of keyring, written into every wrapped data key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyringKind {
    /// [`LocalKeyring`](crate::LocalKeyring): AES-256-GCM in this process, keys from a file.
    LocalFile,
    /// [`Pkcs11Keyring`](crate::Pkcs11Keyring): CKM_AES_GCM computed inside the token.
    Pkcs11,
}

impl KeyringKind {
    pub(crate) fn code(self) -> u8 {
        match self {
            KeyringKind::LocalFile => 1,
            KeyringKind::Pkcs11 => 2,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(KeyringKind::LocalFile),
            2 => Some(KeyringKind::Pkcs11),
            _ => None,
        }
    }

    /// A short name for messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            KeyringKind::LocalFile => "local key file",
            KeyringKind::Pkcs11 => "PKCS#11",
        }
    }
}

/// A store of versioned key-encryption keys (KEKs) and of the blind-index root key, kept
/// outside the database. Implementations must be safe to share between threads.
///
/// Rotation: [`rotate`](Keyring::rotate) adds a version and new wraps use it at once; every
/// version still in the keyring keeps unwrapping, so rotation needs no downtime. After every
/// stored data key has been [`rewrap`](crate::rewrap)ped, [`remove_version`](Keyring::remove_version)
/// retires an old version; whatever it alone wrapped is then unrecoverable.
pub trait Keyring: Send + Sync + fmt::Debug {
    /// Which kind of keyring this is.
    fn kind(&self) -> KeyringKind;

    /// The versions held, oldest first; never empty.
    fn versions(&self) -> Result<Vec<KekVersion>, CryptoError>;

    /// The newest version, the one [`wrap`](Keyring::wrap) uses.
    fn current_version(&self) -> Result<KekVersion, CryptoError> {
        self.versions()?
            .last()
            .copied()
            .ok_or(CryptoError::Malformed { what: "keyring", reason: "it holds no key-encryption key" })
    }

    /// Encrypts `key` under the newest KEK version, authenticating `aad` with it.
    fn wrap(&self, key: &KeyMaterial, aad: &[u8]) -> Result<WrappedSecret, CryptoError>;

    /// Decrypts what [`wrap`](Keyring::wrap) returned, with the same `aad`.
    fn unwrap(&self, wrapped: &WrappedSecret, aad: &[u8]) -> Result<KeyMaterial, CryptoError>;

    /// Adds a new KEK version and returns it; new wraps use it from now on.
    fn rotate(&self) -> Result<KekVersion, CryptoError>;

    /// Deletes an old KEK version. Refuses the newest one.
    fn remove_version(&self, version: KekVersion) -> Result<(), CryptoError>;

    /// Derives a 32-byte key from the index root key: HKDF-SHA256-Expand(root, `info`, 32),
    /// which is HMAC-SHA256(root, `info` ‖ 0x01). The root key never leaves the keyring.
    fn derive_index_key(&self, info: &[u8]) -> Result<KeyMaterial, CryptoError>;
}
