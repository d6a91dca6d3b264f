#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
//! Signed notes as Go's sumdb/note writes them; checkpoints as C2SP writes them; keys in their
//! encodings.

mod common;

use common::{ORIGIN, signing_key, time};
use lessee_audit::{Checkpoint, CheckpointError, Hash, SignedNote, SigningKey, VerifyingKey};

// The example of golang.org/x/mod/sumdb/note.
const GO_SIGNER: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VERIFIER: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_SIGNATURE: &str =
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";

fn go_note() -> String {
    format!("{GO_TEXT}\n\u{2014} PeterNeumann {GO_SIGNATURE}\n")
}

#[test]
fn go_sumdb_note_keys_and_signature() {
    let signer = SigningKey::from_secret_string(GO_SIGNER).unwrap();
    let verifier = VerifyingKey::from_note_string(GO_VERIFIER).unwrap();
    assert_eq!(signer.verifying_key(), verifier);
    assert_eq!(verifier.key_id(), 0xc74f20a3);
    assert_eq!(verifier.to_note_string(), GO_VERIFIER);
    assert_eq!(signer.to_secret_string(), GO_SIGNER);

    let note = go_note();
    assert_eq!(signer.sign_note(GO_TEXT).unwrap(), note);
    let parsed = SignedNote::parse(&note).unwrap();
    assert_eq!(parsed.text, GO_TEXT);
    parsed.verify(&verifier).unwrap();
    // The text is not a checkpoint, so verify_checkpoint refuses it after the signature check.
    assert!(matches!(verifier.verify_checkpoint(&note), Err(CheckpointError::Malformed(_))));
}

#[test]
fn keys_with_a_wrong_id_or_type_are_refused() {
    assert!(
        VerifyingKey::from_note_string("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err()
    );
    assert!(
        VerifyingKey::from_note_string("PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err()
    );
    assert!(
        VerifyingKey::from_note_string("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").is_err()
    );
    assert!(
        SigningKey::from_secret_string(
            "PRIVATE+KEY+PeterNeumann+00000000+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
        )
        .is_err()
    );
    assert!(SigningKey::from_seed("has space", [1; 32]).is_err());
    assert!(SigningKey::from_seed("has+plus", [1; 32]).is_err());
}

#[test]
fn a_checkpoint_signs_and_verifies() {
    let key = signing_key();
    let checkpoint =
        Checkpoint { origin: ORIGIN.into(), tree_size: 42, root: lessee_audit::leaf_hash(b"root"), time: time(5) };
    let note = key.sign_checkpoint(&checkpoint).unwrap();
    let text = format!("{ORIGIN}\n42\n{}\ntime {}\n", checkpoint.root.to_base64(), "2026-11-18T11:06:45Z");
    assert!(note.starts_with(&format!("{text}\n\u{2014} {ORIGIN} ")), "{note}");
    assert_eq!(key.verifying_key().verify_checkpoint(&note).unwrap(), checkpoint);

    // The note text parses back to the same checkpoint; sub-second times keep their digits.
    let precise = Checkpoint { time: time(5) + chrono::Duration::milliseconds(250), ..checkpoint.clone() };
    let text = precise.to_note_text().unwrap();
    assert!(text.ends_with("time 2026-11-18T11:06:45.250Z\n"), "{text}");
    assert_eq!(Checkpoint::from_note_text(&text).unwrap(), precise);
}

#[test]
fn forged_checkpoints_are_refused() {
    let key = signing_key();
    let verifier = key.verifying_key();
    let checkpoint =
        Checkpoint { origin: ORIGIN.into(), tree_size: 42, root: lessee_audit::leaf_hash(b"root"), time: time(5) };
    let note = key.sign_checkpoint(&checkpoint).unwrap();

    // Changed size: the signature no longer verifies.
    let changed = note.replacen("\n42\n", "\n41\n", 1);
    assert!(matches!(verifier.verify_checkpoint(&changed), Err(CheckpointError::BadSignature { .. })));
    // Changed time.
    let changed = note.replacen("time 2026", "time 2027", 1);
    assert!(matches!(verifier.verify_checkpoint(&changed), Err(CheckpointError::BadSignature { .. })));
    // Signed by another key with the same name: unknown to the verifier.
    let other = SigningKey::from_seed(ORIGIN, [43; 32]).unwrap();
    let forged = other.sign_checkpoint(&checkpoint).unwrap();
    assert!(matches!(verifier.verify_checkpoint(&forged), Err(CheckpointError::NotSignedByKey { .. })));
    // Unsigned, or signature stripped.
    let unsigned = checkpoint.to_note_text().unwrap();
    assert!(matches!(verifier.verify_checkpoint(&unsigned), Err(CheckpointError::Malformed(_))));
    // Another log's signature beside ours is ignored; ours still counts.
    let witness = SigningKey::from_seed("witness.example/w1", [9; 32]).unwrap();
    let cosigned_line = witness.sign_checkpoint(&checkpoint).unwrap();
    let extra = cosigned_line.lines().last().unwrap();
    let cosigned = format!("{note}{extra}\n");
    assert_eq!(verifier.verify_checkpoint(&cosigned).unwrap(), checkpoint);
    // Non-canonical text, even if signed, is refused.
    let sloppy = "lessee.example/audit\n042\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntime 2026-11-18T11:06:45Z\n";
    assert!(Checkpoint::from_note_text(sloppy).is_err());
    let offset =
        "lessee.example/audit\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntime 2026-11-18T12:06:45+01:00\n";
    assert!(Checkpoint::from_note_text(offset).is_err());
}

#[test]
fn public_key_exports() {
    let verifier = signing_key().verifying_key();
    let pem = verifier.to_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"), "{pem}");
    assert_eq!(VerifyingKey::from_pem(ORIGIN, &pem).unwrap(), verifier);
    assert_eq!(VerifyingKey::from_note_string(&verifier.to_note_string()).unwrap(), verifier);
    assert_eq!(verifier.to_base64().len(), 44);
    let key = signing_key();
    assert_eq!(SigningKey::from_secret_string(&key.to_secret_string()).unwrap().verifying_key(), verifier);
    assert!(!format!("{key:?}").contains(&key.to_secret_string()));
    // Generated keys differ.
    let a = SigningKey::generate(ORIGIN).unwrap();
    let b = SigningKey::generate(ORIGIN).unwrap();
    assert_ne!(a.verifying_key(), b.verifying_key());
    let _ = Hash::EMPTY_ROOT;
}
