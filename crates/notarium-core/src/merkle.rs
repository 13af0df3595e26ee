//! RFC 9162 §2.1 Merkle tree hashing, and verification of inclusion and
//! consistency proofs. (Building trees and generating proofs is
//! `notarium-log`'s.)

use crate::error::MerkleError;
use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// RFC 9162 §2.1.1: leaf hashes are `SHA-256(0x00 || leaf)`.
pub const LEAF_HASH_PREFIX: u8 = 0x00;
/// RFC 9162 §2.1.1: interior node hashes are `SHA-256(0x01 || left || right)`.
pub const NODE_HASH_PREFIX: u8 = 0x01;
/// RFC 9162 §2.1.1: the hash of an empty list is the hash of the empty string.
pub const EMPTY_TREE_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];
/// The longest proof a tree of at most 2^63 leaves can have (tlog-witness
/// also caps consistency proofs at 63 lines).
pub const MAX_PROOF_LEN: usize = 63;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Hash {
    Sha256::digest(data).into()
}

/// SHA-256 of a stream, read in 1 MiB blocks by `read` (which fills the
/// buffer it is given and returns 0 at the end), calling `progress` with
/// each block's length: the one streaming hash the business client and the
/// verifier share. The core itself reads nothing; the caller's `read` does.
pub fn sha256_stream<E>(
    mut read: impl FnMut(&mut [u8]) -> Result<usize, E>,
    mut progress: impl FnMut(u64),
) -> Result<Hash, E> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize().into());
        }
        h.update(&buf[..n]);
        progress(n as u64);
    }
}

/// `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_HASH_PREFIX]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_HASH_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Hash comparison in time independent of where the hashes differ
/// (ct-merkle's habit): every byte is compared, and the optimiser is kept
/// from short-circuiting by `black_box`.
pub fn hashes_equal(a: &Hash, b: &Hash) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// RFC 9162 §2.1.3.2: verify that `leaf` is at `index` in the tree of `size`
/// with root `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    path: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    // SPEC: RFC 9162 §2.1.3.2 step 1: "Compare leaf_index from the
    // inclusion_proof against tree_size. If leaf_index is greater than or
    // equal to tree_size, then fail the proof verification."
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let bad = |why: &str| Err(MerkleError::BadInclusionProof(why.into()));
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        // SPEC: §2.1.3.2 step 5a: "If sn is 0, then stop the iteration and fail".
        if s == 0 {
            return bad("proof is too long");
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    // SPEC: §2.1.3.2 step 6: "Compare sn to 0. Compare r against the root_hash."
    if s != 0 {
        return bad("proof is too short");
    }
    if !hashes_equal(&r, root) {
        return bad("the proof leads to a different root hash");
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: verify that the tree of size `new` with root `new_root`
/// extends the tree of size `old` with root `old_root`.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    let bad = |why: &str| Err(MerkleError::BadConsistencyProof(why.into()));
    if old > new {
        return Err(MerkleError::SizeOutOfRange { old, new });
    }
    if old == new {
        if !proof.is_empty() {
            return bad("proof between equal sizes must be empty");
        }
        if !hashes_equal(old_root, new_root) {
            return bad("same size, different root hashes");
        }
        return Ok(());
    }
    if old == 0 {
        if !proof.is_empty() {
            return bad("proof from the empty tree must be empty");
        }
        return Ok(());
    }
    // SPEC: §2.1.4.2 step 1: "If consistency_path is an empty array, stop and fail".
    if proof.is_empty() {
        return bad("proof is empty");
    }
    // SPEC: step 2: "If first is an exact power of 2, then prepend first_hash
    // to the consistency_path array."
    let mut path: Vec<&Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(old_root);
    }
    path.extend(proof.iter());
    // SPEC: steps 3-4.
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*path[0], *path[0]);
    for c in &path[1..] {
        if s == 0 {
            return bad("proof is too long");
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    // SPEC: step 7: "verify that fr is equal to first_hash, sr is equal to
    // second_hash and sn is 0".
    if s != 0 {
        return bad("proof is too short");
    }
    if !hashes_equal(&fr, old_root) {
        return bad("the proof does not lead to the old root hash");
    }
    if !hashes_equal(&sr, new_root) {
        return bad("the proof does not lead to the new root hash");
    }
    Ok(())
}
