#!/usr/bin/env python3
"""An independent verifier of Notarium certificates, written from
docs/format.md alone (Python + the `cryptography` package), to show that the
format can be implemented without reading the Rust code.

    python3 tests/interop/verify_certificate.py CERT.json ROOT.pem ORIGIN
        [--policy "court>=1 arbitration>=1"] [--max-skew 300] [--crl FILE]... [--explain]

Exit 0 valid, 1 invalid. It prints `VALID: existed no later than <the
witnessed time>` or `INVALID: <reason>`, and for each cosignature that does
not count, a `NOT COUNTED` line. With --explain it prints the intermediate
values used in the worked example of docs/format.md. It implements the
rules of docs/format.md sections 5 and 6 (contract §9): chains of up to 3
intermediates with pathLenConstraint, critical basicConstraints, extended
key usage and critical extensions; CRLs; the skew, role and party rules;
the witnessed time. It is a cross-check, not a product.
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
NOTARIUM_SIGNER = x509.ObjectIdentifier("2.25.52608443440459121674925930944434331781")
ANY_EKU = x509.ObjectIdentifier("2.5.29.37.0")
KNOWN_EXTENSIONS = {
    x509.BasicConstraints.oid, x509.KeyUsage.oid, x509.ExtendedKeyUsage.oid,
    x509.SubjectKeyIdentifier.oid, x509.AuthorityKeyIdentifier.oid,
    x509.SubjectAlternativeName.oid,
}


def option(name, default=None, many=False):
    vals = [sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == name]
    return vals if many else (vals[-1] if vals else default)


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
    # notBefore <= t < notAfter (docs/format.md: notAfter's second is expired).
    return cert.not_valid_before_utc <= t < cert.not_valid_after_utc


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


def ext(cert, cls):
    try:
        return cert.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def profile_ok(cert):
    """No unknown critical extension; a CA's basicConstraints is critical;
    no pathLenConstraint except on a CA with keyCertSign."""
    try:
        exts = cert.extensions
    except Exception:
        return False  # an extension that cannot be parsed
    for e in exts:
        if e.critical and e.oid not in KNOWN_EXTENSIONS:
            return False
    bc, ku = ext(cert, x509.BasicConstraints), ext(cert, x509.KeyUsage)
    if bc and bc.value.ca and not bc.critical:
        return False
    if bc and bc.value.path_length is not None and not (bc.value.ca and ku and ku.value.key_cert_sign):
        return False
    return True


def is_ca(cert):
    bc, ku = ext(cert, x509.BasicConstraints), ext(cert, x509.KeyUsage)
    return bool(bc and bc.value.ca and ku and ku.value.key_cert_sign)


def signer_ok(cert):
    bc, ku, eku = ext(cert, x509.BasicConstraints), ext(cert, x509.KeyUsage), ext(cert, x509.ExtendedKeyUsage)
    if bc and bc.value.ca:
        return False
    if not (ku and ku.value.digital_signature):
        return False
    if eku and ANY_EKU not in eku.value and NOTARIUM_SIGNER not in eku.value:
        return False
    return profile_ok(cert)


def chain(cert, pool, root, t):
    """The chain [signer, ..., root] valid at t, or None (depth first, up to
    3 intermediates, pathLenConstraint counted from the signer's issuer)."""
    if not signer_ok(cert) or not valid_at(cert, t):
        return None

    def fits(ca, below):
        bc = ext(ca, x509.BasicConstraints).value
        return (bc.path_length is None or below <= bc.path_length) and valid_at(ca, t) and profile_ok(ca)

    def extend(path):
        cur, below = path[-1], len(path) - 1
        if issued_by(cur, root) and fits(root, below):
            return path + [root]
        if below >= 3:
            return None
        for ca in [c for c in pool if c.subject == cur.issuer and is_ca(c) and c not in path][:4]:
            if issued_by(cur, ca) and fits(ca, below):
                found = extend(path + [ca])
                if found:
                    return found
        return None

    return extend([cert])


def revoked_at(path, crls):
    """The earliest revocation time of a certificate of the chain."""
    first = None
    for cert, issuer in zip(path, path[1:]):
        for crl in crls:
            if crl.issuer != issuer.subject:
                continue
            ku = ext(issuer, x509.KeyUsage)
            if not (ku and ku.value.crl_sign) or not crl.is_signature_valid(issuer.public_key()):
                fail(f"a CRL of {issuer.subject.rfc4514_string()} does not verify")
            r = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if r is None:
                continue
            when = r.revocation_date_utc
            try:
                when = r.extensions.get_extension_for_class(x509.InvalidityDate).value.invalidity_date_utc
            except x509.ExtensionNotFound:
                pass
            first = when if first is None or when < first else first
    return first


def parse_policy(text):
    reqs = []
    for term in re.split(r"[ ,]+", text.strip()):
        group, n = term.split(">=")
        assert group in ("court", "arbitration") and 1 <= int(n) <= 64
        reqs.append((group, int(n)))
    return reqs


def satisfied_at(reqs, parties):
    """docs/format.md section 6: the k-th earliest party time per group, the
    latest over groups; None if a requirement is not met."""
    at = []
    for group, k in reqs:
        times = sorted(t for g, t in parties if g == group)
        if len(times) < k:
            return None
        at.append(times[k - 1])
    return max(at)


def main():
    cert_path, root_path, origin = sys.argv[1], sys.argv[2], sys.argv[3]
    c = json.load(open(cert_path, encoding="utf-8"))
    fields = {"format", "evidence", "entry", "proof", "certificates"}
    if set(c) - {"timestamps"} != fields:
        fail("unexpected top-level fields")
    # RFC 3161 tokens (format.md §9) are optional; this cross-check does not
    # implement CMS, so it checks their form only and counts none of them.
    tokens = c.get("timestamps", [])
    if not isinstance(tokens, list) or len(tokens) > 24:
        fail("timestamps")
    for t in tokens:
        if not isinstance(t, str) or base64.b64encode(base64.b64decode(t, validate=True)).decode() != t:
            fail("timestamps: not canonical base64")
        print("NOT CHECKED: an RFC 3161 timestamp token (CMS is not implemented here)")
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
    reqs = parse_policy(option("--policy", "court>=1 arbitration>=1"))
    max_skew = int(option("--max-skew", "300"))
    crls = []
    for f in option("--crl", many=True):
        data = open(f, "rb").read()
        crls.append(x509.load_pem_x509_crl(data) if b"-----BEGIN" in data else x509.load_der_x509_crl(data))
    certs = [x509.load_pem_x509_certificate(p.encode()) for p in c["certificates"]]
    if len(certs) > 24:
        fail("more than 24 certificates")
    root_cert = x509.load_pem_x509_certificate(open(root_path, "rb").read())
    pool = [x for x in certs if ext(x, x509.BasicConstraints) and ext(x, x509.BasicConstraints).value.ca]
    notary_sig, cosigners = None, []
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
        t = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
        msg = f"cosignature/v1\ntime {ts}\n".encode() + text.encode()
        found = None
        for w in certs:
            role = attr(w, NameOID.ORGANIZATIONAL_UNIT_NAME)
            if role not in ("court", "arbitration") or attr(w, NameOID.COMMON_NAME) != name:
                continue
            kid = sha256(
                name.encode() + b"\x0a\xff" + b"notarium/cosignature-ecdsa-p256/v1" + spki(w)
            )[:4]
            if kid != key_id:
                continue
            if EXPLAIN:
                say(f"cosignature key ID of {name}", kid.hex())
                say(f"cosignature message of {name}", repr(msg.decode()))
            path = chain(w, pool, root_cert, t)
            if path and ecdsa_ok(w, sig, msg):
                found = {"name": name, "role": role, "spki": spki(w), "time": ts,
                         "revoked": revoked_at(path, crls), "why": None}
                break
        if not found:
            fail(f"cosignature of {name}")
        cosigners.append(found)
    cosigners.sort(key=lambda x: (x["time"], x["role"], x["name"]))

    # Section 6: which cosignatures count.
    received = datetime.datetime.strptime(ev["received_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    received = int(received.replace(tzinfo=datetime.timezone.utc).timestamp())
    for x in cosigners:
        if x["time"] < received - max_skew:
            x["why"] = "dated before the entry was received, beyond the skew"
    for x in cosigners:
        if any(y["role"] != x["role"] and (y["spki"] == x["spki"] or y["name"] == x["name"]) for y in cosigners):
            x["why"] = "key or name certified in two roles"
    party = list(range(len(cosigners)))

    def find(i):
        while party[i] != i:
            i = party[i]
        return i

    for i, x in enumerate(cosigners):
        for j in range(i):
            y = cosigners[j]
            if x["why"] is None and y["why"] is None and (x["spki"] == y["spki"] or x["name"] == y["name"]):
                a, b = find(i), find(j)
                party[max(a, b)] = min(a, b)
    for i, x in enumerate(cosigners):
        if x["why"] is None and find(i) != i:
            x["why"] = "the same witness as an earlier cosignature"
    unrevoked = [(x["role"], x["time"]) for x in cosigners if x["why"] is None and x["revoked"] is None]
    before = satisfied_at(reqs, unrevoked)
    for x in cosigners:
        if x["why"] is None and x["revoked"] is not None:
            if before is None or not before < x["revoked"].timestamp():
                x["why"] = "revoked, and the policy was not met without it before then"
    for x in cosigners:
        if x["why"]:
            print(f"NOT COUNTED: {x['name']} at {x['time']}: {x['why']}")
    counted = [x for x in cosigners if x["why"] is None]
    witnessed = satisfied_at(reqs, [(x["role"], x["time"]) for x in counted])
    if witnessed is None:
        fail("policy " + " ".join(f"{g}>={k}" for g, k in reqs))
    earliest = datetime.datetime.fromtimestamp(counted[0]["time"], datetime.timezone.utc)
    for n in certs:
        if attr(n, NameOID.ORGANIZATIONAL_UNIT_NAME) != "notary":
            continue
        if attr(n, NameOID.COMMON_NAME) != cp_origin or sha256(spki(n))[:4] != notary_sig[0]:
            continue
        say("notary key ID SHA-256(SPKI)[:4]", notary_sig[0].hex())
        path = chain(n, pool, root_cert, earliest)
        if not ecdsa_ok(n, notary_sig[1], text.encode()) or not path:
            fail("notary signature")
        r = revoked_at(path, crls)
        if r is not None and not witnessed < r.timestamp():
            fail("notary certificate revoked before the witnessed time")
        break
    else:
        fail("no notary certificate")
    when = datetime.datetime.fromtimestamp(witnessed, datetime.timezone.utc)
    print(f"VALID: existed no later than {when.strftime('%Y-%m-%dT%H:%M:%SZ')}")


if __name__ == "__main__":
    main()
