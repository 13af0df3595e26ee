//! C2SP signed notes, checkpoints and cosignature lines: every parser must
//! either refuse the text or give back exactly what it read (each value
//! has one text form).
#![no_main]

use libfuzzer_sys::fuzz_target;
use notarium_core::checkpoint::Checkpoint;
use notarium_core::cosignature::Cosignature;
use notarium_core::note::{Note, NoteSignature};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(note) = Note::parse(s) {
        assert_eq!(note.to_text(), s, "a signed note round-trips");
        for sig in note.signatures() {
            if let Ok(c) = Cosignature::from_note_signature(sig) {
                assert_eq!(&c.to_note_signature(), sig);
            }
        }
        if let Ok(cp) = Checkpoint::parse(note.text()) {
            assert_eq!(cp.body(), note.text(), "a checkpoint round-trips");
        }
    }
    if let Ok(cp) = Checkpoint::parse(s) {
        assert_eq!(cp.body(), s, "a checkpoint round-trips");
    }
    // The input as signature lines.
    for line in s.split('\n') {
        if let Ok(sig) = NoteSignature::parse_line(line) {
            assert_eq!(
                sig.to_line(),
                format!("{line}\n"),
                "a signature line round-trips"
            );
            let _ = Cosignature::from_note_signature(&sig);
        }
    }
});
