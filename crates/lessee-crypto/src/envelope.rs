//! Data keys, wrapped data keys and the ciphertext format.

use std::fmt;
use std::sync::Arc;

use aes_gcm::Aes256Gcm;
use zeroize::{Zeroize, Zeroizing};

use crate::blind::{BlindIndexer, IndexPurpose};
use crate::error::CryptoError;
use crate::gcm::{self, NONCE_LEN, TAG_LEN};
use crate::keys::{KekVersion, KeyId, KeyMaterial, Keyring, KeyringKind, WrappedSecret};

/// Format version byte of a ciphertext.
const CIPHERTEXT_FORMAT: u8 = 1;
/// Format byte, key id.
const CIPHERTEXT_HEADER_LEN: usize = 1 + 8;
/// Bytes a ciphertext adds to its plaintext: header (9), nonce (12), tag (16).
pub const CIPHERTEXT_OVERHEAD: usize = CIPHERTEXT_HEADER_LEN + NONCE_LEN + TAG_LEN;
/// Domain-separation label at the start of a value's associated data.
const DATA_AAD_LABEL: &[u8] = b"lessee/data/v1";

/// Format version byte of a wrapped data key.
const WRAPPED_FORMAT: u8 = 1;
/// Format byte, keyring kind, KEK version, key id.
const WRAPPED_HEADER_LEN: usize = 1 + 1 + 4 + 8;
/// Domain-separation label at the start of a wrapped data key's associated data.
const WRAP_AAD_LABEL: &[u8] = b"lessee/dek/v1";

/// The identity of one stored value, bound to its ciphertext as associated data: a ciphertext
/// copied to another table, column or row (or another customer's row) fails to decrypt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldRef<'a> {
    table: &'a str,
    column: &'a str,
    row: &'a str,
}

impl<'a> FieldRef<'a> {
    /// The value in `table`.`column` of the row whose stable id is `row`.
    #[must_use]
    pub const fn new(table: &'a str, column: &'a str, row: &'a str) -> Self {
        FieldRef { table, column, row }
    }

    /// `lessee/data/v1` ‖ header ‖ (u32 BE length ‖ bytes) for table, column, row: length
    /// prefixes keep `("a/b", "c")` and `("a", "b/c")` apart.
    fn aad(&self, header: &[u8]) -> Vec<u8> {
        let parts = [self.table, self.column, self.row];
        let len = parts.iter().map(|p| p.len().saturating_add(4)).sum::<usize>();
        let mut aad = Vec::with_capacity(DATA_AAD_LABEL.len().saturating_add(header.len()).saturating_add(len));
        aad.extend_from_slice(DATA_AAD_LABEL);
        aad.extend_from_slice(header);
        for part in parts {
            push_prefixed(&mut aad, part.as_bytes());
        }
        aad
    }
}

fn push_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// One customer's data key (DEK), unwrapped, ready to seal and open values. It has no accessor
/// for its bytes; it is zeroized on drop and `Debug` prints only its id.
#[derive(Clone)]
pub struct DataKey {
    id: KeyId,
    cipher: Aes256Gcm,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl DataKey {
    fn new(id: KeyId, key: &KeyMaterial) -> Self {
        DataKey { id, cipher: gcm::cipher(key) }
    }

    /// The key's id, written in every ciphertext it seals.
    #[must_use]
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Seals `plaintext` for the stored value `field`: format byte, key id, fresh 96-bit nonce,
    /// AES-256-GCM ciphertext and tag ([`CIPHERTEXT_OVERHEAD`] bytes more than the plaintext).
    pub fn encrypt(&self, plaintext: &[u8], field: &FieldRef<'_>) -> Result<Vec<u8>, CryptoError> {
        let header = self.header();
        let aad = field.aad(&header);
        let mut out = Vec::with_capacity(plaintext.len().saturating_add(CIPHERTEXT_OVERHEAD));
        out.extend_from_slice(&header);
        gcm::seal_into(&self.cipher, plaintext, &aad, &mut out)?;
        Ok(out)
    }

    /// Opens what [`encrypt`](Self::encrypt) sealed for the same `field`.
    pub fn decrypt(&self, ciphertext: &[u8], field: &FieldRef<'_>) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let (header, sealed) = ciphertext
            .split_first_chunk::<CIPHERTEXT_HEADER_LEN>()
            .ok_or(CryptoError::Malformed { what: "ciphertext", reason: "too short" })?;
        let found = parse_ciphertext_header(header)?;
        if found != self.id {
            return Err(CryptoError::WrongKey { expected: self.id, found });
        }
        let body_len = sealed
            .len()
            .checked_sub(NONCE_LEN + TAG_LEN)
            .ok_or(CryptoError::Malformed { what: "ciphertext", reason: "too short" })?;
        let mut plaintext = Zeroizing::new(vec![0u8; body_len]);
        gcm::open_into(&self.cipher, sealed, &field.aad(header), &mut plaintext)?;
        Ok(plaintext)
    }

    /// [`decrypt`](Self::decrypt) for text.
    pub fn decrypt_string(&self, ciphertext: &[u8], field: &FieldRef<'_>) -> Result<Zeroizing<String>, CryptoError> {
        let mut bytes = self.decrypt(ciphertext, field)?;
        let owned = std::mem::take(&mut *bytes);
        match String::from_utf8(owned) {
            Ok(text) => Ok(Zeroizing::new(text)),
            Err(e) => {
                e.into_bytes().zeroize();
                Err(CryptoError::Malformed { what: "plaintext", reason: "not UTF-8" })
            }
        }
    }

    fn header(&self) -> [u8; CIPHERTEXT_HEADER_LEN] {
        let mut header = [0u8; CIPHERTEXT_HEADER_LEN];
        let (format, id) = header.split_at_mut(1);
        format.copy_from_slice(&[CIPHERTEXT_FORMAT]);
        id.copy_from_slice(&self.id.get().to_be_bytes());
        header
    }
}

fn parse_ciphertext_header(header: &[u8; CIPHERTEXT_HEADER_LEN]) -> Result<KeyId, CryptoError> {
    let (format, id) =
        header.split_first().ok_or(CryptoError::Malformed { what: "ciphertext", reason: "too short" })?;
    if *format != CIPHERTEXT_FORMAT {
        return Err(CryptoError::UnsupportedFormat { what: "ciphertext", version: *format });
    }
    let id: [u8; 8] = id.try_into().map_err(|_| CryptoError::Malformed { what: "ciphertext", reason: "bad header" })?;
    Ok(KeyId::from_u64(u64::from_be_bytes(id)))
}

/// The id of the data key that sealed `ciphertext`, to find the wrapped key it needs.
pub fn ciphertext_key_id(ciphertext: &[u8]) -> Result<KeyId, CryptoError> {
    let (header, rest) = ciphertext
        .split_first_chunk::<CIPHERTEXT_HEADER_LEN>()
        .ok_or(CryptoError::Malformed { what: "ciphertext", reason: "too short" })?;
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Malformed { what: "ciphertext", reason: "too short" });
    }
    parse_ciphertext_header(header)
}

/// A data key wrapped by a KEK: the only form in which a data key is stored.
///
/// Bytes: format (1) ‖ keyring kind (1) ‖ KEK version (u32 BE) ‖ key id (u64 BE) ‖ the
/// keyring's wrapped bytes (for both keyrings here: nonce 12 ‖ encrypted key 32 ‖ tag 16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedDataKey {
    kind: KeyringKind,
    id: KeyId,
    secret: WrappedSecret,
}

impl WrappedDataKey {
    /// The id of the data key inside.
    #[must_use]
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// The KEK version that wrapped it.
    #[must_use]
    pub fn kek_version(&self) -> KekVersion {
        self.secret.version
    }

    /// The kind of keyring that wrapped it.
    #[must_use]
    pub fn keyring_kind(&self) -> KeyringKind {
        self.kind
    }

    /// The bytes to store.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(WRAPPED_HEADER_LEN.saturating_add(self.secret.bytes.len()));
        out.push(WRAPPED_FORMAT);
        out.push(self.kind.code());
        out.extend_from_slice(&self.secret.version.get().to_be_bytes());
        out.extend_from_slice(&self.id.get().to_be_bytes());
        out.extend_from_slice(&self.secret.bytes);
        out
    }

    /// Parses stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        const WHAT: &str = "wrapped data key";
        let short = || CryptoError::Malformed { what: WHAT, reason: "too short" };
        let ([format, kind], rest) = bytes.split_first_chunk::<2>().ok_or_else(short)?;
        if *format != WRAPPED_FORMAT {
            return Err(CryptoError::UnsupportedFormat { what: WHAT, version: *format });
        }
        let kind = KeyringKind::from_code(*kind)
            .ok_or(CryptoError::Malformed { what: WHAT, reason: "unknown keyring kind" })?;
        let (version, rest) = rest.split_first_chunk::<4>().ok_or_else(short)?;
        let version = KekVersion::new(u32::from_be_bytes(*version))
            .ok_or(CryptoError::Malformed { what: WHAT, reason: "KEK version 0" })?;
        let (id, wrapped) = rest.split_first_chunk::<8>().ok_or_else(short)?;
        if wrapped.is_empty() {
            return Err(short());
        }
        Ok(WrappedDataKey {
            kind,
            id: KeyId::from_u64(u64::from_be_bytes(*id)),
            secret: WrappedSecret { version, bytes: wrapped.to_vec() },
        })
    }

    /// `lessee/dek/v1` ‖ format ‖ key id ‖ (u32 BE length ‖ owner): binds the wrapped key to
    /// its id and to its owner, so a wrapped key copied to another customer fails to unwrap.
    fn aad(id: KeyId, owner: &str) -> Vec<u8> {
        let mut aad = Vec::with_capacity(WRAP_AAD_LABEL.len().saturating_add(13).saturating_add(owner.len()));
        aad.extend_from_slice(WRAP_AAD_LABEL);
        aad.push(WRAPPED_FORMAT);
        aad.extend_from_slice(&id.get().to_be_bytes());
        push_prefixed(&mut aad, owner.as_bytes());
        aad
    }

    fn check_kind(&self, keyring: &dyn Keyring) -> Result<(), CryptoError> {
        if self.kind == keyring.kind() {
            Ok(())
        } else {
            Err(CryptoError::WrongKeyring { expected: keyring.kind().name(), found: self.kind.name() })
        }
    }
}

/// Moves a wrapped data key to the keyring's newest KEK version (a no-op copy when it is
/// already there). The data key is unwrapped and rewrapped inside this call and zeroized before
/// it returns: the caller never sees it. Data sealed under the key is untouched.
pub fn rewrap(keyring: &dyn Keyring, owner: &str, wrapped: &WrappedDataKey) -> Result<WrappedDataKey, CryptoError> {
    wrapped.check_kind(keyring)?;
    if wrapped.kek_version() == keyring.current_version()? {
        return Ok(wrapped.clone());
    }
    let aad = WrappedDataKey::aad(wrapped.id, owner);
    let key = keyring.unwrap(&wrapped.secret, &aad)?;
    let secret = keyring.wrap(&key, &aad)?;
    Ok(WrappedDataKey { kind: keyring.kind(), id: wrapped.id, secret })
}

/// Envelope encryption over a [`Keyring`]: the entry point of this crate.
#[derive(Debug, Clone)]
pub struct Envelope {
    keyring: Arc<dyn Keyring>,
}

impl Envelope {
    /// Envelope encryption with KEKs from `keyring`.
    #[must_use]
    pub fn new(keyring: Arc<dyn Keyring>) -> Self {
        Envelope { keyring }
    }

    /// The keyring (to rotate, list or remove KEK versions).
    #[must_use]
    pub fn keyring(&self) -> &Arc<dyn Keyring> {
        &self.keyring
    }

    /// A new random data key for `owner` (e.g. `customer/<id>`), and its wrapped form to store.
    /// The wrapped form is bound to `owner`: it opens only with the same `owner`.
    pub fn create_data_key(&self, owner: &str) -> Result<(DataKey, WrappedDataKey), CryptoError> {
        let id = KeyId::random()?;
        let key = KeyMaterial::random()?;
        let secret = self.keyring.wrap(&key, &WrappedDataKey::aad(id, owner))?;
        let wrapped = WrappedDataKey { kind: self.keyring.kind(), id, secret };
        Ok((DataKey::new(id, &key), wrapped))
    }

    /// Unwraps `owner`'s stored data key.
    pub fn open_data_key(&self, owner: &str, wrapped: &WrappedDataKey) -> Result<DataKey, CryptoError> {
        wrapped.check_kind(self.keyring.as_ref())?;
        let key = self.keyring.unwrap(&wrapped.secret, &WrappedDataKey::aad(wrapped.id, owner))?;
        Ok(DataKey::new(wrapped.id, &key))
    }

    /// [`rewrap`] with this envelope's keyring.
    pub fn rewrap(&self, owner: &str, wrapped: &WrappedDataKey) -> Result<WrappedDataKey, CryptoError> {
        rewrap(self.keyring.as_ref(), owner, wrapped)
    }

    /// Whether `wrapped` uses an older KEK version than the newest.
    pub fn needs_rewrap(&self, wrapped: &WrappedDataKey) -> Result<bool, CryptoError> {
        Ok(wrapped.kek_version() < self.keyring.current_version()?)
    }

    /// Crypto-shredding: consumes a wrapped data key and returns its id for the audit record.
    /// Deleting every stored copy of it (the database row; backups age out) is the caller's
    /// part, in the same transaction that writes the audit record; after that no value it
    /// sealed can be decrypted by anyone, with any keyring.
    pub fn destroy(&self, wrapped: WrappedDataKey) -> KeyId {
        let WrappedDataKey { id, mut secret, .. } = wrapped;
        secret.bytes.zeroize();
        id
    }

    /// The blind indexer for `purpose`, keyed by a key derived from the keyring's index root key.
    pub fn blind_indexer(&self, purpose: IndexPurpose) -> Result<BlindIndexer, CryptoError> {
        BlindIndexer::new(self.keyring.as_ref(), purpose)
    }
}
