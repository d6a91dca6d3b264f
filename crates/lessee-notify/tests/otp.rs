//! One-time codes: hashing, verification, expiry and the attempt limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use lessee_notify::otp::{self, Challenge, CodeHash, OneTimeCode, OtpKey, OtpKeyLengthError, Purpose, Verdict};
use sha2::Sha256;

const SUBJECT: &str = "contact-0192";

fn key() -> OtpKey {
    OtpKey::from_bytes([42; 32])
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().with_timezone(&Utc)
}

fn challenge_for(code: &str, max_attempts: u32) -> Challenge {
    let hash = CodeHash::compute(&key(), Purpose::EmailVerification, SUBJECT, code);
    Challenge::new(Purpose::EmailVerification, SUBJECT, hash, t0(), TimeDelta::minutes(10), max_attempts)
}

#[test]
fn generated_codes_are_six_digits_and_verify_for_their_subject_only() {
    let key = key();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..500 {
        let (code, hash) = OneTimeCode::generate(&key, Purpose::EmailVerification, SUBJECT);
        let digits = code.expose();
        assert_eq!(digits.len(), 6);
        assert!(digits.bytes().all(|b| b.is_ascii_digit()));
        assert!(otp::verify(&key, Purpose::EmailVerification, SUBJECT, digits, &hash));
        // Another subject, another purpose or another key: no.
        assert!(!otp::verify(&key, Purpose::EmailVerification, "contact-0193", digits, &hash));
        assert!(!otp::verify(&key, Purpose::PhoneVerification, SUBJECT, digits, &hash));
        let other_key = OtpKey::from_bytes([43; 32]);
        assert!(!otp::verify(&other_key, Purpose::EmailVerification, SUBJECT, digits, &hash));
        seen.insert(digits.to_owned());
    }
    // 500 draws from a million: collisions are rare, a constant generator is not.
    assert!(seen.len() > 490, "{}", seen.len());
}

#[test]
fn the_hash_is_the_documented_hmac() {
    // HMAC-SHA256(key, len‖"lessee-otp-v1" ‖ len‖purpose ‖ len‖subject ‖ len‖code), u32 BE.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&[42; 32]).unwrap();
    for part in [&b"lessee-otp-v1"[..], b"email_verification", SUBJECT.as_bytes(), b"012345"] {
        mac.update(&u32::try_from(part.len()).unwrap().to_be_bytes());
        mac.update(part);
    }
    let expected: [u8; 32] = mac.finalize().into_bytes().into();
    let hash = CodeHash::compute(&key(), Purpose::EmailVerification, SUBJECT, "012345");
    assert_eq!(hash.as_bytes(), &expected);
    // Stored and read back.
    let restored = CodeHash::from_bytes(*hash.as_bytes());
    assert!(otp::verify(&key(), Purpose::EmailVerification, SUBJECT, "012345", &restored));
}

#[test]
fn subject_and_code_boundaries_cannot_be_shifted() {
    // Length prefixes: ("ab", "c…") and ("a", "bc…") hash differently.
    let a = CodeHash::compute(&key(), Purpose::EmailVerification, "contact-1", "234567");
    let b = CodeHash::compute(&key(), Purpose::EmailVerification, "contact-12", "34567");
    assert!(!a.ct_eq(&b));
}

#[test]
fn presented_codes_are_trimmed_and_anything_but_six_digits_is_wrong() {
    let hash = CodeHash::compute(&key(), Purpose::EmailVerification, SUBJECT, "012345");
    let check = |presented: &str| otp::verify(&key(), Purpose::EmailVerification, SUBJECT, presented, &hash);
    assert!(check("012345"));
    assert!(check(" 012345\n"));
    for wrong in ["", "12345", "0123456", "012 345", "０１２３４５", "01234a", "012346", "112345"] {
        assert!(!check(wrong), "{wrong:?}");
    }
}

#[test]
fn constant_time_path_compares_every_byte() {
    // verify goes through CodeHash::ct_eq (subtle); a difference in the first or the last
    // byte is caught alike, and there is no PartialEq that could short-circuit.
    let hash = CodeHash::compute(&key(), Purpose::EmailVerification, SUBJECT, "012345");
    for index in [0, 15, 31] {
        let mut bytes = *hash.as_bytes();
        bytes[index] ^= 1;
        let altered = CodeHash::from_bytes(bytes);
        assert!(!hash.ct_eq(&altered), "byte {index}");
        assert!(!otp::verify(&key(), Purpose::EmailVerification, SUBJECT, "012345", &altered));
    }
    assert!(hash.ct_eq(&hash.clone()));
}

#[test]
fn a_challenge_confirms_the_right_code_in_time() {
    let mut challenge = challenge_for("654321", 5);
    assert_eq!(challenge.check(&key(), t0() + TimeDelta::minutes(9), "654321"), Verdict::Confirmed);
    assert_eq!(challenge.attempts, 1);
}

#[test]
fn wrong_codes_count_down_then_lock_even_the_right_code() {
    let mut challenge = challenge_for("654321", 3);
    let now = t0() + TimeDelta::seconds(30);
    assert_eq!(challenge.check(&key(), now, "000000"), Verdict::Wrong { remaining: 2 });
    assert_eq!(challenge.check(&key(), now, "111111"), Verdict::Wrong { remaining: 1 });
    assert_eq!(challenge.check(&key(), now, "nonsense"), Verdict::Wrong { remaining: 0 });
    assert_eq!(challenge.check(&key(), now, "654321"), Verdict::Locked);
    assert_eq!(challenge.attempts, 3, "a locked challenge counts no more attempts");
}

#[test]
fn the_right_code_on_the_last_attempt_confirms() {
    let mut challenge = challenge_for("654321", 2);
    assert_eq!(challenge.check(&key(), t0(), "000000"), Verdict::Wrong { remaining: 1 });
    assert_eq!(challenge.check(&key(), t0(), "654321"), Verdict::Confirmed);
}

#[test]
fn a_challenge_expires_at_its_deadline_without_counting_attempts() {
    let mut challenge = challenge_for("654321", 5);
    assert_eq!(challenge.expires_at, t0() + TimeDelta::minutes(10));
    let just_before = challenge.expires_at - TimeDelta::milliseconds(1);
    let mut early = challenge.clone();
    assert_eq!(early.check(&key(), just_before, "654321"), Verdict::Confirmed);
    assert_eq!(challenge.check(&key(), challenge.expires_at, "654321"), Verdict::Expired);
    assert_eq!(challenge.check(&key(), t0() + TimeDelta::days(1), "654321"), Verdict::Expired);
    assert_eq!(challenge.attempts, 0);
}

#[test]
fn a_challenge_is_bound_to_its_subject() {
    // A code issued for contact-0192 does not confirm a challenge for another subject.
    let hash = CodeHash::compute(&key(), Purpose::EmailVerification, SUBJECT, "654321");
    let mut other = Challenge::new(Purpose::EmailVerification, "contact-0193", hash, t0(), TimeDelta::minutes(10), 5);
    assert_eq!(other.check(&key(), t0(), "654321"), Verdict::Wrong { remaining: 4 });
}

#[test]
fn keys_are_32_bytes_and_secrets_are_not_printed() {
    assert_eq!(OtpKey::try_from_slice(&[1; 31]).unwrap_err(), OtpKeyLengthError { got: 31 });
    let key = OtpKey::try_from_slice(&[0xAB; 32]).unwrap();
    let printed = format!("{key:?}");
    assert!(!printed.to_lowercase().contains("ab, ") && !printed.contains("171"));
    let (code, hash) = OneTimeCode::generate(&key, Purpose::PhoneVerification, SUBJECT);
    assert!(!format!("{code:?}").contains(code.expose()));
    assert!(!format!("{hash:?}").contains(&hex::encode(hash.as_bytes())));
    let challenge = challenge_for(code.expose(), 5);
    assert!(!format!("{challenge:?}").contains(&hex::encode(challenge.hash.as_bytes())));
    assert!(OneTimeCode::from_digits("12345").is_none());
    assert!(OneTimeCode::from_digits("1234567").is_none());
    assert!(OneTimeCode::from_digits("12a456").is_none());
}
