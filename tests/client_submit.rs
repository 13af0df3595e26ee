//! `notarium submit` against a real notary and witnesses, through a proxy
//! that loses requests and responses: the client retries without
//! double-submitting (every attempt carries the same Idempotency-Key, so
//! the notary answers a retry of a stored request with its first answer), a
//! file it cannot read is reported while the others go on, and files that
//! share a name in different folders keep separate certificates.

mod common;

use common::*;
use serde_json::Value;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to the next submission POST.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Close the client's connection before the notary sees the request.
    LoseRequest,
    /// Forward the request, then close the connection instead of answering:
    /// the submission is stored but the client cannot know.
    LoseResponse,
    /// Forward the submission and change its receipts' signed group root
    /// on the way back (a man in the middle).
    TamperReceipt,
    /// Change the next `certificate.json` on the way back (applies to that
    /// GET, not to a submission).
    TamperCertificate,
}

/// Flips the first character of each receipt's signed group root.
fn tamper_receipts(body: &[u8]) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(body).unwrap();
    let mut one = |a: &mut Value| {
        let r = a["receipt"].as_str().unwrap();
        let mut lines: Vec<String> = r.split('\n').map(str::to_string).collect();
        let at = lines
            .iter()
            .position(|l| l == "notarium/receipt-group/v1")
            .unwrap()
            + 3;
        let flipped = if lines[at].starts_with('A') { "B" } else { "A" };
        lines[at].replace_range(0..1, flipped);
        a["receipt"] = Value::String(lines.join("\n"));
    };
    match v.get_mut("items") {
        Some(Value::Array(items)) => items.iter_mut().for_each(&mut one),
        _ => one(&mut v),
    }
    serde_json::to_vec(&v).unwrap()
}

/// Changes the evidence digest a certificate JSON names.
fn tamper_certificate(body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8(body.to_vec()).unwrap();
    let key = text.find("\"sha256\"").unwrap() + 8;
    let at = key + text[key..].find(|c: char| c.is_ascii_hexdigit()).unwrap();
    let mut b = text.into_bytes();
    b[at] = if b[at] == b'0' { b'1' } else { b'0' };
    b
}

/// An HTTP/1.1 forwarding proxy with a queue of faults for submissions.
#[derive(Clone)]
struct Proxy {
    url: String,
    faults: Arc<Mutex<VecDeque<Fault>>>,
    /// Submission POSTs that reached the notary.
    forwarded_posts: Arc<Mutex<u32>>,
}

impl Proxy {
    async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Proxy {
            url: format!("http://{}", listener.local_addr().unwrap()),
            faults: Arc::default(),
            forwarded_posts: Arc::default(),
        };
        let (p, upstream) = (proxy.clone(), upstream.to_string());
        tokio::spawn(async move {
            let http = http_client();
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let (p, http, upstream) = (p.clone(), http.clone(), upstream.clone());
                tokio::spawn(async move { p.serve(sock, http, upstream).await });
            }
        });
        proxy
    }

    fn fail_next(&self, faults: &[Fault]) {
        self.faults.lock().unwrap().extend(faults);
    }

    fn forwarded_posts(&self) -> u32 {
        *self.forwarded_posts.lock().unwrap()
    }

    /// Serves one keep-alive connection until it closes or a fault drops it.
    async fn serve(&self, sock: TcpStream, http: reqwest::Client, upstream: String) {
        let mut sock = BufReader::new(sock);
        loop {
            let mut head = Vec::new();
            loop {
                let mut line = String::new();
                match sock.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) if line == "\r\n" => break,
                    Ok(_) => head.push(line.trim_end().to_string()),
                }
            }
            let mut words = head[0].split(' ');
            let (method, path) = (words.next().unwrap(), words.next().unwrap().to_string());
            let header = |name: &str| {
                head[1..].iter().find_map(|h| {
                    let (k, v) = h.split_once(':')?;
                    k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                })
            };
            let len: usize = header("content-length").map_or(0, |v| v.parse().unwrap());
            let mut body = vec![0u8; len];
            if sock.read_exact(&mut body).await.is_err() {
                return;
            }
            let submission = method == "POST" && path.starts_with("/v1/evidence");
            let certificate = method == "GET" && path.ends_with("/certificate.json");
            let fault = {
                let mut q = self.faults.lock().unwrap();
                match q.front() {
                    Some(Fault::TamperCertificate) if certificate => q.pop_front(),
                    Some(Fault::TamperCertificate) => None,
                    Some(_) if submission => q.pop_front(),
                    _ => None,
                }
            };
            if let Some(Fault::LoseRequest) = fault {
                return;
            }
            let mut req = http.request(method.parse().unwrap(), format!("{upstream}{path}"));
            for name in ["authorization", "content-type", "idempotency-key"] {
                if let Some(v) = header(name) {
                    req = req.header(name, v);
                }
            }
            let Ok(resp) = req.body(body).send().await else {
                return;
            };
            if submission {
                *self.forwarded_posts.lock().unwrap() += 1;
            }
            let status = resp.status().as_u16();
            let ctype = resp
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_else(|| "application/octet-stream".into());
            let mut bytes = resp.bytes().await.unwrap_or_default().to_vec();
            match fault {
                Some(Fault::LoseResponse) => return,
                Some(Fault::TamperReceipt) if status == 202 => bytes = tamper_receipts(&bytes),
                Some(Fault::TamperCertificate) if status == 200 => {
                    bytes = tamper_certificate(&bytes)
                }
                _ => {}
            }
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n\r\n",
                bytes.len()
            );
            let s = sock.get_mut();
            if s.write_all(answer.as_bytes()).await.is_err() || s.write_all(&bytes).await.is_err() {
                return;
            }
        }
    }
}

/// Runs `notarium submit` and returns (exit code, stdout, stderr).
async fn submit_cli(
    inputs: &[&Path],
    server: &str,
    key: &str,
    out: &Path,
) -> (i32, String, String) {
    submit_cli_with(inputs, server, key, out, &[]).await
}

/// The same with more arguments.
async fn submit_cli_with(
    inputs: &[&Path],
    server: &str,
    key: &str,
    out: &Path,
    more: &[&str],
) -> (i32, String, String) {
    let o = tokio::process::Command::new(notarium_bin())
        .arg("submit")
        .args(inputs)
        .args(["--server", server, "--key", key, "--wait", "90", "--out"])
        .arg(out)
        .args(more)
        .env_remove("NOTARIUM_SERVER")
        .env_remove("NOTARIUM_API_KEY")
        .output()
        .await
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The notary's entries of this tenant with this digest.
async fn entries_with(http: &reqwest::Client, url: &str, key: &str, digest: &str) -> Vec<Value> {
    let v = get_json(http, &format!("{url}/v1/evidence?sha256={digest}"), key).await;
    v["items"].as_array().unwrap().clone()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(data))
}

/// Verifies a saved certificate against the evidence bytes; returns its log
/// index.
fn check_certificate(path: &Path, evidence: &[u8]) -> u64 {
    let json = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let digest = <sha2::Sha256 as sha2::Digest>::digest(evidence).into();
    let report = verifier().verify_certificate(&json, Some(&digest));
    assert!(report.valid, "{}: {:#?}", path.display(), report.checks);
    let pdf = path.with_extension("pdf");
    let pdf = std::fs::read(&pdf).unwrap_or_else(|e| panic!("{}: {e}", pdf.display()));
    let attached = notarium_pdf::extract_certificate_json(&pdf).expect("the PDF carries the JSON");
    assert_eq!(attached, json, "{}: PDF attachment differs", path.display());
    let v: Value = serde_json::from_slice(&json).unwrap();
    let proof = v["proof"].as_str().unwrap();
    let index = proof
        .lines()
        .nth(1)
        .unwrap()
        .strip_prefix("index ")
        .unwrap();
    index.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_retries_without_double_submitting_and_reports_per_file_errors() {
    let dir = TempDir::new("client");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let cfg = write_notary_config(dir.path(), &court.url, &arb.url, "");
    let key = tenant_with_key(&cfg, None, "acme");
    let notary = start_notary(&cfg, None);
    let proxy = Proxy::start(&notary.url).await;
    let http = http_client();

    // The evidence: two files named a.txt with the same content in different
    // folders (same digest, same metadata, two entries), a link to b.txt (same digest, its own name), and a
    // broken link that cannot be read.
    let ev = dir.path().join("evidence");
    std::fs::create_dir_all(ev.join("sub")).unwrap();
    let (a, b) = (
        b"contract, signed 2026-11-29\n".as_slice(),
        b"invoice 7731\n".as_slice(),
    );
    std::fs::write(ev.join("a.txt"), a).unwrap();
    std::fs::write(ev.join("sub/a.txt"), a).unwrap();
    std::fs::write(ev.join("b.txt"), b).unwrap();
    std::os::unix::fs::symlink(ev.join("b.txt"), ev.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(ev.join("gone.pdf"), ev.join("missing.pdf")).unwrap();

    // The batch is lost once before the notary sees it, then once after it
    // stored it: the third attempt gets the second's answer, and nothing
    // is stored twice.
    proxy.fail_next(&[Fault::LoseRequest, Fault::LoseResponse]);
    let out = dir.path().join("out");
    let (code, stdout, stderr) = submit_cli(&[&ev], &proxy.url, &key, &out).await;
    assert_eq!(code, 1, "one file failed, so exit 1\n{stdout}\n{stderr}");
    assert!(
        stderr.contains("missing.pdf") && stderr.contains("cannot read"),
        "the unreadable file is named: {stderr}"
    );
    assert!(stderr.contains("1 of 5 files failed"), "{stderr}");
    assert_eq!(
        proxy.forwarded_posts(),
        2,
        "the batch reached the notary twice (the lost answer, the retry)"
    );
    assert!(proxy.faults.lock().unwrap().is_empty());

    // Exactly one entry per submitted file on the notary.
    let stored_a = entries_with(&http, &notary.url, &key, &sha256_hex(a)).await;
    let stored_b = entries_with(&http, &notary.url, &key, &sha256_hex(b)).await;
    assert_eq!(stored_a.len(), 2, "{stored_a:#?}");
    assert_eq!(stored_b.len(), 2, "{stored_b:#?}");
    let mut names: Vec<_> = stored_b
        .iter()
        .map(|e| e["metadata"]["file_name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["b.txt", "link.txt"]);

    // Every readable file has its own verified certificate, JSON and PDF.
    let mut indices = Vec::new();
    for e in &stored_a {
        let id = e["id"].as_str().unwrap();
        let index = check_certificate(&out.join(format!("a.txt.{id}.certificate.json")), a);
        assert_eq!(e["index"], index, "{id}'s certificate is its own");
        indices.push(index);
    }
    indices.push(check_certificate(&out.join("b.txt.certificate.json"), b));
    indices.push(check_certificate(&out.join("link.txt.certificate.json"), b));
    indices.sort();
    indices.dedup();
    assert_eq!(indices.len(), 4, "four distinct certificates");
    let saved = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".certificate.json")
        })
        .count();
    assert_eq!(saved, 4, "nothing saved for the unreadable file");
    // The retry got the first answer again, receipts included.
    for e in stored_a.iter().chain(&stored_b) {
        let id = e["id"].as_str().unwrap();
        assert!(
            out.join(format!("{id}.receipt")).is_file(),
            "{id}'s receipt is saved\n{stdout}"
        );
    }

    // A single file (the single-item endpoint): its response is lost; the
    // retry gets the first answer.
    let c = ev.join("c.txt");
    let c_bytes = b"minutes of the meeting\n".as_slice();
    std::fs::write(&c, c_bytes).unwrap();
    proxy.fail_next(&[Fault::LoseResponse]);
    let before = proxy.forwarded_posts();
    let (code, stdout, stderr) = submit_cli(&[&c], &proxy.url, &key, &out).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(proxy.forwarded_posts() - before, 2);
    let stored_c = entries_with(&http, &notary.url, &key, &sha256_hex(c_bytes)).await;
    assert_eq!(stored_c.len(), 1, "{stored_c:#?}");
    let index = check_certificate(&out.join("c.txt.certificate.json"), c_bytes);
    assert_eq!(stored_c[0]["index"], index);
    let id_c = stored_c[0]["id"].as_str().unwrap();
    assert!(out.join(format!("{id_c}.receipt")).is_file(), "{stdout}");
    assert!(
        stdout.contains("final") && stdout.contains("c.txt"),
        "{stdout}"
    );

    // Without faults, the receipt is saved and verifies.
    let d = ev.join("d.txt");
    std::fs::write(&d, b"delivery note\n").unwrap();
    let (code, stdout, stderr) = submit_cli(&[&d], &proxy.url, &key, &out).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!stdout.contains("earlier attempt"), "{stdout}");
    let stored_d = entries_with(&http, &notary.url, &key, &sha256_hex(b"delivery note\n")).await;
    let id = stored_d[0]["id"].as_str().unwrap();
    let receipt = std::fs::read_to_string(out.join(format!("{id}.receipt"))).unwrap();
    let entry = std::fs::read(out.join(format!("{id}.entry"))).unwrap();
    let notary_cert = notarium_core::identity::certs_from_pem_file(
        &std::fs::read_to_string(cert("notary.pem")).unwrap(),
    )
    .unwrap();
    let r = verifier().verify_receipt(&receipt, &entry, notary_cert);
    assert!(r.verified && !r.valid, "{:?}", r.first_failure());
}

/// The files saved in `out` whose names contain `part`.
fn saved_with(out: &Path, part: &str) -> Vec<String> {
    std::fs::read_dir(out)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(part))
                .collect()
        })
        .unwrap_or_default()
}

/// With `--trust`, `notarium submit` verifies each receipt as it arrives
/// and each certificate before saving it; it saves nothing that fails,
/// says why, and exits 1 (issue 19).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_with_trust_saves_only_what_verifies() {
    let dir = TempDir::new("client-trust");
    let court = start_witness(dir.path(), "court");
    let arb = start_witness(dir.path(), "arbitration");
    let cfg = write_notary_config(dir.path(), &court.url, &arb.url, "");
    let key = tenant_with_key(&cfg, None, "acme");
    let notary = start_notary(&cfg, None);
    let proxy = Proxy::start(&notary.url).await;
    let (root, notary_pem) = (cert("root.pem"), cert("notary.pem"));
    let trust = [
        "--trust",
        root.to_str().unwrap(),
        "--certs",
        notary_pem.to_str().unwrap(),
    ];
    let ev = dir.path().join("evidence");
    std::fs::create_dir_all(&ev).unwrap();
    let out = dir.path().join("out");
    let file = |name: &str| {
        let p = ev.join(name);
        std::fs::write(&p, format!("{name}: the evidence\n")).unwrap();
        p
    };

    // Honest: the receipt and the certificate verify and are saved.
    let good = file("good.txt");
    let (code, stdout, stderr) = submit_cli_with(&[&good], &proxy.url, &key, &out, &trust).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    check_certificate(
        &out.join("good.txt.certificate.json"),
        b"good.txt: the evidence\n",
    );
    assert_eq!(saved_with(&out, ".receipt").len(), 1);

    // A receipt changed on the way: refused, nothing saved, not waited for.
    let bad = file("bad-receipt.txt");
    proxy.fail_next(&[Fault::TamperReceipt]);
    let (code, stdout, stderr) = submit_cli_with(&[&bad], &proxy.url, &key, &out, &trust).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("bad-receipt.txt")
            && stderr.contains("receipt refused")
            && stderr.contains("does not verify"),
        "{stderr}"
    );
    assert!(saved_with(&out, "bad-receipt").is_empty());
    assert_eq!(saved_with(&out, ".receipt").len(), 1, "no new receipt");

    // A certificate changed on the way: refused, not saved (the receipt,
    // which verified, is).
    let bad = file("bad-cert.txt");
    proxy.fail_next(&[Fault::TamperCertificate]);
    let (code, stdout, stderr) = submit_cli_with(&[&bad], &proxy.url, &key, &out, &trust).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("bad-cert.txt") && stderr.contains("certificate refused"),
        "{stderr}"
    );
    assert!(
        saved_with(&out, "bad-cert").is_empty(),
        "{:?}",
        saved_with(&out, "bad-cert")
    );
    assert_eq!(saved_with(&out, ".receipt").len(), 2);
    assert!(proxy.faults.lock().unwrap().is_empty());

    // A certificate that does not meet the caller's policy is not saved.
    let strict = file("strict.txt");
    let mut args = trust.to_vec();
    args.extend(["--policy", "court>=2"]);
    let (code, stdout, stderr) = submit_cli_with(&[&strict], &proxy.url, &key, &out, &args).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("certificate refused"), "{stderr}");
    assert!(saved_with(&out, "strict.txt").is_empty());

    // Roots the notary does not chain to: the first receipt is refused.
    let other = file("other-root.txt");
    let other_root = repo().join("tests/fixtures/pki/other-root.pem");
    let args = [
        "--trust",
        other_root.to_str().unwrap(),
        "--certs",
        notary_pem.to_str().unwrap(),
    ];
    let (code, stdout, stderr) = submit_cli_with(&[&other], &proxy.url, &key, &out, &args).await;
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(stderr.contains("receipt refused"), "{stderr}");
    assert!(saved_with(&out, "other-root").is_empty());

    // --trust without the notary's certificate is a usage error.
    let (code, _, stderr) = submit_cli_with(&[&good], &proxy.url, &key, &out, &trust[..2]).await;
    assert_eq!(code, 2, "{stderr}");
}
