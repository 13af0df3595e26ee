//! `notarium-verify --exhibit FILE`: an equivocation exhibit written by
//! `notarium monitor` (docs/monitor.md), checked offline. Both notes must
//! be signed by a notary certificate under the trust roots (with every
//! cosignature they carry), and they must be unable to both be true: the
//! same size with different roots, or a consistency proof to the larger
//! note's root that fixes, at the smaller size, another root than the
//! smaller note's.

use notarium_core::Verifier;
use notarium_core::encoding::{b64, parse_b64_hash};
use notarium_core::identity::{CertInfo, certs_from_pem_file};
use notarium_core::merkle::{Hash, hashes_equal, verify_consistency};
use serde_json::Value;

/// The exhibit's `type`.
pub(crate) const EXHIBIT_TYPE: &str = "notarium/equivocation/v1";

/// What the exhibit shows.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Two signed checkpoints that cannot both be true.
    Proven(String),
    /// Not an equivocation that can be shown offline, and why.
    NotProven(String),
}

struct Side {
    size: u64,
    root: Hash,
}

/// Verifies an exhibit's JSON with `verifier` (trust roots, origin).
pub(crate) fn verify(json: &[u8], verifier: &Verifier) -> Verdict {
    match check(json, verifier) {
        Ok(v) => v,
        Err(why) => Verdict::NotProven(why),
    }
}

fn check(json: &[u8], verifier: &Verifier) -> Result<Verdict, String> {
    let v: Value = serde_json::from_slice(json).map_err(|e| format!("not JSON: {e}"))?;
    if v["type"] != EXHIBIT_TYPE {
        return Err(format!("\"type\" is not \"{EXHIBIT_TYPE}\""));
    }
    let mut certs: Vec<CertInfo> = Vec::new();
    for pem in v["certificates"]
        .as_array()
        .ok_or("no \"certificates\" array")?
    {
        let pem = pem.as_str().ok_or("a certificate is not a string")?;
        certs.extend(certs_from_pem_file(pem).map_err(|e| format!("certificates: {e}"))?);
    }
    let notes = v["notes"]
        .as_array()
        .filter(|n| n.len() == 2)
        .ok_or("\"notes\" must hold two notes")?;
    let mut sides = Vec::new();
    for (i, n) in notes.iter().enumerate() {
        let text = n["note"]
            .as_str()
            .ok_or(format!("note {}: no \"note\" text", i + 1))?;
        let (cp, cosigners) = verifier
            .check_checkpoint(text, &certs)
            .map_err(|e| format!("note {} does not verify: {e}", i + 1))?;
        if cosigners.is_empty() {
            return Err(format!("note {} carries no cosignature", i + 1));
        }
        sides.push((
            Side {
                size: cp.size(),
                root: *cp.root(),
            },
            cp.origin().to_string(),
        ));
    }
    let ((a, oa), (b, ob)) = (&sides[0], &sides[1]);
    if oa != ob {
        return Err(format!("the notes are of two logs, {oa} and {ob}"));
    }
    if a.size == b.size {
        return Ok(if hashes_equal(&a.root, &b.root) {
            Verdict::NotProven(format!(
                "both notes are the same checkpoint of size {}",
                a.size
            ))
        } else {
            Verdict::Proven(format!(
                "{oa} signed two checkpoints of size {} with different roots ({} and {})",
                a.size,
                b64(&a.root),
                b64(&b.root)
            ))
        });
    }
    let (small, big) = if a.size < b.size { (a, b) } else { (b, a) };
    let c = &v["consistency"];
    let (old, new) = (c["old_size"].as_u64(), c["new_size"].as_u64());
    if old != Some(small.size) || new != Some(big.size) {
        return Err(format!(
            "the notes are of sizes {} and {}: the exhibit needs a consistency proof between them",
            small.size, big.size
        ));
    }
    let old_root = c["old_root_in_new_tree"]
        .as_str()
        .ok_or("consistency: no old_root_in_new_tree")
        .and_then(|s| {
            parse_b64_hash("old_root_in_new_tree", s)
                .map_err(|_| "consistency: bad old_root_in_new_tree")
        })?;
    let proof = c["proof"]
        .as_array()
        .ok_or("consistency: no proof")?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(|s| parse_b64_hash("proof", s).ok())
                .ok_or("consistency: a proof hash is not base64 of 32 bytes")
        })
        .collect::<Result<Vec<Hash>, _>>()?;
    verify_consistency(small.size, big.size, &old_root, &big.root, &proof)
        .map_err(|e| format!("the consistency proof does not verify: {e}"))?;
    if hashes_equal(&old_root, &small.root) {
        return Ok(Verdict::NotProven(format!(
            "the notes are consistent: the tree of size {} extends the one of size {}{}",
            big.size,
            small.size,
            if v["kind"] == "rollback" {
                " (a rollback rests on the monitor's record of which it was served later, not on the notes)"
            } else {
                ""
            }
        )));
    }
    Ok(Verdict::Proven(format!(
        "{oa} signed a checkpoint of size {} whose tree holds, at size {}, the root {}, and a checkpoint of size {} with the root {}: they cannot both be true",
        big.size,
        small.size,
        b64(&old_root),
        small.size,
        b64(&small.root)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use notarium_core::{Policy, TrustRoots};
    use notarium_log::testkit::{Cosign, Signer, TestLog};
    use serde_json::json;

    fn read(name: &str) -> String {
        std::fs::read_to_string(format!("{}/../../certs/{name}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
    }

    fn signer(role: &str) -> Signer {
        Signer::from_pem(&read(&format!("{role}.key")), &read(&format!("{role}.pem")))
    }

    fn log(tag: &str, n: u8) -> TestLog {
        let mut l = TestLog::new();
        for i in 0..n {
            l.append(
                [i; 32],
                [tag.len() as u8; 32],
                None,
                tag,
                "2026-01-02T03:04:05.678Z",
            );
        }
        l
    }

    fn verifier() -> Verifier {
        let roots = TrustRoots::from_pem(&read("root.pem")).unwrap();
        Verifier::new(
            roots,
            Some("notarium.example/log".into()),
            Policy::default(),
        )
    }

    /// An exhibit of `a` (the larger) and `b`, with the proof in `a`'s tree.
    fn exhibit(a: &TestLog, b: &TestLog, witness_b: &str) -> Value {
        let (notary, court, arb) = (signer("notary"), signer("court"), signer("arbitration"));
        let w = |s| {
            [Cosign {
                witness: s,
                time: 1_780_000_000,
            }]
        };
        let na = a.checkpoint_note("notarium.example/log", &notary, &w(&court));
        let wb = if witness_b == "court" { &court } else { &arb };
        let nb = b.checkpoint_note("notarium.example/log", &notary, &w(wb));
        let (m, n) = (b.tree.size(), a.tree.size());
        let consistency = if m == n {
            Value::Null
        } else {
            let proof: Vec<String> = a
                .tree
                .consistency_proof(m, n)
                .unwrap()
                .iter()
                .map(|h| b64(h))
                .collect();
            json!({"old_size": m, "new_size": n, "proof": proof,
                   "old_root_in_new_tree": b64(&a.tree.root_at(m).unwrap())})
        };
        json!({"type": EXHIBIT_TYPE, "kind": "split-view",
               "notes": [{"note": na.to_text()}, {"note": nb.to_text()}],
               "consistency": consistency,
               "certificates": [notary.cert_pem, court.cert_pem, arb.cert_pem]})
    }

    fn run(v: &Value) -> Verdict {
        verify(&serde_json::to_vec(v).unwrap(), &verifier())
    }

    #[test]
    fn same_size_different_roots_is_proven() {
        let v = run(&exhibit(&log("acme", 3), &log("other", 3), "arbitration"));
        assert!(
            matches!(v, Verdict::Proven(ref s) if s.contains("different roots")),
            "{v:?}"
        );
    }

    #[test]
    fn a_smaller_fork_is_proven_by_the_consistency_proof() {
        let v = run(&exhibit(&log("acme", 5), &log("other", 3), "arbitration"));
        assert!(
            matches!(v, Verdict::Proven(ref s) if s.contains("cannot both be true")),
            "{v:?}"
        );
    }

    #[test]
    fn consistent_notes_are_not_an_equivocation() {
        // The smaller note is a prefix of the larger log.
        let v = run(&exhibit(&log("acme", 5), &log("acme", 3), "court"));
        assert!(
            matches!(v, Verdict::NotProven(ref s) if s.contains("consistent")),
            "{v:?}"
        );
        let v = run(&exhibit(&log("acme", 3), &log("acme", 3), "court"));
        assert!(
            matches!(v, Verdict::NotProven(ref s) if s.contains("same checkpoint")),
            "{v:?}"
        );
    }

    #[test]
    fn forged_or_incomplete_exhibits_prove_nothing() {
        // A note whose text was changed: its signature fails.
        let mut e = exhibit(&log("acme", 3), &log("other", 3), "arbitration");
        let t = e["notes"][1]["note"]
            .as_str()
            .unwrap()
            .replacen("\n3\n", "\n4\n", 1);
        e["notes"][1]["note"] = json!(t);
        assert!(
            matches!(run(&e), Verdict::NotProven(ref s) if s.contains("note 2 does not verify"))
        );
        // Without the witness's certificate its cosignature cannot verify.
        let mut e = exhibit(&log("acme", 3), &log("other", 3), "arbitration");
        e["certificates"].as_array_mut().unwrap().pop();
        assert!(matches!(run(&e), Verdict::NotProven(ref s) if s.contains("does not verify")));
        // A proof that does not lead to the larger root.
        let mut e = exhibit(&log("acme", 5), &log("other", 3), "arbitration");
        e["consistency"]["old_root_in_new_tree"] = json!(b64(&[7; 32]));
        assert!(matches!(run(&e), Verdict::NotProven(ref s) if s.contains("does not verify")));
        // Sizes that differ without a proof.
        let mut e = exhibit(&log("acme", 5), &log("other", 3), "arbitration");
        e["consistency"] = Value::Null;
        assert!(
            matches!(run(&e), Verdict::NotProven(ref s) if s.contains("needs a consistency proof"))
        );
        let mut e = exhibit(&log("acme", 3), &log("other", 3), "arbitration");
        e["type"] = json!("something/else");
        assert!(matches!(run(&e), Verdict::NotProven(_)));
    }
}
