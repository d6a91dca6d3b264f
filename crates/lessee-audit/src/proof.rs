//! Inclusion and consistency proofs and their verification, as in RFC 9162 §2.1.3.2 and
//! §2.1.4.2. Verification needs only the proof, the hashes and the sizes: no log.

use serde::{Deserialize, Serialize};

use crate::hash::{Hash, node_hash};

/// Proof that a leaf is at `index` in the tree of `tree_size` leaves: the audit path
/// `PATH(index, D[tree_size])`, bottom-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// The leaf's index.
    pub index: u64,
    /// The size of the tree the proof is for.
    pub tree_size: u64,
    /// The sibling hashes from the leaf up to the root.
    pub hashes: Vec<Hash>,
}

impl InclusionProof {
    /// Checks that `leaf` is at `self.index` in the tree of `self.tree_size` leaves whose head is
    /// `root`.
    pub fn verify(&self, leaf: &Hash, root: &Hash) -> Result<(), ProofError> {
        verify_inclusion(leaf, self.index, self.tree_size, &self.hashes, root)
    }
}

/// Proof that the tree of `old_size` leaves is a prefix of the tree of `new_size` leaves:
/// `PROOF(old_size, D[new_size])`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// The size of the older tree.
    pub old_size: u64,
    /// The size of the newer tree.
    pub new_size: u64,
    /// The proof's hashes.
    pub hashes: Vec<Hash>,
}

impl ConsistencyProof {
    /// Checks that the tree with head `old_root` (of `self.old_size` leaves) is a prefix of the
    /// tree with head `new_root` (of `self.new_size` leaves).
    pub fn verify(&self, old_root: &Hash, new_root: &Hash) -> Result<(), ProofError> {
        verify_consistency(self.old_size, self.new_size, old_root, new_root, &self.hashes)
    }
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not in a tree of size {tree_size}")]
    IndexOutOfRange {
        /// The claimed index.
        index: u64,
        /// The claimed tree size.
        tree_size: u64,
    },
    /// The older tree is larger than the newer one.
    #[error("the old tree size {old} is larger than the new tree size {new}")]
    OldAfterNew {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// The proof has too many or too few hashes for the sizes.
    #[error("the proof has the wrong number of hashes for these tree sizes")]
    WrongLength,
    /// The proof leads to a different tree head.
    #[error("the proof does not lead to the given tree head")]
    Mismatch,
}

/// The tree head that an inclusion proof leads to from `leaf` (RFC 9162 §2.1.3.2).
pub fn root_from_inclusion_proof(leaf: &Hash, index: u64, tree_size: u64, proof: &[Hash]) -> Result<Hash, ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    let mut f_n = index;
    let mut s_n = tree_size - 1;
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return Err(ProofError::WrongLength);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongLength);
    }
    Ok(r)
}

/// Checks that `leaf` is at `index` in the tree of `tree_size` leaves whose head is `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if root_from_inclusion_proof(leaf, index, tree_size, proof)? == *root { Ok(()) } else { Err(ProofError::Mismatch) }
}

/// Checks that the tree of `old_size` leaves with head `old_root` is a prefix of the tree of
/// `new_size` leaves with head `new_root` (RFC 9162 §2.1.4.2).
///
/// Edge cases, where RFC 9162 asks for no proof: equal sizes need an empty proof and equal
/// heads; an empty old tree needs an empty proof and the empty tree's head as `old_root`.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::OldAfterNew { old: old_size, new: new_size });
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        let old_ok = old_size != 0 || *old_root == Hash::EMPTY_ROOT;
        let same_ok = old_size != new_size || old_root == new_root;
        return if old_ok && same_ok { Ok(()) } else { Err(ProofError::Mismatch) };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }

    // Step 2: when the old tree is perfect, its head starts the path.
    let seed: Option<&Hash> = old_size.is_power_of_two().then_some(old_root);
    let mut path = seed.into_iter().chain(proof.iter());

    let mut f_n = old_size - 1;
    let mut s_n = new_size - 1;
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let Some(first) = path.next() else {
        return Err(ProofError::WrongLength);
    };
    let mut f_r = *first;
    let mut s_r = *first;
    for c in path {
        if s_n == 0 {
            return Err(ProofError::WrongLength);
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongLength);
    }
    if f_r == *old_root && s_r == *new_root { Ok(()) } else { Err(ProofError::Mismatch) }
}
