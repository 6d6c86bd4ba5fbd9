package csrparse

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DER contents of the OBJECT IDENTIFIERs the fast path recognises.
const (
	oidPublicKeyRSA   = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01" // 1.2.840.113549.1.1.1
	oidPublicKeyECDSA = "\x2a\x86\x48\xce\x3d\x02\x01"         // 1.2.840.10045.2.1
	oidEd25519        = "\x2b\x65\x70"                         // 1.3.101.112, key and signature
	oidCurveP256      = "\x2a\x86\x48\xce\x3d\x03\x01\x07"     // 1.2.840.10045.3.1.7
	oidCurveP384      = "\x2b\x81\x04\x00\x22"                 // 1.3.132.0.34
	oidCurveP521      = "\x2b\x81\x04\x00\x23"                 // 1.3.132.0.35

	oidSHA256WithRSA   = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b" // 1.2.840.113549.1.1.11
	oidSHA384WithRSA   = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0c" // 1.2.840.113549.1.1.12
	oidSHA512WithRSA   = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0d" // 1.2.840.113549.1.1.13
	oidECDSAWithSHA256 = "\x2a\x86\x48\xce\x3d\x04\x03\x02"     // 1.2.840.10045.4.3.2
	oidECDSAWithSHA384 = "\x2a\x86\x48\xce\x3d\x04\x03\x03"     // 1.2.840.10045.4.3.3
	oidECDSAWithSHA512 = "\x2a\x86\x48\xce\x3d\x04\x03\x04"     // 1.2.840.10045.4.3.4

	derNull = "\x05\x00"
)

// readAlgorithm splits the contents of an AlgorithmIdentifier into the raw
// algorithm OID and the raw parameters element (empty when absent). More
// than one parameter element is rejected: encoding/asn1 would ignore the
// extra ones, but no encoder writes them.
func readAlgorithm(ai cryptobyte.String) (oid, params []byte, ok bool) {
	var o, p cryptobyte.String
	if !ai.ReadASN1(&o, cbasn1.OBJECT_IDENTIFIER) {
		return nil, nil, false
	}
	if !ai.Empty() && (!ai.ReadAnyASN1Element(&p, nil) || !ai.Empty()) {
		return nil, nil, false
	}
	return o, p, true
}

// signatureAlgorithm maps the contents of the signature AlgorithmIdentifier
// as x509 does for the algorithms the fast path supports. x509 ignores the
// parameters of these algorithms except that Ed25519 must have none; we also
// insist they are absent or NULL, the only encodings in use.
func signatureAlgorithm(ai cryptobyte.String) (x509.SignatureAlgorithm, bool) {
	oid, params, ok := readAlgorithm(ai)
	if !ok || len(params) != 0 && string(params) != derNull {
		return x509.UnknownSignatureAlgorithm, false
	}
	switch string(oid) {
	case oidECDSAWithSHA256:
		return x509.ECDSAWithSHA256, true
	case oidECDSAWithSHA384:
		return x509.ECDSAWithSHA384, true
	case oidECDSAWithSHA512:
		return x509.ECDSAWithSHA512, true
	case oidSHA256WithRSA:
		return x509.SHA256WithRSA, true
	case oidSHA384WithRSA:
		return x509.SHA384WithRSA, true
	case oidSHA512WithRSA:
		return x509.SHA512WithRSA, true
	case oidEd25519:
		return x509.PureEd25519, len(params) == 0
	}
	// Everything else, notably RSA-PSS whose meaning lives in its
	// parameters, is left to x509.
	return x509.UnknownSignatureAlgorithm, false
}

// parsePublicKey decodes a SubjectPublicKeyInfo element (spki) the way x509
// does for ECDSA on P-256/P-384/P-521, Ed25519 and RSA keys.
func parsePublicKey(spki cryptobyte.String) (x509.PublicKeyAlgorithm, any, bool) {
	var info, ai cryptobyte.String
	if !spki.ReadASN1(&info, cbasn1.SEQUENCE) || !info.ReadASN1(&ai, cbasn1.SEQUENCE) {
		return 0, nil, false
	}
	key, ok := readBitStringBytes(&info)
	if !ok || !info.Empty() {
		return 0, nil, false
	}
	oid, params, ok := readAlgorithm(ai)
	if !ok {
		return 0, nil, false
	}

	switch string(oid) {
	case oidPublicKeyECDSA:
		curve := namedCurve(params)
		if curve == nil {
			return 0, nil, false
		}
		// The same constructor x509 uses; it rejects points not on the
		// curve, and its result is what x509 would return.
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, key)
		if err != nil {
			return 0, nil, false
		}
		return x509.ECDSA, pub, true
	case oidEd25519:
		// RFC 8410: parameters MUST be absent.
		if len(params) != 0 || len(key) != ed25519.PublicKeySize {
			return 0, nil, false
		}
		return x509.Ed25519, ed25519.PublicKey(key), true // aliases der, as in x509
	case oidPublicKeyRSA:
		// RFC 3279: parameters MUST be NULL.
		if string(params) != derNull {
			return 0, nil, false
		}
		pub, ok := parseRSAPublicKey(key)
		return x509.RSA, pub, ok
	}
	return 0, nil, false
}

// namedCurve returns the curve whose OID element is params, or nil.
func namedCurve(params cryptobyte.String) elliptic.Curve {
	var oid cryptobyte.String
	if !params.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || !params.Empty() {
		return nil
	}
	switch string(oid) {
	case oidCurveP256:
		return elliptic.P256()
	case oidCurveP384:
		return elliptic.P384()
	case oidCurveP521:
		return elliptic.P521()
	}
	return nil
}

// parseRSAPublicKey decodes a PKCS #1 RSAPublicKey with the same cryptobyte
// integer readers as x509, so N and E come out identical. x509 ignores
// bytes after the exponent or after the SEQUENCE; we fall back instead.
func parseRSAPublicKey(der cryptobyte.String) (*rsa.PublicKey, bool) {
	var seq cryptobyte.String
	pub := &rsa.PublicKey{N: new(big.Int)}
	if !der.ReadASN1(&seq, cbasn1.SEQUENCE) || !der.Empty() ||
		!seq.ReadASN1Integer(pub.N) || !seq.ReadASN1Integer(&pub.E) || !seq.Empty() {
		return nil, false
	}
	if pub.N.Sign() <= 0 || pub.E <= 0 {
		return nil, false
	}
	return pub, true
}
