//! One test per status code and per tlog-witness rule, against the real
//! binary over HTTP, with checkpoints signed by the development notary key.

mod common;

use common::*;
use notarium_core::checkpoint::{Checkpoint, is_notary_signature_by, verify_notary_signature};
use notarium_core::cosignature::Cosignature;
use notarium_core::encoding::b64;
use notarium_core::merkle::EMPTY_TREE_ROOT;
use notarium_core::note::Note;
use notarium_log::SigningKey;
use notarium_log::sign::SignCheckpoint;
use notarium_witness::state::{Cosigned, Decision, SqliteState, WitnessState};
use std::time::Duration;

/// A witness that has cosigned the development log at `size`.
fn witness_at(size: u64, log: &Log) -> (Setup, Witness, reqwest::blocking::Client) {
    let s = Setup::new();
    let w = s.start();
    let c = client();
    if size > 0 {
        let r = w.add(&c, log.body(0, size));
        assert_eq!(r.status, 200, "{r:?}");
    }
    (s, w, c)
}

/// The state did not change: same latest checkpoint, same history length.
fn assert_unchanged(
    s: &Setup,
    w: &Witness,
    c: &reqwest::blocking::Client,
    latest: &Resp,
    n: usize,
) {
    let now = w.latest(c, ORIGIN);
    assert_eq!((now.status, &now.body), (latest.status, &latest.body));
    assert_eq!(s.cosigned().len(), n);
}

#[test]
fn first_checkpoint_is_cosigned_with_the_witness_key_and_clock() {
    let log = Log::new(8, "a");
    let (_s, w, c) = witness_at(0, &log);
    let before = now();
    let r = w.add(&c, log.body(0, 5));
    let after = now();
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.content_type.starts_with("text/plain"), "{r:?}");
    let cs = check_cosignature(&r.body, &log.checkpoint(5), &certs("court.pem"));
    assert_eq!(cs.name, COURT);
    assert!(before <= cs.timestamp && cs.timestamp <= after, "{cs:?}");
}

#[test]
fn get_checkpoint_serves_the_latest_with_notary_signature_and_cosignature() {
    let log = Log::new(20, "a");
    let (_s, w, c) = witness_at(0, &log);
    let r = w.latest(&c, ORIGIN);
    assert_eq!(r.status, 404, "nothing cosigned yet: {r:?}");
    let line = w.add(&c, log.body(0, 7)).body;
    let r = w.latest(&c, ORIGIN);
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("text/plain"), "{r:?}");
    let note = Note::parse(&r.body).unwrap();
    let cp = Checkpoint::parse(note.text()).unwrap();
    assert_eq!(cp, log.checkpoint(7));
    assert_eq!(note.signatures().len(), 2, "{}", r.body);
    let notary = cert(&certs("notary.pem"));
    assert!(is_notary_signature_by(
        &note.signatures()[0],
        ORIGIN,
        &notary.key
    ));
    verify_notary_signature(note.text(), &note.signatures()[0], &notary.key).unwrap();
    assert_eq!(note.signatures()[1].to_line(), line);
    let court = cert(&certs("court.pem"));
    Cosignature::from_note_signature(&note.signatures()[1])
        .unwrap()
        .verify(&cp, &court.key)
        .unwrap();
}

#[test]
fn a_valid_consistency_proof_extends_the_log() {
    // SPEC: the proof from the old size to the checkpoint size verifies: 200.
    let log = Log::new(40, "a");
    let (s, w, c) = witness_at(5, &log);
    for (old, new) in [(5, 12), (12, 13), (13, 32), (32, 40)] {
        let r = w.add(&c, log.body(old, new));
        assert_eq!(r.status, 200, "{old} -> {new}: {r:?}");
        check_cosignature(&r.body, &log.checkpoint(new), &certs("court.pem"));
    }
    let sizes: Vec<u64> = s
        .cosigned()
        .iter()
        .map(|v| v["size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, vec![5, 12, 13, 32, 40]);
}

#[test]
fn the_same_checkpoint_again_is_cosigned_again() {
    // SPEC: old size = checkpoint size and identical root hashes pass.
    let log = Log::new(9, "a");
    let (s, w, c) = witness_at(9, &log);
    let r = w.add(&c, log.body(9, 9));
    assert_eq!(r.status, 200, "{r:?}");
    check_cosignature(&r.body, &log.checkpoint(9), &certs("court.pem"));
    assert_eq!(s.cosigned().len(), 2);
}

#[test]
fn signatures_from_unknown_keys_are_ignored_and_not_kept() {
    // SPEC: "it MUST ignore signatures from unknown keys".
    let log = Log::new(6, "a");
    let (_s, w, c) = witness_at(0, &log);
    let stranger = key(&fixture("other-notary.key"));
    // A signature by the same key name (the origin) but another key, and
    // one by an unrelated name, around the trusted one.
    let foreign = log.checkpoint(6).sign(&stranger).unwrap();
    let mut unrelated = foreign.clone();
    unrelated.name = "someone.example/key".into();
    let trusted = log.checkpoint(6).sign(&log.key).unwrap();
    let text = format!(
        "{}\n{}{}{}",
        log.checkpoint(6).body(),
        unrelated.to_line(),
        trusted.to_line(),
        foreign.to_line()
    );
    let r = w.add(&c, body(0, &[], &text));
    assert_eq!(r.status, 200, "{r:?}");
    // What is kept (and served) is the checkpoint with the trusted signature only.
    let served = Note::parse(&w.latest(&c, ORIGIN).body).unwrap();
    assert_eq!(served.signatures().len(), 2);
    assert_eq!(served.signatures()[0], trusted);
    assert_ne!(served.signatures()[0], foreign);
}

#[test]
fn unknown_origin_is_404() {
    // SPEC: "If the checkpoint origin is unknown, the witness MUST respond
    // with a "404 Not Found" HTTP status code."
    let log = Log::new(5, "a");
    let (s, w, c) = witness_at(5, &log);
    let before = w.latest(&c, ORIGIN);
    let other = Log::with_key("other.example/log", 5, "a", key(&certs("notary.key")));
    let r = w.add(&c, other.body(0, 5));
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.body.contains("other.example/log"), "{r:?}");
    assert_eq!(w.latest(&c, "other.example/log").status, 404);
    assert_unchanged(&s, &w, &c, &before, 1);
}

#[test]
fn no_trusted_signature_is_403() {
    // SPEC: "If none of the signatures verify against a trusted public key,
    // the witness MUST respond with a "403 Forbidden" HTTP status code."
    let log = Log::new(10, "a");
    let (s, w, c) = witness_at(5, &log);
    let before = w.latest(&c, ORIGIN);
    // Same origin, another notary's key (another CA's "notarium.example/log").
    let impostor = Log::with_key(ORIGIN, 10, "a", key(&fixture("other-notary.key")));
    let r = w.add(&c, body(5, &log.proof(5, 10), &impostor.note(10).to_text()));
    assert_eq!(r.status, 403, "{r:?}");
    // Signed by the witness's own key under the origin's name.
    let court = Log::with_key(ORIGIN, 10, "a", key(&certs("court.key")));
    let r = w.add(&c, body(5, &log.proof(5, 10), &court.note(10).to_text()));
    assert_eq!(r.status, 403, "{r:?}");
    // The trusted key's name and key ID, but a signature over another text.
    let mut forged = log.note(10);
    let sig11 = log.checkpoint(9).sign(&log.key).unwrap();
    forged.retain_signatures(|_| false);
    forged.add_signature(sig11).unwrap();
    let r = w.add(&c, body(5, &log.proof(5, 10), &forged.to_text()));
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.body.contains("does not verify"), "{r:?}");
    // A bad signature by the trusted key spoils the note even next to a good one.
    let mut both = log.note(10);
    both.add_signature(log.checkpoint(9).sign(&log.key).unwrap())
        .unwrap();
    let r = w.add(&c, body(5, &log.proof(5, 10), &both.to_text()));
    assert_eq!(r.status, 403, "{r:?}");
    assert_unchanged(&s, &w, &c, &before, 1);
}

#[test]
fn malformed_bodies_are_400_and_change_nothing() {
    let log = Log::new(10, "a");
    let (s, w, c) = witness_at(5, &log);
    let before = w.latest(&c, ORIGIN);
    let note = log.note(10).to_text();
    let proof: String = log
        .proof(5, 10)
        .iter()
        .map(|h| format!("{}\n", b64(h)))
        .collect();
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"old 5\n".to_vec(),
        format!("old 5\n{proof}{note}").into_bytes(), // no empty line
        format!("old 05\n{proof}\n{note}").into_bytes(), // leading zero
        format!("old five\n{proof}\n{note}").into_bytes(),
        format!("older 5\n{proof}\n{note}").into_bytes(),
        format!("old 5\n{proof}AAAA\n\n{note}").into_bytes(), // not a hash
        format!("old 5\n{proof}\n{}", note.trim_end()).into_bytes(), // no final newline
        format!("old 5\n{proof}\n{}", log.checkpoint(10).body()).into_bytes(), // unsigned
        format!("old 5\n{proof}\n{}", note.replace("\n10\n", "\n010\n")).into_bytes(),
        format!("old 5\r\n{proof}\n{note}").into_bytes(),
        [
            format!("old 5\n{proof}\n").as_bytes(),
            b"\xff\xfe\n\n",
            note.as_bytes(),
        ]
        .concat(),
    ];
    for b in cases {
        let r = w.add(&c, b.clone());
        assert_eq!(r.status, 400, "{:?}: {r:?}", String::from_utf8_lossy(&b));
        assert!(r.body.contains("malformed"), "{r:?}");
    }
    assert_unchanged(&s, &w, &c, &before, 1);
}

#[test]
fn old_size_above_the_checkpoint_size_is_400() {
    // SPEC: "The old size MUST be equal to or lower than the checkpoint size.
    // Otherwise, the witness MUST respond with a "400 Bad Request"."
    let log = Log::new(10, "a");
    let (s, w, c) = witness_at(7, &log);
    let before = w.latest(&c, ORIGIN);
    let r = w.add(&c, body(7, &[], &log.note(5).to_text()));
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("larger than the checkpoint size"), "{r:?}");
    assert_unchanged(&s, &w, &c, &before, 1);
}

#[test]
fn more_than_63_proof_lines_is_400_and_63_are_read() {
    // SPEC: "The client MUST NOT send more than 63 consistency proof lines."
    let log = Log::new(10, "a");
    let (s, w, c) = witness_at(5, &log);
    let before = w.latest(&c, ORIGIN);
    let note = log.note(10).to_text();
    let h = log.proof(5, 10)[0];
    let r = w.add(&c, body(5, &vec![h; 64], &note));
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.body.contains("more than 63"), "{r:?}");
    // 63 lines are a well-formed (if wrong) proof: the proof check answers.
    let r = w.add(&c, body(5, &vec![h; 63], &note));
    assert_eq!(r.status, 422, "{r:?}");
    assert_unchanged(&s, &w, &c, &before, 1);
}

#[test]
fn a_body_over_the_limit_is_400() {
    let log = Log::new(10, "a");
    let (s, w, c) = witness_at(5, &log);
    let before = w.latest(&c, ORIGIN);
    let huge = format!(
        "{}{}",
        log.body(5, 10),
        "x".repeat(notarium_witness::protocol::MAX_BODY_BYTES)
    );
    // With a Content-Length...
    let r = w.add(&c, huge.clone());
    assert_eq!(r.status, 400, "{:?}", r.status);
    assert!(r.body.contains("larger than"), "{r:?}");
    // ...and streamed without one (chunked).
    let c2 = client();
    let r = resp(
        c2.post(format!("{}/add-checkpoint", w.url))
            .body(reqwest::blocking::Body::new(std::io::Cursor::new(
                huge.into_bytes(),
            )))
            .send()
            .unwrap(),
    );
    assert_eq!(r.status, 400, "{r:?}");
    let c3 = client();
    assert_unchanged(&s, &w, &c3, &before, 1);
}

#[test]
fn an_old_size_that_is_not_the_latest_is_409_with_the_latest_size() {
    // SPEC: "If it doesn't match, the witness MUST respond with a "409
    // Conflict" HTTP status code. The response body MUST consist of the tree
    // size of the latest cosigned checkpoint in decimal, followed by a
    // newline (U+000A). The response MUST have a Content-Type of
    // text/x.tlog.size."
    let log = Log::new(20, "a");
    let (s, w, c) = witness_at(12, &log);
    let before = w.latest(&c, ORIGIN);
    for (old, new) in [(5, 20), (0, 20), (13, 20), (12 + 1, 13)] {
        let r = w.add(&c, log.body(old, new));
        assert_eq!(r.status, 409, "{old}->{new}: {r:?}");
        assert_eq!(r.content_type, "text/x.tlog.size");
        assert_eq!(r.body, "12\n");
    }
    // A witness that never cosigned this log answers 0 to a non-zero old size.
    let (_s2, w2, c2) = witness_at(0, &log);
    let r = w2.add(&c2, log.body(5, 20));
    assert_eq!((r.status, r.body.as_str()), (409, "0\n"));
    assert_eq!(r.content_type, "text/x.tlog.size");
    assert_unchanged(&s, &w, &c, &before, 1);
}

#[test]
fn the_same_size_with_another_root_is_409_and_kept_as_evidence() {
    // SPEC: "If the old size matches the checkpoint size, the witness MUST
    // check that the root hashes are also identical. If they don't match,
    // the witness MUST respond with a "409 Conflict" HTTP status code."
    let log = Log::new(10, "a");
    let fork = Log::new(10, "b");
    let (s, w, c) = witness_at(10, &log);
    let before = w.latest(&c, ORIGIN);
    let req = fork.body(10, 10);
    let r = w.add(&c, req.clone());
    assert_eq!(r.status, 409, "{r:?}");
    assert_eq!(r.content_type, "text/x.tlog.size");
    assert_eq!(r.body, "10\n");
    assert_unchanged(&s, &w, &c, &before, 1);
    let evidence: Vec<_> = s
        .export(ORIGIN)
        .into_iter()
        .filter(|v| v["kind"] == "evidence")
        .collect();
    assert_eq!(evidence.len(), 1, "{evidence:?}");
    assert_eq!(evidence[0]["evidence"], "fork");
    assert_eq!(evidence[0]["request"], req.as_str());
    assert!(
        w.logs().contains("possible log misbehaviour"),
        "{}",
        w.logs()
    );
}

#[test]
fn a_consistency_proof_that_does_not_verify_is_422_and_kept_as_evidence() {
    // SPEC: "If the Merkle Consistency Proof doesn't verify, the witness MUST
    // respond with a "422 Unprocessable Entity" HTTP status code."
    // SPEC: "the witness MAY log the request even if the consistency proof
    // doesn't verify (but MUST NOT cosign the checkpoint)".
    let log = Log::new(16, "a");
    let fork = Log::new(16, "b");
    let (s, w, c) = witness_at(6, &log);
    let before = w.latest(&c, ORIGIN);
    // A fork signed by the notary, with its own (honest for the fork) proof.
    let bad = fork.body(6, 16);
    let r = w.add(&c, bad.clone());
    assert_eq!(r.status, 422, "{r:?}");
    // The right checkpoint with a proof for other sizes, truncated, tampered.
    let mut tampered = log.proof(6, 16);
    tampered[0][0] ^= 1;
    let short = log.proof(6, 16)[1..].to_vec();
    for proof in [log.proof(6, 15), short, tampered, Vec::new()] {
        let r = w.add(&c, body(6, &proof, &log.note(16).to_text()));
        assert_eq!(r.status, 422, "{r:?}");
    }
    assert_unchanged(&s, &w, &c, &before, 1);
    let evidence: Vec<_> = s
        .export(ORIGIN)
        .into_iter()
        .filter(|v| v["kind"] == "evidence")
        .collect();
    assert_eq!(evidence.len(), 5, "{evidence:?}");
    assert_eq!(evidence[0]["evidence"], "bad-proof");
    assert_eq!(evidence[0]["request"], bad.as_str());
    // The same request again is kept once.
    assert_eq!(w.add(&c, bad).status, 422);
    assert_eq!(
        s.export(ORIGIN)
            .iter()
            .filter(|v| v["kind"] == "evidence")
            .count(),
        5
    );
    // The honest proof still works afterwards.
    assert_eq!(w.add(&c, log.body(6, 16)).status, 200);
}

/// A flood of replayed notary-signed checkpoints with junk proofs does not
/// push out the first evidence of misbehaviour: the first requests of each
/// kind are kept, the newest rotate (issue 19, item 5).
#[test]
fn a_flood_of_junk_proofs_keeps_the_first_evidence() {
    let log = Log::new(16, "a");
    let fork = Log::new(16, "b");
    let s = Setup::with(Opts {
        extra: "max_evidence_per_log = 10",
        ..Opts::default()
    });
    let w = s.start();
    let c = client();
    assert_eq!(w.add(&c, log.body(0, 6)).status, 200);
    // The genuine evidence: a fork signed by the notary.
    let genuine = fork.body(6, 16);
    assert_eq!(w.add(&c, genuine.clone()).status, 422);
    // The flood: the honest checkpoint replayed with junk proofs.
    let note = log.note(16).to_text();
    let mut junk = Vec::new();
    for i in 0..50u8 {
        let b = body(6, &[[i; 32], [i ^ 0xff; 32]], &note);
        assert_eq!(w.add(&c, b.clone()).status, 422);
        junk.push(b);
    }
    let kept: Vec<String> = s
        .export(ORIGIN)
        .into_iter()
        .filter(|v| v["kind"] == "evidence")
        .map(|v| v["request"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kept.len(), 10, "bounded");
    assert_eq!(kept[0], genuine, "the first evidence survives the flood");
    // The first 5 are the first received; the other 5 the newest.
    assert_eq!(kept[1..5], junk[..4]);
    assert_eq!(kept[5..], junk[45..]);
}

#[test]
fn a_proof_from_size_zero_must_be_empty() {
    // SPEC: "The proof MUST be empty if the old size is zero."
    let log = Log::new(8, "a");
    let (s, w, c) = witness_at(0, &log);
    let r = w.add(&c, body(0, &log.proof(4, 8), &log.note(8).to_text()));
    assert_eq!(r.status, 422, "{r:?}");
    assert!(s.cosigned().is_empty());
    assert_eq!(w.latest(&c, ORIGIN).status, 404);
}

#[test]
fn the_empty_tree_can_be_cosigned_and_only_with_its_root() {
    let log = Log::new(0, "a");
    let (_s, w, c) = witness_at(0, &log);
    assert_eq!(log.root(0), EMPTY_TREE_ROOT);
    let r = w.add(&c, log.body(0, 0));
    assert_eq!(r.status, 200, "{r:?}");
    let wrong = Checkpoint::new(ORIGIN, 0, [7; 32]).unwrap();
    let r = w.add(
        &c,
        body(0, &[], &wrong.signed_note(&log.key).unwrap().to_text()),
    );
    assert_eq!(r.status, 400, "{r:?}");
}

#[test]
fn add_checkpoint_must_be_a_post() {
    // SPEC: "The request MUST be an HTTP POST."
    let log = Log::new(5, "a");
    let (_s, w, c) = witness_at(0, &log);
    for method in [reqwest::Method::GET, reqwest::Method::PUT] {
        let r = c
            .request(method.clone(), format!("{}/add-checkpoint", w.url))
            .body(log.body(0, 5))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 405, "{method}");
        assert_eq!(r.headers()["allow"], "POST");
    }
    assert_eq!(w.latest(&c, ORIGIN).status, 404, "nothing was cosigned");
}

#[test]
fn get_checkpoint_needs_a_known_origin() {
    let log = Log::new(5, "a");
    let (_s, w, c) = witness_at(5, &log);
    let r = resp(c.get(format!("{}/checkpoint", w.url)).send().unwrap());
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(w.latest(&c, "nobody.example/log").status, 404);
    assert_eq!(w.latest(&c, ORIGIN).status, 200);
    let r = resp(c.post(format!("{}/checkpoint", w.url)).send().unwrap());
    assert_eq!(r.status, 405);
    let r = resp(c.get(format!("{}/nothing-here", w.url)).send().unwrap());
    assert_eq!(r.status, 404);
}

/// An earlier run cosigned `size` at time `at` (a clock that was ahead).
fn cosigned_at(s: &Setup, log: &Log, size: u64, at: u64) {
    let court = key(&certs("court.key"));
    let state = SqliteState::open(&s.state, 10).unwrap();
    let cp = log.checkpoint(size);
    let line = notarium_log::sign::cosign(&court, COURT, at, &cp)
        .unwrap()
        .to_note_signature()
        .to_line();
    let next = Cosigned {
        origin: ORIGIN.into(),
        size,
        root: *cp.root(),
        cosigned_at: at,
        note: log.note(size).to_text(),
        cosignature: line,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(state.update(ORIGIN, move |_| Decision::Commit { next, reply: () }))
        .unwrap();
}

/// The value of an unlabelled sample in an exposition.
fn sample(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

fn utc_now_text() -> String {
    notarium_core::identity::seconds_text(now() as i64)
}

/// A clock that jumped forward while cosigning blocks cosigning once it is
/// corrected: the witness says so (503, log, metric), and the operator's
/// `reset-clock`, run with the witness stopped and the time confirmed,
/// recovers it without changing what was cosigned (issue 19, item 6).
#[test]
fn a_clock_that_jumped_forward_is_recovered_with_reset_clock() {
    let log = Log::new(10, "a");
    let s = Setup::with(Opts {
        extra: "metrics_token = \"witness-metrics-token-42\"",
        ..Opts::default()
    });
    let ahead = now() + 86_400;
    cosigned_at(&s, &log, 5, ahead);
    let metrics = |w: &Witness| {
        let c = client();
        let r = resp(
            c.get(format!("{}/metrics", w.url))
                .bearer_auth("witness-metrics-token-42")
                .send()
                .unwrap(),
        );
        sample(&r.body, "notarium_witness_clock_behind_seconds").expect("the clock gauge")
    };
    let w = s.start();
    let c = client();
    // Said at start, before any request.
    let behind = metrics(&w);
    assert!((86_000..=86_400).contains(&behind), "{behind}");
    assert!(w.logs().contains("reset-clock"), "{}", w.logs());
    let r = w.add(&c, log.body(5, 10));
    assert_eq!(r.status, 503, "{r:?}");
    assert!(
        r.body.contains("behind its last cosignature") && r.body.contains("reset-clock"),
        "{r:?}"
    );
    // Refused while the witness serves the state.
    let (st, _, err) = s.run(&["reset-clock", "--confirm-time", &utc_now_text()]);
    assert_eq!(st.code(), Some(2), "{err}");
    assert!(err.contains("in use by another notarium-witness"), "{err}");
    assert_eq!(w.terminate(Duration::from_secs(30)).code(), Some(0));
    // A confirmation the clock disagrees with changes nothing.
    let (st, _, err) = s.run(&["reset-clock", "--confirm-time", "2020-01-01T00:00:00Z"]);
    assert_eq!(st.code(), Some(2), "{err}");
    assert!(err.contains("correct the clock first"), "{err}");
    let (st, _, err) = s.run(&["reset-clock", "--confirm-time", "yesterday"]);
    assert_eq!(st.code(), Some(2), "{err}");
    let w = s.start();
    assert_eq!(w.add(&c, log.body(5, 10)).status, 503);
    w.kill9();
    // The reset.
    let (st, out, err) = s.run(&["reset-clock", "--confirm-time", &utc_now_text()]);
    assert!(st.success(), "{out}{err}");
    assert!(out.contains("it is now"), "{out}");
    let w = s.start();
    assert_eq!(metrics(&w), 0);
    let before = now();
    let r = w.add(&c, log.body(5, 10));
    assert_eq!(r.status, 200, "{r:?}");
    let cs = check_cosignature(&r.body, &log.checkpoint(10), &certs("court.pem"));
    assert!(
        cs.timestamp >= before && cs.timestamp <= now(),
        "{}",
        cs.timestamp
    );
    assert_eq!(metrics(&w), 0);
    // What was cosigned while the clock was ahead is kept as it was.
    let kept = s.cosigned();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0]["cosigned_at"], ahead);
    assert_eq!(kept[1]["size"], 10);
    // Once recovered there is nothing more to reset.
    w.kill9();
    let (st, out, _) = s.run(&["reset-clock", "--confirm-time", &utc_now_text()]);
    assert!(st.success());
    assert!(out.contains("nothing to reset"), "{out}");
}

#[test]
fn a_clock_behind_the_last_cosignature_is_503_and_logged() {
    let log = Log::new(10, "a");
    let s = Setup::new();
    // An earlier run cosigned size 5 at a time one hour ahead of the clock
    // now (the clock has since been set back).
    let ahead = now() + 3600;
    cosigned_at(&s, &log, 5, ahead);
    let w = s.start();
    let c = client();
    let r = w.add(&c, log.body(5, 10));
    assert_eq!(r.status, 503, "{r:?}");
    assert!(r.body.contains("behind its last cosignature"), "{r:?}");
    assert!(
        w.logs().contains("refusing to cosign until it catches up"),
        "{}",
        w.logs()
    );
    assert_eq!(s.cosigned().len(), 1);
    // The other rules still answer: a stale old size is still a 409.
    let r = w.add(&c, log.body(0, 10));
    assert_eq!((r.status, r.body.as_str()), (409, "5\n"));
}

#[test]
fn metrics_count_requests_by_status_and_cosign_latency() {
    let log = Log::new(10, "a");
    let s = Setup::with(Opts {
        extra: "metrics_token = \"witness-metrics-token-42\"",
        ..Opts::default()
    });
    let w = s.start();
    let c = client();
    assert_eq!(w.add(&c, log.body(0, 5)).status, 200);
    assert_eq!(w.add(&c, log.body(0, 10)).status, 409);
    assert_eq!(w.add(&c, log.body(5, 10)).status, 200);
    assert_eq!(w.add(&c, "nonsense").status, 400);
    // Behind its token only.
    for token in [None, Some("wrong-token-wrong-token")] {
        let mut req = c.get(format!("{}/metrics", w.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = resp(req.send().unwrap());
        assert_eq!(r.status, 401, "{token:?}: {r:?}");
        assert!(!r.body.contains("notarium_witness_"), "{r:?}");
    }
    let r = resp(
        c.get(format!("{}/metrics", w.url))
            .bearer_auth("witness-metrics-token-42")
            .send()
            .unwrap(),
    );
    assert_eq!(r.status, 200);
    assert!(
        r.content_type.starts_with("text/plain; version=0.0.4"),
        "{r:?}"
    );
    let m = &r.body;
    for line in [
        "notarium_witness_requests_total{endpoint=\"add-checkpoint\",status=\"200\"} 2\n",
        "notarium_witness_requests_total{endpoint=\"add-checkpoint\",status=\"409\"} 1\n",
        "notarium_witness_requests_total{endpoint=\"add-checkpoint\",status=\"400\"} 1\n",
        "notarium_witness_cosign_duration_seconds_count 2\n",
        "notarium_witness_cosign_duration_seconds_bucket{le=\"+Inf\"} 2\n",
        "notarium_witness_latest_size{origin=\"notarium.example/log\"} 10\n",
        "# TYPE notarium_witness_cosign_duration_seconds histogram\n",
    ] {
        assert!(m.contains(line), "missing {line:?} in\n{m}");
    }
}

/// `/metrics` is for operators: on the admin listener when there is one
/// (and then not on the public one), else behind a token, else nowhere.
#[test]
fn metrics_are_served_on_the_admin_listener_only() {
    let log = Log::new(5, "a");
    let c = client();
    // Neither an admin listener nor a token: no /metrics.
    let (_s, w, _) = witness_at(5, &log);
    assert_eq!(w.admin_url, None);
    let r = resp(c.get(format!("{}/metrics", w.url)).send().unwrap());
    assert_eq!(r.status, 404, "{r:?}");
    assert!(
        w.logs().contains("/metrics is not served"),
        "the operator is told: {}",
        w.logs()
    );
    // An admin listener: /metrics there, not on the public listener, even
    // with the token.
    let s = Setup::with(Opts {
        extra: "admin_listen = \"127.0.0.1:0\"\nmetrics_token = \"witness-metrics-token-42\"",
        ..Opts::default()
    });
    let w = s.start();
    assert_eq!(w.add(&c, log.body(0, 5)).status, 200);
    let admin = w.admin_url.clone().expect("the admin listener's line");
    assert_ne!(admin, w.url);
    let r = resp(
        c.get(format!("{}/metrics", w.url))
            .bearer_auth("witness-metrics-token-42")
            .send()
            .unwrap(),
    );
    assert_eq!(r.status, 404, "{r:?}");
    let r = resp(c.get(format!("{admin}/metrics")).send().unwrap());
    assert_eq!(r.status, 401, "the token is required there too: {r:?}");
    let r = resp(
        c.get(format!("{admin}/metrics"))
            .bearer_auth("witness-metrics-token-42")
            .send()
            .unwrap(),
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.body
            .contains("notarium_witness_latest_size{origin=\"notarium.example/log\"} 5\n"),
        "{}",
        r.body
    );
    assert_eq!(
        resp(c.get(format!("{admin}/healthz")).send().unwrap()).status,
        200
    );
    // The witness endpoints are not on the admin listener.
    let r = resp(
        c.post(format!("{admin}/add-checkpoint"))
            .body(log.body(5, 5))
            .send()
            .unwrap(),
    );
    assert_eq!(r.status, 404, "{r:?}");
}

#[test]
fn the_prefix_is_honoured() {
    let log = Log::new(5, "a");
    let s = Setup::with(Opts {
        prefix: "/witness",
        ..Opts::default()
    });
    let w = s.start();
    assert!(w.url.ends_with("/witness"), "{}", w.url);
    let c = client();
    let r = w.add(&c, log.body(0, 5));
    assert_eq!(r.status, 200, "{r:?}");
    let root = w.url.trim_end_matches("/witness");
    let r = resp(
        c.post(format!("{root}/add-checkpoint"))
            .body(log.body(5, 5))
            .send()
            .unwrap(),
    );
    assert_eq!(r.status, 404);
    assert_eq!(w.latest(&c, ORIGIN).status, 200);
}

#[test]
fn an_arbitration_witness_cosigns_with_its_own_name_and_key() {
    let log = Log::new(5, "a");
    let s = Setup::with(Opts {
        cert: certs("arbitration.pem"),
        key: certs("arbitration.key"),
        ..Opts::default()
    });
    let w = s.start();
    let r = w.add(&client(), log.body(0, 5));
    assert_eq!(r.status, 200, "{r:?}");
    let cs = check_cosignature(&r.body, &log.checkpoint(5), &certs("arbitration.pem"));
    assert_eq!(cs.name, "arbitration.example/witness");
}

#[test]
fn sigterm_stops_gracefully_and_the_state_survives() {
    let log = Log::new(10, "a");
    let (s, w, c) = witness_at(7, &log);
    let status = w.terminate(Duration::from_secs(20));
    assert!(status.success(), "{status}");
    let w = s.start();
    let r = w.add(&c, log.body(0, 10));
    assert_eq!((r.status, r.body.as_str()), (409, "7\n"));
    assert_eq!(w.add(&c, log.body(7, 10)).status, 200);
}

#[test]
fn a_second_witness_process_cannot_serve_the_same_state() {
    let s = Setup::new();
    let _w = s.start();
    let (st, _, err) = s.run(&["serve"]);
    assert_eq!(st.code(), Some(2), "{err}");
    assert!(err.contains("in use by another notarium-witness"), "{err}");
}

#[test]
fn a_fresh_key_under_the_origin_name_is_403() {
    let s = Setup::new();
    let w = s.start();
    let c = client();
    let k = SigningKey::from_pkcs8_der(&SigningKey::generate_pkcs8().unwrap()).unwrap();
    let stranger = Log::with_key(ORIGIN, 3, "a", k);
    let r = w.add(&c, stranger.body(0, 3));
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.body.contains("unknown keys ignored"), "{r:?}");
    assert!(s.cosigned().is_empty());
}
