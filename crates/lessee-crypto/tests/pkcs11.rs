#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
//! The PKCS#11 keyring against a real SoftHSM2 token. These tests fail, never skip, when
//! SoftHSM2 cannot be had.
//!
//! With `SOFTHSM2_CONF`, `LESSEE_PKCS11_MODULE`, `LESSEE_PKCS11_TOKEN_LABEL` and
//! `LESSEE_PKCS11_PIN` set (`eval "$(scripts/ensure-softhsm.sh)"`), each test runs in this
//! process on that token. Without them, the first test runs `scripts/ensure-softhsm.sh` (which
//! installs SoftHSM2 when missing and initializes a throwaway token under the target
//! directory), and each test reruns itself in a child process with that environment, since
//! libsofthsm2 reads `SOFTHSM2_CONF` once, at `C_Initialize`. Key labels get a random prefix
//! per test, so tests sharing a token never meet each other's keys.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use cryptoki::error::{Error as Pkcs11Error, RvError};
use cryptoki::object::{Attribute, KeyType, ObjectClass};
use cryptoki::session::UserType;
use lessee_crypto::{
    CryptoError, Envelope, FieldRef, IndexPurpose, KekVersion, Keyring, KeyringKind, LocalKeyring, Pkcs11Config,
    Pkcs11Keyring, SecretString, WrappedDataKey, pkcs11_context, rewrap,
};

const VARS: [&str; 4] = ["SOFTHSM2_CONF", "LESSEE_PKCS11_MODULE", "LESSEE_PKCS11_TOKEN_LABEL", "LESSEE_PKCS11_PIN"];

fn unique_prefix(test: &str) -> String {
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).unwrap();
    format!("t-{test}-{}", hex::encode(random))
}

fn config_from_env(test: &str) -> Option<Pkcs11Config> {
    let values: Vec<String> = VARS.iter().map(|name| std::env::var(name).ok()).collect::<Option<_>>()?;
    let mut config = Pkcs11Config::new(&values[1], values[2].clone(), SecretString::from(values[3].clone()));
    config.label_prefix = unique_prefix(test);
    Some(config)
}

/// Runs scripts/ensure-softhsm.sh for a token of `test`'s own in `dir`; returns the variables
/// it printed. One run at a time, so that only the first one installs SoftHSM2 when missing.
fn softhsm_env(dir: &std::path::Path) -> Vec<(String, String)> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/ensure-softhsm.sh");
    let output = Command::new("bash")
        .arg(&script)
        .env("LESSEE_SOFTHSM_DIR", dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "SoftHSM2 is required for these tests and {} failed ({}):\n{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let env: Vec<(String, String)> = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect();
    for name in VARS {
        assert!(env.iter().any(|(k, _)| k == name), "{} did not print {name}: {stdout}", script.display());
    }
    env
}

/// Runs `body` with a token: in this process when the environment names one, otherwise in a
/// child process given the environment of a fresh SoftHSM2 token of its own (SoftHSM2's file
/// store is not safe for several processes writing one token at once).
fn with_token(test: &str, body: impl FnOnce(Pkcs11Config)) {
    if let Some(config) = config_from_env(test) {
        // One test at a time on a shared token: a login belongs to the process, so a test that
        // checks a wrong PIN is refused must not overlap another test's logged-in session.
        static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
        let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        body(config);
        return;
    }
    assert!(std::env::var_os("LESSEE_PKCS11_TEST_CHILD").is_none(), "child started without the token environment");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("lessee-softhsm")
        .join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let env = softhsm_env(&dir);
    let output = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("LESSEE_PKCS11_TEST_CHILD", "1")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{test} failed on SoftHSM2 ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

fn open(config: &Pkcs11Config) -> Arc<Pkcs11Keyring> {
    Arc::new(Pkcs11Keyring::open(config).unwrap())
}

const FIELD: FieldRef<'static> = FieldRef::new("customers", "national_id", "row-1");

#[test]
fn wrap_unwrap_round_trip() {
    with_token("wrap_unwrap_round_trip", |config| {
        let ring = open(&config);
        assert!(ring.created());
        assert_eq!(ring.versions().unwrap(), vec![KekVersion::FIRST]);
        let envelope = Envelope::new(ring.clone());
        let (key, wrapped) = envelope.create_data_key("customer/1").unwrap();
        assert_eq!(wrapped.keyring_kind(), KeyringKind::Pkcs11);
        assert_eq!(wrapped.kek_version(), KekVersion::FIRST);
        let bytes = wrapped.to_bytes();
        assert_eq!(bytes.len(), 74);
        assert_eq!(bytes[1], 2, "PKCS#11 keyring");
        let ciphertext = key.encrypt(b"123-45-6789", &FIELD).unwrap();

        // A second keyring on the same token (another server process) unwraps it.
        let other = Envelope::new(open(&config));
        let parsed = WrappedDataKey::from_bytes(&bytes).unwrap();
        let opened = other.open_data_key("customer/1", &parsed).unwrap();
        assert_eq!(&*opened.decrypt(&ciphertext, &FIELD).unwrap(), b"123-45-6789");

        // The owner binding and the bytes are checked by the token.
        let result = envelope.open_data_key("customer/2", &parsed);
        assert!(matches!(result, Err(CryptoError::Decrypt)), "{result:?}");
        for i in 14..bytes.len() {
            let mut tampered = bytes.clone();
            tampered[i] ^= 0x01;
            let result = envelope.open_data_key("customer/1", &WrappedDataKey::from_bytes(&tampered).unwrap());
            assert!(matches!(result, Err(CryptoError::Decrypt)), "byte {i}: {result:?}");
        }

        // A local keyring refuses a PKCS#11-wrapped key with a clear error.
        let dir = tempfile::tempdir().unwrap();
        let local = Envelope::new(Arc::new(LocalKeyring::open_or_create(dir.path()).unwrap()));
        assert!(matches!(local.open_data_key("customer/1", &parsed), Err(CryptoError::WrongKeyring { .. })));
    });
}

#[test]
fn rotation_rewrap_and_retirement() {
    with_token("rotation_rewrap_and_retirement", |config| {
        let ring = open(&config);
        let envelope = Envelope::new(ring.clone());
        let v1 = KekVersion::FIRST;
        let v2 = KekVersion::new(2).unwrap();
        let (key, wrapped_v1) = envelope.create_data_key("customer/1").unwrap();
        let ciphertext = key.encrypt(b"Ada", &FIELD).unwrap();

        assert_eq!(ring.rotate().unwrap(), v2);
        assert_eq!(ring.versions().unwrap(), vec![v1, v2]);
        assert_eq!(ring.current_version().unwrap(), v2);
        let (_, fresh) = envelope.create_data_key("customer/2").unwrap();
        assert_eq!(fresh.kek_version(), v2);
        // v1 still unwraps.
        let opened = envelope.open_data_key("customer/1", &wrapped_v1).unwrap();
        assert_eq!(&*opened.decrypt(&ciphertext, &FIELD).unwrap(), b"Ada");

        let wrapped_v2 = rewrap(ring.as_ref(), "customer/1", &wrapped_v1).unwrap();
        assert_eq!(wrapped_v2.kek_version(), v2);
        assert!(matches!(ring.remove_version(v2), Err(CryptoError::CannotRemove { .. })));
        ring.remove_version(v1).unwrap();
        assert_eq!(ring.versions().unwrap(), vec![v2]);
        let opened = envelope.open_data_key("customer/1", &wrapped_v2).unwrap();
        assert_eq!(&*opened.decrypt(&ciphertext, &FIELD).unwrap(), b"Ada");
        assert!(matches!(
            envelope.open_data_key("customer/1", &wrapped_v1),
            Err(CryptoError::UnknownKekVersion(v)) if v == v1
        ));
        // Reopening does not recreate v1.
        let reopened = open(&config);
        assert!(!reopened.created());
        assert_eq!(reopened.versions().unwrap(), vec![v2]);
    });
}

#[test]
fn keys_are_sensitive_and_non_extractable() {
    with_token("keys_are_sensitive_and_non_extractable", |config| {
        let ring = open(&config);
        ring.rotate().unwrap();
        for properties in [
            ring.kek_properties(KekVersion::FIRST).unwrap(),
            ring.kek_properties(KekVersion::new(2).unwrap()).unwrap(),
            ring.index_key_properties().unwrap(),
        ] {
            assert!(properties.sensitive, "{properties:?}");
            assert!(!properties.extractable, "{properties:?}");
            assert!(properties.always_sensitive, "{properties:?}");
            assert!(properties.never_extractable, "{properties:?}");
            assert!(!properties.value_readable, "{properties:?}");
        }

        // Independently of the keyring: read CKA_VALUE and try to wrap the KEK out of the token.
        let context = pkcs11_context(&config.module).unwrap();
        let slot = context
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| context.get_token_info(*s).unwrap().label() == config.token_label)
            .unwrap();
        let session = context.open_rw_session(slot).unwrap();
        match session.login(UserType::User, Some(&config.pin)) {
            Ok(()) | Err(Pkcs11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => panic!("{e}"),
        }
        let label = format!("{}-kek-v1", config.label_prefix);
        let kek = session
            .find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY), Attribute::Label(label.into_bytes())])
            .unwrap();
        assert_eq!(kek.len(), 1);
        let values = session.get_attributes(kek[0], &[cryptoki::object::AttributeType::Value]).unwrap_or_default();
        assert!(
            !values.iter().any(|a| matches!(a, Attribute::Value(v) if !v.is_empty())),
            "CKA_VALUE of a KEK was readable"
        );
        let wrapping_key = session
            .generate_key(
                &cryptoki::mechanism::Mechanism::AesKeyGen,
                &[
                    Attribute::Token(false),
                    Attribute::Wrap(true),
                    Attribute::KeyType(KeyType::AES),
                    Attribute::ValueLen(32u64.into()),
                ],
            )
            .unwrap();
        let exported = session.wrap_key(&cryptoki::mechanism::Mechanism::AesKeyWrapPad, wrapping_key, kek[0]);
        assert!(exported.is_err(), "a KEK could be wrapped out of the token");
        // The attribute cannot be flipped back to extractable.
        assert!(session.update_attributes(kek[0], &[Attribute::Extractable(true)]).is_err());
    });
}

#[test]
fn blind_indexes_from_the_token() {
    with_token("blind_indexes_from_the_token", |config| {
        let ring = open(&config);
        let envelope = Envelope::new(ring);
        let email = envelope.blind_indexer(IndexPurpose::Email).unwrap();
        let a = email.index("Ada@Example.com").unwrap();
        assert_eq!(a, email.index(" ada@example.com").unwrap());
        let fingerprint = envelope.blind_indexer(IndexPurpose::PaymentFingerprint).unwrap();
        assert_ne!(a, fingerprint.index("ada@example.com").unwrap());
        // The index key persists on the token: another process computes the same index.
        let again = Envelope::new(open(&config));
        assert_eq!(again.blind_indexer(IndexPurpose::Email).unwrap().index("ADA@example.com").unwrap(), a);
    });
}

#[test]
fn token_derivation_matches_software_hkdf() {
    with_token("token_derivation_matches_software_hkdf", |config| {
        // Import a known index root key into the token, and write the same one to a key file:
        // both keyrings must give the same blind indexes (so a deployment can move between them).
        let root = [0x5au8; 32];
        let context = pkcs11_context(&config.module).unwrap();
        let slot = context
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| context.get_token_info(*s).unwrap().label() == config.token_label)
            .unwrap();
        let session = context.open_rw_session(slot).unwrap();
        let _ = session.login(UserType::User, Some(&config.pin));
        session
            .create_object(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::GENERIC_SECRET),
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(true),
                Attribute::Value(root.to_vec()),
                Attribute::Label(format!("{}-index", config.label_prefix).into_bytes()),
            ])
            .unwrap();
        let hsm = Envelope::new(open(&config));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lessee-keys");
        std::fs::write(&path, format!("lessee-keyfile 1\nindex 1 {}\nkek 1 {}\n", hex::encode(root), "11".repeat(32)))
            .unwrap();
        std::fs::set_permissions(&path, <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600))
            .unwrap();
        let local = Envelope::new(Arc::new(LocalKeyring::open(&path).unwrap()));
        for purpose in IndexPurpose::ALL {
            let value = match purpose {
                IndexPurpose::Email => "ada@example.com",
                IndexPurpose::IpAddress => "192.0.2.1",
                _ => "12345",
            };
            assert_eq!(
                hsm.blind_indexer(purpose).unwrap().index(value).unwrap(),
                local.blind_indexer(purpose).unwrap().index(value).unwrap(),
                "{purpose}"
            );
        }
    });
}

#[test]
fn one_keyring_shared_by_threads() {
    with_token("one_keyring_shared_by_threads", |config| {
        let envelope = Envelope::new(open(&config));
        std::thread::scope(|scope| {
            for t in 0..4 {
                let envelope = &envelope;
                scope.spawn(move || {
                    for i in 0..25 {
                        let owner = format!("customer/{t}/{i}");
                        let (key, wrapped) = envelope.create_data_key(&owner).unwrap();
                        let ciphertext = key.encrypt(owner.as_bytes(), &FIELD).unwrap();
                        let opened = envelope.open_data_key(&owner, &wrapped).unwrap();
                        assert_eq!(&*opened.decrypt(&ciphertext, &FIELD).unwrap(), owner.as_bytes());
                    }
                });
            }
        });
    });
}

#[test]
fn configuration_errors_are_clear() {
    with_token("configuration_errors_are_clear", |config| {
        let mut wrong_pin = config.clone();
        wrong_pin.pin = SecretString::from("0000".to_string());
        let error = Pkcs11Keyring::open(&wrong_pin).unwrap_err().to_string();
        assert!(error.contains("logging in"), "{error}");
        assert!(!error.contains("0000"));

        let mut wrong_token = config.clone();
        wrong_token.token_label = "no-such-token".into();
        let error = Pkcs11Keyring::open(&wrong_token).unwrap_err().to_string();
        assert!(error.contains("no token labelled \"no-such-token\""), "{error}");

        let mut wrong_module = config.clone();
        wrong_module.module = "/nonexistent/libpkcs11.so".into();
        let error = Pkcs11Keyring::open(&wrong_module).unwrap_err().to_string();
        assert!(error.contains("loading module /nonexistent/libpkcs11.so"), "{error}");

        // Debug of the configuration and the keyring shows no PIN.
        let shown = format!("{config:?} {:?}", open(&config));
        assert!(!shown.contains(&format!("\"{}\"", std::env::var("LESSEE_PKCS11_PIN").unwrap())), "{shown}");
    });
}
