//! Verify a deposit certificate with the core crate, as any Rust program can:
//!
//!     cargo run --example verify_certificate -- tests/golden/valid-metadata.json certs/root.pem
use notarium_core::{Policy, TrustRoots, Verifier};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (cert, root) = match (args.next(), args.next()) {
        (Some(c), Some(r)) => (c, r),
        _ => return Err("usage: verify_certificate CERTIFICATE.json ROOT.pem".into()),
    };
    let roots = TrustRoots::from_pem(&std::fs::read_to_string(root)?)?;
    let verifier = Verifier::new(
        roots,
        Some("notarium.example/log".into()),
        Policy::default(),
    );
    let report = verifier.verify_certificate(&std::fs::read(cert)?, None);
    for check in &report.checks {
        println!("{:?} {} {}", check.status, check.id, check.detail);
    }
    println!("valid: {}", report.valid);
    Ok(())
}
