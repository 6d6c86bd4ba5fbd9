// Package csrparse parses PKCS #10 certificate signing requests faster than
// crypto/x509 while returning exactly what x509.ParseCertificateRequest
// returns.
//
// x509.ParseCertificateRequest decodes the request with the reflective
// encoding/asn1 package, which dominates the cost of a CSR-signing request.
// This package adds a hand-written fast path (built on cryptobyte) for the
// shapes real clients produce. The fast path never reports errors: whenever
// it meets something it does not model exactly, or anything malformed, it
// gives up and Parse calls x509.ParseCertificateRequest, so unusual inputs
// and all error values come from the standard library itself.
//
// Equivalence is defined as reflect.DeepEqual results, and the same fields
// aliasing the input as with the standard library: Raw, the Raw* fields,
// Signature, an Ed25519 PublicKey and byte-string values in Attributes point
// into der, while Extensions values are copies (IPAddresses point into those
// copies).
package csrparse

import (
	"crypto/x509"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Parse returns what x509.ParseCertificateRequest(der) returns.
func Parse(der []byte) (*x509.CertificateRequest, error) {
	if csr, ok := fastParse(der); ok {
		return csr, nil
	}
	return x509.ParseCertificateRequest(der)
}

// fastParse decodes the common CSR shapes. ok is false when der is not one
// of them or is malformed in any way; the caller must then fall back to the
// standard library. It never returns a partially filled request with ok set.
func fastParse(der []byte) (csr *x509.CertificateRequest, ok bool) {
	// CertificationRequest ::= SEQUENCE {
	//   certificationRequestInfo CertificationRequestInfo,
	//   signatureAlgorithm       AlgorithmIdentifier,
	//   signature                BIT STRING }
	//
	// x509 rejects bytes after the outer SEQUENCE but (through encoding/asn1)
	// tolerates extra elements inside it; the fast path accepts neither.
	input := cryptobyte.String(der)
	var body, tbs, sigAI cryptobyte.String
	if !input.ReadASN1(&body, cbasn1.SEQUENCE) || !input.Empty() ||
		!body.ReadASN1Element(&tbs, cbasn1.SEQUENCE) ||
		!body.ReadASN1(&sigAI, cbasn1.SEQUENCE) {
		return nil, false
	}
	sig, ok := readBitStringBytes(&body)
	if !ok || !body.Empty() {
		return nil, false
	}
	sigAlg, ok := signatureAlgorithm(sigAI)
	if !ok {
		return nil, false
	}

	csr = &x509.CertificateRequest{
		// encoding/asn1 hands out sub-slices of its input, so these alias
		// der exactly as the standard library's fields do.
		Raw:                      der,
		RawTBSCertificateRequest: tbs,
		Signature:                sig,
		SignatureAlgorithm:       sigAlg,
	}
	p := parser{csr: csr}
	if !p.parseInfo(tbs) {
		return nil, false
	}
	return csr, true
}

// parser holds the request being filled and an arena for OBJECT IDENTIFIER
// arcs, so that the many small OIDs of a request cost one allocation instead
// of one each.
type parser struct {
	csr  *x509.CertificateRequest
	arcs []int
}

// parseInfo fills csr from the DER CertificationRequestInfo element.
func (p *parser) parseInfo(der cryptobyte.String) bool {
	// CertificationRequestInfo ::= SEQUENCE {
	//   version       INTEGER { v1(0) },
	//   subject       Name,
	//   subjectPKInfo SubjectPublicKeyInfo,
	//   attributes    [0] IMPLICIT SET OF Attribute }
	var info, version, subject, spki, attrs cryptobyte.String
	if !der.ReadASN1(&info, cbasn1.SEQUENCE) ||
		!info.ReadASN1(&version, cbasn1.INTEGER) ||
		!info.ReadASN1Element(&subject, cbasn1.SEQUENCE) ||
		!info.ReadASN1Element(&spki, cbasn1.SEQUENCE) ||
		!info.ReadASN1(&attrs, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!info.Empty() {
		return false
	}
	// x509 accepts any int64 version and reports it; only v1 (0) exists, so
	// anything else is left to the standard library.
	if len(version) != 1 || version[0] != 0 {
		return false
	}

	csr := p.csr
	csr.RawSubject = subject
	csr.RawSubjectPublicKeyInfo = spki

	var ok bool
	if csr.PublicKeyAlgorithm, csr.PublicKey, ok = parsePublicKey(spki); !ok {
		return false
	}
	return p.parseName(subject, &csr.Subject) && p.parseAttributes(attrs)
}

// readBitStringBytes reads a BIT STRING that holds whole bytes (no unused
// bits). x509 right-aligns other bit strings into a fresh buffer; those are
// left to it. The result aliases s, as x509's does.
func readBitStringBytes(s *cryptobyte.String) ([]byte, bool) {
	var bits cryptobyte.String
	if !s.ReadASN1(&bits, cbasn1.BIT_STRING) || len(bits) == 0 || bits[0] != 0 {
		return nil, false
	}
	return bits[1:], true
}
