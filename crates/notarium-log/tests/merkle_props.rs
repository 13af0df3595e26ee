//! Exhaustive, property and cross-implementation tests of
//! `notarium_core::merkle`.
//!
//! * Every inclusion proof of every leaf of every tree size 1..=300 and every
//!   consistency proof between every pair of sizes 0 <= old <= new <= 300 is
//!   generated, verified, and compared byte for byte with ct-merkle 0.3's.
//! * rs_merkle 1.5 (RFC 6962 hashing through its `Hasher` trait) has the same
//!   root for every size 1..=1100 and the same audit paths, and accepts ours.
//! * Random sizes up to 10^6 (one shared `MemoryTree` of 10^6 leaves): proofs
//!   verify, and a random tamper is rejected.
//! * Tampering: every single-bit flip of every proof hash, of the leaf and of
//!   the roots, every dropped, inserted and swapped hash, every other index
//!   and every other size (against that size's honest root) is rejected:
//!   exhaustively for every proof of sizes up to 20, with sampled bits,
//!   indices and sizes for every leaf of 8 sizes and 1 in 35 consistency
//!   pairs up to 300, and one random mutation per case at sizes up to 10^6.

use ct_merkle::digest::Output;
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use notarium_core::merkle::{
    EMPTY_TREE_ROOT, Hash, NODE_HASH_PREFIX, leaf_hash, verify_consistency, verify_inclusion,
};
use notarium_log::tree::{Frontier, MemoryTree, Plan, TreeError};
use proptest::prelude::*;
use proptest::sample::Index;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The exhaustive range of tree sizes.
const EXHAUSTIVE: u64 = 300;
/// Sizes whose proofs get every single-bit flip (and every other mutation).
const TAMPER_ALL_BITS: u64 = 20;
/// The rs_merkle cross-check range.
const RS_MERKLE_SIZES: u64 = 1100;
/// The big shared tree.
const BIG: u64 = 1_000_000;

// ------------------------------------------------------------------ fixtures

/// Leaf `i`'s data. Distinct for every leaf, so no two ranges hash alike.
fn data(i: u64) -> [u8; 8] {
    i.to_be_bytes()
}

struct Fixture {
    tree: MemoryTree,
    leaves: Vec<Hash>,
    /// Roots of sizes 0..=n for small trees (empty for the big one).
    roots: Vec<Hash>,
}

impl Fixture {
    fn new(n: u64) -> Self {
        let mut tree = MemoryTree::new();
        let mut leaves = Vec::with_capacity(n as usize);
        for i in 0..n {
            let h = leaf_hash(&data(i));
            tree.push_leaf_hash(h);
            leaves.push(h);
        }
        let roots = if n <= RS_MERKLE_SIZES {
            (0..=n).map(|s| tree.root_at(s).unwrap()).collect()
        } else {
            Vec::new()
        };
        Fixture {
            tree,
            leaves,
            roots,
        }
    }
    fn root(&self, size: u64) -> Hash {
        match self.roots.get(size as usize) {
            Some(r) => *r,
            None => self.tree.root_at(size).unwrap(),
        }
    }
    fn leaf(&self, i: u64) -> Hash {
        self.leaves[i as usize]
    }
}

/// 1100 leaves: everything exhaustive, and the sizes tampering moves to.
fn small() -> &'static Fixture {
    static SMALL: OnceLock<Fixture> = OnceLock::new();
    SMALL.get_or_init(|| Fixture::new(RS_MERKLE_SIZES))
}

/// 10^6 leaves, built once for every test of this file that needs it.
fn big() -> &'static Fixture {
    static BIG_TREE: OnceLock<Fixture> = OnceLock::new();
    BIG_TREE.get_or_init(|| Fixture::new(BIG))
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut h = *h;
    h[bit / 8] ^= 1 << (bit % 8);
    h
}

/// RFC 9162 inclusion proof length: one hash per level of the leaf's path.
fn expected_inclusion_len(index: u64, size: u64) -> usize {
    let (mut lo, mut hi, mut n) = (0u64, size, 0);
    while hi - lo > 1 {
        let k = (hi - lo - 1).next_power_of_two();
        let k = if k >= hi - lo { k / 2 } else { k };
        if index < lo + k {
            hi = lo + k;
        } else {
            lo += k;
        }
        n += 1;
    }
    n
}

// ----------------------------------------------------------- rs_merkle glue

/// rs_merkle `Hasher` for RFC 6962 interior nodes. rs_merkle never hashes
/// leaves: `MerkleTree::from_leaves` takes leaf hashes, which we make with
/// `leaf_hash` (`SHA-256(0x00 || data)`). It calls `hash(left || right)` for
/// a pair through the trait's default `concat_and_hash`, which also promotes a
/// lone last node unchanged, as RFC 6962 does; so `hash` prefixes 0x01.
#[derive(Clone, Debug)]
struct Rfc6962Node;

impl rs_merkle::Hasher for Rfc6962Node {
    type Hash = Hash;
    fn hash(data: &[u8]) -> Hash {
        let mut h = Sha256::new();
        h.update([NODE_HASH_PREFIX]);
        h.update(data);
        h.finalize().into()
    }
}

// ------------------------------------------------------------ ct-merkle glue

type CtTree = MemoryBackedTree<Sha256, [u8; 8]>;

fn ct_root(h: &Hash, size: u64) -> RootHash<Sha256> {
    RootHash::new(Output::<Sha256>::from(*h), size)
}

fn concat(proof: &[Hash]) -> Vec<u8> {
    proof.concat()
}

// ------------------------------------------------- exhaustive, ct-merkle

#[test]
fn every_inclusion_proof_up_to_300_verifies_and_equals_ct_merkle() {
    let f = small();
    let mut ct = CtTree::new();
    let mut proofs = 0u64;
    for size in 1..=EXHAUSTIVE {
        ct.push(data(size - 1));
        let root = f.root(size);
        assert_eq!(ct.root(), ct_root(&root, size), "root of {size}");
        for index in 0..size {
            let proof = f.tree.inclusion_proof(index, size).unwrap();
            assert_eq!(proof.len(), expected_inclusion_len(index, size));
            verify_inclusion(&f.leaf(index), index, size, &proof, &root)
                .unwrap_or_else(|e| panic!("inclusion({index}, {size}): {e}"));
            let theirs = ct.prove_inclusion(index as usize);
            assert_eq!(
                theirs.as_bytes(),
                &concat(&proof)[..],
                "inclusion({index}, {size})"
            );
            ct.root()
                .verify_inclusion(
                    &data(index),
                    index,
                    &InclusionProof::from_bytes(concat(&proof)),
                )
                .unwrap_or_else(|e| {
                    panic!("ct-merkle rejects our inclusion({index}, {size}): {e}")
                });
            proofs += 1;
        }
        assert!(matches!(
            f.tree.inclusion_proof(size, size),
            Err(TreeError::IndexOutOfRange { .. })
        ));
    }
    assert_eq!(proofs, EXHAUSTIVE * (EXHAUSTIVE + 1) / 2);
}

#[test]
fn every_consistency_proof_up_to_300_verifies_and_equals_ct_merkle() {
    let f = small();
    let roots: Vec<Hash> = (0..=EXHAUSTIVE).map(|n| f.root(n)).collect();
    let mut ct = CtTree::new();
    let mut proofs = 0u64;
    for new in 1..=EXHAUSTIVE {
        ct.push(data(new - 1));
        let ct_new = ct.root();
        for old in 0..=new {
            let (r_old, r_new) = (&roots[old as usize], &roots[new as usize]);
            let proof = f.tree.consistency_proof(old, new).unwrap();
            assert!(proof.len() <= 2 * 64);
            assert_eq!(proof.is_empty(), old == 0 || old == new);
            verify_consistency(old, new, r_old, r_new, &proof)
                .unwrap_or_else(|e| panic!("consistency({old}, {new}): {e}"));
            if old > 0 {
                let theirs = ct.prove_consistency((new - old) as usize);
                assert_eq!(
                    theirs.as_bytes(),
                    &concat(&proof)[..],
                    "consistency({old}, {new})"
                );
                let ours = ConsistencyProof::<Sha256>::try_from_bytes(concat(&proof)).unwrap();
                ct_new
                    .verify_consistency(&ct_root(r_old, old), &ours)
                    .unwrap_or_else(|e| {
                        panic!("ct-merkle rejects our consistency({old}, {new}): {e}")
                    });
            }
            proofs += 1;
        }
        assert!(matches!(
            f.tree.consistency_proof(new + 1, new),
            Err(TreeError::SizeOutOfRange { .. })
        ));
    }
    assert_eq!(proofs, (EXHAUSTIVE + 1) * (EXHAUSTIVE + 2) / 2 - 1);
}

// ------------------------------------------------------------- rs_merkle

#[test]
fn rs_merkle_roots_and_audit_paths_agree_up_to_1100() {
    let f = small();
    let mut rs = rs_merkle::MerkleTree::<Rfc6962Node>::new();
    let (mut paths, mut verified) = (0u64, 0u64);
    for size in 1..=RS_MERKLE_SIZES {
        let n = size as usize;
        rs.insert(f.leaf(size - 1)).commit();
        let root = f.root(size);
        assert_eq!(rs.root(), Some(root), "root of {size}");
        // rs_merkle's own paths: every leaf up to 300, then a spread.
        let sample: Vec<u64> = {
            let mut v: Vec<u64> = (0..size).step_by((size / 7).max(1) as usize).collect();
            v.extend([size / 2, size - 1]);
            v
        };
        let indices: Vec<u64> = if size <= EXHAUSTIVE {
            (0..size).collect()
        } else {
            sample.clone()
        };
        for index in indices {
            let ours = f.tree.inclusion_proof(index, size).unwrap();
            let theirs = rs.proof(&[index as usize]);
            assert_eq!(
                theirs.proof_hashes(),
                &ours[..],
                "audit path of {index} in {size}"
            );
            paths += 1;
        }
        // rs_merkle's verifier accepts our paths.
        for index in sample {
            let ours = f.tree.inclusion_proof(index, size).unwrap();
            assert!(
                rs_merkle::MerkleProof::<Rfc6962Node>::new(ours).verify(
                    root,
                    &[index as usize],
                    &[f.leaf(index)],
                    n
                ),
                "rs_merkle rejects our path of {index} in {size}"
            );
            verified += 1;
        }
    }
    eprintln!("{paths} rs_merkle paths equal ours, {verified} of ours verified by rs_merkle");
    assert!(paths > 45_150 + 800 * 8, "{paths}");
    assert!(verified > 1100 * 8, "{verified}");
}

#[test]
fn big_tree_root_equals_rs_merkle() {
    let f = big();
    assert_eq!(f.tree.size(), BIG);
    let rs = rs_merkle::MerkleTree::<Rfc6962Node>::from_leaves(&f.leaves);
    assert_eq!(rs.root(), Some(f.tree.root()));
    assert_eq!(f.root(BIG), f.tree.root());
}

// ------------------------------------------------------------- tampering

/// How hard to tamper with one proof.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Effort {
    /// Every bit of every hash and root, every other index and size in range.
    Exhaustive,
    /// Four bits per hash, and the neighbouring and related indices and sizes.
    Sampled,
}

impl Effort {
    fn bits(self) -> Vec<usize> {
        match self {
            Effort::Exhaustive => (0..256).collect(),
            Effort::Sampled => vec![0, 7, 100, 255],
        }
    }
}

/// Other values for a size or index `x`: all of `0..limit` when exhaustive,
/// else its neighbours and the Go probes' mutations (^2, *2, /2).
fn others(x: u64, limit: u64, effort: Effort) -> Vec<u64> {
    let mut v: Vec<u64> = match effort {
        Effort::Exhaustive => (0..limit).collect(),
        Effort::Sampled => [
            0,
            1,
            x.wrapping_sub(2),
            x.wrapping_sub(1),
            x + 1,
            x + 2,
            x ^ 1,
            x ^ 2,
            x / 2,
            x * 2,
            x.next_power_of_two(),
            limit - 1,
        ]
        .into_iter()
        .filter(|&o| o < limit)
        .collect(),
    };
    v.retain(|&o| o != x);
    v.sort_unstable();
    v.dedup();
    v
}

/// Hashes to insert into a proof: zeros, the roots and leaf at hand, and
/// copies of proof hashes.
fn extras(proof: &[Hash], known: &[Hash], effort: Effort) -> Vec<Hash> {
    let mut v = vec![[0u8; 32], EMPTY_TREE_ROOT];
    v.extend_from_slice(known);
    match effort {
        Effort::Exhaustive => v.extend_from_slice(proof),
        Effort::Sampled => v.extend(proof.first().into_iter().chain(proof.last())),
    }
    v
}

/// Everything an attacker can change about an inclusion proof of `index` in
/// `size`; a changed size is checked against the honest root of that size.
/// Returns how many mutants were rejected.
fn check_inclusion_tampering(f: &Fixture, index: u64, size: u64, effort: Effort) -> u64 {
    let leaf = f.leaf(index);
    let root = f.root(size);
    let proof = f.tree.inclusion_proof(index, size).unwrap();
    verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
    let mut n = 0u64;
    let mut reject = |what: &dyn Fn() -> String, l: &Hash, i: u64, s: u64, p: &[Hash], r: &Hash| {
        assert!(
            verify_inclusion(l, i, s, p, r).is_err(),
            "inclusion({index}, {size}): accepted {}",
            what()
        );
        n += 1;
    };
    let bits = effort.bits();
    for (pos, h) in proof.iter().enumerate() {
        for &bit in &bits {
            let mut p = proof.clone();
            p[pos] = flip(h, bit);
            reject(
                &|| format!("bit {bit} of hash {pos}"),
                &leaf,
                index,
                size,
                &p,
                &root,
            );
        }
    }
    for &bit in &bits {
        reject(
            &|| format!("leaf bit {bit}"),
            &flip(&leaf, bit),
            index,
            size,
            &proof,
            &root,
        );
        reject(
            &|| format!("root bit {bit}"),
            &leaf,
            index,
            size,
            &proof,
            &flip(&root, bit),
        );
    }
    for pos in 0..proof.len() {
        let mut p = proof.clone();
        p.remove(pos);
        reject(
            &|| format!("hash {pos} dropped"),
            &leaf,
            index,
            size,
            &p,
            &root,
        );
    }
    for pos in 0..=proof.len() {
        for x in extras(&proof, &[leaf, root], effort) {
            let mut p = proof.clone();
            p.insert(pos, x);
            reject(
                &|| format!("hash inserted at {pos}"),
                &leaf,
                index,
                size,
                &p,
                &root,
            );
        }
    }
    for a in 0..proof.len() {
        for b in a + 1..proof.len() {
            let mut p = proof.clone();
            p.swap(a, b);
            reject(
                &|| format!("hashes {a} and {b} swapped"),
                &leaf,
                index,
                size,
                &p,
                &root,
            );
        }
    }
    if proof.len() > 2 {
        let mut p = proof.clone();
        p.reverse();
        reject(&|| "reversed".into(), &leaf, index, size, &p, &root);
    }
    // Another index (the leaf stays that of `index`), also out of range.
    for other in others(index, size + 2, effort) {
        reject(
            &|| format!("index {other}"),
            &leaf,
            other,
            size,
            &proof,
            &root,
        );
    }
    // Another size, with the honest root of that size.
    for other in others(size, 2 * size + 2, effort) {
        let r = f.root(other);
        reject(&|| format!("size {other}"), &leaf, index, other, &proof, &r);
    }
    // The Go probes "treeSize * 2" and "treeSize / 2", which keep the root.
    // Keeping the root while changing the size is not rejected in general
    // (see `size_is_bound_to_the_proof_only_through_the_root`), but these two
    // always change the path's length.
    reject(&|| "size * 2".into(), &leaf, index, size * 2, &proof, &root);
    reject(&|| "size / 2".into(), &leaf, index, size / 2, &proof, &root);
    n
}

/// Everything an attacker can change about a consistency proof from `old` to
/// `new`; changed sizes are checked against the honest roots of those sizes.
fn check_consistency_tampering(f: &Fixture, old: u64, new: u64, effort: Effort) -> u64 {
    let (r_old, r_new) = (f.root(old), f.root(new));
    let proof = f.tree.consistency_proof(old, new).unwrap();
    verify_consistency(old, new, &r_old, &r_new, &proof).unwrap();
    let mut n = 0u64;
    let mut reject =
        |what: &dyn Fn() -> String, o: u64, w: u64, ro: &Hash, rn: &Hash, p: &[Hash]| {
            assert!(
                verify_consistency(o, w, ro, rn, p).is_err(),
                "consistency({old}, {new}): accepted {}",
                what()
            );
            n += 1;
        };
    let bits = effort.bits();
    for (pos, h) in proof.iter().enumerate() {
        for &bit in &bits {
            let mut p = proof.clone();
            p[pos] = flip(h, bit);
            reject(
                &|| format!("bit {bit} of hash {pos}"),
                old,
                new,
                &r_old,
                &r_new,
                &p,
            );
        }
    }
    for &bit in &bits {
        reject(
            &|| format!("old root bit {bit}"),
            old,
            new,
            &flip(&r_old, bit),
            &r_new,
            &proof,
        );
        reject(
            &|| format!("new root bit {bit}"),
            old,
            new,
            &r_old,
            &flip(&r_new, bit),
            &proof,
        );
    }
    reject(&|| "swapped roots".into(), old, new, &r_new, &r_old, &proof);
    reject(&|| "empty proof".into(), old, new, &r_old, &r_new, &[]);
    for pos in 0..proof.len() {
        let mut p = proof.clone();
        p.remove(pos);
        reject(
            &|| format!("hash {pos} dropped"),
            old,
            new,
            &r_old,
            &r_new,
            &p,
        );
    }
    for pos in 0..=proof.len() {
        for x in extras(&proof, &[r_old, r_new], effort) {
            let mut p = proof.clone();
            p.insert(pos, x);
            reject(
                &|| format!("hash inserted at {pos}"),
                old,
                new,
                &r_old,
                &r_new,
                &p,
            );
        }
    }
    for a in 0..proof.len() {
        for b in a + 1..proof.len() {
            if proof[a] != proof[b] {
                let mut p = proof.clone();
                p.swap(a, b);
                reject(
                    &|| format!("hashes {a} and {b} swapped"),
                    old,
                    new,
                    &r_old,
                    &r_new,
                    &p,
                );
            }
        }
    }
    // Another old size (with its honest root), from 0 up to `new`.
    for other in others(old, new + 1, effort) {
        let r = f.root(other);
        reject(
            &|| format!("old size {other}"),
            other,
            new,
            &r,
            &r_new,
            &proof,
        );
    }
    // Another new size (with its honest root), also below `old`.
    for other in others(new, 2 * new + 2, effort) {
        let r = f.root(other);
        reject(
            &|| format!("new size {other}"),
            old,
            other,
            &r_old,
            &r,
            &proof,
        );
    }
    n
}

#[test]
fn tampered_inclusion_proofs_are_rejected_exhaustively_for_small_trees() {
    let f = small();
    let mut n = 0;
    for size in 1..=TAMPER_ALL_BITS {
        for index in 0..size {
            n += check_inclusion_tampering(f, index, size, Effort::Exhaustive);
        }
    }
    eprintln!("{n} mutants rejected");
    assert!(n > 100_000, "{n} mutants");
}

#[test]
fn tampered_consistency_proofs_are_rejected_exhaustively_for_small_trees() {
    let f = small();
    let mut n = 0;
    for new in 2..=TAMPER_ALL_BITS {
        for old in 1..new {
            n += check_consistency_tampering(f, old, new, Effort::Exhaustive);
        }
    }
    eprintln!("{n} mutants rejected");
    assert!(n > 100_000, "{n} mutants");
}

#[test]
fn tampered_proofs_are_rejected_for_sizes_up_to_300() {
    let f = small();
    let mut n = 0;
    // Every leaf of a few awkward sizes, then a spread of pairs up to 300.
    for size in [33, 63, 64, 65, 127, 255, 257, 300] {
        for index in 0..size {
            n += check_inclusion_tampering(f, index, size, Effort::Sampled);
        }
    }
    for new in (TAMPER_ALL_BITS + 1..=EXHAUSTIVE).step_by(7) {
        for old in (1..new).step_by(5) {
            n += check_consistency_tampering(f, old, new, Effort::Sampled);
        }
    }
    eprintln!("{n} mutants rejected");
    assert!(n > 100_000, "{n} mutants");
}

#[test]
fn size_is_bound_to_the_proof_only_through_the_root() {
    let f = small();
    let proof = f.tree.inclusion_proof(0, 3).unwrap();
    verify_inclusion(&f.leaf(0), 0, 3, &proof, &f.root(3)).unwrap();
    verify_inclusion(&f.leaf(0), 0, 4, &proof, &f.root(3)).unwrap();
    assert!(verify_inclusion(&f.leaf(0), 0, 4, &proof, &f.root(4)).is_err());
}

#[test]
fn proofs_longer_than_any_tree_are_rejected() {
    let f = small();
    let leaf = f.leaf(5);
    let root = f.root(6);
    let mut proof = f.tree.inclusion_proof(5, 6).unwrap();
    proof.resize(200, [7u8; 32]);
    assert!(verify_inclusion(&leaf, 5, 6, &proof, &root).is_err());
    assert!(verify_inclusion(&leaf, 5, u64::MAX, &proof, &root).is_err());
    assert!(verify_consistency(5, 6, &f.root(5), &root, &proof).is_err());
    assert!(verify_consistency(5, u64::MAX, &f.root(5), &root, &proof).is_err());
    assert!(verify_consistency(u64::MAX - 1, u64::MAX, &f.root(5), &root, &proof).is_err());
}

/// A store that lost a node (or answers with the wrong count) makes proof
/// generation fail instead of producing a wrong proof.
#[test]
fn missing_hashes_fail_the_fold() {
    let f = small();
    for plan in [
        Plan::inclusion(3, 10).unwrap(),
        Plan::consistency(3, 10).unwrap(),
        Plan::root(10),
    ] {
        let mut hashes = f.tree.hashes(plan.ids()).unwrap();
        hashes.pop();
        assert!(matches!(
            plan.fold(&hashes),
            Err(TreeError::WrongHashCount { .. })
        ));
    }
    assert!(
        f.tree
            .hashes(Plan::root(RS_MERKLE_SIZES + 1).ids())
            .is_none()
    );
    assert!(f.tree.root_at(RS_MERKLE_SIZES + 1).is_err());
}

// ---------------------------------------------- random sizes up to 10^6

/// A tree size in 1..=10^6 and a leaf index inside it.
fn size_and_index() -> impl Strategy<Value = (u64, u64)> {
    (1..=BIG).prop_flat_map(|size| (Just(size), 0..size))
}

/// Two tree sizes 0 <= old <= new <= 10^6.
fn two_sizes() -> impl Strategy<Value = (u64, u64)> {
    (0..=BIG).prop_flat_map(|new| (0..=new, Just(new)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_inclusion_proofs_in_a_million_leaf_tree_verify(
        (size, index) in size_and_index(),
    ) {
        let f = big();
        let root = f.root(size);
        let proof = f.tree.inclusion_proof(index, size).unwrap();
        prop_assert_eq!(proof.len(), expected_inclusion_len(index, size));
        prop_assert!(verify_inclusion(&f.leaf(index), index, size, &proof, &root).is_ok());
        // The frontier reloaded out of the store has the same root.
        let edge = f.tree.hashes(&Frontier::plan(size)).unwrap();
        prop_assert_eq!(Frontier::from_hashes(size, edge).unwrap().root(), root);
    }

    #[test]
    fn random_consistency_proofs_in_a_million_leaf_tree_verify((old, new) in two_sizes()) {
        let f = big();
        let proof = f.tree.consistency_proof(old, new).unwrap();
        prop_assert!(
            verify_consistency(old, new, &f.root(old), &f.root(new), &proof).is_ok()
        );
    }

    #[test]
    fn random_bit_flips_in_a_million_leaf_tree_are_rejected(
        (size, index) in size_and_index(),
        (old, new) in two_sizes(),
        pos in any::<Index>(),
        bit in 0usize..256,
    ) {
        let f = big();
        let root = f.root(size);
        let mut proof = f.tree.inclusion_proof(index, size).unwrap();
        if !proof.is_empty() {
            let p = pos.index(proof.len());
            proof[p] = flip(&proof[p], bit);
            prop_assert!(verify_inclusion(&f.leaf(index), index, size, &proof, &root).is_err());
        }
        prop_assert!(
            verify_inclusion(&flip(&f.leaf(index), bit), index, size, &proof, &root).is_err()
        );
        let mut proof = f.tree.consistency_proof(old, new).unwrap();
        if !proof.is_empty() {
            let p = pos.index(proof.len());
            proof[p] = flip(&proof[p], bit);
            prop_assert!(
                verify_consistency(old, new, &f.root(old), &f.root(new), &proof).is_err()
            );
        }
    }

    #[test]
    fn random_structural_tampering_in_a_million_leaf_tree_is_rejected(
        (size, index) in size_and_index(),
        (old, new) in two_sizes(),
        pos in any::<Index>(),
        other in any::<Index>(),
    ) {
        let f = big();
        let leaf = f.leaf(index);
        let root = f.root(size);
        let proof = f.tree.inclusion_proof(index, size).unwrap();
        // Dropped, duplicated hashes.
        if !proof.is_empty() {
            let p = pos.index(proof.len());
            let mut dropped = proof.clone();
            dropped.remove(p);
            prop_assert!(verify_inclusion(&leaf, index, size, &dropped, &root).is_err());
            let mut dup = proof.clone();
            dup.insert(p, proof[p]);
            prop_assert!(verify_inclusion(&leaf, index, size, &dup, &root).is_err());
        }
        // Another index of the same tree, another size with its own root.
        let other_index = other.index(size as usize) as u64;
        if other_index != index {
            prop_assert!(verify_inclusion(&leaf, other_index, size, &proof, &root).is_err());
        }
        let other_size = index + 1 + other.index((BIG - index) as usize) as u64;
        if other_size != size {
            let r = f.root(other_size);
            prop_assert!(verify_inclusion(&leaf, index, other_size, &proof, &r).is_err());
        }
        // Consistency: a dropped hash, other sizes with their own roots.
        if old > 0 && old < new {
            let proof = f.tree.consistency_proof(old, new).unwrap();
            let (r_old, r_new) = (f.root(old), f.root(new));
            let mut dropped = proof.clone();
            dropped.remove(pos.index(proof.len()));
            prop_assert!(verify_consistency(old, new, &r_old, &r_new, &dropped).is_err());
            let other_old = other.index(new as usize + 1) as u64;
            if other_old != old {
                let r = f.root(other_old);
                prop_assert!(verify_consistency(other_old, new, &r, &r_new, &proof).is_err());
            }
            let other_new = old + other.index((BIG - old) as usize + 1) as u64;
            if other_new != new {
                let r = f.root(other_new);
                prop_assert!(verify_consistency(old, other_new, &r_old, &r, &proof).is_err());
            }
        }
    }

    #[test]
    fn a_frontier_loaded_from_the_store_keeps_appending_correctly(
        size in 0..BIG - 64,
        more in 1u64..64,
    ) {
        let f = big();
        let edge = f.tree.hashes(&Frontier::plan(size)).unwrap();
        let mut fr = Frontier::from_hashes(size, edge).unwrap();
        for i in size..size + more {
            let stored = fr.append(f.leaf(i));
            // The nodes the append completes are exactly the stored ones.
            for (id, h) in stored {
                prop_assert_eq!(f.tree.hashes(&[id]).unwrap(), vec![h]);
            }
        }
        prop_assert_eq!(fr.size(), size + more);
        prop_assert_eq!(fr.root(), f.root(size + more));
    }
}
