//! The RFC 6962 / RFC 9162 Merkle tree over a sequence of leaf hashes kept by a store.
//!
//! # Storage model
//!
//! The store keeps the hash of every *perfect* subtree of the log: node `(level, index)` is the
//! root of the `2^level` leaves `index·2^level .. (index+1)·2^level`. Level 0 holds the leaf
//! hashes. Such a node never changes once its last leaf is appended, so the store is append-only
//! (an SQL table keyed by `(level, index)` fits), holds `2n − 1` hashes for `n` leaves, and any
//! tree head, inclusion proof or consistency proof for any tree size `≤ n` is computed from
//! `O(log n)` stored nodes: every subtree in the RFC 9162 §2.1 recursion is either perfect and
//! aligned (read from the store) or lies on the right edge (recomputed from `O(log n)` perfect
//! ones).
//!
//! [`MerkleLog`] appends through a [`NodeWriter`] and answers from a [`NodeReader`]. A store that
//! can only be reached asynchronously (SQL) can instead ask which nodes an answer needs
//! ([`nodes_for_root`], [`nodes_for_inclusion_proof`], [`nodes_for_consistency_proof`]), fetch
//! them in one query into a [`NodeMap`], and call [`root_at`], [`prove_inclusion`] or
//! [`prove_consistency`] on that map.

use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::hash::{Hash, node_hash};
use crate::proof::{ConsistencyProof, InclusionProof};

/// A perfect subtree: the `2^level` leaves starting at leaf `index << level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId {
    /// Height above the leaves; 0 is a leaf.
    pub level: u8,
    /// Position among the nodes of this level, from 0 on the left.
    pub index: u64,
}

impl NodeId {
    /// The leaf at `index`.
    pub const fn leaf(index: u64) -> Self {
        Self { level: 0, index }
    }

    /// The leaves this node covers.
    pub fn leaves(&self) -> Range<u64> {
        let start = self.index << self.level;
        start..start + (1u64 << self.level)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.level, self.index)
    }
}

/// Reads node hashes from where the log keeps them.
pub trait NodeReader {
    /// What went wrong in the store.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The number of leaves stored.
    fn tree_size(&self) -> Result<u64, Self::Error>;

    /// The hash of a perfect subtree, or `None` if the store does not have it.
    fn node(&self, id: NodeId) -> Result<Option<Hash>, Self::Error>;
}

/// Appends node hashes where the log keeps them.
pub trait NodeWriter: NodeReader {
    /// Stores the new nodes of one or more appends (each leaf first, then the perfect subtrees
    /// it completed, in increasing level) and records the new tree size. Implementations should
    /// write them atomically.
    fn put_nodes(&mut self, tree_size: u64, nodes: &[(NodeId, Hash)]) -> Result<(), Self::Error>;
}

/// What went wrong building a tree head or a proof.
#[derive(Debug, thiserror::Error)]
pub enum MerkleError {
    /// The leaf is not in the tree of the requested size.
    #[error("leaf index {index} is not in a tree of size {tree_size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size asked for.
        tree_size: u64,
    },
    /// The tree size is larger than the log.
    #[error("tree size {requested} is larger than the log, which has {available} leaves")]
    SizeOutOfRange {
        /// The tree size asked for.
        requested: u64,
        /// The log's size.
        available: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("the old tree size {old} is larger than the new tree size {new}")]
    OldAfterNew {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// The store lacks a node that its size says it has.
    #[error("the store has no hash for node {0}")]
    MissingNode(NodeId),
    /// The log holds `u64::MAX` leaves.
    #[error("the log is full")]
    Full,
    /// The store failed.
    #[error("node store: {0}")]
    Store(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn store_error<E: std::error::Error + Send + Sync + 'static>(error: E) -> MerkleError {
    MerkleError::Store(Box::new(error))
}

/// The largest power of two strictly smaller than `n` (for `n ≥ 2`), the split point `k` of
/// RFC 9162 §2.1.1.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Where the algorithms get perfect-subtree hashes from.
trait Fetch {
    fn fetch(&self, id: NodeId) -> Result<Hash, MerkleError>;
}

struct FromReader<'a, R: ?Sized>(&'a R);

impl<R: NodeReader + ?Sized> Fetch for FromReader<'_, R> {
    fn fetch(&self, id: NodeId) -> Result<Hash, MerkleError> {
        self.0.node(id).map_err(store_error)?.ok_or(MerkleError::MissingNode(id))
    }
}

/// Notes which nodes an algorithm reads and answers with a placeholder; the algorithms' shape
/// does not depend on hash values, so the notes are exactly the nodes a real run reads.
#[derive(Default)]
struct Recorder(RefCell<Vec<NodeId>>);

impl Fetch for Recorder {
    fn fetch(&self, id: NodeId) -> Result<Hash, MerkleError> {
        let mut seen = self.0.borrow_mut();
        if !seen.contains(&id) {
            seen.push(id);
        }
        Ok(Hash::EMPTY_ROOT)
    }
}

/// `MTH(D[lo:hi])` (RFC 9162 §2.1.1).
fn subtree_root(fetch: &impl Fetch, lo: u64, hi: u64) -> Result<Hash, MerkleError> {
    let n = hi - lo;
    if n == 0 {
        return Ok(Hash::EMPTY_ROOT);
    }
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        let level = n.trailing_zeros();
        return fetch.fetch(NodeId { level: level as u8, index: lo >> level });
    }
    let k = split_point(n);
    let left = subtree_root(fetch, lo, lo + k)?;
    let right = subtree_root(fetch, lo + k, hi)?;
    Ok(node_hash(&left, &right))
}

/// `PATH(m, D[lo:hi])` (RFC 9162 §2.1.3.1), bottom-up.
fn path(fetch: &impl Fetch, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) -> Result<(), MerkleError> {
    let n = hi - lo;
    if n <= 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m < k {
        path(fetch, m, lo, lo + k, out)?;
        out.push(subtree_root(fetch, lo + k, hi)?);
    } else {
        path(fetch, m - k, lo + k, hi, out)?;
        out.push(subtree_root(fetch, lo, lo + k)?);
    }
    Ok(())
}

/// `SUBPROOF(m, D[lo:hi], b)` (RFC 9162 §2.1.4.1).
fn subproof(
    fetch: &impl Fetch,
    m: u64,
    lo: u64,
    hi: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), MerkleError> {
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push(subtree_root(fetch, lo, hi)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(fetch, m, lo, lo + k, complete, out)?;
        out.push(subtree_root(fetch, lo + k, hi)?);
    } else {
        subproof(fetch, m - k, lo + k, hi, false, out)?;
        out.push(subtree_root(fetch, lo, lo + k)?);
    }
    Ok(())
}

fn check_size<R: NodeReader + ?Sized>(reader: &R, size: u64) -> Result<(), MerkleError> {
    let available = reader.tree_size().map_err(store_error)?;
    if size > available {
        return Err(MerkleError::SizeOutOfRange { requested: size, available });
    }
    Ok(())
}

fn check_index(index: u64, tree_size: u64) -> Result<(), MerkleError> {
    if index >= tree_size {
        return Err(MerkleError::IndexOutOfRange { index, tree_size });
    }
    Ok(())
}

fn check_order(old: u64, new: u64) -> Result<(), MerkleError> {
    if old > new {
        return Err(MerkleError::OldAfterNew { old, new });
    }
    Ok(())
}

fn inclusion_hashes(fetch: &impl Fetch, index: u64, size: u64) -> Result<Vec<Hash>, MerkleError> {
    let mut hashes = Vec::with_capacity(64);
    path(fetch, index, 0, size, &mut hashes)?;
    Ok(hashes)
}

fn consistency_hashes(fetch: &impl Fetch, old: u64, new: u64) -> Result<Vec<Hash>, MerkleError> {
    let mut hashes = Vec::with_capacity(64);
    if old > 0 && old < new {
        subproof(fetch, old, 0, new, true, &mut hashes)?;
    }
    Ok(hashes)
}

/// The tree head of the first `size` leaves of the store (RFC 9162 §2.1.1).
pub fn root_at<R: NodeReader + ?Sized>(reader: &R, size: u64) -> Result<Hash, MerkleError> {
    check_size(reader, size)?;
    subtree_root(&FromReader(reader), 0, size)
}

/// The inclusion proof of leaf `index` in the tree of the first `tree_size` leaves
/// (RFC 9162 §2.1.3.1).
pub fn prove_inclusion<R: NodeReader + ?Sized>(
    reader: &R,
    index: u64,
    tree_size: u64,
) -> Result<InclusionProof, MerkleError> {
    check_index(index, tree_size)?;
    check_size(reader, tree_size)?;
    Ok(InclusionProof { index, tree_size, hashes: inclusion_hashes(&FromReader(reader), index, tree_size)? })
}

/// The proof that the tree of the first `old_size` leaves is a prefix of the tree of the first
/// `new_size` leaves (RFC 9162 §2.1.4.1). Empty when `old_size` is 0 or equals `new_size`.
pub fn prove_consistency<R: NodeReader + ?Sized>(
    reader: &R,
    old_size: u64,
    new_size: u64,
) -> Result<ConsistencyProof, MerkleError> {
    check_order(old_size, new_size)?;
    check_size(reader, new_size)?;
    Ok(ConsistencyProof { old_size, new_size, hashes: consistency_hashes(&FromReader(reader), old_size, new_size)? })
}

/// The stored nodes that [`root_at`] reads for a tree of `size` leaves.
pub fn nodes_for_root(size: u64) -> Vec<NodeId> {
    let recorder = Recorder::default();
    // The recorder never fails.
    let _ = subtree_root(&recorder, 0, size);
    recorder.0.into_inner()
}

/// The stored nodes that [`prove_inclusion`] reads.
pub fn nodes_for_inclusion_proof(index: u64, tree_size: u64) -> Result<Vec<NodeId>, MerkleError> {
    check_index(index, tree_size)?;
    let recorder = Recorder::default();
    inclusion_hashes(&recorder, index, tree_size)?;
    Ok(recorder.0.into_inner())
}

/// The stored nodes that [`prove_consistency`] reads.
pub fn nodes_for_consistency_proof(old_size: u64, new_size: u64) -> Result<Vec<NodeId>, MerkleError> {
    check_order(old_size, new_size)?;
    let recorder = Recorder::default();
    consistency_hashes(&recorder, old_size, new_size)?;
    Ok(recorder.0.into_inner())
}

/// The roots of the perfect subtrees along the right edge of a tree (a "compact range" over
/// `0..size`): enough to append and to compute the current tree head without reading a store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// One hash per set bit of `size`, from the highest bit to the lowest.
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The nodes whose hashes make up the frontier of a tree of `size` leaves, left to right.
    pub fn node_ids(size: u64) -> Vec<NodeId> {
        let mut ids = Vec::with_capacity(size.count_ones() as usize);
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            if size & (1u64 << level) != 0 {
                ids.push(NodeId { level: level as u8, index: start >> level });
                start += 1u64 << level;
            }
        }
        ids
    }

    /// Reads the frontier of the store's whole tree.
    pub fn load<R: NodeReader + ?Sized>(reader: &R) -> Result<Self, MerkleError> {
        let size = reader.tree_size().map_err(store_error)?;
        let fetch = FromReader(reader);
        let hashes = Self::node_ids(size).into_iter().map(|id| fetch.fetch(id)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { size, hashes })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash and calls `completed` with the leaf node and every perfect subtree
    /// it completes, in increasing level. Returns the leaf's index.
    pub fn push_with(&mut self, leaf: Hash, mut completed: impl FnMut(NodeId, Hash)) -> Result<u64, MerkleError> {
        let index = self.size;
        let new_size = index.checked_add(1).ok_or(MerkleError::Full)?;
        let mut hash = leaf;
        let mut id = NodeId::leaf(index);
        completed(id, hash);
        while id.index & 1 == 1 {
            let left =
                self.hashes.pop().ok_or(MerkleError::MissingNode(NodeId { level: id.level, index: id.index - 1 }))?;
            hash = node_hash(&left, &hash);
            id = NodeId { level: id.level + 1, index: id.index >> 1 };
            completed(id, hash);
        }
        self.hashes.push(hash);
        self.size = new_size;
        Ok(index)
    }

    /// Appends a leaf hash; returns its index.
    pub fn push(&mut self, leaf: Hash) -> Result<u64, MerkleError> {
        self.push_with(leaf, |_, _| {})
    }

    /// The tree head (RFC 9162 §2.1.1) of all leaves pushed so far.
    pub fn root(&self) -> Hash {
        let mut hashes = self.hashes.iter().rev();
        match hashes.next() {
            None => Hash::EMPTY_ROOT,
            Some(last) => hashes.fold(*last, |right, left| node_hash(left, &right)),
        }
    }
}

/// The tree head of a sequence of leaf hashes, computed in one pass with `O(log n)` memory.
pub fn root_from_leaves<'a>(leaves: impl IntoIterator<Item = &'a Hash>) -> Hash {
    let mut frontier = Frontier::new();
    for leaf in leaves {
        // A slice cannot hold u64::MAX hashes.
        if frontier.push(*leaf).is_err() {
            break;
        }
    }
    frontier.root()
}

/// An append-only Merkle log over a node store: appends leaf hashes, and gives tree heads,
/// inclusion proofs and consistency proofs for any tree size up to its own.
#[derive(Debug)]
pub struct MerkleLog<S> {
    store: S,
    frontier: Frontier,
}

impl<S: NodeReader> MerkleLog<S> {
    /// Opens the log kept in `store`, reading the `O(log n)` nodes of its right edge.
    pub fn open(store: S) -> Result<Self, MerkleError> {
        let frontier = Frontier::load(&store)?;
        Ok(Self { store, frontier })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The current tree head, computed without reading the store.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The tree head of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, MerkleError> {
        if size == self.size() {
            return Ok(self.root());
        }
        root_at(&self.store, size)
    }

    /// The inclusion proof of leaf `index` in the tree of the first `tree_size` leaves.
    pub fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<InclusionProof, MerkleError> {
        prove_inclusion(&self.store, index, tree_size)
    }

    /// The consistency proof from the tree of `old_size` leaves to the tree of `new_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<ConsistencyProof, MerkleError> {
        prove_consistency(&self.store, old_size, new_size)
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> S {
        self.store
    }
}

impl MerkleLog<MemoryStore> {
    /// An empty log in memory.
    pub fn in_memory() -> Self {
        Self { store: MemoryStore::new(), frontier: Frontier::new() }
    }
}

impl<S: NodeWriter> MerkleLog<S> {
    /// Appends one leaf hash; returns its index.
    pub fn append(&mut self, leaf: Hash) -> Result<u64, MerkleError> {
        let range = self.append_all([leaf])?;
        Ok(range.start)
    }

    /// Appends leaf hashes with one store write; returns their indices.
    pub fn append_all(&mut self, leaves: impl IntoIterator<Item = Hash>) -> Result<Range<u64>, MerkleError> {
        let start = self.frontier.size();
        let mut next = self.frontier.clone();
        let mut nodes = Vec::new();
        for leaf in leaves {
            next.push_with(leaf, |id, hash| nodes.push((id, hash)))?;
        }
        self.store.put_nodes(next.size(), &nodes).map_err(store_error)?;
        self.frontier = next;
        Ok(start..self.frontier.size())
    }
}

/// Why the in-memory store refused a write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoryStoreError {
    /// A node was written out of order, twice, or at an impossible level.
    #[error("node {0} does not extend the store")]
    NotAppendOnly(NodeId),
}

/// A node store in memory: one vector of hashes per level.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    levels: Vec<Vec<Hash>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored leaf hashes, in order.
    pub fn leaves(&self) -> &[Hash] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }
}

impl NodeReader for MemoryStore {
    type Error = MemoryStoreError;

    fn tree_size(&self) -> Result<u64, MemoryStoreError> {
        Ok(self.leaves().len() as u64)
    }

    fn node(&self, id: NodeId) -> Result<Option<Hash>, MemoryStoreError> {
        let level = self.levels.get(usize::from(id.level));
        Ok(level.and_then(|hashes| usize::try_from(id.index).ok().and_then(|i| hashes.get(i))).copied())
    }
}

impl NodeWriter for MemoryStore {
    /// Refuses, without writing anything, a batch in which a node does not land exactly at the
    /// end of its level.
    fn put_nodes(&mut self, _tree_size: u64, nodes: &[(NodeId, Hash)]) -> Result<(), MemoryStoreError> {
        let mut lengths: Vec<u64> = self.levels.iter().map(|level| level.len() as u64).collect();
        for (id, _) in nodes {
            let level = usize::from(id.level);
            if lengths.len() <= level {
                lengths.resize(level + 1, 0);
            }
            match lengths.get_mut(level) {
                Some(length) if *length == id.index => *length += 1,
                _ => return Err(MemoryStoreError::NotAppendOnly(*id)),
            }
        }
        for (id, hash) in nodes {
            let level = usize::from(id.level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            if let Some(hashes) = self.levels.get_mut(level) {
                hashes.push(*hash);
            }
        }
        Ok(())
    }
}

/// A read-only store made of nodes fetched in advance (see [`nodes_for_inclusion_proof`] and
/// friends), for stores that cannot be read synchronously.
#[derive(Debug, Clone, Default)]
pub struct NodeMap {
    tree_size: u64,
    nodes: HashMap<NodeId, Hash>,
}

impl NodeMap {
    /// A map standing for a log of `tree_size` leaves.
    pub fn new(tree_size: u64, nodes: impl IntoIterator<Item = (NodeId, Hash)>) -> Self {
        Self { tree_size, nodes: nodes.into_iter().collect() }
    }
}

impl NodeReader for NodeMap {
    type Error = Infallible;

    fn tree_size(&self) -> Result<u64, Infallible> {
        Ok(self.tree_size)
    }

    fn node(&self, id: NodeId) -> Result<Option<Hash>, Infallible> {
        Ok(self.nodes.get(&id).copied())
    }
}
