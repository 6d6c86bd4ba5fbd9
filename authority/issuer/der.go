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
	"net"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// This file encodes leaf certificates directly, producing the same DER as
// x509.CreateCertificate for the templates the authority builds, and signs
// the TBSCertificate once. x509.CreateCertificate additionally verifies every
// signature it makes, which costs an ECDSA verification (~57 µs, a fifth of
// a sign request's cryptography); for the in-process keys the issuer uses, a
// signer that misbehaves is caught at start-up instead (New signs and checks
// one certificate). Templates using fields this encoder does not support
// fall back to x509.CreateCertificate.

var (
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtKeyUsage      = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidSubjectKeyID     = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidAuthorityKeyID   = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidSubjectAltName   = asn1.ObjectIdentifier{2, 5, 29, 17}
)

var extKeyUsageOIDs = map[x509.ExtKeyUsage]asn1.ObjectIdentifier{
	x509.ExtKeyUsageAny:             {2, 5, 29, 37, 0},
	x509.ExtKeyUsageServerAuth:      {1, 3, 6, 1, 5, 5, 7, 3, 1},
	x509.ExtKeyUsageClientAuth:      {1, 3, 6, 1, 5, 5, 7, 3, 2},
	x509.ExtKeyUsageCodeSigning:     {1, 3, 6, 1, 5, 5, 7, 3, 3},
	x509.ExtKeyUsageEmailProtection: {1, 3, 6, 1, 5, 5, 7, 3, 4},
	x509.ExtKeyUsageTimeStamping:    {1, 3, 6, 1, 5, 5, 7, 3, 8},
	x509.ExtKeyUsageOCSPSigning:     {1, 3, 6, 1, 5, 5, 7, 3, 9},
}

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

// fastPathOK reports whether tmpl uses only fields this encoder supports.
func fastPathOK(t *x509.Certificate) bool {
	return !t.BasicConstraintsValid && !t.IsCA && len(t.OCSPServer) == 0 && len(t.IssuingCertificateURL) == 0 &&
		len(t.CRLDistributionPoints) == 0 && len(t.PolicyIdentifiers) == 0 && len(t.Policies) == 0 &&
		len(t.PermittedDNSDomains) == 0 && len(t.ExcludedDNSDomains) == 0 && len(t.PermittedIPRanges) == 0 &&
		len(t.ExcludedIPRanges) == 0 && len(t.PermittedEmailAddresses) == 0 && len(t.ExcludedEmailAddresses) == 0 &&
		len(t.PermittedURIDomains) == 0 && len(t.ExcludedURIDomains) == 0 && len(t.UnknownExtKeyUsage) == 0 &&
		t.SignatureAlgorithm == x509.UnknownSignatureAlgorithm && len(t.AuthorityKeyId) == 0
}

// createCertificate encodes and signs tmpl for pub with the issuer's key.
func (i *Issuer) createCertificate(tmpl *x509.Certificate, pub crypto.PublicKey) ([]byte, error) {
	if !i.fast || !fastPathOK(tmpl) {
		return x509.CreateCertificate(rand.Reader, tmpl, i.cert, pub, i.signer)
	}
	tbs, err := i.encodeTBS(tmpl, pub)
	if err != nil {
		return nil, err
	}
	var sig []byte
	if i.params.hash == 0 {
		sig, err = i.signer.Sign(rand.Reader, tbs, crypto.Hash(0))
	} else {
		sig, err = i.signer.Sign(rand.Reader, digest(i.params.hash, tbs), i.params.hash)
	}
	if err != nil {
		return nil, fmt.Errorf("error signing certificate: %w", err)
	}
	b := cryptobyte.NewBuilder(make([]byte, 0, len(tbs)+len(i.params.algID)+len(sig)+16))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddBytes(i.params.algID)
		b.AddASN1BitString(sig)
	})
	return b.Bytes()
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

// encodeTBS builds the TBSCertificate as x509.CreateCertificate does.
func (i *Issuer) encodeTBS(t *x509.Certificate, pub crypto.PublicKey) ([]byte, error) {
	if t.SerialNumber == nil || t.SerialNumber.Sign() <= 0 {
		return nil, errors.New("issuer: serial number must be positive")
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("error encoding public key: %w", err)
	}
	subject := t.RawSubject
	if len(subject) == 0 {
		if subject, err = asn1.Marshal(t.Subject.ToRDNSequence()); err != nil {
			return nil, err
		}
	}
	exts, err := i.extensions(t, subject)
	if err != nil {
		return nil, err
	}
	// A leaf's TBSCertificate is well under 2 KiB: one allocation.
	b := cryptobyte.NewBuilder(make([]byte, 0, 2048))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1Int64(2) // v3
		})
		b.AddASN1BigInt(t.SerialNumber)
		b.AddBytes(i.params.algID)
		b.AddBytes(i.cert.RawSubject)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			addTime(b, t.NotBefore)
			addTime(b, t.NotAfter)
		})
		b.AddBytes(subject)
		b.AddBytes(spki)
		if len(exts) > 0 {
			b.AddASN1(cbasn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					for _, e := range exts {
						addExtension(b, e)
					}
				})
			})
		}
	})
	return b.Bytes()
}

// addTime writes UTCTime for 1950–2049 and GeneralizedTime otherwise (RFC 5280 §4.1.2.5).
func addTime(b *cryptobyte.Builder, t time.Time) {
	t = t.UTC()
	if y := t.Year(); y >= 1950 && y < 2050 {
		b.AddASN1(cbasn1.UTCTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte(t.Format("060102150405Z0700"))) })
		return
	}
	b.AddASN1(cbasn1.GeneralizedTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte(t.Format("20060102150405Z0700"))) })
}

func addExtension(b *cryptobyte.Builder, e pkix.Extension) {
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(e.Id)
		if e.Critical {
			b.AddASN1Boolean(true)
		}
		b.AddASN1OctetString(e.Value)
	})
}

// extensions returns the extensions in x509.CreateCertificate's order: key
// usage, extended key usage, subject and authority key IDs, SANs, then the
// template's ExtraExtensions. A field-derived extension whose OID is in
// ExtraExtensions is left out, as Go does.
func (i *Issuer) extensions(t *x509.Certificate, subject []byte) ([]pkix.Extension, error) {
	has := func(oid asn1.ObjectIdentifier) bool {
		for _, e := range t.ExtraExtensions {
			if e.Id.Equal(oid) {
				return true
			}
		}
		return false
	}
	var out []pkix.Extension
	if t.KeyUsage != 0 && !has(oidKeyUsage) {
		out = append(out, keyUsageExtension(t.KeyUsage))
	}
	if len(t.ExtKeyUsage) > 0 && !has(oidExtKeyUsage) {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, u := range t.ExtKeyUsage {
				oid, ok := extKeyUsageOIDs[u]
				if !ok {
					b.SetError(fmt.Errorf("unsupported extended key usage %d", u))
					return
				}
				b.AddASN1ObjectIdentifier(oid)
			}
		})
		v, err := b.Bytes()
		if err != nil {
			return nil, err
		}
		out = append(out, pkix.Extension{Id: oidExtKeyUsage, Value: v})
	}
	if len(t.SubjectKeyId) > 0 && !has(oidSubjectKeyID) {
		var b cryptobyte.Builder
		b.AddASN1OctetString(t.SubjectKeyId)
		v, _ := b.Bytes()
		out = append(out, pkix.Extension{Id: oidSubjectKeyID, Value: v})
	}
	if aki := i.cert.SubjectKeyId; len(aki) > 0 && !bytes.Equal(i.cert.RawSubject, subject) && !has(oidAuthorityKeyID) {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(aki) })
		})
		v, _ := b.Bytes()
		out = append(out, pkix.Extension{Id: oidAuthorityKeyID, Value: v})
	}
	if (len(t.DNSNames) > 0 || len(t.EmailAddresses) > 0 || len(t.IPAddresses) > 0 || len(t.URIs) > 0) && !has(oidSubjectAltName) {
		v, err := sanValue(t)
		if err != nil {
			return nil, err
		}
		// Go marks the SAN extension critical when the subject is empty (RFC 5280 §4.2.1.6).
		out = append(out, pkix.Extension{Id: oidSubjectAltName, Critical: bytes.Equal(subject, emptySubject), Value: v})
	}
	return append(out, t.ExtraExtensions...), nil
}

var emptySubject = []byte{0x30, 0}

func keyUsageExtension(ku x509.KeyUsage) pkix.Extension {
	var a [2]byte
	a[0] = reverseBits(byte(ku))
	a[1] = reverseBits(byte(ku >> 8))
	l := 1
	if a[1] != 0 {
		l = 2
	}
	bits := a[:l]
	v, _ := asn1.Marshal(asn1.BitString{Bytes: bits, BitLength: asn1BitLength(bits)})
	return pkix.Extension{Id: oidKeyUsage, Critical: true, Value: v}
}

func reverseBits(in byte) byte {
	var out byte
	for i := 0; i < 8; i++ {
		out <<= 1
		out |= in & 1
		in >>= 1
	}
	return out
}

func asn1BitLength(b []byte) int {
	n := len(b) * 8
	for i := range b {
		bb := b[len(b)-i-1]
		for bit := uint(0); bit < 8; bit++ {
			if (bb>>bit)&1 == 1 {
				return n
			}
			n--
		}
	}
	return 0
}

func sanValue(t *x509.Certificate) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, n := range t.DNSNames {
			b.AddASN1(cbasn1.Tag(2).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(n)) })
		}
		for _, e := range t.EmailAddresses {
			b.AddASN1(cbasn1.Tag(1).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(e)) })
		}
		for _, ip := range t.IPAddresses {
			raw := ip.To4()
			if raw == nil {
				raw = ip.To16()
			}
			if raw == nil || (len(ip) != net.IPv4len && len(ip) != net.IPv6len) {
				b.SetError(fmt.Errorf("invalid IP address %v", ip))
				return
			}
			b.AddASN1(cbasn1.Tag(7).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(raw) })
		}
		for _, u := range t.URIs {
			b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(u.String())) })
		}
	})
	return b.Bytes()
}
