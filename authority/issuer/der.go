package issuer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	"net"
	"time"
	"unicode/utf8"
)

// This file encodes leaf certificates directly, producing the same DER as
// x509.CreateCertificate for the templates the authority builds, and signs
// the TBSCertificate once. x509.CreateCertificate additionally verifies every
// signature it makes, which costs an ECDSA verification (~57 µs, a fifth of
// a sign request's cryptography); for in-process software keys a signer that
// misbehaves is caught at start-up instead (New signs and checks one
// certificate). A signer outside this process (HSM, KMS) has every signature
// verified (verify.go). Templates using fields this encoder does not support
// fall back to x509.CreateCertificate.
//
// The certificate is appended to one buffer by derWriter, without reflection
// (encoding/asn1) or closures (cryptobyte): those cost more than the rest of
// the encoding together. The TBSCertificate is signed in place in that buffer.

var (
	oidKeyUsage       = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtKeyUsage    = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidSubjectKeyID   = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidAuthorityKeyID = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
)

// DER of the OIDs the encoder writes.
var (
	derKeyUsage       = mustDER(oidKeyUsage)
	derExtKeyUsage    = mustDER(oidExtKeyUsage)
	derSubjectKeyID   = mustDER(oidSubjectKeyID)
	derAuthorityKeyID = mustDER(oidAuthorityKeyID)
	derSubjectAltName = mustDER(oidSubjectAltName)
	derCommonName     = mustDER(asn1.ObjectIdentifier{2, 5, 4, 3})
)

// extKeyUsageOIDs is the DER of each extended key usage the encoder supports,
// indexed by x509.ExtKeyUsage; nil for the others.
var extKeyUsageOIDs = [...][]byte{
	x509.ExtKeyUsageAny:             mustDER(asn1.ObjectIdentifier{2, 5, 29, 37, 0}),
	x509.ExtKeyUsageServerAuth:      mustDER(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}),
	x509.ExtKeyUsageClientAuth:      mustDER(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}),
	x509.ExtKeyUsageCodeSigning:     mustDER(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}),
	x509.ExtKeyUsageEmailProtection: mustDER(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 4}),
	x509.ExtKeyUsageTimeStamping:    mustDER(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}),
	x509.ExtKeyUsageOCSPSigning:     mustDER(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 9}),
}

// DER tags.
const (
	tagBoolean         = 0x01
	tagInteger         = 0x02
	tagBitString       = 0x03
	tagOctetString     = 0x04
	tagOID             = 0x06
	tagUTF8String      = 0x0c
	tagPrintableString = 0x13
	tagUTCTime         = 0x17
	tagGeneralizedTime = 0x18
	tagSequence        = 0x30
	tagSet             = 0x31
	tagExtensions      = 0xa3 // [3] EXPLICIT in TBSCertificate
	tagSANEmail        = 0x81 // GeneralName [1] IMPLICIT IA5String
	tagSANDNS          = 0x82
	tagSANURI          = 0x86
	tagSANIP           = 0x87
)

var (
	tbsVersion   = []byte{0xa0, 3, tagInteger, 1, 2} // [0] EXPLICIT INTEGER 2 (v3)
	critical     = []byte{tagBoolean, 1, 0xff}
	emptySubject = []byte{tagSequence, 0}
)

// sigParams describes how the issuer key signs.
type sigParams struct {
	algID []byte // DER AlgorithmIdentifier
	hash  crypto.Hash
}

var (
	algECDSASHA256 = mustDER(pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}})
	algECDSASHA384 = mustDER(pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}})
	algECDSASHA512 = mustDER(pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}})
	algRSASHA256   = mustDER(pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, Parameters: asn1.NullRawValue})
	algEd25519     = mustDER(pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 3, 101, 112}})
)

// SubjectPublicKeyInfo up to the key bytes, for the keys encoded directly.
var (
	spkiP256    = spkiPrefix(ecPublicKeyAlg(asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}), 65)
	spkiP384    = spkiPrefix(ecPublicKeyAlg(asn1.ObjectIdentifier{1, 3, 132, 0, 34}), 97)
	spkiP521    = spkiPrefix(ecPublicKeyAlg(asn1.ObjectIdentifier{1, 3, 132, 0, 35}), 133)
	spkiEd25519 = spkiPrefix(pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 3, 101, 112}}, ed25519.PublicKeySize)
)

func ecPublicKeyAlg(curve asn1.ObjectIdentifier) pkix.AlgorithmIdentifier {
	return pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}, Parameters: asn1.RawValue{FullBytes: mustDER(curve)}}
}

// spkiPrefix encodes a SubjectPublicKeyInfo with a keyLen-byte key and cuts the key off.
func spkiPrefix(alg pkix.AlgorithmIdentifier, keyLen int) []byte {
	der := mustDER(struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}{alg, asn1.BitString{Bytes: make([]byte, keyLen), BitLength: 8 * keyLen}})
	return der[:len(der)-keyLen]
}

func mustDER(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// signingParams returns the parameters Go's x509 picks for this key, or
// false when the fast path does not handle it.
func signingParams(pub crypto.PublicKey) (sigParams, bool) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return sigParams{algECDSASHA256, crypto.SHA256}, true
		case elliptic.P384():
			return sigParams{algECDSASHA384, crypto.SHA384}, true
		case elliptic.P521():
			return sigParams{algECDSASHA512, crypto.SHA512}, true
		}
	case *rsa.PublicKey:
		return sigParams{algRSASHA256, crypto.SHA256}, true
	case ed25519.PublicKey:
		return sigParams{algEd25519, 0}, true
	}
	return sigParams{}, false
}

// prepareEncoder computes the parts of every certificate that depend only on
// the issuer: its Name and the authority key identifier extension.
func (i *Issuer) prepareEncoder() error {
	i.issuerName = i.cert.RawSubject
	if len(i.issuerName) == 0 {
		// As x509.CreateCertificate does for a parent that was not parsed.
		name, err := asn1.Marshal(i.cert.Subject.ToRDNSequence())
		if err != nil {
			return fmt.Errorf("issuer: encoding the intermediate's subject: %w", err)
		}
		i.issuerName = name
	}
	if aki := i.cert.SubjectKeyId; len(aki) > 0 {
		var w derWriter
		e, v := w.beginExtension(derAuthorityKeyID, false)
		s := w.open(tagSequence)
		w.addBytes(0x80, aki) // keyIdentifier [0] IMPLICIT
		w.close(s)
		w.endExtension(e, v)
		i.akiExt = w.b
	}
	return nil
}

// fastPathOK reports whether tmpl uses only fields this encoder supports.
func fastPathOK(t *x509.Certificate) bool {
	return !t.BasicConstraintsValid && !t.IsCA && len(t.OCSPServer) == 0 && len(t.IssuingCertificateURL) == 0 &&
		len(t.CRLDistributionPoints) == 0 && len(t.PolicyIdentifiers) == 0 && len(t.Policies) == 0 &&
		len(t.PermittedDNSDomains) == 0 && len(t.ExcludedDNSDomains) == 0 && len(t.PermittedIPRanges) == 0 &&
		len(t.ExcludedIPRanges) == 0 && len(t.PermittedEmailAddresses) == 0 && len(t.ExcludedEmailAddresses) == 0 &&
		len(t.PermittedURIDomains) == 0 && len(t.ExcludedURIDomains) == 0 && len(t.UnknownExtKeyUsage) == 0 &&
		t.SignatureAlgorithm == x509.UnknownSignatureAlgorithm && len(t.AuthorityKeyId) == 0
}

// certSizeHint is the initial capacity of a certificate's buffer. A leaf
// with P-256 keys and a few names takes about 550 bytes, one with RSA-2048
// keys about 950; a larger one grows the buffer. A larger buffer costs more
// to allocate and to collect than the encoding itself.
const certSizeHint = 1024

// createCertificate encodes and signs tmpl for pub with the issuer's key.
func (i *Issuer) createCertificate(tmpl *x509.Certificate, pub crypto.PublicKey) ([]byte, error) {
	if !i.fast || !fastPathOK(tmpl) {
		return x509.CreateCertificate(rand.Reader, tmpl, i.cert, pub, i.signer)
	}
	w := derWriter{b: make([]byte, 0, certSizeHint)}
	cert := w.open(tagSequence)
	if err := i.encodeTBS(&w, tmpl, pub); err != nil {
		return nil, err
	}
	// Capacity cut so that a signer appending to its input cannot write past the TBSCertificate.
	tbs := w.b[cert:len(w.b):len(w.b)]
	var sig []byte
	var err error
	if i.params.hash == 0 {
		sig, err = i.signer.Sign(rand.Reader, tbs, crypto.Hash(0))
	} else {
		sig, err = i.signer.Sign(rand.Reader, digest(i.params.hash, tbs), i.params.hash)
	}
	if err != nil {
		return nil, fmt.Errorf("error signing certificate: %w", err)
	}
	if i.verify {
		if err := i.verifySignature(tbs, sig); err != nil {
			return nil, err
		}
	}
	w.b = append(w.b, i.params.algID...)
	s := w.open(tagBitString)
	w.b = append(w.b, 0) // no unused bits
	w.b = append(w.b, sig...)
	w.close(s)
	w.close(cert)
	return w.b, nil
}

func digest(h crypto.Hash, msg []byte) []byte {
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

// encodeTBS appends the TBSCertificate to w as x509.CreateCertificate
// encodes it.
func (i *Issuer) encodeTBS(w *derWriter, t *x509.Certificate, pub crypto.PublicKey) error {
	if t.SerialNumber == nil || t.SerialNumber.Sign() <= 0 {
		return errors.New("issuer: serial number must be positive")
	}
	tbs := w.open(tagSequence)
	w.b = append(w.b, tbsVersion...)
	w.addPositiveInt(t.SerialNumber)
	w.b = append(w.b, i.params.algID...)
	w.b = append(w.b, i.issuerName...)
	v := w.open(tagSequence)
	if err := w.addTime(t.NotBefore); err != nil {
		return err
	}
	if err := w.addTime(t.NotAfter); err != nil {
		return err
	}
	w.close(v)
	start := len(w.b)
	if len(t.RawSubject) > 0 {
		w.b = append(w.b, t.RawSubject...)
	} else if err := w.addName(&t.Subject); err != nil {
		return err
	}
	// Still the subject's bytes if later appends move w.b.
	subject := w.b[start:]
	if err := w.addPublicKey(pub); err != nil {
		return fmt.Errorf("error encoding public key: %w", err)
	}
	if err := i.addExtensions(w, t, subject); err != nil {
		return err
	}
	w.close(tbs)
	return nil
}

// addExtensions writes the extensions in x509.CreateCertificate's order: key
// usage, extended key usage, subject and authority key IDs, SANs, then the
// template's ExtraExtensions. A field-derived extension whose OID is in
// ExtraExtensions is left out, as Go does. Without extensions, it writes
// nothing.
func (i *Issuer) addExtensions(w *derWriter, t *x509.Certificate, subject []byte) error {
	exts := w.open(tagExtensions)
	seq := w.open(tagSequence)
	if t.KeyUsage != 0 && !hasExtension(t.ExtraExtensions, oidKeyUsage) {
		w.addKeyUsage(t.KeyUsage)
	}
	if len(t.ExtKeyUsage) > 0 && !hasExtension(t.ExtraExtensions, oidExtKeyUsage) {
		e, v := w.beginExtension(derExtKeyUsage, false)
		s := w.open(tagSequence)
		for _, u := range t.ExtKeyUsage {
			if u < 0 || int(u) >= len(extKeyUsageOIDs) || extKeyUsageOIDs[u] == nil {
				return fmt.Errorf("unsupported extended key usage %d", u)
			}
			w.b = append(w.b, extKeyUsageOIDs[u]...)
		}
		w.close(s)
		w.endExtension(e, v)
	}
	if len(t.SubjectKeyId) > 0 && !hasExtension(t.ExtraExtensions, oidSubjectKeyID) {
		e, v := w.beginExtension(derSubjectKeyID, false)
		w.addBytes(tagOctetString, t.SubjectKeyId)
		w.endExtension(e, v)
	}
	if i.akiExt != nil && !bytes.Equal(i.issuerName, subject) && !hasExtension(t.ExtraExtensions, oidAuthorityKeyID) {
		w.b = append(w.b, i.akiExt...)
	}
	if (len(t.DNSNames) > 0 || len(t.EmailAddresses) > 0 || len(t.IPAddresses) > 0 || len(t.URIs) > 0) &&
		!hasExtension(t.ExtraExtensions, oidSubjectAltName) {
		// Go marks the SAN extension critical when the subject is empty (RFC 5280 §4.2.1.6).
		if err := w.addSANs(t, bytes.Equal(subject, emptySubject)); err != nil {
			return err
		}
	}
	for _, ext := range t.ExtraExtensions {
		e := w.open(tagSequence)
		if err := w.addOID(ext.Id); err != nil {
			return err
		}
		if ext.Critical {
			w.b = append(w.b, critical...)
		}
		w.addBytes(tagOctetString, ext.Value)
		w.close(e)
	}
	if len(w.b) == seq {
		w.b = w.b[:exts-2]
		return nil
	}
	w.close(seq)
	w.close(exts)
	return nil
}

func hasExtension(exts []pkix.Extension, oid asn1.ObjectIdentifier) bool {
	for _, e := range exts {
		if e.Id.Equal(oid) {
			return true
		}
	}
	return false
}

// addKeyUsage writes the key usage extension as Go does: bit 0 is the most
// significant bit of the first byte, a second byte only when bits 8–15 are
// used, and trailing zero bits counted as unused.
func (w *derWriter) addKeyUsage(ku x509.KeyUsage) {
	b := [2]byte{bits.Reverse8(byte(ku)), bits.Reverse8(byte(ku >> 8))}
	used := b[:1]
	if b[1] != 0 {
		used = b[:2]
	}
	e, v := w.beginExtension(derKeyUsage, true)
	s := w.open(tagBitString)
	w.b = append(w.b, byte(bits.TrailingZeros8(used[len(used)-1])%8))
	w.b = append(w.b, used...)
	w.close(s)
	w.endExtension(e, v)
}

// addSANs writes the subject alternative name extension: DNS names, emails,
// IP addresses then URIs, each checked as x509.CreateCertificate does.
func (w *derWriter) addSANs(t *x509.Certificate, crit bool) error {
	e, v := w.beginExtension(derSubjectAltName, crit)
	s := w.open(tagSequence)
	for _, n := range t.DNSNames {
		if err := w.addIA5String(tagSANDNS, n); err != nil {
			return err
		}
	}
	for _, n := range t.EmailAddresses {
		if err := w.addIA5String(tagSANEmail, n); err != nil {
			return err
		}
	}
	for _, ip := range t.IPAddresses {
		raw := ip.To4()
		if raw == nil {
			raw = ip.To16()
		}
		if raw == nil || (len(ip) != net.IPv4len && len(ip) != net.IPv6len) {
			return fmt.Errorf("invalid IP address %v", ip)
		}
		w.addBytes(tagSANIP, raw)
	}
	for _, u := range t.URIs {
		if err := w.addIA5String(tagSANURI, u.String()); err != nil {
			return err
		}
	}
	w.close(s)
	w.endExtension(e, v)
	return nil
}

// addPublicKey writes pub's SubjectPublicKeyInfo: a constant prefix and the
// key for ECDSA on the NIST curves and Ed25519, x509.MarshalPKIXPublicKey for
// the others.
func (w *derWriter) addPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		var prefix []byte
		switch k.Curve {
		case elliptic.P256():
			prefix = spkiP256
		case elliptic.P384():
			prefix = spkiP384
		case elliptic.P521():
			prefix = spkiP521
		}
		if prefix != nil {
			// Bytes refuses points off the curve, as MarshalPKIXPublicKey does.
			point, err := k.Bytes()
			if err != nil {
				return err
			}
			w.b = append(w.b, prefix...)
			w.b = append(w.b, point...)
			return nil
		}
	case ed25519.PublicKey:
		// MarshalPKIXPublicKey encodes a key of any length; the prefix is for 32 bytes.
		if len(k) == ed25519.PublicKeySize {
			w.b = append(w.b, spkiEd25519...)
			w.b = append(w.b, k...)
			return nil
		}
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return err
	}
	w.b = append(w.b, spki...)
	return nil
}

// addName writes n as asn1.Marshal(n.ToRDNSequence()) does. Only a name with
// at most a common name is written here; others go through encoding/asn1.
func (w *derWriter) addName(n *pkix.Name) error {
	if len(n.Country) > 0 || len(n.Province) > 0 || len(n.Locality) > 0 || len(n.StreetAddress) > 0 ||
		len(n.PostalCode) > 0 || len(n.Organization) > 0 || len(n.OrganizationalUnit) > 0 ||
		len(n.SerialNumber) > 0 || len(n.ExtraNames) > 0 {
		der, err := asn1.Marshal(n.ToRDNSequence())
		if err != nil {
			return err
		}
		w.b = append(w.b, der...)
		return nil
	}
	name := w.open(tagSequence)
	if cn := n.CommonName; cn != "" {
		// encoding/asn1 picks PrintableString when every character allows it.
		tag := byte(tagPrintableString)
		for j := 0; j < len(cn); j++ {
			if !isPrintable(cn[j]) {
				if !utf8.ValidString(cn) {
					return errors.New("asn1: string not valid UTF-8")
				}
				tag = tagUTF8String
				break
			}
		}
		rdn := w.open(tagSet)
		atv := w.open(tagSequence)
		w.b = append(w.b, derCommonName...)
		w.addString(tag, cn)
		w.close(atv)
		w.close(rdn)
	}
	w.close(name)
	return nil
}

// isPrintable is encoding/asn1's PrintableString alphabet, without the '*'
// and '&' it accepts only when parsing.
func isPrintable(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		'\'' <= c && c <= ')' || '+' <= c && c <= '/' || c == ' ' || c == ':' || c == '=' || c == '?'
}

// derWriter appends DER to b. open writes a tag and a one-byte length
// placeholder; close sets the length, moving the contents right when the
// long form is needed, so nested elements need no closures or copies.
type derWriter struct {
	b []byte
}

// open starts an element and returns where its contents start, for close.
func (w *derWriter) open(tag byte) int {
	w.b = append(w.b, tag, 0)
	return len(w.b)
}

// close ends the element whose contents start at start.
func (w *derWriter) close(start int) {
	n := len(w.b) - start
	if n < 0x80 {
		w.b[start-1] = byte(n)
		return
	}
	l := (bits.Len(uint(n)) + 7) / 8
	w.b = append(w.b, make([]byte, l)...)
	copy(w.b[start+l:], w.b[start:start+n])
	w.b[start-1] = 0x80 | byte(l)
	for j := l - 1; j >= 0; j-- {
		w.b[start+j] = byte(n)
		n >>= 8
	}
}

func (w *derWriter) addBytes(tag byte, v []byte) {
	s := w.open(tag)
	w.b = append(w.b, v...)
	w.close(s)
}

func (w *derWriter) addString(tag byte, v string) {
	s := w.open(tag)
	w.b = append(w.b, v...)
	w.close(s)
}

// addIA5String refuses non-ASCII as x509.CreateCertificate does for names
// in the SAN extension.
func (w *derWriter) addIA5String(tag byte, v string) error {
	for j := 0; j < len(v); j++ {
		if v[j] >= utf8.RuneSelf {
			return fmt.Errorf("x509: %q cannot be encoded as an IA5String", v)
		}
	}
	w.addString(tag, v)
	return nil
}

// addPositiveInt writes n > 0 as an INTEGER, with a leading zero byte when
// its top bit is set so that it does not read as negative.
func (w *derWriter) addPositiveInt(n *big.Int) {
	s := w.open(tagInteger)
	if n.BitLen()%8 == 0 {
		w.b = append(w.b, 0)
	}
	l := (n.BitLen() + 7) / 8
	w.b = append(w.b, make([]byte, l)...)
	n.FillBytes(w.b[len(w.b)-l:])
	w.close(s)
}

// addOID writes oid, refusing the ones that have no encoding as cryptobyte
// does.
func (w *derWriter) addOID(oid asn1.ObjectIdentifier) error {
	if len(oid) < 2 || oid[0] > 2 || (oid[0] <= 1 && oid[1] >= 40) {
		return fmt.Errorf("invalid object identifier %v", oid)
	}
	for _, v := range oid {
		if v < 0 {
			return fmt.Errorf("invalid object identifier %v", oid)
		}
	}
	s := w.open(tagOID)
	w.addBase128(int64(oid[0]*40 + oid[1]))
	for _, v := range oid[2:] {
		w.addBase128(int64(v))
	}
	w.close(s)
	return nil
}

// addBase128 writes n in base 128, most significant group first, the high
// bit set on all groups but the last. Like cryptobyte and encoding/asn1, it
// writes nothing for a negative n (an arc sum that overflowed).
func (w *derWriter) addBase128(n int64) {
	l := 0
	for m := n; m > 0; m >>= 7 {
		l++
	}
	if n == 0 {
		l = 1
	}
	for j := l - 1; j >= 0; j-- {
		c := byte(n>>(7*j)) & 0x7f
		if j != 0 {
			c |= 0x80
		}
		w.b = append(w.b, c)
	}
}

// addTime writes UTCTime for 1950–2049 and GeneralizedTime otherwise (RFC
// 5280 §4.1.2.5), in UTC to the second.
func (w *derWriter) addTime(t time.Time) error {
	t = t.UTC()
	year, month, day := t.Date()
	switch {
	case 1950 <= year && year < 2050:
		w.b = append(w.b, tagUTCTime, 13)
		w.b = appendTwoDigits(w.b, year%100)
	case 0 <= year && year <= 9999:
		w.b = append(w.b, tagGeneralizedTime, 15)
		w.b = appendTwoDigits(appendTwoDigits(w.b, year/100), year%100)
	default:
		return fmt.Errorf("issuer: cannot encode the year %d", year)
	}
	hour, minute, sec := t.Clock()
	w.b = appendTwoDigits(w.b, int(month))
	w.b = appendTwoDigits(w.b, day)
	w.b = appendTwoDigits(w.b, hour)
	w.b = appendTwoDigits(w.b, minute)
	w.b = appendTwoDigits(w.b, sec)
	w.b = append(w.b, 'Z')
	return nil
}

func appendTwoDigits(b []byte, v int) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}

// beginExtension writes an Extension up to the contents of its extnValue and
// returns what endExtension needs.
func (w *derWriter) beginExtension(oid []byte, crit bool) (ext, value int) {
	ext = w.open(tagSequence)
	w.b = append(w.b, oid...)
	if crit {
		w.b = append(w.b, critical...)
	}
	return ext, w.open(tagOctetString)
}

func (w *derWriter) endExtension(ext, value int) {
	w.close(value)
	w.close(ext)
}
