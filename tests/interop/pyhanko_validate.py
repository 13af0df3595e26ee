#!/usr/bin/env python3
"""Validates the one signature of a PDF with pyHanko (an independent PAdES
validator, from PyPI: pyhanko==0.29.1 pyhanko-certvalidator==0.27.0), with
the given PEM certificate as the only trust root for the signer and for the
timestamp authority, no revocation fetching. Prints one JSON object:

  {"intact": bool, "valid": bool, "trusted": bool, "coverage": "...",
   "sub_filter": "...", "timestamp": {"intact":..., "valid":..., "trusted":...,
   "time": "..."} or null, "summary": "..."}

or {"error": "..."} (exit 1) when pyHanko cannot read a signature at all.

    python3 tests/interop/pyhanko_validate.py certificate.pdf certs/root.pem
"""
import json
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def main() -> int:
    pdf_path, root_path = sys.argv[1], sys.argv[2]
    root = load_cert_from_pemder(root_path)

    def context() -> ValidationContext:
        # The development PKI has no CRL or OCSP responder: revocation
        # information is not required (soft-fail), nothing is fetched.
        return ValidationContext(
            trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail"
        )

    try:
        with open(pdf_path, "rb") as f:
            reader = PdfFileReader(f, strict=False)
            sigs = reader.embedded_signatures
            if len(sigs) != 1:
                print(json.dumps({"error": f"{len(sigs)} signatures, expected one"}))
                return 1
            sig = sigs[0]
            # The default key usage policy: digitalSignature or
            # nonRepudiation... pyHanko asks for nonRepudiation.
            status = validate_pdf_signature(
                sig,
                signer_validation_context=context(),
                ts_validation_context=context(),
            )
            ts = status.timestamp_validity
            out = {
                "intact": bool(status.intact),
                "valid": bool(status.valid),
                "trusted": bool(status.trusted),
                "coverage": status.coverage.name if status.coverage else None,
                "sub_filter": str(sig.sig_object.get("/SubFilter")),
                "timestamp": None
                if ts is None
                else {
                    "intact": bool(ts.intact),
                    "valid": bool(ts.valid),
                    "trusted": bool(ts.trusted),
                    "time": ts.timestamp.isoformat(),
                },
                "summary": status.summary(),
            }
    except Exception as e:  # noqa: BLE001 - any failure is reported as such
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
