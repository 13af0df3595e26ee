//! Signed receipts with their entry text and signer certificates (three
//! parts separated by NUL bytes: receipt, entry, PEM certificates): the
//! receipt parser, `Verifier::verify_receipt`, and the entry text, its
//! fields (submitter id, received time) and metadata rebuilt from what was
//! read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notarium_core::entry::{LeafFields, Metadata, SubmitterId};
use notarium_core::identity::certs_from_pem_file;
use notarium_core::receipt::Receipt;
use notarium_core::time::UtcMillis;
use notarium_fuzz::{check_report, split, text, verifier};

fuzz_target!(|data: &[u8]| {
    let [receipt, entry, certs] = split::<3>(data);
    let Some(receipt) = text(receipt) else { return };
    if let Ok(r) = Receipt::parse(receipt) {
        assert_eq!(r.to_text(), receipt, "a receipt has one text form");
        let _ = r.check_entry(entry);
        assert!(r.notary_signatures().all(|s| s.name == r.origin));
    }
    let pems = text(certs)
        .and_then(|t| certs_from_pem_file(t).ok())
        .unwrap_or_default();
    check_report(&verifier().verify_receipt(receipt, entry, pems));

    let Some(entry) = text(entry) else { return };
    if let Ok(f) = LeafFields::parse(entry.as_bytes()) {
        // The fields rebuild exactly the text they were read from.
        let metadata = match f.metadata_commitment {
            Some(h) => notarium_core::encoding::hex_lower(&h),
            None => "-".into(),
        };
        let rebuilt = format!(
            "notarium/entry/v1\nevidence {}\nmetadata {metadata}\nsubmitter {}\nreceived {}\n",
            notarium_core::encoding::hex_lower(&f.evidence_commitment),
            f.submitter,
            f.received.to_text()
        );
        assert_eq!(rebuilt, entry, "an entry text has one form");
    }
    // Each line of the entry part as the values an entry is built from.
    for line in entry.split('\n') {
        if let Ok(id) = SubmitterId::parse(line) {
            assert_eq!(id.as_str(), line);
        }
        if let Ok(t) = UtcMillis::parse(line) {
            assert_eq!(t.to_text(), line, "a time has one text form");
            assert_eq!(UtcMillis::from_millis(t.millis()), Ok(t));
        }
    }
    // The entry part as metadata: kept byte for byte, and the notary's
    // normalisation is idempotent.
    if let Ok(m) = Metadata::from_text(entry) {
        assert_eq!(m.as_str(), entry);
        let v: serde_json::Value = serde_json::from_str(entry).expect("accepted metadata is JSON");
        if let Ok(n) = Metadata::normalise(&v) {
            let v2: serde_json::Value = serde_json::from_str(n.as_str()).expect("normalised JSON");
            assert_eq!(
                Metadata::normalise(&v2).as_ref(),
                Ok(&n),
                "normalisation is idempotent"
            );
        }
    }
});
