#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
//! Data keys, ciphertexts, wrapped keys, rotation and crypto-shredding on the local keyring.

use std::sync::{Arc, LazyLock, Mutex};

use lessee_crypto::{
    CIPHERTEXT_OVERHEAD, CryptoError, DataKey, Envelope, FieldRef, KekVersion, KeyMaterial, Keyring, KeyringKind,
    LocalKeyring, WrappedDataKey, WrappedSecret, ciphertext_key_id, rewrap,
};
use proptest::prelude::*;

fn keyring(dir: &tempfile::TempDir) -> Arc<LocalKeyring> {
    Arc::new(LocalKeyring::open_or_create(dir.path()).unwrap())
}

struct Fixture {
    _dir: tempfile::TempDir,
    envelope: Envelope,
    key: DataKey,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let envelope = Envelope::new(keyring(&dir));
    let (key, _) = envelope.create_data_key("customer/1").unwrap();
    Fixture { _dir: dir, envelope, key }
});

const FIELD: FieldRef<'static> = FieldRef::new("customers", "email", "0190-aaaa");

#[test]
fn round_trip_and_format() {
    let key = &FIXTURE.key;
    let plaintext = b"ada@example.com";
    let ciphertext = key.encrypt(plaintext, &FIELD).unwrap();
    assert_eq!(ciphertext.len(), plaintext.len() + CIPHERTEXT_OVERHEAD);
    assert_eq!(ciphertext[0], 1, "format version byte");
    assert_eq!(&ciphertext[1..9], &key.id().get().to_be_bytes());
    assert_eq!(ciphertext_key_id(&ciphertext).unwrap(), key.id());
    assert_eq!(&*key.decrypt(&ciphertext, &FIELD).unwrap(), plaintext);
    assert_eq!(&*key.decrypt_string(&ciphertext, &FIELD).unwrap(), "ada@example.com");
}

#[test]
fn fresh_nonce_per_value() {
    let key = &FIXTURE.key;
    let a = key.encrypt(b"same", &FIELD).unwrap();
    let b = key.encrypt(b"same", &FIELD).unwrap();
    assert_ne!(a[9..21], b[9..21], "nonces must differ");
    assert_ne!(a, b);
}

#[test]
fn empty_plaintext_round_trips() {
    let key = &FIXTURE.key;
    let ciphertext = key.encrypt(b"", &FIELD).unwrap();
    assert_eq!(ciphertext.len(), CIPHERTEXT_OVERHEAD);
    assert!(key.decrypt(&ciphertext, &FIELD).unwrap().is_empty());
}

#[test]
fn moved_ciphertext_fails_to_decrypt() {
    let key = &FIXTURE.key;
    let ciphertext = key.encrypt(b"123-45-6789", &FIELD).unwrap();
    let elsewhere = [
        FieldRef::new("customers", "email", "0190-bbbb"),
        FieldRef::new("customers", "phone", "0190-aaaa"),
        FieldRef::new("owners", "email", "0190-aaaa"),
        // Length prefixes: moving a separator between parts is another identity.
        FieldRef::new("customers", "emai", "l0190-aaaa"),
        FieldRef::new("customersemail", "", "0190-aaaa"),
    ];
    for field in elsewhere {
        assert!(matches!(key.decrypt(&ciphertext, &field), Err(CryptoError::Decrypt)), "{field:?} must not open it");
    }
}

#[test]
fn tampered_ciphertext_fails_at_every_byte() {
    let key = &FIXTURE.key;
    let ciphertext = key.encrypt(b"+12025550100", &FIELD).unwrap();
    for i in 0..ciphertext.len() {
        let mut tampered = ciphertext.clone();
        tampered[i] ^= 0x01;
        let result = key.decrypt(&tampered, &FIELD);
        match i {
            0 => assert!(matches!(result, Err(CryptoError::UnsupportedFormat { version: 0, .. }))),
            1..=8 => assert!(matches!(result, Err(CryptoError::WrongKey { .. }))),
            _ => assert!(matches!(result, Err(CryptoError::Decrypt)), "byte {i}"),
        }
    }
    for len in 0..ciphertext.len() {
        assert!(key.decrypt(&ciphertext[..len], &FIELD).is_err(), "{len}");
    }
    let mut longer = ciphertext.clone();
    longer.push(0);
    assert!(matches!(key.decrypt(&longer, &FIELD), Err(CryptoError::Decrypt)));
}

#[test]
fn another_customers_key_cannot_open() {
    let (other, _) = FIXTURE.envelope.create_data_key("customer/2").unwrap();
    let ciphertext = FIXTURE.key.encrypt(b"secret", &FIELD).unwrap();
    assert!(matches!(other.decrypt(&ciphertext, &FIELD), Err(CryptoError::WrongKey { .. })));
    // Even with the key id forged to match, the tag fails.
    let mut forged = ciphertext.clone();
    forged[1..9].copy_from_slice(&other.id().get().to_be_bytes());
    assert!(matches!(other.decrypt(&forged, &FIELD), Err(CryptoError::Decrypt)));
}

#[test]
fn wrapped_key_round_trips_through_bytes_and_is_bound_to_its_owner() {
    let envelope = &FIXTURE.envelope;
    let (key, wrapped) = envelope.create_data_key("customer/7").unwrap();
    let bytes = wrapped.to_bytes();
    assert_eq!(bytes.len(), 74, "1 + 1 + 4 + 8 + 12 + 32 + 16");
    assert_eq!(bytes[0], 1);
    assert_eq!(bytes[1], 1, "local key file");
    let parsed = WrappedDataKey::from_bytes(&bytes).unwrap();
    assert_eq!(parsed, wrapped);
    assert_eq!(parsed.key_id(), key.id());
    assert_eq!(parsed.keyring_kind(), KeyringKind::LocalFile);

    let reopened = envelope.open_data_key("customer/7", &parsed).unwrap();
    let ciphertext = key.encrypt(b"x", &FIELD).unwrap();
    assert_eq!(&*reopened.decrypt(&ciphertext, &FIELD).unwrap(), b"x");

    assert!(matches!(envelope.open_data_key("customer/8", &parsed), Err(CryptoError::Decrypt)));
    for i in 0..bytes.len() {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x80;
        let opened = WrappedDataKey::from_bytes(&tampered).and_then(|w| envelope.open_data_key("customer/7", &w));
        assert!(opened.is_err(), "byte {i}");
    }
    for len in 0..15 {
        assert!(WrappedDataKey::from_bytes(&bytes[..len]).is_err());
    }
}

#[test]
fn rotation_rewrap_and_retirement() {
    let dir = tempfile::tempdir().unwrap();
    let ring = keyring(&dir);
    let envelope = Envelope::new(ring.clone());
    let v1 = KekVersion::FIRST;
    let v2 = KekVersion::new(2).unwrap();

    let (key, wrapped_v1) = envelope.create_data_key("customer/1").unwrap();
    assert_eq!(wrapped_v1.kek_version(), v1);
    let ciphertext = key.encrypt(b"Ada Lovelace", &FIELD).unwrap();

    assert_eq!(ring.rotate().unwrap(), v2);
    assert_eq!(ring.versions().unwrap(), vec![v1, v2]);
    assert!(envelope.needs_rewrap(&wrapped_v1).unwrap());
    // Old version still unwraps.
    let opened = envelope.open_data_key("customer/1", &wrapped_v1).unwrap();
    assert_eq!(&*opened.decrypt(&ciphertext, &FIELD).unwrap(), b"Ada Lovelace");
    // New wraps use the new version.
    let (_, fresh) = envelope.create_data_key("customer/2").unwrap();
    assert_eq!(fresh.kek_version(), v2);

    let wrapped_v2 = rewrap(ring.as_ref(), "customer/1", &wrapped_v1).unwrap();
    assert_eq!(wrapped_v2.kek_version(), v2);
    assert_eq!(wrapped_v2.key_id(), wrapped_v1.key_id());
    assert!(!envelope.needs_rewrap(&wrapped_v2).unwrap());
    assert_eq!(envelope.rewrap("customer/1", &wrapped_v2).unwrap(), wrapped_v2);
    // Rewrap checks the owner binding too.
    assert!(matches!(rewrap(ring.as_ref(), "customer/9", &wrapped_v1), Err(CryptoError::Decrypt)));

    assert!(matches!(ring.remove_version(v2), Err(CryptoError::CannotRemove { .. })));
    ring.remove_version(v1).unwrap();
    assert_eq!(ring.versions().unwrap(), vec![v2]);
    let opened = envelope.open_data_key("customer/1", &wrapped_v2).unwrap();
    assert_eq!(&*opened.decrypt(&ciphertext, &FIELD).unwrap(), b"Ada Lovelace");
    // A copy left under the removed version is now unrecoverable.
    assert!(matches!(
        envelope.open_data_key("customer/1", &wrapped_v1),
        Err(CryptoError::UnknownKekVersion(v)) if v == v1
    ));

    // The file holds the rotation: a fresh process sees v2 only.
    let reopened = LocalKeyring::open(ring.path()).unwrap();
    assert_eq!(reopened.versions().unwrap(), vec![v2]);
}

#[test]
fn rotation_by_another_process_is_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = Envelope::new(keyring(&dir));
    let cli = keyring(&dir);
    assert!(!cli.created());
    let v2 = cli.rotate().unwrap();
    let cli_envelope = Envelope::new(cli);
    let (key, wrapped) = cli_envelope.create_data_key("customer/1").unwrap();
    assert_eq!(wrapped.kek_version(), v2);
    // The server meets v2 for the first time and rereads the file.
    let opened = server.open_data_key("customer/1", &wrapped).unwrap();
    let ciphertext = key.encrypt(b"v", &FIELD).unwrap();
    assert_eq!(&*opened.decrypt(&ciphertext, &FIELD).unwrap(), b"v");
    assert_eq!(server.keyring().current_version().unwrap(), v2);
}

#[test]
fn crypto_shredding_makes_data_unrecoverable() {
    let dir = tempfile::tempdir().unwrap();
    let envelope = Envelope::new(keyring(&dir));
    // The "database": wrapped keys by owner, and ciphertexts.
    let mut stored_keys = std::collections::HashMap::new();
    let mut rows = Vec::new();
    for customer in ["customer/a", "customer/b"] {
        let (key, wrapped) = envelope.create_data_key(customer).unwrap();
        let field = FieldRef::new("customers", "name", customer);
        rows.push((customer, key.encrypt(b"Jane Doe", &field).unwrap()));
        stored_keys.insert(customer, wrapped.to_bytes());
    }

    // Retention ends for customer a: delete its wrapped key.
    let bytes = stored_keys.remove("customer/a").unwrap();
    let destroyed = envelope.destroy(WrappedDataKey::from_bytes(&bytes).unwrap());
    drop(bytes);
    let (_, a_ciphertext) = &rows[0];
    assert_eq!(ciphertext_key_id(a_ciphertext).unwrap(), destroyed);

    // Nothing left in the store opens a's data: not b's key, not a new key for a.
    let a_field = FieldRef::new("customers", "name", "customer/a");
    let (new_a, new_wrapped) = envelope.create_data_key("customer/a").unwrap();
    stored_keys.insert("customer/a", new_wrapped.to_bytes());
    for (owner, bytes) in &stored_keys {
        let key = envelope.open_data_key(owner, &WrappedDataKey::from_bytes(bytes).unwrap()).unwrap();
        assert!(key.decrypt(a_ciphertext, &a_field).is_err());
    }
    assert!(new_a.decrypt(a_ciphertext, &a_field).is_err());

    // b is untouched.
    let b =
        envelope.open_data_key("customer/b", &WrappedDataKey::from_bytes(&stored_keys["customer/b"]).unwrap()).unwrap();
    let b_field = FieldRef::new("customers", "name", "customer/b");
    assert_eq!(&*b.decrypt(&rows[1].1, &b_field).unwrap(), b"Jane Doe");
}

#[test]
fn another_keyring_cannot_unwrap() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Envelope::new(keyring(&dir_a));
    let b = Envelope::new(keyring(&dir_b));
    let (_, wrapped) = a.create_data_key("customer/1").unwrap();
    assert!(matches!(b.open_data_key("customer/1", &wrapped), Err(CryptoError::Decrypt)));
}

/// A keyring that remembers the last key it wrapped, to look for its bytes in `Debug` output.
struct Recording {
    inner: LocalKeyring,
    last: Mutex<Option<Vec<u8>>>,
}

impl std::fmt::Debug for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recording").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl Keyring for Recording {
    fn kind(&self) -> KeyringKind {
        self.inner.kind()
    }
    fn versions(&self) -> Result<Vec<KekVersion>, CryptoError> {
        self.inner.versions()
    }
    fn wrap(&self, key: &KeyMaterial, aad: &[u8]) -> Result<WrappedSecret, CryptoError> {
        *self.last.lock().unwrap() = Some(key.expose().to_vec());
        self.inner.wrap(key, aad)
    }
    fn unwrap(&self, wrapped: &WrappedSecret, aad: &[u8]) -> Result<KeyMaterial, CryptoError> {
        self.inner.unwrap(wrapped, aad)
    }
    fn rotate(&self) -> Result<KekVersion, CryptoError> {
        self.inner.rotate()
    }
    fn remove_version(&self, version: KekVersion) -> Result<(), CryptoError> {
        self.inner.remove_version(version)
    }
    fn derive_index_key(&self, info: &[u8]) -> Result<KeyMaterial, CryptoError> {
        self.inner.derive_index_key(info)
    }
}

fn renderings(bytes: &[u8]) -> Vec<String> {
    vec![
        hex::encode(bytes),
        hex::encode_upper(bytes),
        format!("{:?}", &bytes[..8]).trim_end_matches(']').to_string(),
        format!("{:02x?}", &bytes[..8]).trim_end_matches(']').to_string(),
    ]
}

#[test]
fn debug_output_contains_no_key_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let recording =
        Arc::new(Recording { inner: LocalKeyring::open_or_create(dir.path()).unwrap(), last: Mutex::new(None) });
    let envelope = Envelope::new(recording.clone());
    let (key, wrapped) = envelope.create_data_key("customer/1").unwrap();
    let dek = recording.last.lock().unwrap().clone().unwrap();
    let indexer = envelope.blind_indexer(lessee_crypto::IndexPurpose::Email).unwrap();
    let file = std::fs::read_to_string(recording.inner.path()).unwrap();
    let mut secrets: Vec<Vec<u8>> = vec![dek.clone()];
    for line in file.lines().filter(|l| !l.starts_with('#')).skip(1) {
        secrets.push(hex::decode(line.split(' ').nth(2).unwrap()).unwrap());
    }
    let material = KeyMaterial::from_slice(&dek).unwrap();
    let outputs = [
        format!("{key:?}"),
        format!("{key:#?}"),
        format!("{wrapped:?}"),
        format!("{envelope:?}"),
        format!("{recording:?}"),
        format!("{indexer:?}"),
        format!("{material:?}"),
        format!("{:?}", recording.inner),
    ];
    assert!(outputs[0].contains(&key.id().to_string()));
    assert_eq!(outputs[6], "KeyMaterial([REDACTED])");
    for secret in &secrets {
        for (i, output) in outputs.iter().enumerate() {
            for rendering in renderings(secret) {
                assert!(!output.contains(&rendering), "output {i} leaks: {output}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_value_round_trips(
        plaintext in proptest::collection::vec(any::<u8>(), 0..2048),
        table in "[a-z_]{1,12}",
        column in "[a-z_]{1,12}",
        row in "\\PC{0,40}",
    ) {
        let field = FieldRef::new(&table, &column, &row);
        let ciphertext = FIXTURE.key.encrypt(&plaintext, &field).unwrap();
        prop_assert_eq!(ciphertext.len(), plaintext.len() + CIPHERTEXT_OVERHEAD);
        prop_assert_eq!(&*FIXTURE.key.decrypt(&ciphertext, &field).unwrap(), &plaintext);
    }

    #[test]
    fn any_bit_flip_is_caught(
        plaintext in proptest::collection::vec(any::<u8>(), 0..256),
        position in any::<proptest::sample::Index>(),
        bit in 0u8..8,
    ) {
        let mut ciphertext = FIXTURE.key.encrypt(&plaintext, &FIELD).unwrap();
        let i = position.index(ciphertext.len());
        ciphertext[i] ^= 1 << bit;
        prop_assert!(FIXTURE.key.decrypt(&ciphertext, &FIELD).is_err());
    }

    #[test]
    fn wrapped_keys_round_trip(owner in "\\PC{0,64}") {
        let (key, wrapped) = FIXTURE.envelope.create_data_key(&owner).unwrap();
        let parsed = WrappedDataKey::from_bytes(&wrapped.to_bytes()).unwrap();
        let opened = FIXTURE.envelope.open_data_key(&owner, &parsed).unwrap();
        let ciphertext = key.encrypt(b"v", &FIELD).unwrap();
        prop_assert_eq!(&*opened.decrypt(&ciphertext, &FIELD).unwrap(), b"v");
    }
}
