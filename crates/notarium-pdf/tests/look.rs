//! Not a check: with `NOTARIUM_PDF_OUT=<dir>`, writes sample certificates
//! (PDF and JSON) there for a person to look at, e.g.
//! `pdftoppm -png -r 80 <dir>/metadata.pdf /tmp/page`. Does nothing otherwise.
#![cfg(feature = "render")]

mod common;

#[test]
fn write_samples_when_asked() {
    let Some(dir) = std::env::var_os("NOTARIUM_PDF_OUT") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let opts =
        notarium_pdf::RenderOptions::new(common::VERIFY_URL, common::CERT_ID, common::verifier());
    let long = common::certificate_with(&common::long_metadata(), 3);
    for (name, json) in [
        ("metadata", common::certificate(3)),
        ("minimal", common::certificate(0)),
        ("long", long),
    ] {
        let t = std::time::Instant::now();
        let pdf = notarium_pdf::render(&json, &opts).unwrap();
        eprintln!("{name}: {} bytes in {:?}", pdf.len(), t.elapsed());
        std::fs::write(dir.join(format!("{name}.pdf")), &pdf).unwrap();
        std::fs::write(dir.join(format!("{name}.json")), &json).unwrap();
    }
}
