#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
//! Blind indexes: normalization table, equality, purpose separation, stability.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use lessee_crypto::{BlindIndex, Envelope, IndexPurpose, LocalKeyring, normalize};
use proptest::prelude::*;

use IndexPurpose::{Email, IpAddress, NationalId, PaymentFingerprint, Phone};

struct Fixture {
    _dir: tempfile::TempDir,
    envelope: Envelope,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let envelope = Envelope::new(Arc::new(LocalKeyring::open_or_create(dir.path()).unwrap()));
    Fixture { _dir: dir, envelope }
});

fn index(purpose: IndexPurpose, raw: &str) -> BlindIndex {
    FIXTURE.envelope.blind_indexer(purpose).unwrap().index(raw).unwrap()
}

/// (purpose, input, normalized form or the refusal's reason)
const TABLE: &[(IndexPurpose, &str, Result<&str, &str>)] = &[
    (Email, "Ada@Example.COM", Ok("ada@example.com")),
    (Email, "  ada@example.com\t\n", Ok("ada@example.com")),
    (Email, "ÉLODIE@exemple.fr", Ok("élodie@exemple.fr")),
    (Email, "first.last+tag@example.com", Ok("first.last+tag@example.com")),
    (Email, "   ", Err("empty")),
    (Email, "not-an-email", Err("no @")),
    (Phone, "+1 (202) 555-0100", Ok("+12025550100")),
    (Phone, "202.555.0100", Ok("2025550100")),
    (Phone, " +44 20 7946 0958 ", Ok("+442079460958")),
    (Phone, "0044 20 7946 0958", Ok("00442079460958")),
    (Phone, "1+2", Ok("12")),
    (Phone, "+", Err("no digits")),
    (Phone, "call me", Err("no digits")),
    (NationalId, "123-45-6789", Ok("123456789")),
    (NationalId, "ab 12 34 56 c", Ok("AB123456C")),
    (NationalId, "x1234567-y", Ok("X1234567Y")),
    (NationalId, "straße-1", Ok("STRASSE1")),
    (NationalId, " - / ", Err("no letters or digits")),
    (IpAddress, "192.0.2.1", Ok("192.0.2.1")),
    (IpAddress, " 192.0.2.1 ", Ok("192.0.2.1")),
    (IpAddress, "2001:DB8:0:0:0:0:0:1", Ok("2001:db8::1")),
    (IpAddress, "2001:0db8:0000:0000:0001:0000:0000:0001", Ok("2001:db8::1:0:0:1")),
    (IpAddress, "[2001:db8::1]", Ok("2001:db8::1")),
    (IpAddress, "::ffff:192.0.2.1", Ok("192.0.2.1")),
    (IpAddress, "::1", Ok("::1")),
    (IpAddress, "192.0.2.256", Err("not an IP address")),
    (IpAddress, "192.0.2.1/24", Err("not an IP address")),
    (IpAddress, "010.0.2.1", Err("not an IP address")),
    (IpAddress, "fe80::1%eth0", Err("not an IP address")),
    (PaymentFingerprint, " Xt5EWLLDS7FJjR1c ", Ok("Xt5EWLLDS7FJjR1c")),
    (PaymentFingerprint, "xt5ewllds7fjjr1c", Ok("xt5ewllds7fjjr1c")),
    (PaymentFingerprint, "4111111111111111", Ok("4111111111111111")),
    (PaymentFingerprint, "ab cd", Err("contains spaces or control characters")),
    (PaymentFingerprint, "", Err("empty")),
    (IndexPurpose::ScreeningKey, "00FF12ab", Ok("00ff12ab")),
    (IndexPurpose::ScreeningKey, "smith", Err("not hex digits")),
];

#[test]
fn normalization_table() {
    for (purpose, input, expected) in TABLE {
        let got = normalize(*purpose, input);
        match expected {
            Ok(normalized) => assert_eq!(got.as_deref(), Ok(*normalized), "{purpose} {input:?}"),
            Err(reason) => {
                let error = got.unwrap_err();
                assert_eq!(error.reason, *reason, "{purpose} {input:?}");
                assert_eq!(error.purpose, purpose.name());
                assert!(
                    input.trim().is_empty() || !error.to_string().contains(input.trim()),
                    "errors must not echo the value"
                );
            }
        }
    }
}

#[test]
fn equal_after_normalization_means_equal_index() {
    let pairs = [
        (Email, "Ada@Example.com", " ada@example.COM "),
        (Phone, "+1 (202) 555-0100", "+1-202-555-0100"),
        (NationalId, "123-45-6789", "123 45 6789"),
        (IpAddress, "2001:DB8::0:1", "2001:db8::1"),
        (IpAddress, "::ffff:192.0.2.1", "192.0.2.1"),
        (PaymentFingerprint, "fp_123", " fp_123"),
    ];
    for (purpose, a, b) in pairs {
        assert_eq!(index(purpose, a), index(purpose, b), "{purpose}: {a} ~ {b}");
    }
    assert_ne!(index(Email, "a@example.com"), index(Email, "b@example.com"));
    assert_ne!(
        index(PaymentFingerprint, "Fp_123"),
        index(PaymentFingerprint, "fp_123"),
        "fingerprints are case-sensitive"
    );
}

#[test]
fn purposes_have_separate_keys() {
    // A value valid for several purposes gets a different index under each.
    let value = "12025550100";
    let indexes: HashSet<BlindIndex> =
        [Phone, NationalId, PaymentFingerprint].into_iter().map(|p| index(p, value)).collect();
    assert_eq!(indexes.len(), 3);
    assert_ne!(index(Email, "1@2"), index(PaymentFingerprint, "1@2"));
}

#[test]
fn output_format_and_stability() {
    let a = index(Email, "ada@example.com");
    assert_eq!(a.as_bytes().len(), 16);
    let hex = a.to_hex();
    assert_eq!(hex.len(), 32);
    assert!(hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(a.to_string(), hex);
    assert_eq!(BlindIndex::from_bytes(*a.as_bytes()), a);
    assert!(format!("{a:?}").contains(&hex));

    // The same key file gives the same indexes after a restart and after KEK rotation.
    let before = index(Phone, "+1 202 555 0100");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("lessee-keys");
    let original = std::fs::read_dir(FIXTURE._dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap() == "lessee-keys")
        .unwrap();
    std::fs::copy(&original, &copy).unwrap();
    let restarted = Envelope::new(Arc::new(LocalKeyring::open(&copy).unwrap()));
    restarted.keyring().rotate().unwrap();
    let after = restarted.blind_indexer(Phone).unwrap().index("+12025550100").unwrap();
    assert_eq!(before, after);

    // Another key file gives unrelated indexes.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Envelope::new(Arc::new(LocalKeyring::open_or_create(other_dir.path()).unwrap()));
    assert_ne!(other.blind_indexer(Phone).unwrap().index("+12025550100").unwrap(), before);
}

#[test]
fn refused_values_are_errors() {
    let indexer = FIXTURE.envelope.blind_indexer(IpAddress).unwrap();
    assert_eq!(indexer.purpose(), IpAddress);
    assert!(indexer.index("not an ip").is_err());
}

proptest! {
    #[test]
    fn normalization_is_idempotent(raw in "\\PC{0,40}") {
        for purpose in IndexPurpose::ALL {
            if let Ok(once) = normalize(purpose, &raw) {
                let twice = normalize(purpose, &once);
                prop_assert_eq!(twice.as_deref(), Ok(once.as_str()), "{}", purpose);
            }
        }
    }

    #[test]
    fn ip_addresses_index_by_value(octets in any::<[u8; 16]>()) {
        let ip = std::net::Ipv6Addr::from(octets);
        let indexer = FIXTURE.envelope.blind_indexer(IpAddress).unwrap();
        let long = ip.segments().iter().map(|s| format!("{s:04X}")).collect::<Vec<_>>().join(":");
        prop_assert_eq!(indexer.index(&ip.to_string()).unwrap(), indexer.index(&long).unwrap());
    }

    #[test]
    fn emails_index_case_insensitively(local in "[a-zA-Z0-9.]{1,20}", domain in "[a-zA-Z]{1,10}\\.[a-z]{2,3}") {
        let email = format!("{local}@{domain}");
        let indexer = FIXTURE.envelope.blind_indexer(Email).unwrap();
        prop_assert_eq!(
            indexer.index(&email.to_uppercase()).unwrap(),
            indexer.index(&format!("  {}  ", email.to_lowercase())).unwrap()
        );
    }
}

#[test]
fn index_is_the_documented_construction() {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;
    use std::os::unix::fs::PermissionsExt;

    let root = [0x5au8; 32];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lessee-keys");
    std::fs::write(&path, format!("lessee-keyfile 1\nindex 1 {}\nkek 1 {}\n", hex::encode(root), "11".repeat(32)))
        .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let envelope = Envelope::new(Arc::new(LocalKeyring::open(&path).unwrap()));

    for (purpose, raw, normalized) in [
        (Email, " Ada@Example.com", "ada@example.com"),
        (Phone, "+1 202 555 0100", "+12025550100"),
        (IpAddress, "::ffff:192.0.2.1", "192.0.2.1"),
    ] {
        let mut purpose_key = [0u8; 32];
        hkdf::Hkdf::<Sha256>::from_prk(&root)
            .unwrap()
            .expand(format!("lessee/blind-index/v1/{}", purpose.name()).as_bytes(), &mut purpose_key)
            .unwrap();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&purpose_key).unwrap();
        mac.update(normalized.as_bytes());
        let expected = &mac.finalize().into_bytes()[..16];
        let got = envelope.blind_indexer(purpose).unwrap().index(raw).unwrap();
        assert_eq!(got.as_bytes(), expected, "{purpose}");
    }
}
