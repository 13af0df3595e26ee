//! `notarium tsa` over real HTTP (RFC 3161 §3.4), as a separate process:
//! OpenSSL's query sent with curl gets a reply `openssl ts -verify` accepts;
//! the client function gets a verified token and refuses an untrusted TSA;
//! and against hostile or broken TSAs (a small fake server here) it refuses
//! garbage and a wrong nonce, and tells a TSA that is down from one that
//! answers wrongly.

mod common;

use common::{TempDir, cert, notarium_bin, start_dev_tsa};
use notarium::tsa::{REPLY_TYPE, TsaClientError, request_timestamp};
use notarium_core::TrustRoots;
use notarium_core::merkle::sha256;
use notarium_timestamp::tsa::DevTsa;
use notarium_timestamp::{TimestampError, TimestampRequest, verify_token};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::Command;

const BODY: &[u8] = b"notarium.example/log\n7\nJ3f5vJtq6oQm0r3n5+o0m1zC7tP0e3F2wB4Ykq8R9sU=\n";

fn dev_roots() -> TrustRoots {
    TrustRoots::from_pem(&std::fs::read_to_string(cert("root.pem")).unwrap()).unwrap()
}

fn http() -> reqwest::Client {
    notarium_http::tls::install_default_provider();
    reqwest::Client::builder().build().unwrap()
}

fn run(dir: &TempDir, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?}:\n{text}");
    text
}

#[test]
fn openssl_query_through_curl_gets_a_reply_openssl_verifies() {
    let tsa = start_dev_tsa();
    let dir = TempDir::new("tsa-curl");
    std::fs::write(dir.path().join("body"), BODY).unwrap();
    run(
        &dir,
        "openssl",
        &[
            "ts", "-query", "-data", "body", "-sha256", "-cert", "-out", "q.tsq",
        ],
    );
    let content_type = run(
        &dir,
        "curl",
        &[
            "-sS",
            "--fail",
            "-H",
            "Content-Type: application/timestamp-query",
            "--data-binary",
            "@q.tsq",
            "-o",
            "r.tsr",
            "-w",
            "%{content_type}",
            &tsa.url,
        ],
    );
    assert_eq!(content_type, REPLY_TYPE);
    let root = cert("root.pem");
    let out = run(
        &dir,
        "openssl",
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
}

#[tokio::test]
async fn the_client_gets_verified_tokens_and_refuses_an_untrusted_tsa() {
    let tsa = start_dev_tsa();
    let http = http();
    let roots = dev_roots();
    let (token, info) = request_timestamp(&http, &tsa.url, sha256(BODY), &roots, &[])
        .await
        .unwrap();
    assert_eq!(
        info.tsa_common_name.as_deref(),
        Some("Notarium Development TSA")
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (info.gen_time - now).abs() <= 60,
        "genTime {}",
        info.gen_time_text()
    );
    assert_eq!(
        verify_token(&token, &sha256(BODY), &roots, &[]).unwrap(),
        info
    );
    let (_, second) = request_timestamp(&http, &tsa.url, sha256(BODY), &roots, &[])
        .await
        .unwrap();
    assert_ne!(
        info.serial, second.serial,
        "every token has its own serial number"
    );
    assert_ne!(info.nonce, second.nonce, "every request has its own nonce");

    let other = TrustRoots::from_pem(
        &std::fs::read_to_string(common::repo().join("tests/fixtures/pki/other-root.pem")).unwrap(),
    )
    .unwrap();
    let e = request_timestamp(&http, &tsa.url, sha256(BODY), &other, &[])
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            TsaClientError::Refused {
                why: TimestampError::Untrusted(_),
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("does not chain to a configured trust root"),
        "{e}"
    );
}

#[tokio::test]
async fn the_tsa_answers_other_requests_with_json_errors() {
    let tsa = start_dev_tsa();
    let http = http();
    for (method, path, ctype, status, code) in [
        ("POST", "", "text/plain", 415, "unsupported_media_type"),
        ("POST", "", "", 415, "unsupported_media_type"),
        ("GET", "", "", 405, "method_not_allowed"),
        (
            "POST",
            "tsa",
            "application/timestamp-query",
            404,
            "not_found",
        ),
    ] {
        let mut req = http.request(method.parse().unwrap(), format!("{}/{path}", tsa.url));
        if !ctype.is_empty() {
            req = req.header("content-type", ctype);
        }
        let resp = req.body("x").send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{method} /{path} {ctype}");
        let json: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(json["error"]["code"], code, "{json}");
    }
    // A body that is no TimeStampReq: 200 with a rejection (RFC 3161 §2.4.2).
    let resp = http
        .post(&tsa.url)
        .header("content-type", "application/timestamp-query")
        .body("not DER")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let dir = TempDir::new("tsa-garbage");
    std::fs::write(dir.path().join("r.tsr"), resp.bytes().await.unwrap()).unwrap();
    let text = run(&dir, "openssl", &["ts", "-reply", "-in", "r.tsr", "-text"]);
    assert!(text.contains("Status: Rejected."), "{text}");
    assert!(
        text.contains("the data submitted has the wrong format"),
        "{text}"
    );
}

/// A fake TSA: answers every HTTP request with `status`, `content_type`
/// and `body`. Returns its URL.
fn fake_tsa(status: &'static str, content_type: &'static str, body: Vec<u8>) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut request = vec![0; length];
            let _ = reader.read_exact(&mut request);
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    url
}

#[tokio::test]
async fn the_client_refuses_garbage_and_wrong_nonces_and_says_when_a_tsa_is_down() {
    let http = http();
    let roots = dev_roots();
    let imprint = sha256(BODY);

    let garbage = fake_tsa("200 OK", REPLY_TYPE, b"\x30\x03\x02\x01".to_vec());
    let e = request_timestamp(&http, &garbage, imprint, &roots, &[])
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            TsaClientError::Refused {
                why: TimestampError::Malformed { .. },
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("not a DER TimeStampResp"), "{e}");

    // A genuine, valid reply over the same data, to another request: a
    // replay, refused by its nonce.
    let dev = DevTsa::from_pem(
        &std::fs::read_to_string(cert("tsa.key")).unwrap(),
        &std::fs::read_to_string(cert("tsa.pem")).unwrap(),
    )
    .unwrap();
    let earlier = TimestampRequest::new(imprint, &[9; 8]).unwrap();
    let replay = dev.respond(earlier.der(), 1_764_900_000, &[1; 16]);
    earlier.check_response(&replay, &roots, &[]).unwrap();
    let replayer = fake_tsa("200 OK", REPLY_TYPE, replay);
    let e = request_timestamp(&http, &replayer, imprint, &roots, &[])
        .await
        .unwrap_err();
    assert!(
        matches!(
            &e,
            TsaClientError::Refused {
                why: TimestampError::WrongNonce { .. },
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("is not the request's nonce"), "{e}");

    let proxy = fake_tsa("502 Bad Gateway", "text/html", b"<h1>502</h1>".to_vec());
    let e = request_timestamp(&http, &proxy, imprint, &roots, &[])
        .await
        .unwrap_err();
    assert!(
        matches!(&e, TsaClientError::NotAReply { status: 502, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("<h1>502</h1>"), "{e}");

    // Down: a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = request_timestamp(
        &http,
        &format!("http://127.0.0.1:{port}/"),
        imprint,
        &roots,
        &[],
    )
    .await
    .unwrap_err();
    assert!(matches!(&e, TsaClientError::Unreachable { .. }), "{e}");
}

#[test]
fn a_wrong_key_or_a_missing_file_is_a_usage_error() {
    for (key, cert_file, says) in [
        ("court.key", "tsa.pem", "the key is not the certificate's"),
        ("no-such.key", "tsa.pem", "cannot read"),
        ("tsa.key", "root.key", "no CERTIFICATE in the PEM"),
    ] {
        let out = Command::new(notarium_bin())
            .args(["tsa", "--listen", "127.0.0.1:0", "--key"])
            .arg(cert(key))
            .arg("--cert")
            .arg(cert(cert_file))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key} {cert_file}: {stderr}");
        assert!(stderr.contains(says), "{key} {cert_file}: {stderr}");
    }
}
