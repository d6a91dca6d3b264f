//! Checking a whole log against a signed checkpoint, and saying precisely what is wrong.
//!
//! The signed checkpoint is the only thing an attacker without the log's key cannot forge, so
//! the verdict rests on it: every leaf is recomputed from its record, the tree head of the
//! first `tree_size` leaves is recomputed and compared with the checkpoint's. The finer
//! diagnoses (which record was altered, removed, moved or inserted) come from the records'
//! sequence numbers, which are inside the hashed leaf data, and from the leaf hashes the log
//! stored beside its records; they locate the damage a careless or partial edit leaves. An
//! attacker who rewrites records, sequence numbers and stored leaf hashes consistently still
//! fails the tree-head check, but can only be located to "somewhere before `tree_size`".

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use crate::checkpoint::{Checkpoint, CheckpointError, SignedNote, VerifyingKey};
use crate::hash::Hash;
use crate::merkle::root_from_leaves;
use crate::record::{AuditRecord, RecordError};

/// A record as the log stores it: the record and the leaf hash computed when it was appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The record.
    pub record: AuditRecord,
    /// Its leaf hash as stored by the log.
    pub leaf_hash: Hash,
}

impl LogEntry {
    /// An entry whose stored leaf hash is computed from the record.
    pub fn new(record: AuditRecord) -> Result<Self, RecordError> {
        let leaf_hash = record.leaf_hash()?;
        Ok(Self { record, leaf_hash })
    }
}

/// One thing wrong with a log. Positions count entries as given, from 0; `seq` is the sequence
/// number a record claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The checkpoint is not a signed note or not a lessee checkpoint.
    MalformedCheckpoint(String),
    /// The checkpoint carries no signature by the expected key (absent, or made by another key).
    NotSignedByKey {
        /// The expected key's name.
        name: String,
        /// The expected key's id.
        key_id: u32,
    },
    /// A signature by the expected key does not verify: the checkpoint was changed.
    BadSignature,
    /// A record breaks the record rules, so its leaf cannot be recomputed.
    InvalidRecord {
        /// Where it is.
        position: u64,
        /// Its sequence number.
        seq: u64,
        /// What is wrong.
        error: RecordError,
    },
    /// A record does not hash to the leaf hash stored with it: it was changed after it was
    /// appended.
    Altered {
        /// Where it is.
        position: u64,
        /// Its sequence number.
        seq: u64,
    },
    /// A record repeats an earlier record's sequence number, or claims one the log cannot
    /// have: it was added.
    Inserted {
        /// Where it is.
        position: u64,
        /// The sequence number it claims.
        seq: u64,
    },
    /// A record is out of order.
    Reordered {
        /// Where it is.
        position: u64,
        /// Its sequence number.
        seq: u64,
    },
    /// Records with these sequence numbers are missing from inside the log.
    Removed {
        /// The missing sequence numbers.
        seqs: Range<u64>,
    },
    /// The log ends before the checkpoint's tree size.
    Truncated {
        /// The first missing sequence number (the log's length).
        present: u64,
        /// The checkpoint's tree size.
        checkpoint_size: u64,
    },
    /// The records' tree head differs from the signed one.
    RootMismatch {
        /// The checkpoint's tree size.
        tree_size: u64,
        /// The signed tree head.
        checkpoint_root: Hash,
        /// The tree head of the records.
        computed_root: Hash,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::MalformedCheckpoint(error) => {
                write!(f, "the checkpoint is malformed: {error}")
            }
            Problem::NotSignedByKey { name, key_id } => {
                write!(f, "the checkpoint is not signed by the log key {name} ({key_id:08x})")
            }
            Problem::BadSignature => f.write_str("the checkpoint's signature does not verify: it was changed"),
            Problem::InvalidRecord { position, seq, error } => {
                write!(f, "record {seq} (position {position}) is invalid: {error}")
            }
            Problem::Altered { position, seq } => {
                write!(f, "record {seq} (position {position}) was altered: it does not match its leaf hash")
            }
            Problem::Inserted { position, seq } => write!(
                f,
                "the record at position {position} was inserted: it claims sequence number {seq}, \
                 which is taken or out of range"
            ),
            Problem::Reordered { position, seq } => {
                write!(f, "record {seq} is out of order, at position {position}")
            }
            Problem::Removed { seqs } => {
                if seqs.end - seqs.start == 1 {
                    write!(f, "record {} was removed", seqs.start)
                } else {
                    write!(f, "records {} to {} were removed", seqs.start, seqs.end - 1)
                }
            }
            Problem::Truncated { present, checkpoint_size } => write!(
                f,
                "the log was truncated: it ends at {present} records, the checkpoint covers \
                 {checkpoint_size}"
            ),
            Problem::RootMismatch { tree_size, checkpoint_root, computed_root } => write!(
                f,
                "the first {tree_size} records hash to {computed_root}, the checkpoint says \
                 {checkpoint_root}"
            ),
        }
    }
}

/// The result of [`verify_log`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// How many entries were checked.
    pub records: u64,
    /// The checkpoint as read (even if its signature failed: see `problems`).
    pub checkpoint: Option<Checkpoint>,
    /// The tree head of the first `tree_size` records, when there were enough.
    pub computed_root: Option<Hash>,
    /// Positions after the checkpoint's tree size: present, but not covered by it (they are
    /// covered by the next checkpoint).
    pub unanchored: Range<u64>,
    /// Everything wrong, record problems first in log order, then the tree head.
    pub problems: Vec<Problem>,
}

impl Report {
    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.checkpoint, self.is_ok()) {
            (Some(checkpoint), true) => writeln!(
                f,
                "OK: {} records; the first {} match the checkpoint of {} signed at {}",
                self.records,
                checkpoint.tree_size,
                checkpoint.origin,
                checkpoint.time.to_rfc3339()
            )?,
            _ => writeln!(f, "FAILED: {} records, {} problems", self.records, self.problems.len())?,
        }
        for problem in &self.problems {
            writeln!(f, "- {problem}")?;
        }
        if !self.unanchored.is_empty() {
            writeln!(
                f,
                "note: records at positions {}..{} are newer than the checkpoint",
                self.unanchored.start, self.unanchored.end
            )?;
        }
        Ok(())
    }
}

fn checkpoint_problems(note: &str, key: &VerifyingKey) -> (Option<Checkpoint>, Vec<Problem>) {
    let parsed = match SignedNote::parse(note) {
        Ok(parsed) => parsed,
        Err(error) => return (None, vec![Problem::MalformedCheckpoint(error.to_string())]),
    };
    let mut problems = Vec::new();
    match parsed.verify(key) {
        Ok(()) => {}
        Err(CheckpointError::NotSignedByKey { name, key_id }) => {
            problems.push(Problem::NotSignedByKey { name, key_id });
        }
        Err(CheckpointError::BadSignature { .. }) => problems.push(Problem::BadSignature),
        Err(error) => problems.push(Problem::MalformedCheckpoint(error.to_string())),
    }
    match Checkpoint::from_note_text(parsed.text) {
        Ok(checkpoint) => (Some(checkpoint), problems),
        Err(error) => {
            problems.push(Problem::MalformedCheckpoint(error.to_string()));
            (None, problems)
        }
    }
}

/// Marks the members of one longest strictly increasing subsequence of `values`.
fn longest_increasing(values: &[u64]) -> Vec<bool> {
    let mut tails: Vec<usize> = Vec::new();
    let mut previous: Vec<Option<usize>> = Vec::with_capacity(values.len());
    let value_at = |i: usize| values.get(i).copied().unwrap_or(u64::MAX);
    for (i, &value) in values.iter().enumerate() {
        let j = tails.partition_point(|&t| value_at(t) < value);
        previous.push(j.checked_sub(1).and_then(|k| tails.get(k).copied()));
        match tails.get_mut(j) {
            Some(slot) => *slot = i,
            None => tails.push(i),
        }
    }
    let mut member = vec![false; values.len()];
    let mut cursor = tails.last().copied();
    while let Some(i) = cursor {
        if let Some(flag) = member.get_mut(i) {
            *flag = true;
        }
        cursor = previous.get(i).copied().flatten();
    }
    member
}

fn sequence_problems(seqs: &[u64], checkpoint_size: Option<u64>) -> Vec<Problem> {
    let count = seqs.len() as u64;
    let bound = count.max(checkpoint_size.unwrap_or(0));
    let mut problems = Vec::new();
    let mut seen = HashSet::with_capacity(seqs.len());
    let mut kept: Vec<(u64, u64)> = Vec::with_capacity(seqs.len());
    for (position, &seq) in (0u64..).zip(seqs) {
        if seq >= bound || !seen.insert(seq) {
            problems.push(Problem::Inserted { position, seq });
        } else {
            kept.push((position, seq));
        }
    }
    let kept_seqs: Vec<u64> = kept.iter().map(|&(_, seq)| seq).collect();
    let in_order = longest_increasing(&kept_seqs);
    for (&(position, seq), ordered) in kept.iter().zip(in_order) {
        if !ordered {
            problems.push(Problem::Reordered { position, seq });
        }
    }
    let mut sorted = kept_seqs;
    sorted.sort_unstable();
    let mut expected = 0u64;
    for seq in sorted {
        if seq > expected {
            problems.push(Problem::Removed { seqs: expected..seq });
        }
        expected = seq + 1;
    }
    if let Some(size) = checkpoint_size
        && expected < size
    {
        problems.push(Problem::Truncated { present: expected, checkpoint_size: size });
    }
    problems
}

/// Checkpoint problems first, then record problems in log order, then the tree head.
fn report_order(problem: &Problem) -> (u8, u64) {
    match problem {
        Problem::MalformedCheckpoint(_) | Problem::NotSignedByKey { .. } | Problem::BadSignature => (0, 0),
        Problem::InvalidRecord { position, .. }
        | Problem::Altered { position, .. }
        | Problem::Inserted { position, .. }
        | Problem::Reordered { position, .. } => (1, *position),
        Problem::Removed { seqs } => (1, seqs.start),
        Problem::Truncated { present, .. } => (2, *present),
        Problem::RootMismatch { .. } => (3, 0),
    }
}

/// Verifies a whole log: recomputes every leaf from its record, compares it with the stored
/// leaf hash, checks the sequence numbers, recomputes the tree head of the first `tree_size`
/// records and compares it with the checkpoint, whose signature by `key` it checks.
pub fn verify_log(entries: &[LogEntry], checkpoint_note: &str, key: &VerifyingKey) -> Report {
    let (checkpoint, mut problems) = checkpoint_problems(checkpoint_note, key);
    let records = entries.len() as u64;

    let mut leaves = Vec::with_capacity(entries.len());
    for (position, entry) in (0u64..).zip(entries) {
        let seq = entry.record.seq;
        match entry.record.leaf_hash() {
            Ok(leaf) => {
                if leaf != entry.leaf_hash {
                    problems.push(Problem::Altered { position, seq });
                }
                leaves.push(leaf);
            }
            Err(error) => {
                problems.push(Problem::InvalidRecord { position, seq, error });
                leaves.push(entry.leaf_hash);
            }
        }
    }

    let seqs: Vec<u64> = entries.iter().map(|entry| entry.record.seq).collect();
    let checkpoint_size = checkpoint.as_ref().map(|checkpoint| checkpoint.tree_size);
    problems.extend(sequence_problems(&seqs, checkpoint_size));

    let mut computed_root = None;
    let mut unanchored = records..records;
    if let Some(checkpoint) = &checkpoint
        && let Ok(size) = usize::try_from(checkpoint.tree_size)
        && let Some(covered) = leaves.get(..size)
    {
        let root = root_from_leaves(covered);
        computed_root = Some(root);
        unanchored = checkpoint.tree_size..records;
        if root != checkpoint.root {
            problems.push(Problem::RootMismatch {
                tree_size: checkpoint.tree_size,
                checkpoint_root: checkpoint.root,
                computed_root: root,
            });
        }
    }

    problems.sort_by_key(report_order);
    Report { records, checkpoint, computed_root, unanchored, problems }
}
