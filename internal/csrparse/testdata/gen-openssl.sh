#!/bin/sh
# Regenerates the OpenSSL-made CSR fixtures used by the differential tests.
# Keys are throwaway; only the CSRs are kept.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/attrs.cnf" <<'CNF'
[req]
distinguished_name = dn
attributes = attrs
prompt = no
string_mask = utf8only
[dn]
C = DE
ST = Bayern
L = München
O = Example GmbH
OU = PKI
CN = attrs.example.com
emailAddress = pki@example.com
[attrs]
challengePassword = s3cret-Passw0rd
unstructuredName = Example Unstructured
CNF

cat >"$tmp/bmp.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
string_mask = pkix
utf8 = yes
[dn]
CN = Grüße €uro
O = Zürich AG
OU = ASCII OU
CNF

cat >"$tmp/t61.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
string_mask = default
utf8 = yes
[dn]
CN = Zürich
O = Plain
CNF

req() { openssl req -new -nodes -outform PEM "$@"; }

req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$tmp/k" \
	-subj "/CN=host.example.com" \
	-addext "subjectAltName=DNS:host.example.com,DNS:www.example.com,IP:10.0.0.1,IP:2001:db8::1,email:admin@example.com,URI:https://example.com:8443/path?q=1" \
	-out openssl-p256-san.pem
req -newkey ec -pkeyopt ec_paramgen_curve:P-384 -sha384 -keyout "$tmp/k" \
	-subj "/C=US/O=Example/CN=p384.example.com" \
	-addext "keyUsage=critical,digitalSignature" \
	-addext "basicConstraints=critical,CA:FALSE" \
	-addext "extendedKeyUsage=serverAuth,clientAuth" \
	-addext "subjectAltName=DNS:p384.example.com" \
	-out openssl-p384-critical.pem
req -newkey ec -pkeyopt ec_paramgen_curve:P-521 -sha512 -keyout "$tmp/k" \
	-subj "/CN=p521.example.com" -out openssl-p521-noext.pem
req -newkey ed25519 -keyout "$tmp/k" -subj "/CN=ed25519.example.com/O=Example" \
	-addext "subjectAltName=DNS:ed25519.example.com" -out openssl-ed25519.pem
req -newkey ed25519 -keyout "$tmp/k" -subj "/CN=noattrs.example.com" -out openssl-ed25519-noattrs.pem
req -newkey rsa:2048 -sha256 -keyout "$tmp/k" -config "$tmp/attrs.cnf" \
	-addext "subjectAltName=DNS:attrs.example.com" -out openssl-rsa-attrs.pem
req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$tmp/k" -config "$tmp/bmp.cnf" -out openssl-bmpstring.pem
req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$tmp/k" -config "$tmp/t61.cnf" -out openssl-t61string.pem
req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$tmp/k" -multivalue-rdn \
	-subj "/CN=multi.example.com+UID=42/O=Example+OU=Multi" \
	-addext "subjectAltName=DNS:multi.example.com" \
	-addext "tlsfeature=status_request" -out openssl-multivalue-rdn.pem
