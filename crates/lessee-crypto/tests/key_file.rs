#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
//! The local key file: creation, permissions, format.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use lessee_crypto::{CryptoError, KEY_FILE_NAME, KekVersion, Keyring, LocalKeyring};

fn mode(path: &std::path::Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn created_at_first_use_with_mode_0600() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("keys");
    let ring = LocalKeyring::open_or_create(&dir).unwrap();
    assert!(ring.created());
    assert_eq!(ring.path(), dir.join(KEY_FILE_NAME));
    assert_eq!(mode(ring.path()), 0o600);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(ring.versions().unwrap(), vec![KekVersion::FIRST]);
    // No temporary files left behind.
    let names: Vec<String> =
        fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names, vec![KEY_FILE_NAME.to_string()]);

    let text = fs::read_to_string(ring.path()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], "lessee-keyfile 1");
    assert!(lines[1].starts_with("index 1 ") && lines[1].len() == 8 + 64);
    assert!(lines[2].starts_with("kek 1 ") && lines[2].len() == 6 + 64);

    let again = LocalKeyring::open_or_create(&dir).unwrap();
    assert!(!again.created());
    assert_eq!(again.path(), ring.path());
}

#[test]
fn rotation_keeps_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let ring = LocalKeyring::open_or_create(dir.path()).unwrap();
    ring.rotate().unwrap();
    assert_eq!(mode(ring.path()), 0o600);
}

#[test]
fn group_or_world_accessible_file_is_refused() {
    for bad in [0o640, 0o604, 0o644, 0o660, 0o606, 0o620, 0o601] {
        let dir = tempfile::tempdir().unwrap();
        let path = LocalKeyring::open_or_create(dir.path()).unwrap().path().to_path_buf();
        fs::set_permissions(&path, fs::Permissions::from_mode(bad)).unwrap();
        for result in [LocalKeyring::open(&path), LocalKeyring::open_or_create(dir.path())] {
            let error = result.unwrap_err();
            assert!(matches!(&error, CryptoError::InsecureKeyFile { mode, .. } if *mode == bad), "{bad:o}: {error}");
            let message = error.to_string();
            assert!(message.contains("group or others"), "{message}");
            assert!(message.contains(&format!("{bad:04o}")), "{message}");
            assert!(message.contains("chmod 600"), "{message}");
        }
    }
    // 0400 (read-only for the owner) is fine.
    let dir = tempfile::tempdir().unwrap();
    let path = LocalKeyring::open_or_create(dir.path()).unwrap().path().to_path_buf();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
    LocalKeyring::open(&path).unwrap();
}

#[test]
fn loaded_keyring_refuses_a_file_loosened_later() {
    let dir = tempfile::tempdir().unwrap();
    let ring = LocalKeyring::open_or_create(dir.path()).unwrap();
    fs::set_permissions(ring.path(), fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(ring.reload(), Err(CryptoError::InsecureKeyFile { .. })));
    assert!(matches!(ring.rotate(), Err(CryptoError::InsecureKeyFile { .. })));
}

fn write_private(path: &std::path::Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn malformed_files_are_refused_without_echoing_keys() {
    let key = "ab".repeat(32);
    let cases = [
        ("", "expected `lessee-keyfile 1`"),
        ("lessee-keyfile 2\n", "expected `lessee-keyfile 1`"),
        ("lessee-keyfile 1\n", "no key-encryption key"),
        (&format!("lessee-keyfile 1\nkek 1 {key}\n") as &str, "no index key"),
        (&format!("lessee-keyfile 1\nindex 1 {key}\nkek 1 {key}\nkek 1 {key}\n"), "appears twice"),
        (&format!("lessee-keyfile 1\nindex 1 {key}\nkek 0 {key}\n"), "version must be a number from 1"),
        (&format!("lessee-keyfile 1\nindex 1 {key}\nkek 1 {}zz\n", &key[..62]), "64 hex digits"),
        (&format!("lessee-keyfile 1\nindex 1 {key}\nkek 1 {key}ab\n"), "64 hex digits"),
        (&format!("lessee-keyfile 1\nindex 1 {key}\nmac 1 {key}\n"), "unknown key kind"),
        (&format!("lessee-keyfile 1\nindex 1 {key}\nkek 1\n"), "expected `kek|index VERSION HEX-KEY`"),
    ];
    for (text, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        write_private(&path, text);
        let message = LocalKeyring::open(&path).unwrap_err().to_string();
        assert!(message.contains(expected), "{text:?}: {message}");
        assert!(!message.contains("abab"), "{message}");
    }
}

#[test]
fn hand_written_file_with_comments_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(KEY_FILE_NAME);
    let key = "0f".repeat(32);
    write_private(&path, &format!("# note\n\nlessee-keyfile 1\n  index 1 {key}  \nkek 3 {key}\nkek 5 {key}\n"));
    let ring = LocalKeyring::open(&path).unwrap();
    assert_eq!(ring.versions().unwrap(), vec![KekVersion::new(3).unwrap(), KekVersion::new(5).unwrap()]);
    assert_eq!(ring.rotate().unwrap(), KekVersion::new(6).unwrap());
}

#[test]
fn missing_file_and_unknown_version_errors() {
    let dir = tempfile::tempdir().unwrap();
    let error = LocalKeyring::open(dir.path().join("nope")).unwrap_err();
    assert!(matches!(error, CryptoError::Io { .. }), "{error}");
    let ring = LocalKeyring::open_or_create(dir.path()).unwrap();
    assert!(matches!(ring.remove_version(KekVersion::new(9).unwrap()), Err(CryptoError::UnknownKekVersion(_))));
}

#[test]
fn concurrent_first_starts_agree_on_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || LocalKeyring::open_or_create(&path).unwrap())
        })
        .collect();
    let rings: Vec<LocalKeyring> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(rings.iter().filter(|r| r.created()).count(), 1);
    // All of them hold the same keys: what one wraps, another unwraps.
    let envelopes: Vec<_> = rings.into_iter().map(|r| lessee_crypto::Envelope::new(std::sync::Arc::new(r))).collect();
    let (_, wrapped) = envelopes[0].create_data_key("c").unwrap();
    for envelope in &envelopes {
        envelope.open_data_key("c", &wrapped).unwrap();
    }
}
