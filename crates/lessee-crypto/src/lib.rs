//! Envelope encryption of personal data with keys outside the database.
//!
//! The key hierarchy (see the crate README for byte layouts):
//!
//! ```text
//! keyring (local key file | PKCS#11 token)          outside the database
//! ├── KEK v1, v2, …   AES-256, versioned            wraps data keys
//! └── index root key                                derives one HMAC key per blind-index purpose
//!
//! wrapped data key (one per customer)               in the database
//! └── DEK, AES-256-GCM                              seals every personal value of that customer,
//!                                                   bound to table/column/row as associated data
//! ```
//!
//! - [`Envelope`] is the entry point: it creates a customer's [`DataKey`] and its
//!   [`WrappedDataKey`] (the only form that is stored), opens wrapped keys, [`rewrap`]s them to
//!   the newest KEK version and hands out [`BlindIndexer`]s.
//! - [`Keyring`] is the trait a KEK store implements: [`LocalKeyring`] (a key file, mode 0600,
//!   the default) and [`Pkcs11Keyring`] (an HSM, the production option).
//! - Crypto-shredding: a customer's data is destroyed by deleting every copy of its wrapped data
//!   key; [`Envelope::destroy`] consumes the in-memory copies.
//!
//! Invariants enforced here:
//! - a DEK leaves this crate only wrapped: [`DataKey`] has no accessor for its bytes and
//!   [`rewrap`] never returns the unwrapped key;
//! - a ciphertext opens only with the same data key *and* the same record identity
//!   ([`FieldRef`]); a value copied to another row, column or customer fails to decrypt;
//! - every secret type's `Debug` prints no key bytes.
#![forbid(unsafe_code)]

mod blind;
mod envelope;
mod error;
mod gcm;
mod keys;
mod local;
mod pkcs11;

pub use blind::{BLIND_INDEX_LEN, BlindIndex, BlindIndexer, IndexPurpose, normalize};
pub use envelope::{CIPHERTEXT_OVERHEAD, DataKey, Envelope, FieldRef, WrappedDataKey, ciphertext_key_id, rewrap};
pub use error::{CryptoError, NormalizeError};
pub use keys::{KekVersion, KeyId, KeyMaterial, Keyring, KeyringKind, WrappedSecret};
pub use local::{KEY_FILE_NAME, LocalKeyring};
pub use pkcs11::{KeyProperties, Pkcs11Config, Pkcs11Keyring, pkcs11_context};
pub use secrecy::SecretString;
pub use zeroize::Zeroizing;
