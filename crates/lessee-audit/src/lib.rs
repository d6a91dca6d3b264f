//! lessee's tamper-evident audit log.
//!
//! Every read of personal data, every change and every administrative action becomes an
//! [`AuditRecord`]; its [canonical encoding](AuditRecord::canonical_bytes) is a leaf of an
//! append-only Merkle tree in the manner of RFC 6962 / RFC 9162 ([`MerkleLog`]); the log signs
//! its tree head as a C2SP checkpoint with Ed25519 ([`SigningKey::sign_checkpoint`]); anyone
//! with the public key can check inclusion and consistency proofs ([`InclusionProof`],
//! [`ConsistencyProof`]) and a whole exported log ([`verify_log`], [`import`]).
//!
//! Invariants:
//! - No I/O, no clock: callers pass times in and keep leaves and nodes where they like, through
//!   [`NodeReader`] / [`NodeWriter`].
//! - Audit records hold references and hashes, never personal data (see [`record`]); personal
//!   data that a record must point at goes in as a [`KeyedHash`].
//! - The tree only grows: a node hash, once stored, never changes.
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod export;
pub mod hash;
pub mod log;
pub mod merkle;
pub mod proof;
pub mod record;
pub mod verify;

pub use checkpoint::{Checkpoint, CheckpointError, SignedNote, SigningKey, VerifyingKey};
pub use export::{Export, ImportError, export, import, read_export, write_export};
pub use hash::{Hash, leaf_hash, node_hash};
pub use log::{AppendError, MemoryAuditLog};
pub use merkle::{
    Frontier, MemoryStore, MerkleError, MerkleLog, NodeId, NodeMap, NodeReader, NodeWriter,
    nodes_for_consistency_proof, nodes_for_inclusion_proof, nodes_for_root, prove_consistency, prove_inclusion,
    root_at, root_from_leaves,
};
pub use proof::{
    ConsistencyProof, InclusionProof, ProofError, root_from_inclusion_proof, verify_consistency, verify_inclusion,
};
pub use record::{Actor, AuditEvent, AuditHashKey, AuditRecord, KeyedHash, Outcome, RecordError, Target};
pub use verify::{LogEntry, Problem, Report, verify_log};
