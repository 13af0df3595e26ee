//! PDFs rendered per second on one core, and their size.
//!
//! `cargo bench -p notarium-pdf --bench render`; the goal is at least 100
//! certificates per second per core. Criterion runs on one thread, so its
//! throughput figure (elements/s) is the per-core rate.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use notarium_pdf::{RenderOptions, Renderer, TemplateSource, extract_certificate_json, render};
use std::hint::black_box;

#[path = "../tests/common/mod.rs"]
mod common;

fn bench(c: &mut Criterion) {
    let json = common::certificate(3);
    let minimal = common::certificate(0);
    let renderer = Renderer::new(&TemplateSource::Builtin).unwrap();
    let verifier = common::verifier();
    let pdf = renderer
        .render(&json, common::CERT_ID, common::VERIFY_URL, &verifier)
        .unwrap();
    let pdf_min = renderer
        .render(&minimal, common::CERT_ID, common::VERIFY_URL, &verifier)
        .unwrap();
    eprintln!(
        "PDF size: {} bytes with metadata, {} bytes without (certificate JSON {} and {} bytes)",
        pdf.len(),
        pdf_min.len(),
        json.len(),
        minimal.len()
    );

    // The sealed PDF (PAdES B-T) as the notary serves it: the output is
    // deterministic, so the signature timestamp the TSA gave on the first
    // download is reused (docs/operations.md "The PDF seal").
    let seal = notarium_pdf::Seal::from_pem(
        &common::read("certs/seal.key"),
        &common::read("certs/seal.pem"),
    )
    .unwrap();
    let token = std::sync::OnceLock::<Vec<u8>>::new();
    let stamp = |imprint: &[u8; 32]| -> Result<Vec<u8>, String> {
        Ok(token.get_or_init(|| dev_tsa_token(imprint)).clone())
    };
    let sealed = || {
        renderer
            .render_sealed(
                &json,
                common::CERT_ID,
                common::VERIFY_URL,
                &verifier,
                &seal,
                Some(&stamp),
            )
            .unwrap()
    };
    eprintln!(
        "sealed PDF size: {} bytes (unsealed {})",
        sealed().len(),
        pdf.len()
    );
    // Wall-clock figures suffer when other work shares the cores; the CPU
    // time this thread spends per render does not (Linux only).
    for (what, f) in [
        (
            "render",
            &(|| {
                drop(black_box(
                    renderer
                        .render(&json, common::CERT_ID, common::VERIFY_URL, &verifier)
                        .unwrap(),
                ))
            }) as &dyn Fn(),
        ),
        (
            "render + seal",
            &(|| drop(black_box(sealed()))) as &dyn Fn(),
        ),
    ] {
        if let Some(before) = thread_cpu_ns() {
            let n = 200;
            for _ in 0..n {
                f();
            }
            let per = (thread_cpu_ns().unwrap_or(before) - before) as f64 / n as f64 / 1e6;
            eprintln!(
                "CPU time per {what}: {per:.2} ms, {:.0} per CPU-second (one core)",
                1000.0 / per
            );
        }
    }

    let mut g = c.benchmark_group("pdf");
    g.throughput(Throughput::Elements(1));
    g.bench_function("render + seal (timestamp token reused)", |b| {
        b.iter(&sealed)
    });
    g.bench_function("render (prepared renderer, verification included)", |b| {
        b.iter(|| {
            renderer
                .render(
                    black_box(&json),
                    common::CERT_ID,
                    common::VERIFY_URL,
                    &verifier,
                )
                .unwrap()
        })
    });
    g.bench_function("verification alone", |b| {
        b.iter(|| verifier.verify_certificate(black_box(&json), None))
    });
    let opts = RenderOptions::new(common::VERIFY_URL, common::CERT_ID, verifier.clone());
    g.bench_function("render() (template parsed per call)", |b| {
        b.iter(|| render(black_box(&json), &opts).unwrap())
    });
    g.bench_function("extract_certificate_json", |b| {
        b.iter(|| extract_certificate_json(black_box(&pdf)).unwrap())
    });
    g.finish();
}

/// A token of the development TSA over `imprint`, checked.
fn dev_tsa_token(imprint: &[u8; 32]) -> Vec<u8> {
    use notarium_timestamp::{TimestampRequest, tsa::DevTsa};
    let tsa = DevTsa::from_pem(
        &common::read("certs/tsa.key"),
        &common::read("certs/tsa.pem"),
    )
    .unwrap();
    let req = TimestampRequest::new(*imprint, &[7; 16]).unwrap();
    let resp = tsa.respond(req.der(), common::T0 + 60, &[0x51; 16]);
    let root = notarium_core::TrustRoots::from_pem(&common::read("certs/root.pem")).unwrap();
    req.check_response(&resp, &root, &[]).unwrap().0
}

/// CPU time of the current thread, from /proc/thread-self/schedstat.
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = bench
}
criterion_main!(benches);
