//! TLS end to end, with certificates the test makes (rcgen): the notary
//! and the witnesses listen on https only, the notary asks its witnesses
//! over https trusting private CAs (one per witness, one for all), and
//! `notarium submit --server https://… --ca` gets witnessed certificates;
//! without the CA it fails once, naming the problem. Both servers re-read
//! their certificate on SIGHUP.

mod common;

use common::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A test CA that issues TLS server certificates.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(p, key),
        }
    }

    /// Writes the CA certificate to `dir/name`.
    fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, &self.pem).unwrap();
        p
    }

    /// A server certificate for 127.0.0.1 and localhost, written to
    /// `dir/name.pem` and `dir/name.key`; returns (cert, key, DER).
    fn issue(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf, Vec<u8>) {
        let mut p =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.issuer).unwrap();
        let (c, k) = (
            dir.join(format!("{name}.pem")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c, k, cert.der().to_vec())
    }
}

/// A witness of `role` listening on https with `cert` and `key`.
fn start_tls_witness(dir: &Path, role: &str, cert_key: (&Path, &Path)) -> Proc {
    let tls = format!(
        "tls_cert_file = \"{}\"\ntls_key_file = \"{}\"",
        cert_key.0.display(),
        cert_key.1.display()
    );
    start_witness_with(dir, role, &tls)
}

/// An HTTPS client trusting `ca` (besides the system's roots) that reports
/// the certificate each response came with; no connection is reused, so
/// each request shows what a new handshake presents.
fn client(ca: &Path) -> reqwest::Client {
    notarium_http::tls::install_default_provider();
    let pem = std::fs::read(ca).unwrap();
    reqwest::Client::builder()
        .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&pem).unwrap())
        .tls_info(true)
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The DER certificate a GET of `url` was served with.
async fn served_certificate(http: &reqwest::Client, url: &str) -> Option<Vec<u8>> {
    let r = http.get(url).send().await.ok()?;
    assert!(r.status().is_success(), "GET {url}: {}", r.status());
    r.extensions()
        .get::<reqwest::tls::TlsInfo>()?
        .peer_certificate()
        .map(<[u8]>::to_vec)
}

/// Sends SIGHUP to `p`.
fn hangup(p: &Proc) {
    let st = Command::new("kill")
        .args(["-HUP", &p.child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

fn submit(
    out: &Path,
    server: &str,
    key: &str,
    file: &Path,
    ca: Option<&Path>,
) -> std::process::Output {
    let mut cmd = Command::new(notarium_bin());
    cmd.arg("submit")
        .arg(file)
        .args(["--server", server, "--key", key, "--wait", "90"])
        .arg("--out")
        .arg(out)
        .arg("--trust")
        .arg(cert("root.pem"))
        .arg("--certs")
        .arg(cert("notary.pem"))
        .env_remove("NOTARIUM_SERVER")
        .env_remove("NOTARIUM_API_KEY");
    if let Some(ca) = ca {
        cmd.arg("--ca").arg(ca);
    }
    cmd.output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_everywhere_with_private_cas() {
    notarium_http::tls::install_default_provider();
    let dir = TempDir::new("tls");
    let d = dir.path();
    // Two private CAs: A for the notary and the court witness, B for the
    // arbitration witness.
    let (ca_a, ca_b) = (Ca::new("Test TLS CA A"), Ca::new("Test TLS CA B"));
    let (a_pem, b_pem) = (ca_a.write(d, "ca-a.pem"), ca_b.write(d, "ca-b.pem"));
    let (court_c, court_k, court_der) = ca_a.issue(d, "court-tls");
    let (arb_c, arb_k, _) = ca_b.issue(d, "arbitration-tls");
    let (notary_c, notary_k, notary_der) = ca_a.issue(d, "notary-tls");

    let court = start_tls_witness(d, "court", (&court_c, &court_k));
    let arb = start_tls_witness(d, "arbitration", (&arb_c, &arb_k));
    assert!(court.url.starts_with("https://127.0.0.1:"), "{}", court.url);
    assert!(arb.url.starts_with("https://127.0.0.1:"), "{}", arb.url);

    // The witness listener speaks only TLS: plain HTTP to its port fails,
    // https with its CA answers with the configured certificate.
    let plain = court.url.replacen("https://", "http://", 1);
    let answer = reqwest::Client::new()
        .get(format!("{plain}/healthz"))
        .send()
        .await;
    assert!(
        answer.is_err() || !answer.unwrap().status().is_success(),
        "plain HTTP answered on the TLS listener"
    );
    let http_a = client(&a_pem);
    assert_eq!(
        served_certificate(&http_a, &format!("{}/healthz", court.url)).await,
        Some(court_der)
    );

    // The notary on https; it trusts CA B for every witness
    // (trust.witness_ca_file) and CA A for the court (its ca_file).
    let cfg = d.join("notary.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"[server]
listen = "127.0.0.1:0"
data_dir = "{data}"
tls_cert_file = "{notary_c}"
tls_key_file = "{notary_k}"
[log]
origin = "notarium.example/log"
key_file = "{key}"
cert_file = "{cert}"
batch_interval_ms = 100
[trust]
roots = ["{root}"]
witness_ca_file = "{b_pem}"
[[witness]]
url = "{court}"
cert_file = "{court_cert}"
ca_file = "{a_pem}"
[[witness]]
url = "{arb}"
cert_file = "{arb_cert}"
"#,
            data = d.join("data").display(),
            notary_c = notary_c.display(),
            notary_k = notary_k.display(),
            key = cert("notary.key").display(),
            cert = cert("notary.pem").display(),
            root = cert("root.pem").display(),
            b_pem = b_pem.display(),
            a_pem = a_pem.display(),
            court = court.url,
            arb = arb.url,
            court_cert = cert("court.pem").display(),
            arb_cert = cert("arbitration.pem").display(),
        ),
    )
    .unwrap();
    let key = tenant_with_key(&cfg, None, "acme-tls");
    let notary = start_notary(&cfg, None);
    assert!(
        notary.url.starts_with("https://127.0.0.1:"),
        "{}",
        notary.url
    );
    assert_eq!(
        served_certificate(&http_a, &format!("{}/healthz", notary.url)).await,
        Some(notary_der)
    );

    // `notarium submit --ca`: a witnessed certificate, verified before it
    // was saved (--trust) and again here.
    let evidence = d.join("contract.txt");
    std::fs::write(&evidence, b"a contract sent over TLS").unwrap();
    let out = d.join("out");
    let o = submit(&out, &notary.url, &key, &evidence, Some(&a_pem));
    assert!(
        o.status.success(),
        "submit --ca failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json = std::fs::read(out.join("contract.txt.certificate.json")).unwrap();
    let digest = <sha2::Sha256 as sha2::Digest>::digest(b"a contract sent over TLS").into();
    let report = verifier().verify_certificate(&json, Some(&digest));
    assert!(report.valid && report.witnessed, "{:#?}", report.checks);

    // Without the CA (and with the wrong one): refused at the handshake,
    // said once with the reason, exit 1, nothing saved.
    for (ca, tag) in [(None, "none"), (Some(b_pem.as_path()), "wrong")] {
        let out = d.join(format!("out-{tag}"));
        let o = submit(&out, &notary.url, &key, &evidence, ca);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "CA {tag}: {err}");
        assert!(
            err.contains("cannot reach the notary")
                && err.contains("TLS")
                && err.contains("certificate is not accepted")
                && err.contains("UnknownIssuer"),
            "CA {tag}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "said once: {err}");
        assert!(!out.join("contract.txt.certificate.json").exists());
    }
    // A --ca file that holds no certificate is a usage error.
    let junk = d.join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let o = submit(
        &d.join("out-junk"),
        &notary.url,
        &key,
        &evidence,
        Some(&junk),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--ca") && err.contains("junk.pem"), "{err}");

    // Rotation: new pairs written over the files, SIGHUP, and the next
    // handshakes present them (the notary's now from CA B).
    let (_, _, notary_der2) = ca_b.issue(d, "notary-tls");
    let (_, _, court_der2) = ca_a.issue(d, "court-tls");
    hangup(&notary);
    hangup(&court);
    let http_b = client(&b_pem);
    let url = format!("{}/healthz", notary.url);
    eventually(
        "the notary's new certificate",
        Duration::from_secs(20),
        || async {
            (served_certificate(&http_b, &url).await.as_ref() == Some(&notary_der2)).then_some(())
        },
    )
    .await;
    let url = format!("{}/healthz", court.url);
    eventually(
        "the court's new certificate",
        Duration::from_secs(20),
        || async {
            (served_certificate(&http_a, &url).await.as_ref() == Some(&court_der2)).then_some(())
        },
    )
    .await;
    // The notary still reaches the reloaded court: a second submission
    // over the rotated certificates is witnessed too.
    let evidence2 = d.join("annex.txt");
    std::fs::write(&evidence2, b"an annex after the rotation").unwrap();
    let o = submit(&out, &notary.url, &key, &evidence2, Some(&b_pem));
    assert!(
        o.status.success(),
        "submit after rotation: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.join("annex.txt.certificate.json").exists());
}

#[test]
fn a_notary_tls_setting_without_its_pair_or_with_a_bad_key_is_refused() {
    let dir = TempDir::new("tls-config");
    let d = dir.path();
    let ca = Ca::new("Test TLS CA");
    let (c, _k, _) = ca.issue(d, "one");
    let (_c2, k2, _) = ca.issue(d, "two");
    let base = |tls: &str| {
        format!(
            r#"[server]
listen = "127.0.0.1:0"
data_dir = "{data}"
{tls}
[log]
origin = "notarium.example/log"
key_file = "{key}"
cert_file = "{cert}"
[trust]
roots = ["{root}"]
"#,
            data = d.join("data").display(),
            key = cert("notary.key").display(),
            cert = cert("notary.pem").display(),
            root = cert("root.pem").display(),
        )
    };
    for (tls, expect) in [
        (
            format!("tls_cert_file = \"{}\"", c.display()),
            "server.tls_cert_file and server.tls_key_file go together",
        ),
        (
            format!(
                "tls_cert_file = \"{}\"\ntls_key_file = \"{}\"",
                c.display(),
                k2.display()
            ),
            "is not the key of the certificate",
        ),
    ] {
        let cfg = d.join("notary.toml");
        std::fs::write(&cfg, base(&tls)).unwrap();
        let o = Command::new(notarium_bin())
            .args(["serve", "--config"])
            .arg(&cfg)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(expect), "{err}");
        let key_line = std::fs::read_to_string(&k2).unwrap();
        let key_line = key_line.lines().nth(1).unwrap();
        assert!(
            !err.contains(key_line),
            "key material in the message: {err}"
        );
    }
}
