//! RFC 3161 interoperability with OpenSSL, both ways, with the machine's
//! real `openssl` (3.x): tokens of the development TSA verify with
//! `openssl ts -verify`; tokens of an OpenSSL TSA (`openssl ts -reply`, an
//! EC P-256 key made here) verify with `verify_token`; and every tampered
//! or foreign token is refused by ours (and, where it applies, by OpenSSL).

use notarium_core::TrustRoots;
use notarium_core::identity::{CertInfo, certs_from_pem_file};
use notarium_core::merkle::sha256;
use notarium_timestamp::tsa::DevTsa;
use notarium_timestamp::{DEV_TSA_POLICY, TimestampError, TimestampRequest, verify_token};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cert(name: &str) -> PathBuf {
    repo().join("certs").join(name)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

struct TempDir(PathBuf);
impl TempDir {
    fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "notarium-tsa-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs openssl; returns (success, stdout + stderr).
fn openssl(dir: &TempDir, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(&dir.0)
        .output()
        .expect("openssl must be installed");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn openssl_ok(dir: &TempDir, args: &[&str]) -> String {
    let (ok, text) = openssl(dir, args);
    assert!(ok, "openssl {args:?} failed:\n{text}");
    text
}

fn dev_roots() -> TrustRoots {
    TrustRoots::from_pem(&read(&cert("root.pem"))).unwrap()
}

fn dev_tsa() -> DevTsa {
    DevTsa::from_pem(&read(&cert("tsa.key")), &read(&cert("tsa.pem"))).unwrap()
}

const NOW: u64 = 1_764_900_000; // 2025-12-05, inside every certificate's validity
const SERIAL: [u8; 16] = [0x9c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/// A TSA made with openssl for a test (tests/fixtures/make-openssl-tsa.sh):
/// EC P-256 root and TSA certificate (the TSA's extension lines given), and
/// an openssl config for `openssl ts -reply`.
struct OpensslTsa {
    dir: TempDir,
}

impl OpensslTsa {
    fn new(tag: &str, tsa_ext: &str, ess_cert_id_alg: &str) -> Self {
        let dir = TempDir::new(tag);
        let script = repo().join("tests/fixtures/make-openssl-tsa.sh");
        let out = Command::new("sh")
            .arg(script)
            .arg(&dir.0)
            .args([tsa_ext, ess_cert_id_alg])
            .output()
            .expect("sh and openssl must be installed");
        assert!(
            out.status.success(),
            "make-openssl-tsa.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        OpensslTsa { dir }
    }

    fn roots(&self) -> TrustRoots {
        TrustRoots::from_pem(&read(&self.dir.join("root.pem"))).unwrap()
    }

    /// `openssl ts -reply` to the DER request `query`: the response DER.
    fn reply(&self, query: &[u8]) -> Vec<u8> {
        std::fs::write(self.dir.join("q.tsq"), query).unwrap();
        openssl_ok(
            &self.dir,
            &["ts", "-reply", "-config", "tsa.cnf", "-queryfile", "q.tsq", "-out", "r.tsr"],
        );
        std::fs::read(self.dir.join("r.tsr")).unwrap()
    }

    /// A token over `data` through `openssl ts -query` and `-reply`.
    fn token_over(&self, data: &[u8]) -> Vec<u8> {
        std::fs::write(self.dir.join("data"), data).unwrap();
        openssl_ok(
            &self.dir,
            &["ts", "-query", "-data", "data", "-sha256", "-cert", "-out", "q.tsq"],
        );
        openssl_ok(
            &self.dir,
            &["ts", "-reply", "-config", "tsa.cnf", "-queryfile", "q.tsq", "-out", "r.tsr"],
        );
        openssl_ok(&self.dir, &["ts", "-reply", "-in", "r.tsr", "-token_out", "-out", "t.der"]);
        std::fs::read(self.dir.join("t.der")).unwrap()
    }
}

const CRITICAL_TSA_EXT: &str = "keyUsage = critical, digitalSignature, nonRepudiation\n\
                                extendedKeyUsage = critical, timeStamping";

const BODY: &[u8] = b"notarium.example/log\n42\nqZ8f7t1Uu3tT4Q0c7qfV9o3cZb1cQe0yJ7b0Zt8m6bA=\n";

#[test]
fn dev_tsa_tokens_verify_with_openssl_ts_verify() {
    let dir = TempDir::new("dev-openssl");
    std::fs::write(dir.join("body"), BODY).unwrap();
    let tsa = dev_tsa();
    let request = TimestampRequest::new(sha256(BODY), &[0x5a; 8]).unwrap();
    let response = tsa.respond(request.der(), NOW, &SERIAL);
    let (token, info) = request.check_response(&response, &dev_roots(), &[]).unwrap();
    assert_eq!(info.gen_time, NOW as i64);
    assert_eq!(info.policy, DEV_TSA_POLICY.to_string());
    assert_eq!(info.tsa_common_name.as_deref(), Some("Notarium Development TSA"));
    assert_eq!(info.serial, "009c0102030405060708090a0b0c0d0e0f");
    assert_eq!(info.chain.len(), 2, "TSA certificate and the development root");
    std::fs::write(dir.join("token.der"), &token).unwrap();
    std::fs::write(dir.join("resp.tsr"), &response).unwrap();
    let root = cert("root.pem");
    let tsa_pem = cert("tsa.pem");
    let (root, tsa_pem) = (root.to_str().unwrap(), tsa_pem.to_str().unwrap());

    // The brief's exact command: the token alone, over the data file.
    let out = openssl_ok(
        &dir,
        &[
            "ts",
            "-verify",
            "-data",
            "body",
            "-in",
            "token.der",
            "-token_in",
            "-CAfile",
            root,
            "-untrusted",
            tsa_pem,
        ],
    );
    assert!(out.contains("Verification: OK"), "{out}");
    // The whole response, and OpenSSL's reading of it.
    let out =
        openssl_ok(&dir, &["ts", "-verify", "-data", "body", "-in", "resp.tsr", "-CAfile", root]);
    assert!(out.contains("Verification: OK"), "{out}");
    let text = openssl_ok(&dir, &["ts", "-reply", "-in", "resp.tsr", "-text"]);
    assert!(text.contains("Status: Granted."), "{text}");
    assert!(text.contains("Policy OID: 1.2.3.4.3161.1"), "{text}");
    assert!(text.contains("Nonce: 0x5A5A5A5A5A5A5A5A"), "{text}");
    assert!(text.contains("Time stamp: Dec  5 02:00:00 2025 GMT"), "{text}");

    // Other data: OpenSSL refuses the token too.
    std::fs::write(dir.join("other"), b"another checkpoint body\n").unwrap();
    let (ok, out) = openssl(
        &dir,
        &[
            "ts",
            "-verify",
            "-data",
            "other",
            "-in",
            "token.der",
            "-token_in",
            "-CAfile",
            root,
            "-untrusted",
            tsa_pem,
        ],
    );
    assert!(!ok && out.contains("message imprint mismatch"), "{out}");
}

#[test]
fn dev_tsa_answers_openssl_queries_and_openssl_checks_the_nonce() {
    let dir = TempDir::new("dev-query");
    std::fs::write(dir.join("body"), BODY).unwrap();
    openssl_ok(&dir, &["ts", "-query", "-data", "body", "-sha256", "-cert", "-out", "q.tsq"]);
    let query = std::fs::read(dir.join("q.tsq")).unwrap();
    let response = dev_tsa().respond(&query, NOW, &SERIAL);
    std::fs::write(dir.join("r.tsr"), &response).unwrap();
    let root = cert("root.pem");
    // -queryfile: OpenSSL checks the imprint, the nonce and the policy
    // against its own request.
    let out = openssl_ok(
        &dir,
        &[
            "ts",
            "-verify",
            "-queryfile",
            "q.tsq",
            "-in",
            "r.tsr",
            "-CAfile",
            root.to_str().unwrap(),
        ],
    );
    assert!(out.contains("Verification: OK"), "{out}");

    // A SHA-1 query is rejected with badAlg, in a response OpenSSL reads.
    openssl_ok(&dir, &["ts", "-query", "-data", "body", "-sha1", "-out", "q1.tsq"]);
    let query = std::fs::read(dir.join("q1.tsq")).unwrap();
    std::fs::write(dir.join("r1.tsr"), dev_tsa().respond(&query, NOW, &SERIAL)).unwrap();
    let text = openssl_ok(&dir, &["ts", "-reply", "-in", "r1.tsr", "-text"]);
    assert!(text.contains("Status: Rejected"), "{text}");
    assert!(text.contains("unrecognized or unsupported algorithm identifier"), "{text}");
    // Garbage is rejected with badDataFormat.
    std::fs::write(dir.join("r2.tsr"), dev_tsa().respond(b"not DER", NOW, &SERIAL)).unwrap();
    let text = openssl_ok(&dir, &["ts", "-reply", "-in", "r2.tsr", "-text"]);
    assert!(text.contains("Status: Rejected"), "{text}");
    assert!(text.contains("the data submitted has the wrong format"), "{text}");
}

#[test]
fn openssl_tsa_tokens_verify_with_ours() {
    let tsa = OpensslTsa::new("openssl-ok", CRITICAL_TSA_EXT, "sha256");
    let token = tsa.token_over(BODY);
    let info = verify_token(&token, &sha256(BODY), &tsa.roots(), &[]).unwrap();
    assert_eq!(info.tsa_common_name.as_deref(), Some("OpenSSL Test TSA"));
    assert_eq!(info.policy, "1.2.3.4.1");
    assert_eq!(info.serial, "02", "the serial file said 01; OpenSSL uses the next");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        as i64;
    assert!((info.gen_time - now).abs() < 120, "genTime {} is now", info.gen_time_text());

    // Our request, OpenSSL's reply: the client's checks (nonce echoed,
    // certificate included as certReq asked) pass.
    let request = TimestampRequest::new(sha256(BODY), &[0xa5, 1, 2, 3, 4, 5, 6, 7]).unwrap();
    let (_, info) = request.check_response(&tsa.reply(request.der()), &tsa.roots(), &[]).unwrap();
    assert_eq!(info.nonce.as_deref(), Some(&[0x00, 0xa5, 1, 2, 3, 4, 5, 6, 7][..]));

    // Other data.
    let e = verify_token(&token, &sha256(b"other"), &tsa.roots(), &[]).unwrap_err();
    assert!(matches!(e, TimestampError::WrongImprint { .. }), "{e}");
    assert!(e.to_string().contains("message imprint is "), "{e}");
    // Another root: the development root does not certify OpenSSL's TSA.
    let e = verify_token(&token, &sha256(BODY), &dev_roots(), &[]).unwrap_err();
    assert!(matches!(e, TimestampError::Untrusted(_)), "{e}");
    assert!(e.to_string().contains("does not chain to a configured trust root"), "{e}");
}

#[test]
fn a_token_with_essc_cert_id_v1_only_is_refused() {
    // OpenSSL's default ess_cert_id_alg is SHA-1: ESSCertID (v1) only.
    let tsa = OpensslTsa::new("openssl-sha1", CRITICAL_TSA_EXT, "sha1");
    let token = tsa.token_over(BODY);
    let e = verify_token(&token, &sha256(BODY), &tsa.roots(), &[]).unwrap_err();
    assert!(matches!(e, TimestampError::Unsupported(_)), "{e}");
    assert!(e.to_string().contains("requires ESSCertIDv2 (RFC 5816)"), "{e}");
}

#[test]
fn a_tsa_certificate_without_a_critical_timestamping_eku_is_refused() {
    for (tag, ext, why) in [
        (
            "noncritical",
            "keyUsage = critical, digitalSignature\nextendedKeyUsage = timeStamping",
            "its extendedKeyUsage is not critical (RFC 3161 §2.3)",
        ),
        (
            "two-purposes",
            "keyUsage = critical, digitalSignature\nextendedKeyUsage = critical, timeStamping, serverAuth",
            "its extendedKeyUsage is not exactly timeStamping",
        ),
        (
            "no-eku",
            "keyUsage = critical, digitalSignature",
            "exactly one extendedKeyUsage extension",
        ),
    ] {
        // OpenSSL's own TSA refuses such a signer, so the development TSA
        // (which does not check its certificate) signs with it.
        let made = OpensslTsa::new(tag, ext, "sha256");
        let (ok, out) = openssl(&made.dir, &["ts", "-query", "-data", "tsa.cnf", "-out", "q.tsq"]);
        assert!(ok, "{out}");
        let (ok, out) = openssl(
            &made.dir,
            &["ts", "-reply", "-config", "tsa.cnf", "-queryfile", "q.tsq", "-out", "r.tsr"],
        );
        assert!(!ok, "openssl ts -reply signed with a {tag} TSA certificate:\n{out}");

        let tsa =
            DevTsa::from_pem(&read(&made.dir.join("tsa.key")), &read(&made.dir.join("tsa.pem")))
                .unwrap();
        let request = TimestampRequest::new(sha256(BODY), &[7; 8]).unwrap();
        let e = request
            .check_response(&tsa.respond(request.der(), NOW, &SERIAL), &made.roots(), &[])
            .unwrap_err();
        assert!(matches!(e, TimestampError::BadTsaCertificate { .. }), "{tag}: {e}");
        assert!(e.to_string().contains(why), "{tag}: {e}");
    }
}

#[test]
fn tampered_tokens_and_responses_are_refused() {
    let tsa = dev_tsa();
    let roots = dev_roots();
    let request = TimestampRequest::new(sha256(BODY), &[1; 8]).unwrap();
    let response = tsa.respond(request.der(), NOW, &SERIAL);
    let (token, _) = request.check_response(&response, &roots, &[]).unwrap();

    // A flipped byte of the signature (the token's last bytes: a
    // SignerInfo without unsigned attributes ends with it), by us and
    // by OpenSSL.
    let mut flipped = token.clone();
    *flipped.last_mut().unwrap() ^= 0x01;
    let e = verify_token(&flipped, &sha256(BODY), &roots, &[]).unwrap_err();
    assert!(matches!(e, TimestampError::BadSignature(_)), "{e}");
    assert!(e.to_string().contains("ECDSA signature over the signed attributes"), "{e}");
    let dir = TempDir::new("flipped");
    std::fs::write(dir.join("body"), BODY).unwrap();
    std::fs::write(dir.join("t.der"), &flipped).unwrap();
    let root = cert("root.pem");
    let (ok, out) = openssl(
        &dir,
        &[
            "ts",
            "-verify",
            "-data",
            "body",
            "-in",
            "t.der",
            "-token_in",
            "-CAfile",
            root.to_str().unwrap(),
        ],
    );
    assert!(!ok, "openssl accepted a flipped signature byte: {out}");

    // A changed byte of the TSTInfo (the serial number's last byte): the
    // message-digest attribute no longer matches.
    let at = token.windows(SERIAL.len()).position(|w| w == SERIAL).unwrap();
    let mut changed = token.clone();
    changed[at + 15] ^= 0x01;
    let e = verify_token(&changed, &sha256(BODY), &roots, &[]).unwrap_err();
    assert!(e.to_string().contains("message-digest attribute is not the SHA-256"), "{e}");

    // Another root.
    let other =
        TrustRoots::from_pem(&read(&repo().join("tests/fixtures/pki/other-root.pem"))).unwrap();
    let e = request.check_response(&response, &other, &[]).unwrap_err();
    assert!(matches!(e, TimestampError::Untrusted(_)), "{e}");

    // The response to another request (same data, other nonce).
    let other_request = TimestampRequest::new(sha256(BODY), &[2; 8]).unwrap();
    let e = other_request.check_response(&response, &roots, &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the token's nonce 0101010101010101 is not the request's nonce 0202020202020202"
    );
    // The response for other data.
    let other_data = TimestampRequest::new(sha256(b"x"), &[1; 8]).unwrap();
    let e = other_data.check_response(&response, &roots, &[]).unwrap_err();
    assert!(matches!(e, TimestampError::WrongImprint { .. }), "{e}");

    // Garbage, truncation, a rejection.
    for garbage in [&b"<html>502 Bad Gateway</html>"[..], &response[..response.len() - 1]] {
        let e = request.check_response(garbage, &roots, &[]).unwrap_err();
        assert!(
            e.to_string().starts_with("malformed timestamp response: not a DER TimeStampResp"),
            "{e}"
        );
    }
    let e = request.check_response(&tsa.respond(b"junk", NOW, &SERIAL), &roots, &[]).unwrap_err();
    assert!(matches!(e, TimestampError::NotGranted(_)), "{e}");
    assert!(e.to_string().contains("not a DER TimeStampReq"), "{e}");

    // The TSA certificate not in the token: found when given.
    let req_no_cert = {
        // certReq false, built by OpenSSL (no -cert).
        let dir = TempDir::new("nocert");
        std::fs::write(dir.join("body"), BODY).unwrap();
        openssl_ok(&dir, &["ts", "-query", "-data", "body", "-sha256", "-out", "q.tsq"]);
        std::fs::read(dir.join("q.tsq")).unwrap()
    };
    let resp = tsa.respond(&req_no_cert, NOW, &SERIAL);
    let token_no_cert = {
        let dir = TempDir::new("nocert-out");
        std::fs::write(dir.join("r.tsr"), &resp).unwrap();
        openssl_ok(&dir, &["ts", "-reply", "-in", "r.tsr", "-token_out", "-out", "t.der"]);
        std::fs::read(dir.join("t.der")).unwrap()
    };
    let e = verify_token(&token_no_cert, &sha256(BODY), &roots, &[]).unwrap_err();
    assert!(e.to_string().contains("neither in the token nor among the given"), "{e}");
    let given: Vec<CertInfo> = certs_from_pem_file(&read(&cert("tsa.pem"))).unwrap();
    verify_token(&token_no_cert, &sha256(BODY), &roots, &given).unwrap();
    // ... but not another certificate with the TSA's name and serial.
    let court: Vec<CertInfo> = certs_from_pem_file(&read(&cert("court.pem"))).unwrap();
    assert!(verify_token(&token_no_cert, &sha256(BODY), &roots, &court).is_err());
}

#[test]
fn a_token_outside_the_tsa_certificate_validity_is_refused() {
    // genTime 2040: the development TSA certificate expired in 2035.
    let request = TimestampRequest::new(sha256(BODY), &[3; 8]).unwrap();
    let response = dev_tsa().respond(request.der(), 2_208_988_800, &SERIAL);
    let e = request.check_response(&response, &dev_roots(), &[]).unwrap_err();
    assert!(e.to_string().contains("is not valid at 2040-01-01T00:00:00Z"), "{e}");
}

/// Every byte of a token is covered: changing any one of them (two ways)
/// makes the token refused, for the development TSA's tokens and OpenSSL's.
#[test]
fn every_changed_byte_of_a_token_is_refused() {
    let request = TimestampRequest::new(sha256(BODY), &[4; 8]).unwrap();
    let (ours, _) = request
        .check_response(&dev_tsa().respond(request.der(), NOW, &SERIAL), &dev_roots(), &[])
        .unwrap();
    let openssl_tsa = OpensslTsa::new("every-byte", CRITICAL_TSA_EXT, "sha256");
    let theirs = openssl_tsa.token_over(BODY);
    for (name, token, roots) in
        [("ours", ours, dev_roots()), ("OpenSSL's", theirs, openssl_tsa.roots())]
    {
        verify_token(&token, &sha256(BODY), &roots, &[]).unwrap();
        let mut accepted = Vec::new();
        for i in 0..token.len() {
            for flip in [0x01u8, 0x80] {
                let mut changed = token.clone();
                changed[i] ^= flip;
                if verify_token(&changed, &sha256(BODY), &roots, &[]).is_ok() {
                    accepted.push((i, flip));
                }
            }
        }
        assert!(accepted.is_empty(), "{name} token accepted with changed bytes at {accepted:?}");
    }
}

#[test]
fn a_tsa_behind_an_intermediate_ca_needs_the_intermediate() {
    // A TSA certificate issued by the fixtures' intermediate CA (under the
    // development root); its tokens carry the TSA certificate only.
    let dir = TempDir::new("intermediate");
    let fix = repo().join("tests/fixtures/pki");
    let (ca, ca_key) = (fix.join("intermediate.pem"), fix.join("intermediate.key"));
    std::fs::write(
        dir.join("ext.cnf"),
        format!("[tsa]\nbasicConstraints = critical, CA:FALSE\n{CRITICAL_TSA_EXT}\n"),
    )
    .unwrap();
    openssl_ok(
        &dir,
        &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "tsa.key"],
    );
    openssl_ok(
        &dir,
        &["req", "-new", "-key", "tsa.key", "-subj", "/CN=Sub TSA", "-out", "tsa.csr"],
    );
    openssl_ok(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            ca.to_str().unwrap(),
            "-CAkey",
            ca_key.to_str().unwrap(),
            "-set_serial",
            "9",
            "-days",
            "3650",
            "-sha256",
            "-extfile",
            "ext.cnf",
            "-extensions",
            "tsa",
            "-out",
            "tsa.pem",
        ],
    );
    let tsa = DevTsa::from_pem(&read(&dir.join("tsa.key")), &read(&dir.join("tsa.pem"))).unwrap();
    let request = TimestampRequest::new(sha256(BODY), &[5; 8]).unwrap();
    // Now: the certificate made above is valid from now on.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let response = tsa.respond(request.der(), now.as_secs() + 1, &SERIAL);
    let e = request.check_response(&response, &dev_roots(), &[]).unwrap_err();
    assert!(matches!(e, TimestampError::Untrusted(_)), "{e}");
    assert!(e.to_string().contains("does not chain to a configured trust root"), "{e}");
    let intermediate = certs_from_pem_file(&read(&ca)).unwrap();
    let (_, info) = request.check_response(&response, &dev_roots(), &intermediate).unwrap();
    assert_eq!(info.chain.len(), 3, "TSA, intermediate, root");
    assert_eq!(info.tsa_common_name.as_deref(), Some("Sub TSA"));
}
