#![cfg(feature = "render")]
mod common;

/// Writes sample PDFs to $NOTARIUM_PDF_OUT (a directory) for a person to look at.
#[test]
fn write_samples_when_asked() {
    let Some(dir) = std::env::var_os("NOTARIUM_PDF_OUT") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut opts = notarium_pdf::RenderOptions::new(common::VERIFY_URL, common::CERT_ID);
    opts.verifier = Some(common::verifier());
    for (name, index) in [("metadata", 3), ("minimal", 0)] {
        let json = common::certificate(index);
        let t = std::time::Instant::now();
        let pdf = notarium_pdf::render(&json, &opts).unwrap();
        eprintln!("{name}: {} bytes in {:?}", pdf.len(), t.elapsed());
        std::fs::write(dir.join(format!("{name}.pdf")), &pdf).unwrap();
        std::fs::write(dir.join(format!("{name}.json")), &json).unwrap();
    }
}

#[test]
fn write_twice_when_asked() {
    let Some(dir) = std::env::var_os("NOTARIUM_PDF_OUT") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let opts = notarium_pdf::RenderOptions::new(common::VERIFY_URL, common::CERT_ID);
    let json = common::certificate(3);
    let a = notarium_pdf::render(&json, &opts).unwrap();
    let b = notarium_pdf::render(&json, &opts).unwrap();
    std::fs::write(dir.join("a.pdf"), &a).unwrap();
    std::fs::write(dir.join("b.pdf"), &b).unwrap();
}

#[test]
fn write_stress_when_asked() {
    let Some(dir) = std::env::var_os("NOTARIUM_PDF_OUT") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let title = "关于某某科技有限公司与某某贸易有限公司买卖合同纠纷一案的电子证据材料汇编（含聊天记录、电子邮件、交易流水及相关附件）".repeat(4);
    let meta = serde_json::json!({
        "title": format!("{title} 😀 end"),
        "file_name": "a-very-long-file-name-without-any-spaces-that-goes-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on-and-on.tar.gz",
        "size": 123456789012u64,
        "media_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "case_reference": "（2026）京0105民初12345号之一\t第二卷",
    })
    .to_string();
    let json = common::certificate_with(&meta, 3);
    let opts = notarium_pdf::RenderOptions::new(
        common::VERIFY_URL,
        "NT-2026-000123-LONG-IDENTIFIER-0123456789",
    );
    let pdf = notarium_pdf::render(&json, &opts).unwrap();
    std::fs::write(dir.join("stress.pdf"), &pdf).unwrap();
}
