#!/usr/bin/env bash
# Regenerates the DEVELOPMENT PKI of Notarium: a trust root, a notary, a court
# witness, an arbitration witness, a timestamping authority and a PDF seal
# (ECDSA P-256),
# plus the test fixtures
# under tests/fixtures/pki (a second, foreign root and deliberately bad
# certificates). NOT FOR PRODUCTION: these private keys are public.
#
#   bash certs/generate.sh        # from the repository root
#   bash certs/generate.sh tsa    # only a new TSA key and certificate, from
#                                 # the existing root (golden files unchanged)
#   bash certs/generate.sh seal   # only a new PDF seal key and certificate,
#                                 # from the existing root (golden files unchanged)
#
# Needs only openssl (3.x). Validity windows are fixed dates so that the
# golden certificates under tests/ keep verifying.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fix="$here/../tests/fixtures/pki"
mkdir -p "$fix"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/ca.cnf" <<'CNF'
[ca]
default_ca = dev
[dev]
database = $ENV::WORK/index.txt
new_certs_dir = $ENV::WORK
serial = $ENV::WORK/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
organizationName = optional
organizationalUnitName = optional
commonName = supplied
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[intermediate]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[signer]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[tsa]
# RFC 3161 §2.3: the only extended key usage is timeStamping, critical.
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[seal]
# The notary's PDF seal (PAdES): PDF validators (pyHanko's default policy)
# want nonRepudiation besides digitalSignature for a signature of record.
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[no_digital_signature]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
export WORK="$work"
: >"$work/index.txt"
echo 1000 >"$work/serial"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
csr() { openssl req -new -key "$1" -subj "$2" -out "$work/req.csr"; }
esc() { printf "%s" "${1//\//\\/}"; }
# sign KEYFILE SUBJECT EXT CA_CERT CA_KEY START END OUT
sign() {
  csr "$1" "$2"
  local selfsign=()
  [ "$4" = self ] && selfsign=(-selfsign)
  local cacert=("-cert" "$4") ; [ "$4" = self ] && cacert=()
  openssl ca -batch -config "$work/ca.cnf" -notext -extensions "$3" "${selfsign[@]}" \
    "${cacert[@]}" -keyfile "$5" -startdate "$6" -enddate "$7" \
    -in "$work/req.csr" -out "$8" 2>/dev/null
}

O="/O=Notarium Development (NOT FOR PRODUCTION)"
# The development TSA, issued by the development root with serial 0x2000
# (apart from the serials of the other certificates of that root).
tsa_cert() {
  echo 2000 >"$work/serial"
  key "$here/tsa.key"
  sign "$here/tsa.key" "$O/CN=Notarium Development TSA" tsa "$here/root.pem" "$here/root.key" 20250101000000Z 20350101000000Z "$here/tsa.pem"
}
# The notary's development PDF seal, serial 0x3000.
seal_cert() {
  echo 3000 >"$work/serial"
  key "$here/seal.key"
  sign "$here/seal.key" "$O/OU=seal/CN=Notarium Development PDF Seal" seal "$here/root.pem" "$here/root.key" 20250101000000Z 20350101000000Z "$here/seal.pem"
}
if [ "${1:-}" = seal ]; then
  seal_cert
  echo "development PDF seal written to $here/seal.pem and $here/seal.key"
  exit 0
fi
if [ "${1:-}" = tsa ]; then
  tsa_cert
  echo "development TSA written to $here/tsa.pem and $here/tsa.key"
  exit 0
fi
# The development trust root and the three signers.
key "$here/root.key"
sign "$here/root.key" "$O/CN=Notarium Development Root CA" root self "$here/root.key" 20250101000000Z 20450101000000Z "$here/root.pem"
for who in notary:notarium.example/log court:court.example/witness arbitration:arbitration.example/witness; do
  role=${who%%:*}; cn=${who#*:}
  key "$here/$role.key"
  sign "$here/$role.key" "$O/OU=$role/CN=$(esc "$cn")" signer "$here/root.pem" "$here/root.key" 20250101000000Z 20350101000000Z "$here/$role.pem"
done

# Test fixtures: a foreign root with its own notary and court witness.
key "$fix/other-root.key"
sign "$fix/other-root.key" "/O=Someone Else/CN=Other Root CA" root self "$fix/other-root.key" 20250101000000Z 20450101000000Z "$fix/other-root.pem"
for who in notary:notarium.example/log court:court.example/witness; do
  role=${who%%:*}; cn=${who#*:}
  key "$fix/other-$role.key"
  sign "$fix/other-$role.key" "/O=Someone Else/OU=$role/CN=$(esc "$cn")" signer "$fix/other-root.pem" "$fix/other-root.key" 20250101000000Z 20350101000000Z "$fix/other-$role.pem"
done
# A court witness whose certificate expired in 2021.
key "$fix/expired-court.key"
sign "$fix/expired-court.key" "$O/OU=court/CN=expired-court.example\/witness" signer "$here/root.pem" "$here/root.key" 20200101000000Z 20210101000000Z "$fix/expired-court.pem"
# A witness certificate without the digitalSignature key usage.
key "$fix/nods-court.key"
sign "$fix/nods-court.key" "$O/OU=court/CN=nods-court.example\/witness" no_digital_signature "$here/root.pem" "$here/root.key" 20250101000000Z 20350101000000Z "$fix/nods-court.pem"
# A court witness certified through an intermediate CA.
key "$fix/intermediate.key"
sign "$fix/intermediate.key" "$O/CN=Notarium Development Intermediate CA" intermediate "$here/root.pem" "$here/root.key" 20250101000000Z 20400101000000Z "$fix/intermediate.pem"
key "$fix/court2.key"
sign "$fix/court2.key" "$O/OU=court/CN=court2.example\/witness" signer "$fix/intermediate.pem" "$fix/intermediate.key" 20250101000000Z 20350101000000Z "$fix/court2.pem"
tsa_cert
seal_cert
echo "development PKI written to $here and $fix"
