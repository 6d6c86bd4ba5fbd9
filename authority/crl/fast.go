package crl

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"errors"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// createList signs tmpl as x509.CreateRevocationList does. A CRL of a
// million entries costs Go's reflection-based encoder about 13 s of CPU
// (BenchmarkSign1M); this encodes the entries directly: Go builds and signs
// the CRL without entries (version, algorithm, issuer, times and
// extensions: AKI, CRL number, IDP), the entries are spliced into its TBS
// byte-identically to Go's encoding (TestFastMatchesStdlib,
// FuzzFastMatchesStdlib), and the result is signed again. Anything it does
// not handle (entry extensions, negative serials, RSA-PSS and other
// algorithms) goes to Go's encoder.
func createList(tmpl *x509.RevocationList, issuer *x509.Certificate, signer crypto.Signer) ([]byte, error) {
	der, ok, err := fastList(tmpl, issuer, signer)
	if ok || err != nil {
		return der, err
	}
	return x509.CreateRevocationList(rand.Reader, tmpl, issuer, signer)
}

// fastList is createList's own encoder; ok is false when it leaves tmpl
// to Go's.
func fastList(tmpl *x509.RevocationList, issuer *x509.Certificate, signer crypto.Signer) (_ []byte, ok bool, _ error) {
	entries := tmpl.RevokedCertificateEntries
	if len(entries) == 0 || !fastEntriesOK(entries) {
		return nil, false, nil
	}
	empty := *tmpl
	empty.RevokedCertificateEntries = nil
	der, err := x509.CreateRevocationList(rand.Reader, &empty, issuer, signer)
	if err != nil {
		return nil, false, err
	}
	parsed, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, false, err
	}
	h, ok := hashOf(parsed.SignatureAlgorithm)
	if !ok {
		return nil, false, nil
	}
	head, tail, sigAlg, err := splitEmpty(der)
	if err != nil {
		return nil, false, err
	}
	var body []byte
	for _, e := range entries {
		body = appendEntry(body, e)
	}
	tbs := make([]byte, 0, len(head)+len(tail)+len(body)+16)
	tbs = appendHeader(tbs, 0x30, len(head)+headerLen(len(body))+len(body)+len(tail))
	tbs = append(tbs, head...)
	tbs = appendHeader(tbs, 0x30, len(body))
	tbs = append(tbs, body...)
	tbs = append(tbs, tail...)
	msg := tbs
	if h != 0 {
		msg = digestOf(h, tbs)
	}
	sig, err := signer.Sign(rand.Reader, msg, h)
	if err != nil {
		return nil, false, err
	}
	out := make([]byte, 0, len(tbs)+len(sigAlg)+len(sig)+16)
	bitLen := 1 + len(sig)
	out = appendHeader(out, 0x30, len(tbs)+len(sigAlg)+headerLen(bitLen)+bitLen)
	out = append(out, tbs...)
	out = append(out, sigAlg...)
	out = appendHeader(out, 0x03, bitLen)
	out = append(out, 0)
	return append(out, sig...), true, nil
}

func fastEntriesOK(entries []x509.RevocationListEntry) bool {
	for _, e := range entries {
		if e.SerialNumber == nil || e.SerialNumber.Sign() < 0 || len(e.Extensions) > 0 || len(e.ExtraExtensions) > 0 ||
			e.ReasonCode < 0 || e.ReasonCode > 127 {
			return false
		}
	}
	return true
}

// hashOf returns the hash signer.Sign takes for alg (0 for Ed25519), or
// false for an algorithm the fast path leaves to Go.
func hashOf(alg x509.SignatureAlgorithm) (crypto.Hash, bool) {
	switch alg {
	case x509.ECDSAWithSHA256, x509.SHA256WithRSA:
		return crypto.SHA256, true
	case x509.ECDSAWithSHA384, x509.SHA384WithRSA:
		return crypto.SHA384, true
	case x509.ECDSAWithSHA512, x509.SHA512WithRSA:
		return crypto.SHA512, true
	case x509.PureEd25519:
		return 0, true
	}
	return 0, false
}

func digestOf(h crypto.Hash, msg []byte) []byte {
	switch h {
	case crypto.SHA384:
		s := sha512.Sum384(msg)
		return s[:]
	case crypto.SHA512:
		s := sha512.Sum512(msg)
		return s[:]
	}
	s := sha256.Sum256(msg)
	return s[:]
}

// splitEmpty cuts a CRL without entries into the TBS contents before the
// place of revokedCertificates (version, signature, issuer, thisUpdate,
// nextUpdate), the TBS contents after it (crlExtensions), and the outer
// signatureAlgorithm element.
func splitEmpty(der []byte) (head, tail, sigAlg []byte, err error) {
	bad := errors.New("crl: cannot split the encoded CRL")
	in := cryptobyte.String(der)
	var list, tbs cryptobyte.String
	if !in.ReadASN1(&list, cbasn1.SEQUENCE) || !list.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, nil, nil, bad
	}
	var alg cryptobyte.String
	if !list.ReadASN1Element(&alg, cbasn1.SEQUENCE) {
		return nil, nil, nil, bad
	}
	all := []byte(tbs)
	var skip cryptobyte.String
	if !tbs.ReadASN1Element(&skip, cbasn1.INTEGER) || // version
		!tbs.ReadASN1Element(&skip, cbasn1.SEQUENCE) || // signature
		!tbs.ReadASN1Element(&skip, cbasn1.SEQUENCE) { // issuer
		return nil, nil, nil, bad
	}
	for range 2 { // thisUpdate, nextUpdate
		if !tbs.ReadAnyASN1Element(&skip, nil) {
			return nil, nil, nil, bad
		}
	}
	n := len(all) - len(tbs)
	return all[:n], all[n:], alg, nil
}

// appendEntry appends one revokedCertificates entry as encoding/asn1
// encodes pkix.RevokedCertificate: serial, revocation time (UTCTime from
// 1950 to 2049, else GeneralizedTime, in seconds), and a reasonCode
// extension when the code is not 0.
func appendEntry(b []byte, e x509.RevocationListEntry) []byte {
	var serial [24]byte
	sn := serialBytes(serial[:0], e.SerialNumber)
	t := e.RevocationTime.UTC()
	timeLen := 13
	if t.Year() < 1950 || t.Year() >= 2050 {
		timeLen = 15
	}
	n := headerLen(len(sn)) + len(sn) + 2 + timeLen
	const extLen = 2 + 2 + 5 + 2 + 3 // SEQUENCE { SEQUENCE { OID 2.5.29.21, OCTET STRING { ENUMERATED } } }
	if e.ReasonCode != 0 {
		n += extLen
	}
	b = appendHeader(b, 0x30, n)
	b = appendHeader(b, 0x02, len(sn))
	b = append(b, sn...)
	if timeLen == 13 {
		b = append(b, 0x17, 13)
		b = appendTime(b, t, false)
	} else {
		b = append(b, 0x18, 15)
		b = appendTime(b, t, true)
	}
	if e.ReasonCode != 0 {
		b = append(b, 0x30, extLen-2, 0x30, extLen-4, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01, byte(e.ReasonCode))
	}
	return b
}

// serialBytes appends the contents of the DER INTEGER of a non-negative n.
func serialBytes(b []byte, n *big.Int) []byte {
	if n.Sign() == 0 {
		return append(b, 0)
	}
	start := len(b)
	b = n.FillBytes(append(b, make([]byte, (n.BitLen()+7)/8)...)[start:])
	if b[0]&0x80 != 0 {
		return append([]byte{0}, b...)
	}
	return b
}

func appendTime(b []byte, t time.Time, generalized bool) []byte {
	y := t.Year()
	if generalized {
		b = append(b, byte('0'+y/1000%10), byte('0'+y/100%10))
	}
	two := func(b []byte, v int) []byte { return append(b, byte('0'+v/10%10), byte('0'+v%10)) }
	b = two(b, y%100)
	b = two(b, int(t.Month()))
	b = two(b, t.Day())
	b = two(b, t.Hour())
	b = two(b, t.Minute())
	b = two(b, t.Second())
	return append(b, 'Z')
}

func headerLen(n int) int {
	switch {
	case n < 0x80:
		return 2
	case n < 0x100:
		return 3
	case n < 0x10000:
		return 4
	case n < 0x1000000:
		return 5
	}
	return 6
}

func appendHeader(b []byte, tag byte, n int) []byte {
	b = append(b, tag)
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x100:
		return append(b, 0x81, byte(n))
	case n < 0x10000:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}
