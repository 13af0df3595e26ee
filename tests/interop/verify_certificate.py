#!/usr/bin/env python3
"""An independent verifier of Notarium certificates, written from
docs/format.md alone (Python + the `cryptography` package), to show that the
format can be implemented without reading the Rust code.

    python3 tests/interop/verify_certificate.py CERT.json ROOT.pem ORIGIN [--explain]

Exit 0 valid, 1 invalid. With --explain it prints the intermediate values
used in the worked example of docs/format.md. It implements the default
policy (court >= 1, arbitration >= 1) and chains of depth 2 or 3
(signer [-> intermediate] -> root); it is a cross-check, not a product.
"""
import base64
import datetime
import hashlib
import json
import re
import struct
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

EXPLAIN = "--explain" in sys.argv


def say(label, value):
    if EXPLAIN:
        print(f"{label}: {value}")


def fail(msg):
    print(f"INVALID: {msg}")
    sys.exit(1)


def sha256(b):
    return hashlib.sha256(b).digest()


def hex32(s, what):
    if not re.fullmatch(r"[0-9a-f]{64}", s):
        fail(f"{what} is not 64 lowercase hex characters")
    return bytes.fromhex(s)


def b64(s):
    raw = base64.b64decode(s, validate=True)
    if base64.b64encode(raw).decode() != s:
        fail(f"non-canonical base64 {s!r}")
    return raw


def leaf_hash(data):
    return sha256(b"\x00" + data)


def node_hash(l, r):
    return sha256(b"\x01" + l + r)


def verify_inclusion(leaf, index, size, path, root):
    # RFC 9162 section 2.1.3.2
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def spki(cert):
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def attr(cert, oid):
    vals = cert.subject.get_attributes_for_oid(oid)
    return vals[0].value if len(vals) == 1 else None


def valid_at(cert, t):
    return cert.not_valid_before_utc <= t <= cert.not_valid_after_utc


def ecdsa_ok(cert, sig, msg):
    try:
        cert.public_key().verify(sig, msg, ec.ECDSA(hashes.SHA256()))
        return True
    except Exception:
        return False


def issued_by(cert, issuer):
    return cert.issuer == issuer.subject and ecdsa_ok(
        issuer, cert.signature, cert.tbs_certificate_bytes
    )


def chain_ok(cert, pool, root, t):
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    if not ku.digital_signature:
        return False
    current = cert
    for _ in range(3):
        if not valid_at(current, t):
            return False
        if issued_by(current, root):
            return valid_at(root, t)
        nxt = [c for c in pool if c.subject == current.issuer and issued_by(current, c)]
        if not nxt:
            return False
        current = nxt[0]
    return False


def main():
    cert_path, root_path, origin = sys.argv[1], sys.argv[2], sys.argv[3]
    c = json.load(open(cert_path, encoding="utf-8"))
    if set(c) != {"format", "evidence", "entry", "proof", "certificates"}:
        fail("unexpected top-level fields")
    if c["format"] != "notarium/certificate/v1":
        fail("format")
    ev = c["evidence"]
    if set(ev) != {"sha256", "salt", "metadata", "submitter", "received_at"}:
        fail("unexpected evidence fields")
    digest, salt = hex32(ev["sha256"], "sha256"), hex32(ev["salt"], "salt")

    # Step 3: rebuild the entry.
    ev_commit = sha256(salt + digest).hex()
    say("evidence commitment SHA-256(salt || digest)", ev_commit)
    if ev["metadata"] is None:
        meta_line = "-"
    else:
        meta_line = sha256(salt + ev["metadata"].encode("utf-8")).hex()
        say("metadata commitment SHA-256(salt || metadata)", meta_line)
    entry = (
        "notarium/entry/v1\n"
        f"evidence {ev_commit}\n"
        f"metadata {meta_line}\n"
        f"submitter {ev['submitter']}\n"
        f"received {ev['received_at']}\n"
    )
    if entry != c["entry"]:
        fail("entry differs from the one rebuilt from evidence")
    lh = leaf_hash(entry.encode())
    say("leaf hash SHA-256(0x00 || entry)", lh.hex())

    # Step 4: the tlog-proof.
    head, note = c["proof"].split("\n\n", 1)
    lines = head.split("\n")
    if lines[0] != "c2sp.org/tlog-proof@v1" or not lines[1].startswith("index "):
        fail("tlog-proof header")
    index = int(lines[1][6:])
    path = [b64(l) for l in lines[2:]]
    text, sigs = note.rsplit("\n\n", 1)
    text += "\n"
    cp_origin, size, root_b64 = text[:-1].split("\n")
    size, root = int(size), b64(root_b64)
    say("checkpoint", f"origin {cp_origin}, size {size}, root {root.hex()}")
    if not verify_inclusion(lh, index, size, path, root):
        fail("inclusion proof")
    if cp_origin != origin:
        fail("origin")

    # Steps 5-6: signatures.
    certs = [x509.load_pem_x509_certificate(p.encode()) for p in c["certificates"]]
    root_cert = x509.load_pem_x509_certificate(open(root_path, "rb").read())
    pool = [x for x in certs if x.extensions.get_extension_for_class(x509.BasicConstraints).value.ca]
    notary_sig, witnessed = None, {}
    for line in sigs.rstrip("\n").split("\n"):
        assert line.startswith("\u2014 ")
        name, sig_b64 = line[2:].split(" ")
        raw = b64(sig_b64)
        key_id, rest = raw[:4], raw[4:]
        if name == cp_origin:
            notary_sig = (key_id, rest)
            continue
        ts = struct.unpack(">Q", rest[:8])[0]
        sig = rest[8:]
        for w in certs:
            role = attr(w, NameOID.ORGANIZATIONAL_UNIT_NAME)
            if role not in ("court", "arbitration") or attr(w, NameOID.COMMON_NAME) != name:
                continue
            kid = sha256(
                name.encode() + b"\x0a\xff" + b"notarium/cosignature-ecdsa-p256/v1" + spki(w)
            )[:4]
            if kid != key_id:
                continue
            msg = f"cosignature/v1\ntime {ts}\n".encode() + text.encode()
            t = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
            if EXPLAIN:
                say(f"cosignature key ID of {name}", kid.hex())
                say(f"cosignature message of {name}", repr(msg.decode()))
            if not ecdsa_ok(w, sig, msg) or not chain_ok(w, pool, root_cert, t):
                fail(f"cosignature of {name}")
            witnessed.setdefault(role, []).append(t)
            break
        else:
            fail(f"no certificate for the signature of {name}")
    if not witnessed.get("court") or not witnessed.get("arbitration"):
        fail("policy court>=1 arbitration>=1")
    earliest = min(min(v) for v in witnessed.values())
    for n in certs:
        if attr(n, NameOID.ORGANIZATIONAL_UNIT_NAME) != "notary":
            continue
        if attr(n, NameOID.COMMON_NAME) != cp_origin or sha256(spki(n))[:4] != notary_sig[0]:
            continue
        say("notary key ID SHA-256(SPKI)[:4]", notary_sig[0].hex())
        if not ecdsa_ok(n, notary_sig[1], text.encode()) or not chain_ok(n, pool, root_cert, earliest):
            fail("notary signature")
        break
    else:
        fail("no notary certificate")
    print(f"VALID: existed no later than {earliest.strftime('%Y-%m-%dT%H:%M:%SZ')}")


if __name__ == "__main__":
    main()
