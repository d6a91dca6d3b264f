//! The production keyring: KEKs inside a PKCS#11 token (HSM), used through `cryptoki`.
//!
//! - Each KEK version is an AES-256 secret key object on the token, labelled
//!   `<prefix>-kek-v<N>`, generated inside it with `CKA_SENSITIVE = true` and
//!   `CKA_EXTRACTABLE = false`, usable only to encrypt and decrypt.
//! - Wrapping is `CKM_AES_GCM` encryption of the 32 data-key bytes inside the token (96-bit
//!   random nonce, 128-bit tag, the owner binding as associated data): the same construction
//!   and byte layout as the local keyring, with associated data that `CKM_AES_KEY_WRAP_KWP`
//!   could not carry, and no temporary key objects on the token.
//! - The index root key is a generic secret `<prefix>-index` (sensitive, non-extractable,
//!   sign only); per-purpose keys are `CKM_SHA256_HMAC` over `info ‖ 0x01` inside the token,
//!   which is HKDF-Expand for a 32-byte output, so the root key never leaves the token.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as Pkcs11Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::Ulong;
use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::gcm::{NONCE_LEN, TAG_LEN, random_nonce};
use crate::keys::{KEY_LEN, KekVersion, KeyMaterial, Keyring, KeyringKind, WrappedSecret};

/// Key length for `CKA_VALUE_LEN`.
const KEY_LEN_U64: u64 = 32;
/// GCM tag length in bits.
const TAG_BITS: u64 = 128;

/// How to reach the token.
#[derive(Debug, Clone)]
pub struct Pkcs11Config {
    /// The PKCS#11 module (e.g. `/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// The user PIN.
    pub pin: SecretString,
    /// Prefix of the key objects' labels (`<prefix>-kek-v1`, `<prefix>-index`); default `lessee`.
    pub label_prefix: String,
}

impl Pkcs11Config {
    /// A configuration with the default label prefix `lessee`.
    #[must_use]
    pub fn new(module: impl Into<PathBuf>, token_label: impl Into<String>, pin: SecretString) -> Self {
        Pkcs11Config { module: module.into(), token_label: token_label.into(), pin, label_prefix: "lessee".into() }
    }
}

/// What the token says about a key object: a KEK must be sensitive and never extractable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyProperties {
    /// `CKA_SENSITIVE`.
    pub sensitive: bool,
    /// `CKA_EXTRACTABLE`.
    pub extractable: bool,
    /// `CKA_ALWAYS_SENSITIVE`.
    pub always_sensitive: bool,
    /// `CKA_NEVER_EXTRACTABLE`.
    pub never_extractable: bool,
    /// Whether `C_GetAttributeValue(CKA_VALUE)` returned the key bytes (it must not).
    pub value_readable: bool,
}

/// KEKs in a PKCS#11 token. One logged-in session, used under a mutex.
pub struct Pkcs11Keyring {
    // Kept so the module stays loaded as long as the session lives.
    _context: Pkcs11,
    slot: Slot,
    session: Mutex<Session>,
    prefix: String,
    created: bool,
}

impl fmt::Debug for Pkcs11Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Keyring").field("slot", &self.slot).field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

fn pkcs11_error(what: &str) -> impl FnOnce(Pkcs11Error) -> CryptoError + '_ {
    move |e| match e {
        Pkcs11Error::Pkcs11(rv, function) => CryptoError::Pkcs11(format!("{what}: C_{function:?} returned {rv:?}")),
        other => CryptoError::Pkcs11(format!("{what}: {other}")),
    }
}

fn is_rv(error: &Pkcs11Error, rv: RvError) -> bool {
    matches!(error, Pkcs11Error::Pkcs11(found, _) if *found == rv)
}

/// The process-wide context of a PKCS#11 module, loaded and initialized (`C_Initialize`) on
/// first use. A module is initialized once per process and `C_Initialize` must not race, so
/// every keyring of the process shares this context; code that needs the module directly
/// (diagnostics, tests) should take it from here too.
pub fn pkcs11_context(module: &Path) -> Result<Pkcs11, CryptoError> {
    static CONTEXTS: Mutex<BTreeMap<PathBuf, Pkcs11>> = Mutex::new(BTreeMap::new());
    let mut contexts = CONTEXTS.lock().map_err(|_| CryptoError::Poisoned)?;
    if let Some(context) = contexts.get(module) {
        return Ok(context.clone());
    }
    let context =
        Pkcs11::new(module).map_err(|e| CryptoError::Pkcs11(format!("loading module {}: {e}", module.display())))?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => {}
        // Initialized by other code of this process (e.g. under another path to the module).
        Err(e) if is_rv(&e, RvError::CryptokiAlreadyInitialized) => {}
        Err(e) => return Err(pkcs11_error("C_Initialize")(e)),
    }
    contexts.insert(module.to_path_buf(), context.clone());
    Ok(context)
}

impl Pkcs11Keyring {
    /// Loads the module (once per process, see [`pkcs11_context`]), logs in to the token
    /// labelled `config.token_label`, and creates KEK version 1 and the index root key on the
    /// token if they are missing.
    ///
    /// PKCS#11 logins belong to the process, not to a session: while another session of this
    /// process is logged in to the token, the PIN is not checked again.
    pub fn open(config: &Pkcs11Config) -> Result<Self, CryptoError> {
        let context = pkcs11_context(&config.module)?;
        let mut slot = None;
        for candidate in context.get_slots_with_token().map_err(pkcs11_error("listing slots"))? {
            let info = context.get_token_info(candidate).map_err(pkcs11_error("reading token info"))?;
            if info.label().trim_end() == config.token_label {
                slot = Some(candidate);
                break;
            }
        }
        let slot = slot.ok_or_else(|| CryptoError::Pkcs11(format!("no token labelled {:?}", config.token_label)))?;
        let session = context.open_rw_session(slot).map_err(pkcs11_error("opening a session"))?;
        match session.login(UserType::User, Some(&config.pin)) {
            Ok(()) => {}
            Err(e) if is_rv(&e, RvError::UserAlreadyLoggedIn) => {}
            Err(e) => return Err(pkcs11_error("logging in")(e)),
        }
        let mut keyring = Pkcs11Keyring {
            _context: context,
            slot,
            session: Mutex::new(session),
            prefix: config.label_prefix.clone(),
            created: false,
        };
        keyring.created = keyring.ensure_keys()?;
        Ok(keyring)
    }

    /// Whether [`open`](Self::open) created the first KEK or the index key.
    #[must_use]
    pub fn created(&self) -> bool {
        self.created
    }

    /// The properties of KEK `version` as the token reports them.
    pub fn kek_properties(&self, version: KekVersion) -> Result<KeyProperties, CryptoError> {
        let session = self.session()?;
        let handle = self.find_kek(&session, version)?;
        properties(&session, handle)
    }

    /// The properties of the index root key as the token reports them.
    pub fn index_key_properties(&self) -> Result<KeyProperties, CryptoError> {
        let session = self.session()?;
        let handle = self
            .find_index_key(&session)?
            .ok_or_else(|| CryptoError::Pkcs11(format!("no index key labelled {}", self.index_label())))?;
        properties(&session, handle)
    }

    fn session(&self) -> Result<std::sync::MutexGuard<'_, Session>, CryptoError> {
        self.session.lock().map_err(|_| CryptoError::Poisoned)
    }

    fn kek_label(&self, version: KekVersion) -> String {
        format!("{}-kek-v{}", self.prefix, version.get())
    }

    fn index_label(&self) -> String {
        format!("{}-index", self.prefix)
    }

    fn ensure_keys(&self) -> Result<bool, CryptoError> {
        let session = self.session()?;
        let mut created = false;
        if self.find_index_key(&session)?.is_none() {
            let label = self.index_label();
            let template = [
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(true),
                Attribute::Verify(false),
                Attribute::Encrypt(false),
                Attribute::Decrypt(false),
                Attribute::Derive(false),
                Attribute::KeyType(KeyType::GENERIC_SECRET),
                Attribute::ValueLen(Ulong::from(KEY_LEN_U64)),
                Attribute::Label(label.into_bytes()),
            ];
            session
                .generate_key(&Mechanism::GenericSecretKeyGen, &template)
                .map_err(pkcs11_error("generating the index key"))?;
            created = true;
        }
        if self.list_versions(&session)?.is_empty() {
            self.generate_kek(&session, KekVersion::FIRST)?;
            created = true;
        }
        Ok(created)
    }

    fn generate_kek(&self, session: &Session, version: KekVersion) -> Result<(), CryptoError> {
        let template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Sign(false),
            Attribute::Verify(false),
            Attribute::Derive(false),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen(Ulong::from(KEY_LEN_U64)),
            Attribute::Label(self.kek_label(version).into_bytes()),
            Attribute::Id(version.get().to_be_bytes().to_vec()),
        ];
        session.generate_key(&Mechanism::AesKeyGen, &template).map_err(pkcs11_error("generating a KEK"))?;
        Ok(())
    }

    fn list_versions(&self, session: &Session) -> Result<Vec<KekVersion>, CryptoError> {
        let template = [Attribute::Class(ObjectClass::SECRET_KEY), Attribute::KeyType(KeyType::AES)];
        let handles = session.find_objects(&template).map_err(pkcs11_error("finding KEKs"))?;
        let prefix = format!("{}-kek-v", self.prefix);
        let mut versions = Vec::new();
        for handle in handles {
            let attributes =
                session.get_attributes(handle, &[AttributeType::Label]).map_err(pkcs11_error("reading a key label"))?;
            for attribute in attributes {
                if let Attribute::Label(label) = attribute
                    && let Ok(label) = std::str::from_utf8(&label)
                    && let Some(number) = label.strip_prefix(prefix.as_str())
                    && let Some(version) = number.parse().ok().and_then(KekVersion::new)
                {
                    versions.push(version);
                }
            }
        }
        versions.sort_unstable();
        versions.dedup();
        Ok(versions)
    }

    fn find_one(
        &self,
        session: &Session,
        template: &[Attribute],
        label: &str,
    ) -> Result<Option<ObjectHandle>, CryptoError> {
        let handles = session.find_objects(template).map_err(pkcs11_error("finding a key"))?;
        match handles.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => {
                Err(CryptoError::Pkcs11(format!("{} keys are labelled {label}; remove the extra ones", handles.len())))
            }
        }
    }

    fn find_kek(&self, session: &Session, version: KekVersion) -> Result<ObjectHandle, CryptoError> {
        let label = self.kek_label(version);
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Label(label.clone().into_bytes()),
        ];
        self.find_one(session, &template, &label)?.ok_or(CryptoError::UnknownKekVersion(version))
    }

    fn find_index_key(&self, session: &Session) -> Result<Option<ObjectHandle>, CryptoError> {
        let label = self.index_label();
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Label(label.clone().into_bytes()),
        ];
        self.find_one(session, &template, &label)
    }
}

fn properties(session: &Session, handle: ObjectHandle) -> Result<KeyProperties, CryptoError> {
    let attributes = session
        .get_attributes(
            handle,
            &[
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::AlwaysSensitive,
                AttributeType::NeverExtractable,
            ],
        )
        .map_err(pkcs11_error("reading key attributes"))?;
    let mut props = KeyProperties {
        sensitive: false,
        extractable: true,
        always_sensitive: false,
        never_extractable: false,
        value_readable: false,
    };
    for attribute in attributes {
        match attribute {
            Attribute::Sensitive(v) => props.sensitive = v,
            Attribute::Extractable(v) => props.extractable = v,
            Attribute::AlwaysSensitive(v) => props.always_sensitive = v,
            Attribute::NeverExtractable(v) => props.never_extractable = v,
            _ => {}
        }
    }
    // A sensitive key's value is unavailable: the call fails or leaves CKA_VALUE out.
    if let Ok(values) = session.get_attributes(handle, &[AttributeType::Value]) {
        props.value_readable = values.into_iter().any(|a| match a {
            Attribute::Value(mut bytes) => {
                let readable = !bytes.is_empty();
                zeroize::Zeroize::zeroize(&mut bytes);
                readable
            }
            _ => false,
        });
    }
    Ok(props)
}

impl Keyring for Pkcs11Keyring {
    fn kind(&self) -> KeyringKind {
        KeyringKind::Pkcs11
    }

    fn versions(&self) -> Result<Vec<KekVersion>, CryptoError> {
        let session = self.session()?;
        self.list_versions(&session)
    }

    fn wrap(&self, key: &KeyMaterial, aad: &[u8]) -> Result<WrappedSecret, CryptoError> {
        let session = self.session()?;
        let version = self
            .list_versions(&session)?
            .last()
            .copied()
            .ok_or_else(|| CryptoError::Pkcs11("the token holds no KEK".into()))?;
        let handle = self.find_kek(&session, version)?;
        let nonce = random_nonce()?;
        let mut iv = nonce;
        let params = GcmParams::new(&mut iv, aad, Ulong::from(TAG_BITS)).map_err(pkcs11_error("GCM parameters"))?;
        let sealed = session
            .encrypt(&Mechanism::AesGcm(params), handle, key.expose())
            .map_err(pkcs11_error("wrapping a data key"))?;
        if sealed.len() != KEY_LEN + TAG_LEN {
            return Err(CryptoError::Pkcs11(format!(
                "the token returned {} bytes for a wrapped key, not {}",
                sealed.len(),
                KEY_LEN + TAG_LEN
            )));
        }
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        Ok(WrappedSecret { version, bytes })
    }

    fn unwrap(&self, wrapped: &WrappedSecret, aad: &[u8]) -> Result<KeyMaterial, CryptoError> {
        let (nonce, sealed) = wrapped
            .bytes
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(CryptoError::Malformed { what: "wrapped data key", reason: "too short" })?;
        if sealed.len() != KEY_LEN + TAG_LEN {
            return Err(CryptoError::Malformed { what: "wrapped data key", reason: "unexpected length" });
        }
        let session = self.session()?;
        let handle = self.find_kek(&session, wrapped.version)?;
        let mut iv = *nonce;
        let params = GcmParams::new(&mut iv, aad, Ulong::from(TAG_BITS)).map_err(pkcs11_error("GCM parameters"))?;
        let plaintext = session.decrypt(&Mechanism::AesGcm(params), handle, sealed).map_err(|e| {
            // A failed GCM tag check: CKR_ENCRYPTED_DATA_INVALID per the standard;
            // SoftHSM2 2.6 reports CKR_GENERAL_ERROR.
            if is_rv(&e, RvError::EncryptedDataInvalid)
                || is_rv(&e, RvError::EncryptedDataLenRange)
                || is_rv(&e, RvError::GeneralError)
            {
                CryptoError::Decrypt
            } else {
                pkcs11_error("unwrapping a data key")(e)
            }
        })?;
        let plaintext = Zeroizing::new(plaintext);
        KeyMaterial::from_slice(&plaintext)
    }

    fn rotate(&self) -> Result<KekVersion, CryptoError> {
        let session = self.session()?;
        let next = match self.list_versions(&session)?.last() {
            Some(newest) => newest.next()?,
            None => KekVersion::FIRST,
        };
        self.generate_kek(&session, next)?;
        Ok(next)
    }

    fn remove_version(&self, version: KekVersion) -> Result<(), CryptoError> {
        let session = self.session()?;
        if self.list_versions(&session)?.last() == Some(&version) {
            return Err(CryptoError::CannotRemove { version, reason: "it is the newest version; rotate first" });
        }
        let handle = self.find_kek(&session, version)?;
        session.destroy_object(handle).map_err(pkcs11_error("destroying a KEK"))
    }

    fn derive_index_key(&self, info: &[u8]) -> Result<KeyMaterial, CryptoError> {
        let session = self.session()?;
        let handle = self
            .find_index_key(&session)?
            .ok_or_else(|| CryptoError::Pkcs11(format!("no index key labelled {}", self.index_label())))?;
        let mut input = Vec::with_capacity(info.len().saturating_add(1));
        input.extend_from_slice(info);
        input.push(1);
        let derived = Zeroizing::new(
            session.sign(&Mechanism::Sha256Hmac, handle, &input).map_err(pkcs11_error("deriving an index key"))?,
        );
        KeyMaterial::from_slice(&derived)
    }
}
