#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests report by panicking
//! Known answers from RFC 6962's reference implementations: the eight standard leaves of the
//! certificate-transparency / transparency-dev `merkle` test suites, their roots, and their
//! inclusion and consistency proofs; plus the corruptions those suites try on each proof.

use lessee_audit::{
    Hash, MemoryStore, MerkleLog, NodeMap, NodeReader, ProofError, leaf_hash, node_hash, nodes_for_consistency_proof,
    nodes_for_inclusion_proof, nodes_for_root, prove_consistency, prove_inclusion, root_at, root_from_leaves,
    verify_consistency, verify_inclusion,
};

fn h(hex: &str) -> Hash {
    Hash::from_hex(hex).unwrap()
}

/// The leaf data of the reference test suites.
const LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

/// ROOTS[i] is the tree head of the first i + 1 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

const EMPTY_ROOT: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// (leaf index, tree size, proof).
const INCLUSION: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, proof).
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn leaf_hashes() -> Vec<Hash> {
    LEAVES.iter().map(|data| leaf_hash(&hex::decode(data).unwrap())).collect()
}

fn reference_log() -> MerkleLog<MemoryStore> {
    let mut log = MerkleLog::in_memory();
    log.append_all(leaf_hashes()).unwrap();
    log
}

fn hashes(list: &[&str]) -> Vec<Hash> {
    list.iter().map(|hex| h(hex)).collect()
}

#[test]
fn empty_tree_head_is_sha256_of_nothing() {
    assert_eq!(Hash::EMPTY_ROOT, h(EMPTY_ROOT));
    assert_eq!(MerkleLog::in_memory().root(), h(EMPTY_ROOT));
    assert_eq!(root_at(&MemoryStore::new(), 0).unwrap(), h(EMPTY_ROOT));
    assert_eq!(root_from_leaves(&[]), h(EMPTY_ROOT));
}

#[test]
fn hashing_is_domain_separated() {
    // The tree of one empty leaf has SHA-256(0x00) as its head.
    assert_eq!(leaf_hash(b""), h(ROOTS[0]));
    // A node over the first two leaves is the two-leaf head.
    let leaves = leaf_hashes();
    assert_eq!(node_hash(&leaves[0], &leaves[1]), h(ROOTS[1]));
    assert_ne!(leaf_hash(&[leaves[0].as_bytes().as_slice(), leaves[1].as_bytes()].concat()), h(ROOTS[1]));
}

#[test]
fn roots_of_the_eight_reference_trees() {
    let log = reference_log();
    let leaves = leaf_hashes();
    for (i, expected) in ROOTS.iter().enumerate() {
        let size = i as u64 + 1;
        assert_eq!(log.root_at(size).unwrap(), h(expected), "root_at({size})");
        assert_eq!(root_from_leaves(&leaves[..=i]), h(expected), "root_from_leaves({size})");
        let mut grown = MerkleLog::in_memory();
        grown.append_all(leaves[..=i].iter().copied()).unwrap();
        assert_eq!(grown.root(), h(expected), "incremental root at {size}");
    }
}

#[test]
fn inclusion_proofs_match_the_reference() {
    let log = reference_log();
    for (index, size, expected) in INCLUSION {
        let proof = log.inclusion_proof(index, size).unwrap();
        assert_eq!(proof.hashes, hashes(expected), "PATH({index}, D[{size}])");
        let leaf = leaf_hashes()[index as usize];
        let root = h(ROOTS[size as usize - 1]);
        proof.verify(&leaf, &root).unwrap();
    }
}

#[test]
fn consistency_proofs_match_the_reference() {
    let log = reference_log();
    for (old, new, expected) in CONSISTENCY {
        let proof = log.consistency_proof(old, new).unwrap();
        assert_eq!(proof.hashes, hashes(expected), "PROOF({old}, D[{new}])");
        proof.verify(&h(ROOTS[old as usize - 1]), &h(ROOTS[new as usize - 1])).unwrap();
    }
}

/// The probes of transparency-dev/merkle's `corruptInclusionProof`.
#[test]
fn corrupted_inclusion_proofs_fail() {
    let some_hash = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    for (index, size, proof) in INCLUSION {
        let proof = hashes(proof);
        let root = h(ROOTS[size as usize - 1]);
        let leaf = leaf_hashes()[index as usize];
        verify_inclusion(&leaf, index, size, &proof, &root).unwrap();

        let mut probes: Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            ("index - 1".into(), index.wrapping_sub(1), size, root, leaf, proof.clone()),
            ("index + 1".into(), index + 1, size, root, leaf, proof.clone()),
            ("index ^ 2".into(), index ^ 2, size, root, leaf, proof.clone()),
            ("size * 2".into(), index, size * 2, root, leaf, proof.clone()),
            ("size / 2".into(), index, size / 2, root, leaf, proof.clone()),
            ("wrong leaf".into(), index, size, root, leaf_hash(b"WrongLeaf"), proof.clone()),
            ("empty root".into(), index, size, Hash::EMPTY_ROOT, leaf, proof.clone()),
            ("random root".into(), index, size, some_hash, leaf, proof.clone()),
            ("trailing root".into(), index, size, root, leaf, [proof.clone(), vec![root]].concat()),
            ("preceding root".into(), index, size, root, leaf, [vec![root], proof.clone()].concat()),
        ];
        for i in 0..proof.len() {
            let mut bad = proof.clone();
            let mut bytes = *bad[i].as_bytes();
            bytes[0] ^= 8;
            bad[i] = Hash::from_bytes(bytes);
            probes.push((format!("proof[{i}] bit 3"), index, size, root, leaf, bad));
        }
        if !proof.is_empty() {
            probes.push(("removed component".into(), index, size, root, leaf, proof[..proof.len() - 1].to_vec()));
        }
        if proof.len() > 1 {
            let inserted = [vec![proof[0], some_hash], proof[1..].to_vec()].concat();
            probes.push(("inserted component".into(), index, size, root, leaf, inserted));
        }
        for (what, index, size, root, leaf, proof) in probes {
            // The reference suite treats index - 1 of leaf 0 as a large index: out of range.
            assert!(
                verify_inclusion(&leaf, index, size, &proof, &root).is_err(),
                "PATH({index}, D[{size}]) verified with {what}"
            );
        }
    }
}

/// The probes of transparency-dev/merkle's `corruptConsistencyProof`.
#[test]
fn corrupted_consistency_proofs_fail() {
    for (old, new, proof) in CONSISTENCY {
        let proof = hashes(proof);
        let root1 = h(ROOTS[old as usize - 1]);
        let root2 = h(ROOTS[new as usize - 1]);
        verify_consistency(old, new, &root1, &root2, &proof).unwrap();
        if proof.is_empty() {
            continue;
        }
        let wrong = leaf_hash(b"WrongRoot");
        let mut probes: Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            ("old - 1".into(), old - 1, new, root1, root2, proof.clone()),
            ("old + 1".into(), old + 1, new, root1, root2, proof.clone()),
            ("old ^ 2".into(), old ^ 2, new, root1, root2, proof.clone()),
            ("new * 2".into(), old, new * 2, root1, root2, proof.clone()),
            ("new / 2".into(), old, new / 2, root1, root2, proof.clone()),
            ("wrong root1".into(), old, new, wrong, root2, proof.clone()),
            ("wrong root2".into(), old, new, root1, wrong, proof.clone()),
            ("swapped roots".into(), old, new, root2, root1, proof.clone()),
            ("empty proof".into(), old, new, root1, root2, vec![]),
            ("trailing root1".into(), old, new, root1, root2, [proof.clone(), vec![root1]].concat()),
            ("trailing root2".into(), old, new, root1, root2, [proof.clone(), vec![root2]].concat()),
            ("preceding root1".into(), old, new, root1, root2, [vec![root1], proof.clone()].concat()),
            ("preceding root2".into(), old, new, root1, root2, [vec![root2], proof.clone()].concat()),
            ("preceding proof[0]".into(), old, new, root1, root2, [vec![proof[0]], proof.clone()].concat()),
            ("truncated proof".into(), old, new, root1, root2, proof[..proof.len() - 1].to_vec()),
        ];
        for i in 0..proof.len() {
            let mut bad = proof.clone();
            let mut bytes = *bad[i].as_bytes();
            bytes[0] ^= 16;
            bad[i] = Hash::from_bytes(bytes);
            probes.push((format!("proof[{i}] bit 4"), old, new, root1, root2, bad));
        }
        for (what, old, new, root1, root2, proof) in probes {
            assert!(
                verify_consistency(old, new, &root1, &root2, &proof).is_err(),
                "PROOF({old}, D[{new}]) verified with {what}"
            );
        }
    }
}

#[test]
fn consistency_edge_cases() {
    let a = leaf_hash(b"a");
    let b = leaf_hash(b"b");
    let empty = Hash::EMPTY_ROOT;
    // Equal sizes: an empty proof and equal heads.
    assert!(verify_consistency(0, 0, &empty, &empty, &[]).is_ok());
    assert!(verify_consistency(1, 1, &a, &a, &[]).is_ok());
    assert_eq!(verify_consistency(1, 1, &a, &b, &[]), Err(ProofError::Mismatch));
    assert_eq!(verify_consistency(1, 1, &a, &a, &[a]), Err(ProofError::WrongLength));
    // From the empty tree: an empty proof, and the old head must be the empty head.
    assert!(verify_consistency(0, 5, &empty, &b, &[]).is_ok());
    assert_eq!(verify_consistency(0, 5, &a, &b, &[]), Err(ProofError::Mismatch));
    assert_eq!(verify_consistency(0, 1, &empty, &a, &[empty]), Err(ProofError::WrongLength));
    // Time travel.
    assert_eq!(verify_consistency(2, 1, &a, &b, &[]), Err(ProofError::OldAfterNew { old: 2, new: 1 }));
    // A non-trivial pair needs a proof.
    assert_eq!(verify_consistency(1, 2, &a, &b, &[]), Err(ProofError::WrongLength));
    // Inclusion in an empty or too small tree.
    for (index, size) in [(0, 0), (1, 0), (2, 1), (1, 1)] {
        assert!(verify_inclusion(&a, index, size, &[], &a).is_err(), "({index}, {size})");
    }
    assert!(verify_inclusion(&a, 0, 1, &[], &a).is_ok());
}

#[test]
fn proofs_from_prefetched_nodes_equal_proofs_from_the_store() {
    let log = reference_log();
    let fetch = |ids: Vec<lessee_audit::NodeId>, size: u64| {
        NodeMap::new(size, ids.into_iter().map(|id| (id, log.store().node(id).unwrap().unwrap())))
    };
    for size in 0..=8u64 {
        let map = fetch(nodes_for_root(size), size);
        assert_eq!(root_at(&map, size).unwrap(), log.root_at(size).unwrap());
        for index in 0..size {
            let map = fetch(nodes_for_inclusion_proof(index, size).unwrap(), size);
            assert_eq!(prove_inclusion(&map, index, size).unwrap(), log.inclusion_proof(index, size).unwrap());
        }
        for old in 0..=size {
            let map = fetch(nodes_for_consistency_proof(old, size).unwrap(), size);
            assert_eq!(prove_consistency(&map, old, size).unwrap(), log.consistency_proof(old, size).unwrap());
        }
    }
    // O(log n) nodes, not n.
    assert!(nodes_for_root(1 << 40 | 12345).len() <= 41);
    assert!(nodes_for_inclusion_proof(77, 1 << 40 | 12345).unwrap().len() <= 2 * 41);
}

#[test]
fn requests_outside_the_log_are_refused() {
    let log = reference_log();
    assert!(log.root_at(9).is_err());
    assert!(log.inclusion_proof(8, 8).is_err());
    assert!(log.inclusion_proof(0, 9).is_err());
    assert!(log.consistency_proof(5, 4).is_err());
    assert!(log.consistency_proof(5, 9).is_err());
    assert!(nodes_for_inclusion_proof(3, 3).is_err());
}
