//! An audit log in memory: records, their leaf hashes and the Merkle tree, for tests, tools and
//! as the model the database-backed log follows.

use chrono::{DateTime, Utc};

use crate::checkpoint::{Checkpoint, CheckpointError, SigningKey};
use crate::hash::Hash;
use crate::merkle::{MemoryStore, MerkleError, MerkleLog};
use crate::record::{AuditEvent, RecordError};
use crate::verify::LogEntry;

/// Why an event could not be appended.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// The event breaks the record rules.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The tree refused the leaf.
    #[error(transparent)]
    Merkle(#[from] MerkleError),
}

/// Records and their Merkle tree, in memory.
#[derive(Debug)]
pub struct MemoryAuditLog {
    tree: MerkleLog<MemoryStore>,
    entries: Vec<LogEntry>,
}

impl Default for MemoryAuditLog {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryAuditLog {
    /// An empty log.
    pub fn new() -> Self {
        Self { tree: MerkleLog::in_memory(), entries: Vec::new() }
    }

    /// Gives the event the next sequence number, appends it, and returns the stored entry.
    pub fn append(&mut self, event: AuditEvent) -> Result<&LogEntry, AppendError> {
        let record = event.at(self.tree.size());
        let entry = LogEntry::new(record)?;
        self.tree.append(entry.leaf_hash)?;
        self.entries.push(entry);
        self.entries.last().ok_or(AppendError::Merkle(MerkleError::Full))
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[LogEntry] {
        &self.entries
    }

    /// The Merkle tree, for tree heads and proofs.
    pub fn tree(&self) -> &MerkleLog<MemoryStore> {
        &self.tree
    }

    /// The number of records.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The current tree head.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// The current checkpoint, named after `key`, signed: the note text.
    pub fn sign_checkpoint(&self, key: &SigningKey, time: DateTime<Utc>) -> Result<String, CheckpointError> {
        let checkpoint = Checkpoint { origin: key.name().to_owned(), tree_size: self.size(), root: self.root(), time };
        key.sign_checkpoint(&checkpoint)
    }
}
