#!/usr/bin/env python3
"""An independent verifier of Notarium certificates, written from
docs/format.md alone (Python + the `cryptography` package), to show that the
format can be implemented without reading the Rust code.

    python3 tests/interop/verify_certificate.py CERT.json ROOT.pem ORIGIN
        [--policy "court>=1 arbitration>=1"] [--policy-file FILE] [--max-skew 300]
        [--crl FILE]... [--explain]

Exit 0 valid, 1 invalid. It prints `VALID: existed no later than <the
witnessed time>` or `INVALID: <reason>`, and for each cosignature that does
not count, a `NOT COUNTED` line. With --explain it prints the intermediate
values used in the worked example of docs/format.md. It implements the
rules of docs/format.md sections 5 and 6 (contract §9): chains of up to 3
intermediates with pathLenConstraint, critical basicConstraints, extended
key usage and critical extensions; CRLs; the skew, role and party rules;
the witnessed time; standard C2SP witnesses (Ed25519 cosignature/v1) named
by a C2SP tlog-policy file, whose quorum is one more group (--policy-file).
It is a cross-check, not a product.
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
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
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


def vkey(text):
    """A note verifier key name+keyid+base64(type || key): (name, type, key)."""
    name, kid, data = text.split("+", 2)
    raw = base64.b64decode(data, validate=True)
    t, key = raw[0], raw[1:]
    if t == 0x02:
        want = sha256(key)[:4]
    elif t in (0x01, 0x04) and len(key) == 32:
        want = sha256(name.encode() + b"\n" + bytes([t]) + key)[:4]
    else:
        raise ValueError(f"vkey type {t}")
    if want.hex() != kid:
        raise ValueError("vkey key ID")
    return name, t, key


def parse_policy_file(path):
    """C2SP tlog-policy: log, witness, group, quorum lines. Returns the logs,
    the witnesses {name: (key name, key)} and the quorum as a tree
    ("w", name) | ("g", k, [members]) | None; exits 2 naming a bad line."""
    logs, witnesses, groups, quorum = [], {}, {}, "unset"
    lines = open(path, encoding="utf-8").read().split("\n")
    for n, line in enumerate(lines, 1):
        try:
            assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", line), "control character"
            w = line.split()
            if not w or w[0].startswith("#"):
                continue
            defined = lambda m: ("w", m) if m in witnesses else groups[m]
            if w[0] == "log" and len(w) in (2, 3):
                logs.append(vkey(w[1]))
            elif w[0] == "witness" and len(w) in (3, 4):
                assert w[1] != "none" and w[1] not in witnesses and w[1] not in groups
                name, t, key = vkey(w[2])
                assert t in (0x01, 0x04) and all(k != key for _, k in witnesses.values())
                witnesses[w[1]] = (name, key)
            elif w[0] == "group" and len(w) >= 4:
                assert w[1] != "none" and w[1] not in witnesses and w[1] not in groups
                members = w[3:]
                assert len(set(members)) == len(members)
                k = {"all": len(members), "any": 1}.get(w[2]) or int(w[2])
                assert 1 <= k <= len(members) and re.fullmatch(r"all|any|[0-9]+", w[2])
                groups[w[1]] = ("g", k, [defined(m) for m in members])
            elif w[0] == "quorum" and len(w) == 2 and quorum == "unset":
                quorum = None if w[1] == "none" else defined(w[1])
            else:
                raise ValueError("not a log, witness, group or quorum line")
        except (AssertionError, ValueError, KeyError, IndexError) as e:
            print(f"policy file, line {n}: {e!r}")
            sys.exit(2)
    if quorum == "unset":
        print(f"policy file, line {len(lines)}: no quorum line")
        sys.exit(2)
    return logs, witnesses, quorum


def quorum_at(node, times):
    """When the quorum was first met: a witness at its time, a group of k at
    the k-th earliest of its members' times; None if not met."""
    if node[0] == "w":
        return times.get(node[1])
    at = sorted(t for t in (quorum_at(m, times) for m in node[2]) if t is not None)
    return at[node[1] - 1] if len(at) >= node[1] else None


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
    policy_file = option("--policy-file")
    logs, std_keys, quorum = parse_policy_file(policy_file) if policy_file else ([], {}, None)
    notary_sig, cosigners, standard = None, [], []
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
        # A standard witness (format.md section 11): an Ed25519 cosignature/v1
        # whose key ID is SHA-256(key name || 0x0A || 0x04 || key)[:4].
        std = [w for w, (kn, key) in std_keys.items()
               if kn == name and sha256(name.encode() + b"\n\x04" + key)[:4] == key_id]
        if std:
            try:
                assert len(rest) == 72 and ts < 2**63
                Ed25519PublicKey.from_public_bytes(std_keys[std[0]][1]).verify(sig, msg)
            except Exception:
                fail(f"standard witness {std[0]}'s cosignature")
            standard.append({"witness": std[0], "name": name, "key": std_keys[std[0]][1], "time": ts, "why": None})
            continue
        if len(rest) == 72 and not any(attr(w, NameOID.COMMON_NAME) == name for w in certs):
            print(f"NOT CHECKED: {name}: a standard witness's cosignature whose key no policy file names")
            continue
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
    for x in cosigners + standard:
        if x["time"] < received - max_skew:
            x["why"] = "dated before the entry was received, beyond the skew"
    for s in standard:
        for x in cosigners:
            if x["name"] == s["name"]:
                x["why"] = s["why"] = "key or name certified in two roles"
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
    times = {}
    standard.sort(key=lambda s: s["time"])
    # Section 6 again: one key or one name is one standard witness.
    for i, s in enumerate(standard):
        if s["why"] is None and any(t["why"] is None and (t["key"] == s["key"] or t["name"] == s["name"]) for t in standard[:i]):
            s["why"] = "the same witness as an earlier cosignature"
    for s in standard:
        if s["why"] is None:
            times.setdefault(s["witness"], s["time"])
        else:
            print(f"NOT COUNTED: standard witness {s['witness']} at {s['time']}: {s['why']}")
    if quorum is not None:
        q = quorum_at(quorum, times)
        if q is None:
            fail("the policy file's quorum")
        witnessed = max(witnessed, q)
    for w, t in sorted(times.items(), key=lambda x: x[1]):
        print(f"STANDARD WITNESS: {w} at {t}")
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
        if logs and not any(t == 0x02 and name == cp_origin and key == spki(n) for name, t, key in logs):
            fail("the policy file lists no log with this origin and notary key")
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
