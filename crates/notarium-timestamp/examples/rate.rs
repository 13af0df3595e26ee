//! How fast the development TSA issues and the verifier checks tokens, and
//! how big a token is: `cargo run -p notarium-timestamp --features tsa
//! --example rate --release` (from the repository root).

use notarium_core::TrustRoots;
use notarium_core::merkle::sha256;
use notarium_timestamp::tsa::DevTsa;
use notarium_timestamp::{TimestampRequest, verify_token};
use std::time::Instant;

fn main() {
    let read = |p: &str| std::fs::read_to_string(p).expect("run from the repository root");
    let tsa = DevTsa::from_pem(&read("certs/tsa.key"), &read("certs/tsa.pem")).unwrap();
    let roots = TrustRoots::from_pem(&read("certs/root.pem")).unwrap();
    let imprint =
        sha256(b"notarium.example/log\n5\nLAEBxAviCe4aTN+x74vhLAUPRBzedEuZQu/T9WMxQx0=\n");
    let n = 2000u32;
    let request = TimestampRequest::new(imprint, &[7; 8]).unwrap();
    let start = Instant::now();
    let mut response = Vec::new();
    for i in 0..n {
        response = tsa.respond(request.der(), 1_764_900_000, &i.to_be_bytes());
    }
    let issue = start.elapsed() / n;
    let (token, _) = request.check_response(&response, &roots, &[]).unwrap();
    let start = Instant::now();
    for _ in 0..n {
        verify_token(&token, &imprint, &roots, &[]).unwrap();
    }
    let verify = start.elapsed() / n;
    println!(
        "issue {issue:?} per token ({:.0}/s), verify {verify:?} per token ({:.0}/s), token {} bytes, response {} bytes",
        1.0 / issue.as_secs_f64(),
        1.0 / verify.as_secs_f64(),
        token.len(),
        response.len()
    );
}
