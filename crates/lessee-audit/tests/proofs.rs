#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
//! Proofs for every tree up to 300 leaves, against a direct transcription of RFC 9162 §2.1.1;
//! and, by property, that changing any bit of a proof, a leaf or a head makes it fail.

use lessee_audit::{
    Hash, MemoryStore, MerkleLog, NodeId, NodeWriter, leaf_hash, node_hash, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

const MAX: u64 = 300;

/// MTH(D[n]) exactly as RFC 9162 §2.1.1 writes it.
fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Hash::EMPTY_ROOT,
        1 => leaves[0],
        n => {
            // The largest power of two smaller than n.
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(format!("leaf {i}").as_bytes())).collect()
}

fn log_of(n: u64) -> MerkleLog<MemoryStore> {
    let mut log = MerkleLog::in_memory();
    for leaf in leaves(n) {
        log.append(leaf).unwrap();
    }
    log
}

fn flip(hash: &Hash, byte: usize, bit: u8) -> Hash {
    let mut bytes = *hash.as_bytes();
    bytes[byte % 32] ^= 1 << (bit % 8);
    Hash::from_bytes(bytes)
}

#[test]
fn every_tree_head_up_to_300_matches_the_rfc_definition() {
    let all = leaves(MAX);
    let log = log_of(MAX);
    let mut incremental = MerkleLog::in_memory();
    for size in 0..=MAX {
        let expected = mth(&all[..size as usize]);
        assert_eq!(log.root_at(size).unwrap(), expected, "root_at({size})");
        assert_eq!(incremental.root(), expected, "incremental root at {size}");
        if size < MAX {
            incremental.append(all[size as usize]).unwrap();
        }
    }
}

#[test]
fn every_inclusion_proof_up_to_300_verifies() {
    let all = leaves(MAX);
    let log = log_of(MAX);
    for size in 1..=MAX {
        let root = log.root_at(size).unwrap();
        for index in 0..size {
            let proof = log.inclusion_proof(index, size).unwrap();
            verify_inclusion(&all[index as usize], index, size, &proof.hashes, &root)
                .unwrap_or_else(|e| panic!("PATH({index}, D[{size}]): {e}"));
        }
    }
}

#[test]
fn every_consistency_proof_up_to_300_verifies() {
    let log = log_of(MAX);
    let roots: Vec<Hash> = (0..=MAX).map(|size| log.root_at(size).unwrap()).collect();
    for new in 0..=MAX {
        for old in 0..=new {
            let proof = log.consistency_proof(old, new).unwrap();
            verify_consistency(old, new, &roots[old as usize], &roots[new as usize], &proof.hashes)
                .unwrap_or_else(|e| panic!("PROOF({old}, D[{new}]): {e}"));
        }
    }
}

#[test]
fn a_reopened_log_continues_where_it_stopped() {
    let all = leaves(70);
    for stop in 0..70u64 {
        let first = log_of(stop);
        let mut reopened = MerkleLog::open(first.into_store()).unwrap();
        assert_eq!(reopened.size(), stop);
        reopened.append_all(all[stop as usize..].iter().copied()).unwrap();
        assert_eq!(reopened.root(), mth(&all), "stopped at {stop}");
        assert_eq!(reopened.store().leaves(), all.as_slice());
    }
}

#[test]
fn the_memory_store_is_append_only() {
    let mut store = MemoryStore::new();
    let leaf = leaf_hash(b"x");
    assert!(store.put_nodes(1, &[(NodeId::leaf(1), leaf)]).is_err());
    store.put_nodes(1, &[(NodeId::leaf(0), leaf)]).unwrap();
    assert!(store.put_nodes(1, &[(NodeId::leaf(0), leaf)]).is_err());
    // A refused batch writes nothing.
    assert!(store.put_nodes(2, &[(NodeId::leaf(1), leaf), (NodeId { level: 1, index: 3 }, leaf)]).is_err());
    assert_eq!(store.leaves().len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_changed_inclusion_proof_fails(size in 1..=MAX, index_seed in any::<u64>(), which in any::<usize>(), byte in 0usize..32, bit in 0u8..8) {
        let log = log_of(size);
        let index = index_seed % size;
        let leaf = leaves(size)[index as usize];
        let root = log.root();
        let proof = log.inclusion_proof(index, size).unwrap();
        prop_assert!(verify_inclusion(&leaf, index, size, &proof.hashes, &root).is_ok());

        // Any bit of any proof hash.
        if !proof.hashes.is_empty() {
            let mut bad = proof.hashes.clone();
            let i = which % bad.len();
            bad[i] = flip(&bad[i], byte, bit);
            prop_assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
        }
        // Any bit of the leaf or the head.
        prop_assert!(verify_inclusion(&flip(&leaf, byte, bit), index, size, &proof.hashes, &root).is_err());
        prop_assert!(verify_inclusion(&leaf, index, size, &proof.hashes, &flip(&root, byte, bit)).is_err());
        // Another index (when the other leaf differs), a hash too many or too few.
        let other = (index + 1 + which as u64 % size) % size;
        if other != index {
            prop_assert!(verify_inclusion(&leaf, other, size, &proof.hashes, &root).is_err());
        }
        let mut longer = proof.hashes.clone();
        longer.push(root);
        prop_assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());
        if !proof.hashes.is_empty() {
            let shorter = &proof.hashes[..proof.hashes.len() - 1];
            prop_assert!(verify_inclusion(&leaf, index, size, shorter, &root).is_err());
        }
    }

    #[test]
    fn a_changed_consistency_proof_fails(new in 2..=MAX, old_seed in any::<u64>(), which in any::<usize>(), byte in 0usize..32, bit in 0u8..8) {
        let log = log_of(new);
        let old = 1 + old_seed % (new - 1);
        let old_root = log.root_at(old).unwrap();
        let new_root = log.root();
        let proof = log.consistency_proof(old, new).unwrap();
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof.hashes).is_ok());

        let mut bad = proof.hashes.clone();
        let i = which % bad.len();
        bad[i] = flip(&bad[i], byte, bit);
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &bad).is_err());
        prop_assert!(verify_consistency(old, new, &flip(&old_root, byte, bit), &new_root, &proof.hashes).is_err());
        prop_assert!(verify_consistency(old, new, &old_root, &flip(&new_root, byte, bit), &proof.hashes).is_err());
        let mut longer = proof.hashes.clone();
        longer.push(new_root);
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &longer).is_err());
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof.hashes[1..]).is_err());
    }
}
