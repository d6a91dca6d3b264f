#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
//! The record encoding is a format: pinned bytes, validation that keeps personal data out,
//! strict JSON.

mod common;

use std::net::IpAddr;

use chrono::{TimeZone, Utc};
use common::{event, hash_key};
use hmac::{Hmac, Mac};
use lessee_audit::{AuditHashKey, AuditRecord, Hash, KeyedHash, RecordError, leaf_hash};
use sha2::Sha256;

/// A change to a record.
type Edit = fn(&mut AuditRecord);

fn pinned_record() -> AuditRecord {
    let mut e = event(3);
    e.time = Utc.timestamp_opt(1_795_000_003, 123_456_789).unwrap();
    e.client_ip = KeyedHash(Hash::from_bytes([0xab; 32]));
    e.at(3)
}

#[test]
fn the_canonical_encoding_is_pinned() {
    let bytes = pinned_record().canonical_bytes().unwrap();
    let expected = [
        b"lessee-audit-record-v1".as_slice(),
        &3u64.to_be_bytes(),
        &[0, 8],
        b"tok_0003",
        &[0, 8],
        b"reviewer",
        &[0, 6],
        b"review",
        &[0, 12],
        b"account.read",
        &[0, 7],
        b"account",
        &[0, 11],
        b"acct_000003",
        &1_795_000_003i64.to_be_bytes(),
        &123_456_789u32.to_be_bytes(),
        &[0xab; 32],
        &[0, 12],
        b"req-00000003",
        &[1],
    ]
    .concat();
    assert_eq!(bytes, expected);
    assert_eq!(pinned_record().leaf_hash().unwrap(), leaf_hash(&expected));
}

#[test]
fn every_field_is_in_the_leaf() {
    let base = pinned_record();
    let base_leaf = base.leaf_hash().unwrap();
    let mut variants = Vec::new();
    let mut r = base.clone();
    r.seq = 4;
    variants.push(r);
    let edits: Vec<Edit> = vec![
        |r| r.event.actor.token_id.push('x'),
        |r| r.event.actor.role = "auditor".into(),
        |r| r.event.purpose = "audit".into(),
        |r| r.event.action = "account.update".into(),
        |r| r.event.target.kind = "key".into(),
        |r| r.event.target.id.push('9'),
        |r| r.event.time += chrono::Duration::nanoseconds(1),
        |r| r.event.client_ip = KeyedHash(Hash::from_bytes([0xac; 32])),
        |r| r.event.request_id.push('0'),
        |r| r.event.outcome = lessee_audit::Outcome::Failed,
    ];
    for edit in edits {
        let mut r = base.clone();
        edit(&mut r);
        variants.push(r);
    }
    for variant in variants {
        assert_ne!(variant.leaf_hash().unwrap(), base_leaf, "{variant:?}");
    }
}

#[test]
fn fields_that_could_carry_personal_data_are_refused() {
    let cases: Vec<(Edit, &str)> = vec![
        (|r| r.event.target.id = "jane.doe@example.com".into(), "target.id"),
        (|r| r.event.target.id = "Jane Doe".into(), "target.id"),
        (|r| r.event.actor.token_id = String::new(), "actor.token_id"),
        (|r| r.event.request_id = "x".repeat(129), "request_id"),
        (|r| r.event.purpose = "Review".into(), "purpose"),
        (|r| r.event.action = "account read".into(), "action"),
        (|r| r.event.actor.role = "réviseur".into(), "actor.role"),
        (|r| r.event.target.kind = "a\nb".into(), "target.kind"),
    ];
    for (edit, field) in cases {
        let mut r = pinned_record();
        edit(&mut r);
        let error = r.canonical_bytes().unwrap_err();
        let named = match &error {
            RecordError::Empty(f) => *f,
            RecordError::TooLong { field, .. } | RecordError::BadCharacter { field, .. } => field,
            RecordError::LeapSecond => "time",
        };
        assert_eq!(named, field, "{error}");
    }
}

#[test]
fn keyed_hashes_hide_the_value_and_separate_kinds() {
    let key = hash_key();
    let ip: IpAddr = "203.0.113.9".parse().unwrap();
    let mapped: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
    assert_eq!(key.hash_ip(ip), key.hash_ip(mapped));
    assert_ne!(key.hash_ip(ip), key.hash("email", b"203.0.113.9"));
    assert_ne!(key.hash_ip(ip), AuditHashKey::from_bytes([8; 32]).hash_ip(ip));
    // HMAC-SHA-256 of `kind || 0x00 || value`; the key "Jefe" of RFC 4231 zero-padded to 32
    // bytes gives the MAC of the 4-byte key, as RFC 2104 pads keys.
    let mut jefe = [0u8; 32];
    jefe[..4].copy_from_slice(b"Jefe");
    let ours = AuditHashKey::from_bytes(jefe).hash("what do ya want", b"for nothing?");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").unwrap();
    mac.update(b"what do ya want\0for nothing?");
    assert_eq!(ours.0.as_bytes().as_slice(), mac.finalize().into_bytes().as_slice());
    assert_eq!(format!("{key:?}"), "AuditHashKey(..)");
}

#[test]
fn json_is_strict_and_round_trips() {
    let record = pinned_record();
    let json = serde_json::to_string(&record).unwrap();
    let back: AuditRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, record);
    assert_eq!(back.leaf_hash().unwrap(), record.leaf_hash().unwrap());
    let extra = json.replacen("\"seq\":3", "\"seq\":3,\"email\":\"x\"", 1);
    assert!(serde_json::from_str::<AuditRecord>(&extra).is_err());
}
