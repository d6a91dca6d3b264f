#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
//! Tampering with a log in each way an insider could, and the report that catches it.

mod common;

use common::{ORIGIN, event, log_of, signing_key, time};
use lessee_audit::{
    Checkpoint, Hash, ImportError, LogEntry, Problem, Report, SigningKey, export, import, leaf_hash, verify_log,
};

const N: u64 = 20;

/// A log of N records, its signed checkpoint and its entries.
fn signed_log() -> (Vec<LogEntry>, String) {
    let log = log_of(N);
    let note = log.sign_checkpoint(&signing_key(), time(100)).unwrap();
    (log.entries().to_vec(), note)
}

fn verify(entries: &[LogEntry], note: &str) -> Report {
    verify_log(entries, note, &signing_key().verifying_key())
}

fn without_root(report: &Report) -> Vec<Problem> {
    report.problems.iter().filter(|problem| !matches!(problem, Problem::RootMismatch { .. })).cloned().collect()
}

fn root_mismatch(report: &Report) -> bool {
    report.problems.iter().any(|p| matches!(p, Problem::RootMismatch { tree_size: N, .. }))
}

#[test]
fn an_intact_log_verifies() {
    let (entries, note) = signed_log();
    let report = verify(&entries, &note);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, N);
    assert_eq!(report.checkpoint.as_ref().unwrap().tree_size, N);
    assert!(report.unanchored.is_empty());
    assert!(report.to_string().starts_with("OK: 20 records"), "{report}");
}

#[test]
fn records_newer_than_the_checkpoint_are_noted_not_failed() {
    let mut log = log_of(N);
    let note = log.sign_checkpoint(&signing_key(), time(100)).unwrap();
    log.append(event(N)).unwrap();
    log.append(event(N + 1)).unwrap();
    let report = verify(log.entries(), &note);
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.unanchored, N..N + 2);
    // And an older genuine checkpoint still matches the grown log's prefix.
    let older = log_of(5).sign_checkpoint(&signing_key(), time(50)).unwrap();
    assert!(verify(log.entries(), &older).is_ok());
}

#[test]
fn an_altered_record_is_located() {
    let (mut entries, note) = signed_log();
    entries[5].record.event.purpose = "legal_process".into();
    let report = verify(&entries, &note);
    assert_eq!(without_root(&report), vec![Problem::Altered { position: 5, seq: 5 }]);
    assert!(root_mismatch(&report));
    assert!(report.to_string().contains("record 5 (position 5) was altered"), "{report}");
}

#[test]
fn an_altered_record_with_a_recomputed_leaf_fails_the_tree_head() {
    let (mut entries, note) = signed_log();
    entries[5].record.event.actor.token_id = "tok_someone_else".into();
    entries[5].leaf_hash = entries[5].record.leaf_hash().unwrap();
    let report = verify(&entries, &note);
    assert!(without_root(&report).is_empty(), "{report}");
    assert!(root_mismatch(&report));
    assert!(!report.is_ok());
}

#[test]
fn a_removed_record_is_named() {
    let (mut entries, note) = signed_log();
    entries.remove(5);
    let report = verify(&entries, &note);
    assert_eq!(report.problems, vec![Problem::Removed { seqs: 5..6 }]);
    assert!(report.to_string().contains("record 5 was removed"), "{report}");

    let (mut entries, note) = signed_log();
    entries.drain(7..10);
    let report = verify(&entries, &note);
    assert_eq!(report.problems, vec![Problem::Removed { seqs: 7..10 }]);
}

#[test]
fn reordered_records_are_named() {
    let (mut entries, note) = signed_log();
    entries.swap(5, 6);
    let report = verify(&entries, &note);
    assert_eq!(without_root(&report), vec![Problem::Reordered { position: 5, seq: 6 }]);
    assert!(root_mismatch(&report));

    let (mut entries, note) = signed_log();
    let moved = entries.remove(2);
    entries.push(moved);
    let report = verify(&entries, &note);
    assert_eq!(without_root(&report), vec![Problem::Reordered { position: 19, seq: 2 }]);
    assert!(root_mismatch(&report));
}

#[test]
fn an_inserted_record_is_named() {
    let (mut entries, note) = signed_log();
    let mut forged = event(7);
    forged.actor.token_id = "tok_framed".into();
    let forged = LogEntry::new(forged.at(7)).unwrap();
    entries.insert(8, forged);
    let report = verify(&entries, &note);
    assert_eq!(without_root(&report), vec![Problem::Inserted { position: 8, seq: 7 }]);
    assert!(root_mismatch(&report));

    // A record claiming a number the log cannot have.
    let (mut entries, note) = signed_log();
    entries.insert(3, LogEntry::new(event(3).at(1_000_000)).unwrap());
    let report = verify(&entries, &note);
    assert_eq!(without_root(&report), vec![Problem::Inserted { position: 3, seq: 1_000_000 }]);
}

#[test]
fn a_truncated_log_is_named() {
    let (mut entries, note) = signed_log();
    entries.truncate(17);
    let report = verify(&entries, &note);
    assert_eq!(report.problems, vec![Problem::Truncated { present: 17, checkpoint_size: N }]);
    assert_eq!(report.computed_root, None);

    let (_, note) = signed_log();
    let report = verify(&[], &note);
    assert_eq!(report.problems, vec![Problem::Truncated { present: 0, checkpoint_size: N }]);
}

#[test]
fn forged_checkpoints_are_named() {
    let (entries, note) = signed_log();
    let checkpoint = signing_key().verifying_key().verify_checkpoint(&note).unwrap();

    // The tree size edited in the signed note.
    let edited = note.replacen("\n20\n", "\n19\n", 1);
    let report = verify(&entries, &edited);
    assert_eq!(report.problems.first(), Some(&Problem::BadSignature), "{report}");

    // Re-signed by a key of the same name that is not the log's.
    let impostor = SigningKey::from_seed(ORIGIN, [1; 32]).unwrap();
    let forged = impostor.sign_checkpoint(&checkpoint).unwrap();
    let report = verify(&entries, &forged);
    assert!(matches!(report.problems.as_slice(), [Problem::NotSignedByKey { .. }]), "{report}");

    // Genuinely signed, but for another tree: does not match the records.
    let other = Checkpoint { root: leaf_hash(b"another log"), ..checkpoint.clone() };
    let mismatched = signing_key().sign_checkpoint(&other).unwrap();
    let report = verify(&entries, &mismatched);
    assert!(
        matches!(report.problems.as_slice(), [Problem::RootMismatch { tree_size: N, checkpoint_root, .. }] if *checkpoint_root == other.root),
        "{report}"
    );

    // Not a checkpoint at all.
    let report = verify(&entries, "hello\n");
    assert!(matches!(report.problems.as_slice(), [Problem::MalformedCheckpoint(_)]));
}

#[test]
fn a_record_breaking_the_rules_is_named() {
    let (mut entries, note) = signed_log();
    entries[4].record.event.target.id = "jane@example.com".into();
    let report = verify(&entries, &note);
    assert!(
        matches!(without_root(&report).as_slice(), [Problem::InvalidRecord { position: 4, seq: 4, .. }]),
        "{report}"
    );
}

#[test]
fn an_export_round_trips_and_verifies_offline() {
    let (entries, note) = signed_log();
    let key = signing_key().verifying_key();
    let text = export(&entries, &note, &key);
    assert_eq!(text.lines().count() as u64, N + 1);
    assert!(text.starts_with("{\"format\":\"lessee-audit-export/v1\""), "{text}");

    let imported = import(&text).unwrap();
    assert_eq!(imported.entries, entries);
    assert_eq!(imported.public_key, key);
    assert_eq!(imported.checkpoint, note);
    assert!(verify_log(&imported.entries, &imported.checkpoint, &key).is_ok());
}

#[test]
fn tampering_with_an_export_file_is_caught() {
    let (entries, note) = signed_log();
    let key = signing_key().verifying_key();
    let text = export(&entries, &note, &key);

    // Edit a record in the file.
    let edited = text.replacen("\"acct_000009\"", "\"acct_000099\"", 1);
    let imported = import(&edited).unwrap();
    let report = verify_log(&imported.entries, &imported.checkpoint, &key);
    assert_eq!(without_root(&report), vec![Problem::Altered { position: 9, seq: 9 }]);

    // Delete a line.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.remove(1 + 12);
    let imported = import(&lines.join("\n")).unwrap();
    let report = verify_log(&imported.entries, &imported.checkpoint, &key);
    assert_eq!(report.problems, vec![Problem::Removed { seqs: 12..13 }]);

    // A field the format does not have, on line 4.
    let extra = text
        .lines()
        .enumerate()
        .map(|(i, line)| if i == 3 { line.replacen("{", "{\"email\":\"x\",", 1) } else { line.to_owned() })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(matches!(import(&extra), Err(ImportError::Line { line: 4, .. })));

    // Not an export.
    assert!(matches!(import(""), Err(ImportError::Empty)));
    assert!(matches!(
        import("{\"format\":\"other\",\"public_key\":\"x\",\"checkpoint\":\"\"}\n"),
        Err(ImportError::Header(_))
    ));
    let _ = Hash::EMPTY_ROOT;
}
