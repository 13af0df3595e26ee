//! The listener's certificate and key: loaded from PEM files, re-read on
//! demand, a pair that cannot serve refused with the file named (and the
//! key never quoted) while the previous pair stays in service.

use notarium_http::tls::CertReloader;
use rcgen::{CertificateParams, DnType, KeyPair};
use std::path::Path;

fn pair(cn: &str) -> (String, String, Vec<u8>) {
    let mut p = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    let key = KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem(), cert.der().to_vec())
}

fn write(dir: &Path, cert: &str, key: &str) {
    std::fs::write(dir.join("tls.pem"), cert).unwrap();
    std::fs::write(dir.join("tls.key"), key).unwrap();
}

#[test]
fn reload_swaps_the_pair_and_keeps_it_when_the_new_one_is_bad() {
    let dir = tempfile::tempdir().unwrap();
    let (c, k) = (dir.path().join("tls.pem"), dir.path().join("tls.key"));
    let (cert1, key1, der1) = pair("first");
    write(dir.path(), &cert1, &key1);
    let r = CertReloader::load(&c, &k).unwrap();
    assert_eq!(r.certificate(), der1);
    // The config builds (TLS 1.2 and 1.3 with ring).
    let _ = r.server_config();

    let (cert2, key2, der2) = pair("second");
    write(dir.path(), &cert2, &key2);
    r.reload().unwrap();
    assert_eq!(r.certificate(), der2);

    // A certificate with another certificate's key: refused, named, and
    // the key's content is not in the message.
    write(dir.path(), &cert1, &key2);
    let e = r.reload().unwrap_err().to_string();
    assert!(e.contains("is not the key of the certificate"), "{e}");
    assert!(e.contains("tls.key"), "{e}");
    let key_body: String = key2.lines().nth(1).unwrap().to_string();
    assert!(!e.contains(&key_body), "the key leaked into the error: {e}");
    assert_eq!(r.certificate(), der2, "the previous pair stays in service");

    // A key file that holds no key, a missing certificate file.
    write(dir.path(), &cert2, "not a key\n");
    let e = r.reload().unwrap_err().to_string();
    assert!(
        e.contains("tls_key_file") && e.contains("PRIVATE KEY"),
        "{e}"
    );
    std::fs::remove_file(&c).unwrap();
    let e = r.reload().unwrap_err().to_string();
    assert!(
        e.starts_with("tls_cert_file") && e.contains("tls.pem"),
        "{e}"
    );
    assert_eq!(r.certificate(), der2);

    // Loading fails the same way at start.
    let e = CertReloader::load(&c, &k).unwrap_err().to_string();
    assert!(e.contains("tls_cert_file"), "{e}");
}
