#!/usr/bin/env bash
# Regenerates the CERTIFICATE CHAIN CORPUS of the core's identity checks:
# crafted chains (path length, basic constraints, key usage, extended key
# usage, validity at the signing time, name chaining, intermediates given in
# any order, critical extensions, algorithms) under
# crates/notarium-core/tests/chains/, and manifest.json there, which records
# per case what `openssl verify -x509_strict -attime T` says about it and
# whether Notarium's own profile (contract §1, §9 EKU) refuses it besides.
# crates/notarium-core/tests/openssl_agreement.rs replays every case against
# openssl and against the core.
#
#   bash certs/make-chain-corpus.sh       # from anywhere; rewrites the folder
#
# Needs openssl 3.x, xxd, base64 and GNU date. Idempotent: every run builds
# the whole corpus from nothing in a temporary folder, then replaces the
# certificates and the manifest (a file no case uses any more is removed).
# The certificates differ from run to run (fresh keys, random ECDSA
# signatures), the manifest does not: the validity windows and signing times
# are fixed dates, so the recorded verdicts do not change with the clock.
#
# The private keys are THROWAWAY TEST KEYS: they live only in the temporary
# folder and are deleted at the end; no test needs them, none is committed.
# NOTHING HERE IS FOR PRODUCTION.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../crates/notarium-core/tests/chains"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export WORK="$work"
: >"$work/index.txt"
echo 1000 >"$work/serial"

# The Notarium signer EKU (contract §9) and an unknown extension under the
# IANA enterprise number reserved for documentation (RFC 5612).
NOTARIUM_EKU=2.25.52608443440459121674925930944434331781
UNKNOWN_EXT=1.3.6.1.4.1.32473.1.1

cat >"$work/ca.cnf" <<CNF
[ca]
default_ca = corpus
[corpus]
database = \$ENV::WORK/index.txt
new_certs_dir = \$ENV::WORK
serial = \$ENV::WORK/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
organizationName = optional
organizationalUnitName = optional
commonName = supplied

# Trust roots.
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[root_pathlen0]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

# Intermediate CAs.
[ca_plain]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_pathlen0]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_pathlen1]
basicConstraints = critical, CA:TRUE, pathlen:1
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_false]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_no_bc]
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_bc_not_critical]
basicConstraints = CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
# A BOOLEAN TRUE and a stray OCTET STRING instead of SEQUENCE { BOOLEAN }.
[ca_garbage_bc]
2.5.29.19 = critical, DER:0101FF0401AA
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_no_keycertsign]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, digitalSignature, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca_critical_unknown]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
$UNKNOWN_EXT = critical, DER:0500

# Signers.
[signer]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[signer_key_encipherment]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[signer_non_repudiation]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[signer_eku_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[signer_eku_any]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = anyExtendedKeyUsage
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[signer_eku_notarium]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, $NOTARIUM_EKU
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[signer_eku_server_notarium]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, $NOTARIUM_EKU
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[signer_critical_unknown]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
$UNKNOWN_EXT = critical, DER:0500
[signer_noncritical_unknown]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
$UNKNOWN_EXT = DER:0500
[signer_garbage_bc]
2.5.29.19 = critical, DER:0101FF0401AA
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[signer_pathlen]
basicConstraints = critical, CA:FALSE, pathlen:0
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[signer_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyCertSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

O="/O=Notarium Chain Corpus (TEST ONLY)"
# Validity windows (fixed) and the usual signing time T.
ROOT_FROM=20250101000000Z ROOT_TO=20450101000000Z
CA_FROM=20250101000000Z CA_TO=20400101000000Z
FROM=20250101000000Z TO=20350101000000Z
T=2026-06-01T00:00:00Z

# key NAME [p256|p384|rsa]: a throwaway key in the temporary folder.
key() {
  case "${2:-p256}" in
    p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/$1.key" 2>/dev/null ;;
    p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$work/$1.key" 2>/dev/null ;;
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/$1.key" 2>/dev/null ;;
  esac
}
# issue NAME KEY SUBJECT SECTION ISSUER FROM TO [openssl ca options...]:
# certificate NAME.pem for KEY.key, issued by ISSUER.pem with ISSUER.key
# (ISSUER "self" for a self-signed one).
issue() {
  local name=$1 k=$2 subj=$3 section=$4 issuer=$5 from=$6 to=$7
  shift 7
  openssl req -new -key "$work/$k.key" -subj "$subj" -out "$work/req.csr"
  local signing=(-cert "$work/$issuer.pem" -keyfile "$work/$issuer.key")
  [ "$issuer" = self ] && signing=(-selfsign -keyfile "$work/$k.key")
  openssl ca -batch -config "$work/ca.cnf" -notext -preserveDN -extensions "$section" \
    "${signing[@]}" -startdate "$from" -enddate "$to" "$@" \
    -in "$work/req.csr" -out "$work/$name.pem" 2>/dev/null
}
# cert NAME SUBJECT SECTION ISSUER [FROM TO [options]]: a fresh P-256 key NAME
# and its certificate, with the usual signer window unless given.
cert() {
  key "$1"
  issue "$1" "$1" "$2" "$3" "$4" "${5:-$FROM}" "${6:-$TO}" "${@:7}"
}
signer_subject() { printf '%s/OU=%s/CN=%s' "$O" "$1" "$2"; }
epoch() { date -u -d "$1" +%s; }
# DER length octets of N.
der_len() {
  if [ "$1" -lt 128 ]; then printf '%02x' "$1"
  elif [ "$1" -lt 256 ]; then printf '81%02x' "$1"
  else printf '82%04x' "$1"; fi
}

# --- The PKI ---------------------------------------------------------------
cert root "$O/CN=Corpus Root CA" root self "$ROOT_FROM" "$ROOT_TO"
cert other-root "/O=Someone Else (TEST ONLY)/CN=Other Root CA" root self "$ROOT_FROM" "$ROOT_TO"
cert root-pathlen0 "$O/CN=Corpus Root CA pathlen 0" root_pathlen0 self "$ROOT_FROM" "$ROOT_TO"

# Zero to three intermediates: root > chain-1 > chain-2 > chain-3 (pathlen 0).
cert chain-1 "$O/CN=Corpus Chain CA 1" ca_plain root "$CA_FROM" "$CA_TO"
cert chain-2 "$O/CN=Corpus Chain CA 2" ca_plain chain-1 "$CA_FROM" "$CA_TO"
cert chain-3 "$O/CN=Corpus Chain CA 3" ca_pathlen0 chain-2 "$CA_FROM" "$CA_TO"
cert direct "$(signer_subject notary direct.chains.example)" signer root
cert under-1 "$(signer_subject court under-1.chains.example)" signer chain-1
cert under-2 "$(signer_subject arbitration under-2.chains.example)" signer chain-2
cert under-3 "$(signer_subject court under-3.chains.example)" signer chain-3
cert other-ca "/O=Someone Else (TEST ONLY)/CN=Other Intermediate CA" ca_plain other-root "$CA_FROM" "$CA_TO"
cert other-signer "$(signer_subject court other-signer.chains.example)" signer other-root

# pathLenConstraint.
cert ca-pathlen0 "$O/CN=Corpus CA pathlen 0" ca_pathlen0 root "$CA_FROM" "$CA_TO"
cert sub-of-pathlen0 "$O/CN=Corpus Sub-CA below pathlen 0" ca_pathlen0 ca-pathlen0 "$CA_FROM" "$CA_TO"
cert under-sub-of-pathlen0 "$(signer_subject court under-sub-of-pathlen0.chains.example)" signer sub-of-pathlen0
cert under-pathlen0 "$(signer_subject notary under-pathlen0.chains.example)" signer ca-pathlen0
cert ca-pathlen1 "$O/CN=Corpus CA pathlen 1" ca_pathlen1 root "$CA_FROM" "$CA_TO"
cert sub-of-pathlen1 "$O/CN=Corpus Sub-CA below pathlen 1" ca_pathlen0 ca-pathlen1 "$CA_FROM" "$CA_TO"
cert under-sub-of-pathlen1 "$(signer_subject arbitration under-sub-of-pathlen1.chains.example)" signer sub-of-pathlen1
cert ca-under-root-pathlen0 "$O/CN=Corpus CA below a pathlen 0 root" ca_pathlen0 root-pathlen0 "$CA_FROM" "$CA_TO"
cert under-ca-under-root-pathlen0 "$(signer_subject court under-ca-under-root-pathlen0.chains.example)" signer ca-under-root-pathlen0
cert under-root-pathlen0 "$(signer_subject notary under-root-pathlen0.chains.example)" signer root-pathlen0

# basicConstraints.
cert ca-false "$O/CN=Corpus CA with CA FALSE" ca_false root "$CA_FROM" "$CA_TO"
cert under-ca-false "$(signer_subject court under-ca-false.chains.example)" signer ca-false
cert ca-no-bc "$O/CN=Corpus CA without basicConstraints" ca_no_bc root "$CA_FROM" "$CA_TO"
cert under-ca-no-bc "$(signer_subject court under-ca-no-bc.chains.example)" signer ca-no-bc
cert ca-bc-not-critical "$O/CN=Corpus CA with non-critical basicConstraints" ca_bc_not_critical root "$CA_FROM" "$CA_TO"
cert under-ca-bc-not-critical "$(signer_subject arbitration under-ca-bc-not-critical.chains.example)" signer ca-bc-not-critical
cert ca-garbage-bc "$O/CN=Corpus CA with garbage basicConstraints" ca_garbage_bc root "$CA_FROM" "$CA_TO"
cert under-ca-garbage-bc "$(signer_subject court under-ca-garbage-bc.chains.example)" signer ca-garbage-bc
cert signer-garbage-bc "$(signer_subject court signer-garbage-bc.chains.example)" signer_garbage_bc root
cert signer-pathlen "$(signer_subject notary signer-pathlen.chains.example)" signer_pathlen root

# Key usage.
cert ca-no-keycertsign "$O/CN=Corpus CA without keyCertSign" ca_no_keycertsign root "$CA_FROM" "$CA_TO"
cert under-ca-no-keycertsign "$(signer_subject court under-ca-no-keycertsign.chains.example)" signer ca-no-keycertsign
cert signer-no-digital-signature "$(signer_subject court signer-no-digital-signature.chains.example)" signer_key_encipherment root
cert signer-non-repudiation "$(signer_subject notary signer-non-repudiation.chains.example)" signer_non_repudiation root

# Extended key usage on the signer.
cert eku-server-auth "$(signer_subject court eku-server-auth.chains.example)" signer_eku_server root
cert eku-any "$(signer_subject arbitration eku-any.chains.example)" signer_eku_any root
cert eku-notarium "$(signer_subject notary eku-notarium.chains.example)" signer_eku_notarium root
cert eku-server-auth-and-notarium "$(signer_subject court eku-server-auth-and-notarium.chains.example)" signer_eku_server_notarium root

# Validity at the signing time.
cert signer-expired "$(signer_subject court signer-expired.chains.example)" signer root 20200101000000Z 20210101000000Z
cert signer-not-yet-valid "$(signer_subject court signer-not-yet-valid.chains.example)" signer root 20300101000000Z 20350101000000Z
cert ca-expired "$O/CN=Corpus CA expired in 2026" ca_pathlen0 root 20250101000000Z 20260101000000Z
cert under-ca-expired "$(signer_subject arbitration under-ca-expired.chains.example)" signer ca-expired
cert boundaries "$(signer_subject notary boundaries.chains.example)" signer root 20260315120000Z 20270315120000Z
# A renewed intermediate: same name and key, the old certificate expired.
key ca-renewed
issue ca-renewed-old ca-renewed "$O/CN=Corpus Renewed CA" ca_pathlen0 root 20250101000000Z 20260101000000Z
issue ca-renewed-new ca-renewed "$O/CN=Corpus Renewed CA" ca_pathlen0 root 20251201000000Z "$CA_TO"
cp "$work/ca-renewed.key" "$work/ca-renewed-new.key"
cert under-ca-renewed "$(signer_subject court under-ca-renewed.chains.example)" signer ca-renewed-new

# Name chaining. ca-alias has chain-1's key under another name (it is never
# given to the verifier); ca-impostor has chain-1's name with another key.
issue ca-alias chain-1 "$O/CN=Corpus Alias CA" ca_plain root "$CA_FROM" "$CA_TO"
cp "$work/chain-1.key" "$work/ca-alias.key"
cert issuer-name-mismatch "$(signer_subject court issuer-name-mismatch.chains.example)" signer ca-alias
cert ca-impostor "$O/CN=Corpus Chain CA 1" ca_plain root "$CA_FROM" "$CA_TO"
cert same-name-other-key "$(signer_subject court same-name-other-key.chains.example)" signer ca-impostor

# Critical and non-critical unknown extensions.
cert signer-critical-unknown "$(signer_subject court signer-critical-unknown.chains.example)" signer_critical_unknown root
cert ca-critical-unknown "$O/CN=Corpus CA with a critical unknown extension" ca_critical_unknown root "$CA_FROM" "$CA_TO"
cert under-ca-critical-unknown "$(signer_subject court under-ca-critical-unknown.chains.example)" signer ca-critical-unknown
cert signer-noncritical-unknown "$(signer_subject arbitration signer-noncritical-unknown.chains.example)" signer_noncritical_unknown root

# Algorithms.
cert signer-sha384 "$(signer_subject court signer-sha384.chains.example)" signer root "$FROM" "$TO" -md sha384
key ca-rsa rsa
issue ca-rsa ca-rsa "$O/CN=Corpus RSA CA" ca_pathlen0 root "$CA_FROM" "$CA_TO"
cert under-ca-rsa "$(signer_subject court under-ca-rsa.chains.example)" signer ca-rsa
key signer-p384 p384
issue signer-p384 signer-p384 "$(signer_subject notary signer-p384.chains.example)" signer root "$FROM" "$TO"
# The TBS says ecdsa-with-SHA384, the outer algorithm ecdsa-with-SHA256, and
# the root's signature over that TBS (with SHA-256) is valid. openssl cannot
# write this, so the TBS of an ordinary certificate is patched and re-signed.
cert tbs-alg-mismatch "$(signer_subject court tbs-alg-mismatch.chains.example)" signer root
openssl x509 -in "$work/tbs-alg-mismatch.pem" -outform DER -out "$work/cert.der"
read -r tbs_at tbs_hl tbs_l < <(openssl asn1parse -inform DER -in "$work/cert.der" \
  | sed -nE '2s/^ *([0-9]+):d=1 +hl=([0-9]+) +l= *([0-9]+) .*/\1 \2 \3/p')
tbs_len=$((tbs_hl + tbs_l))
tail -c +$((tbs_at + 1)) "$work/cert.der" | head -c "$tbs_len" | xxd -p | tr -d '\n' \
  | sed 's/06082a8648ce3d040302/06082a8648ce3d040303/' | xxd -r -p >"$work/tbs.der"
cmp -s <(tail -c +$((tbs_at + 1)) "$work/cert.der" | head -c "$tbs_len") "$work/tbs.der" \
  && { echo "the TBS algorithm was not patched" >&2; exit 1; }
openssl dgst -sha256 -sign "$work/root.key" -out "$work/sig.der" "$work/tbs.der"
sig_hex="00$(xxd -p "$work/sig.der" | tr -d '\n')"
body="$(xxd -p "$work/tbs.der" | tr -d '\n')300a06082a8648ce3d040302"
body+="03$(der_len $((${#sig_hex} / 2)))$sig_hex"
printf '30%s%s' "$(der_len $((${#body} / 2)))" "$body" | xxd -r -p >"$work/patched.der"
{ echo "-----BEGIN CERTIFICATE-----"; base64 -w 64 "$work/patched.der"; echo "-----END CERTIFICATE-----"; } \
  >"$work/tbs-alg-mismatch.pem"

# Self-signed, a CA as signer, and the profile of the subject.
cert self-signed "$(signer_subject court self-signed.chains.example)" signer self
cert signer-is-ca "$(signer_subject notary signer-is-ca.chains.example)" signer_ca root
cert role-not-a-role "$(signer_subject clerk role-not-a-role.chains.example)" signer root
cert two-common-names "$O/OU=court/CN=one.chains.example/CN=two.chains.example" signer root

# --- The cases ---------------------------------------------------------------
json_str() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}
cases=()
used=()
# case NAME DESCRIPTION SIGNER "INTERMEDIATES..." ROOT T PROFILE_WHY
# (PROFILE_WHY empty: Notarium's profile does not refuse it besides openssl.)
case_() {
  local name=$1 desc=$2 signer=$3 ints=$4 root=$5 at=$6 why=$7
  local args=(verify -x509_strict -attime "$(epoch "$at")" -CAfile "$work/$root.pem")
  local ints_json="" i
  for i in $ints; do
    args+=(-untrusted "$work/$i.pem")
    ints_json+="${ints_json:+, }\"$i.pem\""
    used+=("$i")
  done
  args+=("$work/$signer.pem")
  used+=("$signer" "$root")
  local verdict error output
  if output=$(openssl "${args[@]}" 2>&1); then
    verdict=ok error=null
  else
    verdict=refused
    error=$(printf '%s\n' "$output" | grep -m1 -E '^error [0-9]+ at [0-9]+ depth lookup: ' || true)
    [ -n "$error" ] || { echo "$name: openssl failed without an error line: $output" >&2; exit 1; }
    error=$(json_str "$error")
  fi
  local profile
  if [ -n "$why" ]; then
    [ "$verdict" = ok ] || { echo "$name: a profile refusal is only for chains openssl accepts" >&2; exit 1; }
    profile="{ \"refuses\": true, \"why\": $(json_str "$why") }"
  else
    profile='{ "refuses": false, "why": null }'
  fi
  cases+=("    {
      \"name\": $(json_str "$name"),
      \"description\": $(json_str "$desc"),
      \"signer\": \"$signer.pem\",
      \"intermediates\": [$ints_json],
      \"root\": \"$root.pem\",
      \"at\": $(epoch "$at"),
      \"at_text\": \"$at\",
      \"openssl\": { \"verdict\": \"$verdict\", \"error\": $error },
      \"profile\": $profile
    }")
  printf '%-40s %-8s %s\n' "$name" "$verdict" "${why:+(profile refuses)}"
}

# Intermediates: zero, one, two, three, order, extras.
case_ direct "signer issued by the root, no intermediate" direct "" root $T ""
case_ one-intermediate "root > CA (pathlen 0) > signer" under-pathlen0 "ca-pathlen0" root $T ""
case_ two-intermediates "root > CA 1 > CA 2 > signer, intermediates in order" under-2 "chain-2 chain-1" root $T ""
case_ two-intermediates-reversed "root > CA 1 > CA 2 > signer, intermediates given root side first" under-2 "chain-1 chain-2" root $T ""
case_ three-intermediates-out-of-order "root > CA 1 > CA 2 > CA 3 > signer, intermediates given as CA 1, CA 3, CA 2" under-3 "chain-1 chain-3 chain-2" root $T ""
case_ extra-unrelated-intermediate "root > CA (pathlen 0) > signer, plus an intermediate of another root given first" under-pathlen0 "other-ca ca-pathlen0" root $T ""
case_ missing-intermediate "root > CA 1 > CA 2 > signer, only CA 2 given" under-2 "chain-2" root $T ""
case_ other-root "signer issued by another root" other-signer "" root $T ""
case_ other-root-with-its-intermediate "signer under CA 1, but the intermediate given belongs to another root" under-1 "other-ca" root $T ""
case_ self-signed-signer "a self-signed signer certificate (CA:FALSE, digitalSignature)" self-signed "" root $T ""
# pathLenConstraint.
case_ pathlen0-with-sub-ca "root > CA (pathlen 0) > sub-CA > signer: the sub-CA exceeds pathlen 0" under-sub-of-pathlen0 "ca-pathlen0 sub-of-pathlen0" root $T ""
case_ pathlen1-with-sub-ca "root > CA (pathlen 1) > sub-CA (pathlen 0) > signer" under-sub-of-pathlen1 "sub-of-pathlen1 ca-pathlen1" root $T ""
case_ root-pathlen0-with-intermediate "root (pathlen 0) > CA > signer: the CA exceeds the root's pathlen 0" under-ca-under-root-pathlen0 "ca-under-root-pathlen0" root-pathlen0 $T ""
case_ root-pathlen0-direct "root (pathlen 0) > signer" under-root-pathlen0 "" root-pathlen0 $T ""
case_ signer-with-pathlen "signer with basicConstraints CA:FALSE and a pathLenConstraint" signer-pathlen "" root $T ""
# basicConstraints.
case_ intermediate-ca-false "intermediate with basicConstraints CA:FALSE (and keyCertSign)" under-ca-false "ca-false" root $T ""
case_ intermediate-without-basic-constraints "intermediate without basicConstraints (keyCertSign only)" under-ca-no-bc "ca-no-bc" root $T ""
case_ intermediate-basic-constraints-not-critical "intermediate whose basicConstraints CA:TRUE is not critical" under-ca-bc-not-critical "ca-bc-not-critical" root $T ""
case_ intermediate-garbage-basic-constraints "intermediate whose critical basicConstraints is not a SEQUENCE (DER 0101FF0401AA)" under-ca-garbage-bc "ca-garbage-bc" root $T ""
case_ signer-garbage-basic-constraints "signer whose critical basicConstraints is not a SEQUENCE (DER 0101FF0401AA)" signer-garbage-bc "" root $T ""
# Key usage.
case_ intermediate-without-keycertsign "intermediate CA:TRUE whose keyUsage lacks keyCertSign" under-ca-no-keycertsign "ca-no-keycertsign" root $T ""
case_ signer-without-digital-signature "signer whose keyUsage is keyEncipherment only" signer-no-digital-signature "" root $T \
  "contract §1: a signer certificate must have the digitalSignature key usage"
case_ signer-digital-signature-non-repudiation "signer with keyUsage digitalSignature and nonRepudiation" signer-non-repudiation "" root $T ""
# Extended key usage.
case_ eku-server-auth-only "signer with extendedKeyUsage serverAuth only" eku-server-auth "" root $T \
  "contract §9: a signer's extendedKeyUsage must include anyExtendedKeyUsage or $NOTARIUM_EKU (openssl verify without -purpose ignores a leaf's EKU)"
case_ eku-any "signer with extendedKeyUsage anyExtendedKeyUsage" eku-any "" root $T ""
case_ eku-notarium "signer with a critical extendedKeyUsage of the Notarium signer OID only" eku-notarium "" root $T ""
case_ eku-server-auth-and-notarium "signer with extendedKeyUsage serverAuth and the Notarium signer OID" eku-server-auth-and-notarium "" root $T ""
# Validity at T.
case_ signer-expired "signer valid 2020-01-01 to 2021-01-01, T in 2026" signer-expired "" root $T ""
case_ signer-not-yet-valid "signer valid from 2030, T in 2026" signer-not-yet-valid "" root $T ""
case_ intermediate-expired "intermediate expired on 2026-01-01, signer valid, T 2026-06-01" under-ca-expired "ca-expired" root $T ""
case_ renewed-intermediate-expired-one-first "two certificates of the same intermediate (same name and key), the expired one given first" under-ca-renewed "ca-renewed-old ca-renewed-new" root $T ""
case_ t-one-second-before-not-before "signer valid 2026-03-15T12:00:00Z to 2027-03-15T12:00:00Z, T one second before notBefore" boundaries "" root 2026-03-15T11:59:59Z ""
case_ t-at-not-before "signer valid 2026-03-15T12:00:00Z to 2027-03-15T12:00:00Z, T exactly notBefore" boundaries "" root 2026-03-15T12:00:00Z ""
case_ t-one-second-before-not-after "signer valid 2026-03-15T12:00:00Z to 2027-03-15T12:00:00Z, T one second before notAfter" boundaries "" root 2027-03-15T11:59:59Z ""
case_ t-at-not-after "signer valid 2026-03-15T12:00:00Z to 2027-03-15T12:00:00Z, T exactly notAfter (RFC 5280 4.1.2.5 says inclusive; openssl's X509_cmp_time says expired)" boundaries "" root 2027-03-15T12:00:00Z ""
case_ t-one-second-after-not-after "signer valid 2026-03-15T12:00:00Z to 2027-03-15T12:00:00Z, T one second after notAfter" boundaries "" root 2027-03-15T12:00:01Z ""
# Name chaining.
case_ issuer-name-mismatch "signer signed with CA 1's key but naming another issuer; CA 1 given" issuer-name-mismatch "chain-1" root $T ""
case_ same-name-other-key "signer issued by an impostor with CA 1's name and another key; the real CA 1 given" same-name-other-key "chain-1" root $T ""
# Unknown extensions.
case_ signer-critical-unknown-extension "signer with a critical unknown extension $UNKNOWN_EXT" signer-critical-unknown "" root $T ""
case_ intermediate-critical-unknown-extension "intermediate with a critical unknown extension $UNKNOWN_EXT" under-ca-critical-unknown "ca-critical-unknown" root $T ""
case_ signer-noncritical-unknown-extension "signer with a non-critical unknown extension $UNKNOWN_EXT" signer-noncritical-unknown "" root $T ""
# Algorithms.
case_ signer-signed-with-sha384 "signer certificate signed by the root with ecdsa-with-SHA384" signer-sha384 "" root $T \
  "contract §1 / docs/format.md §1: every certificate is signed with ecdsa-with-SHA256"
case_ rsa-intermediate "root > RSA-2048 CA > signer (signed with sha256WithRSAEncryption)" under-ca-rsa "ca-rsa" root $T \
  "contract §1 / docs/format.md §1: every key is ECDSA P-256 and every certificate signed with ecdsa-with-SHA256"
case_ signer-p384-key "signer with a P-384 key, signed by the root with ecdsa-with-SHA256" signer-p384 "" root $T \
  "contract §1: a signer's key is ECDSA P-256"
case_ tbs-algorithm-differs "TBS signature algorithm ecdsa-with-SHA384, outer ecdsa-with-SHA256 (byte-patched, validly re-signed with SHA-256)" tbs-alg-mismatch "" root $T ""
# A CA as signer, and the subject profile.
case_ signer-is-ca "signer certificate with basicConstraints CA:TRUE (and keyCertSign, digitalSignature)" signer-is-ca "" root $T \
  "contract §1 / identity.rs: a CA certificate cannot sign checkpoints"
case_ signer-ou-not-a-role "signer whose subject OU is clerk" role-not-a-role "" root $T \
  "contract §1: the subject OU must be notary, court or arbitration"
case_ signer-two-common-names "signer with two subject CNs" two-common-names "" root $T \
  "contract §1 / docs/format.md §1: at most one subject CN (the signer's name)"

# --- Write the corpus --------------------------------------------------------
mkdir -p "$out"
rm -f "$out"/*.pem "$out/manifest.json"
for f in $(printf '%s\n' "${used[@]}" | sort -u); do
  cp "$work/$f.pem" "$out/$f.pem"
done
{
  printf '{\n'
  printf '  "about": "Crafted certificate chains; regenerate with bash certs/make-chain-corpus.sh. openssl is what %s says; profile is what Notarium refuses besides (contract §1, §9 EKU).",\n' \
    "openssl verify -x509_strict -attime <at> -CAfile <root> [-untrusted <intermediate>]... <signer>"
  printf '  "openssl_version": %s,\n' "$(json_str "$(openssl version)")"
  printf '  "cases": [\n'
  sep=""
  for c in "${cases[@]}"; do printf '%s%s' "$sep" "$c"; sep=$',\n'; done
  printf '\n  ]\n}\n'
} >"$out/manifest.json"
echo "${#cases[@]} cases written to $out"
