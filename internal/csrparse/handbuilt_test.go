package csrparse

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// DER construction helpers for hand-made requests.

func tlv(tag byte, content ...[]byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.Tag(tag), func(b *cryptobyte.Builder) {
		for _, c := range content {
			b.AddBytes(c)
		}
	})
	return b.BytesOrPanic()
}

func seq(content ...[]byte) []byte  { return tlv(0x30, content...) }
func set(content ...[]byte) []byte  { return tlv(0x31, content...) }
func ctx0(content ...[]byte) []byte { return tlv(0xa0, content...) }
func octets(v []byte) []byte        { return tlv(0x04, v) }
func str(tag byte, s string) []byte { return tlv(tag, []byte(s)) }
func oid(arcs ...int) []byte        { return mustMarshal(asn1.ObjectIdentifier(arcs)) }
func bitString(b []byte) []byte     { return tlv(0x03, []byte{0}, b) }
func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

var (
	derNullElem = []byte{0x05, 0x00}
	critTrue    = []byte{0x01, 0x01, 0xff}
	oidCN       = oid(2, 5, 4, 3)
	oidExtReqB  = oid(1, 2, 840, 113549, 1, 9, 14)
	oidSANB     = oid(2, 5, 29, 17)
	oidCPB      = oid(1, 2, 840, 113549, 1, 9, 7)
	ecdsaSHA256 = oid(1, 2, 840, 10045, 4, 3, 2)
)

func atv(typ, value []byte) []byte { return seq(typ, value) }
func cn(value []byte) []byte       { return seq(set(atv(oidCN, value))) }
func ext(id []byte, rest ...[]byte) []byte {
	return seq(append([][]byte{id}, rest...)...)
}
func extReq(exts ...[]byte) []byte { return seq(oidExtReqB, set(seq(exts...))) }
func san(names ...[]byte) []byte   { return ext(oidSANB, octets(seq(names...))) }

// csrParts are the DER elements of a request, to be varied one at a time.
type csrParts struct {
	version, subject, spki, attrs, tbsExtra []byte
	sigAlg, sig, outerExtra, trailing       []byte
	signer                                  crypto.Signer // signs the TBS when sig is nil
}

func (p csrParts) der() []byte {
	tbs := seq(p.version, p.subject, p.spki, p.attrs, p.tbsExtra)
	sig := p.sig
	if sig == nil {
		sig = bitString(sign(p.signer, tbs))
	}
	return append(seq(tbs, p.sigAlg, sig, p.outerExtra), p.trailing...)
}

func sign(key crypto.Signer, tbs []byte) []byte {
	if _, ok := key.(ed25519.PrivateKey); ok {
		s, err := key.Sign(rand.Reader, tbs, crypto.Hash(0))
		if err != nil {
			panic(err)
		}
		return s
	}
	h := sha256.Sum256(tbs)
	s, err := key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		panic(err)
	}
	return s
}

var handKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
})

func spkiOf(pub any) []byte {
	b, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	return b
}

// baseParts is a valid, signed P-256 request for CN=hand.example.com with
// one DNS name.
func baseParts() csrParts {
	k := handKey()
	return csrParts{
		version: []byte{0x02, 0x01, 0x00},
		subject: cn(str(0x0c, "hand.example.com")),
		spki:    spkiOf(&k.PublicKey),
		attrs:   ctx0(extReq(san(str(0x82, "hand.example.com")))),
		sigAlg:  seq(ecdsaSHA256),
		signer:  k,
	}
}

// ecPoint returns an uncompressed point for curve with the given
// coordinates, which need not be on the curve.
func ecSPKI(curveOID []byte, point []byte) []byte {
	return seq(seq(oid(1, 2, 840, 10045, 2, 1), curveOID), bitString(point))
}

type variant struct {
	name   string
	modify func(*csrParts)
	// fast, if set, is whether the fast path must take the request.
	fast *bool
}

var yes, no = new(bool), new(bool)

func init() { *yes = true }

func handVariants() []variant {
	k := handKey()
	p256Point := elliptic.Marshal(elliptic.P256(), k.X, k.Y) //nolint:staticcheck // raw point bytes for hand-made keys
	offCurve := append([]byte(nil), p256Point...)
	offCurve[len(offCurve)-1] ^= 1
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edPub := edKey.Public().(ed25519.PublicKey)

	subject := func(rdns ...[]byte) func(*csrParts) {
		return func(p *csrParts) { p.subject = seq(rdns...) }
	}
	cnValue := func(v []byte) func(*csrParts) {
		return func(p *csrParts) { p.subject = cn(v) }
	}
	attrs := func(a ...[]byte) func(*csrParts) {
		return func(p *csrParts) { p.attrs = ctx0(a...) }
	}
	sans := func(names ...[]byte) func(*csrParts) {
		return attrs(extReq(san(names...)))
	}
	spki := func(b []byte) func(*csrParts) {
		return func(p *csrParts) { p.spki = b }
	}
	sigAlg := func(b []byte) func(*csrParts) {
		return func(p *csrParts) { p.sigAlg = b }
	}
	edSigned := func(p *csrParts) {
		p.spki = spkiOf(edPub)
		p.sigAlg = seq(oid(1, 3, 101, 112))
		p.signer = edKey
	}

	return []variant{
		{"base", func(*csrParts) {}, yes},

		// Outer structure.
		{"trailing-byte", func(p *csrParts) { p.trailing = []byte{0} }, no},
		{"trailing-element", func(p *csrParts) { p.trailing = derNullElem }, no},
		{"extra-outer-element", func(p *csrParts) { p.outerExtra = derNullElem }, no},
		{"extra-tbs-element", func(p *csrParts) { p.tbsExtra = derNullElem }, no},
		{"sig-padding-valid", func(p *csrParts) { p.sig = tlv(0x03, []byte{1}, []byte{0x30, 0x02}) }, no},
		{"sig-padding-dirty", func(p *csrParts) { p.sig = tlv(0x03, []byte{1}, []byte{0x30, 0x01}) }, no},
		{"sig-padding-8", func(p *csrParts) { p.sig = tlv(0x03, []byte{8}, []byte{0x30, 0x00}) }, no},
		{"sig-empty-bitstring", func(p *csrParts) { p.sig = []byte{0x03, 0x00} }, no},
		{"sig-zero-bits", func(p *csrParts) { p.sig = []byte{0x03, 0x01, 0x00} }, yes},
		{"sig-octet-string", func(p *csrParts) { p.sig = octets([]byte{1, 2}) }, no},

		// Version.
		{"version-1", func(p *csrParts) { p.version = []byte{0x02, 0x01, 0x01} }, no},
		{"version-minus-1", func(p *csrParts) { p.version = []byte{0x02, 0x01, 0xff} }, no},
		{"version-non-minimal", func(p *csrParts) { p.version = []byte{0x02, 0x02, 0x00, 0x00} }, no},
		{"version-huge", func(p *csrParts) { p.version = tlv(0x02, unhex("0100000000000000000000")) }, no},
		{"version-missing", func(p *csrParts) { p.version = nil }, no},
		{"version-explicit-tag", func(p *csrParts) { p.version = tlv(0xa0, []byte{0x02, 0x01, 0x00}) }, no},

		// Signature algorithms.
		{"ecdsa-sha256-null-params", sigAlg(seq(ecdsaSHA256, derNullElem)), yes},
		{"ecdsa-sha384", sigAlg(seq(oid(1, 2, 840, 10045, 4, 3, 3))), yes},
		{"ecdsa-sha512", sigAlg(seq(oid(1, 2, 840, 10045, 4, 3, 4))), yes},
		{"ecdsa-sha1", sigAlg(seq(oid(1, 2, 840, 10045, 4, 1))), no},
		{"ecdsa-odd-params", sigAlg(seq(ecdsaSHA256, oid(1, 2, 3))), no},
		{"ecdsa-two-params", sigAlg(seq(ecdsaSHA256, derNullElem, derNullElem)), no},
		{"sigalg-unknown", sigAlg(seq(oid(1, 2, 3, 4))), no},
		{"sigalg-empty", sigAlg(seq()), no},
		{"sigalg-not-oid", sigAlg(seq(derNullElem)), no},
		{"ed25519", edSigned, yes},
		{"ed25519-null-params", func(p *csrParts) { edSigned(p); p.sigAlg = seq(oid(1, 3, 101, 112), derNullElem) }, no},
		{"ed25519-key-null-params", func(p *csrParts) { edSigned(p); p.spki = seq(seq(oid(1, 3, 101, 112), derNullElem), bitString(edPub)) }, no},
		{"ed25519-key-short", func(p *csrParts) { edSigned(p); p.spki = seq(seq(oid(1, 3, 101, 112)), bitString(edPub[:31])) }, no},
		{"sha256-rsa-no-params", sigAlg(seq(oid(1, 2, 840, 113549, 1, 1, 11))), yes},
		{"sha256-rsa-null", sigAlg(seq(oid(1, 2, 840, 113549, 1, 1, 11), derNullElem)), yes},
		{"rsa-pss", sigAlg(seq(oid(1, 2, 840, 113549, 1, 1, 10), seq())), no},

		// Public keys.
		{"ec-off-curve", spki(ecSPKI(oid(1, 2, 840, 10045, 3, 1, 7), offCurve)), no},
		{"ec-compressed", spki(ecSPKI(oid(1, 2, 840, 10045, 3, 1, 7), elliptic.MarshalCompressed(elliptic.P256(), k.X, k.Y))), no},
		{"ec-wrong-curve", spki(ecSPKI(oid(1, 3, 132, 0, 34), p256Point)), no},
		{"ec-p224", spki(ecSPKI(oid(1, 3, 132, 0, 33), p256Point)), no},
		{"ec-unknown-curve", spki(ecSPKI(oid(1, 2, 3), p256Point)), no},
		{"ec-no-params", spki(seq(seq(oid(1, 2, 840, 10045, 2, 1)), bitString(p256Point))), no},
		{"ec-null-params", spki(seq(seq(oid(1, 2, 840, 10045, 2, 1), derNullElem), bitString(p256Point))), no},
		{"ec-point-infinity", spki(ecSPKI(oid(1, 2, 840, 10045, 3, 1, 7), []byte{0})), no},
		{"ec-extra-in-spki", spki(seq(seq(oid(1, 2, 840, 10045, 2, 1), oid(1, 2, 840, 10045, 3, 1, 7)), bitString(p256Point), derNullElem)), no},
		{"ec-key-padding", spki(seq(seq(oid(1, 2, 840, 10045, 2, 1), oid(1, 2, 840, 10045, 3, 1, 7)), tlv(0x03, []byte{0}, p256Point))), yes},
		{"x25519-key", spki(seq(seq(oid(1, 3, 101, 110)), bitString(make([]byte, 32)))), no},
		{"unknown-key", spki(seq(seq(oid(1, 2, 3, 4)), bitString([]byte{1}))), no},
		{"rsa-key-no-null", spki(seq(seq(oid(1, 2, 840, 113549, 1, 1, 1)), bitString(seq(tlv(2, []byte{1}), tlv(2, []byte{3}))))), no},
		{"rsa-key-tiny", spki(seq(seq(oid(1, 2, 840, 113549, 1, 1, 1), derNullElem), bitString(seq(tlv(2, []byte{0x0f}), tlv(2, []byte{3}))))), yes},
		{"rsa-key-negative-n", spki(seq(seq(oid(1, 2, 840, 113549, 1, 1, 1), derNullElem), bitString(seq(tlv(2, []byte{0x8f}), tlv(2, []byte{3}))))), no},
		{"rsa-key-zero-e", spki(seq(seq(oid(1, 2, 840, 113549, 1, 1, 1), derNullElem), bitString(seq(tlv(2, []byte{0x0f}), tlv(2, []byte{0}))))), no},
		{"rsa-key-huge-e", spki(seq(seq(oid(1, 2, 840, 113549, 1, 1, 1), derNullElem), bitString(seq(tlv(2, []byte{0x0f}), tlv(2, unhex("0100000000000000000000")))))), no},
		{"rsa-key-trailing", spki(seq(seq(oid(1, 2, 840, 113549, 1, 1, 1), derNullElem), bitString(append(seq(tlv(2, []byte{0x0f}), tlv(2, []byte{3})), 0)))), no},
		{"spki-not-sequence", spki(set(seq(oid(1, 2, 3)))), no},

		// Subject names.
		{"subject-empty", subject(), yes},
		{"subject-empty-rdn", subject(set(), set(atv(oidCN, str(0x13, "x")))), yes},
		{"subject-multivalued", subject(set(atv(oidCN, str(0x13, "a")), atv(oid(2, 5, 4, 10), str(0x0c, "b")))), yes},
		{"subject-printable-star-amp", cnValue(str(0x13, "*.ex&mple.com")), yes},
		{"subject-printable-at", cnValue(str(0x13, "a@b")), no},
		{"subject-printable-empty", cnValue(str(0x13, "")), yes},
		{"subject-utf8-invalid", cnValue(tlv(0x0c, []byte{0xff, 0xfe})), no},
		{"subject-ia5", cnValue(str(0x16, "a@b.example")), yes},
		{"subject-ia5-high", cnValue(tlv(0x16, []byte{'a', 0x80})), no},
		{"subject-numeric", cnValue(str(0x12, "0123 456")), yes},
		{"subject-numeric-bad", cnValue(str(0x12, "12a")), no},
		{"subject-t61-latin1", cnValue(tlv(0x14, []byte{'Z', 0xfc, 'r', 'i', 'c', 'h', 0xff, 0x00})), yes},
		{"subject-bmp", cnValue(tlv(0x1e, bmp("Grüße €uro"))), yes},
		{"subject-bmp-terminated", cnValue(tlv(0x1e, append(bmp("ab"), 0, 0))), yes},
		{"subject-bmp-only-terminator", cnValue(tlv(0x1e, []byte{0, 0})), yes},
		{"subject-bmp-double-terminator", cnValue(tlv(0x1e, []byte{0, 'a', 0, 0, 0, 0})), yes},
		{"subject-bmp-odd", cnValue(tlv(0x1e, []byte{0, 'a', 0})), no},
		{"subject-bmp-surrogate", cnValue(tlv(0x1e, []byte{0xd8, 0x3d, 0xde, 0x00})), no},
		{"subject-bmp-nonchar", cnValue(tlv(0x1e, []byte{0xff, 0xfe})), no},
		{"subject-bmp-fdd0", cnValue(tlv(0x1e, []byte{0xfd, 0xd0})), no},
		{"subject-bmp-fdf0", cnValue(tlv(0x1e, []byte{0xfd, 0xf0})), yes},
		{"subject-general-string", cnValue(str(0x1b, "general")), yes},
		{"subject-visible-string", cnValue(str(0x1a, "visible")), yes},
		{"subject-universal-string", cnValue(tlv(0x1c, []byte{0, 0, 0, 'a'})), yes},
		{"subject-null", cnValue(derNullElem), yes},
		{"subject-boolean", cnValue(critTrue), yes},
		{"subject-boolean-bad", cnValue([]byte{0x01, 0x01, 0x01}), no},
		{"subject-octets", cnValue(octets([]byte("raw"))), yes},
		{"subject-sequence", cnValue(seq(str(0x13, "x"))), yes},
		{"subject-context", cnValue(tlv(0x80, []byte("x"))), yes},
		{"subject-constructed-string", cnValue(tlv(0x33, str(0x13, "x"))), yes},
		{"subject-integer", cnValue(tlv(0x02, []byte{5})), no},
		{"subject-oid-value", cnValue(oid(1, 2, 3)), no},
		{"subject-utctime", cnValue(str(0x17, "250101000000Z")), no},
		{"subject-atv-trailing", subject(set(seq(oidCN, str(0x13, "a"), str(0x13, "ignored")))), yes},
		{"subject-atv-trailing-garbage", subject(set(seq(oidCN, str(0x13, "a"), []byte{0xff}))), yes},
		{"subject-atv-no-value", subject(set(seq(oidCN))), no},
		{"subject-atv-not-oid", subject(set(seq(str(0x13, "a"), str(0x13, "b")))), no},
		{"subject-oid-non-minimal", subject(set(seq(tlv(0x06, []byte{0x55, 0x80, 0x03}), str(0x13, "a")))), no},
		{"subject-oid-empty", subject(set(seq(tlv(0x06, nil), str(0x13, "a")))), no},
		{"subject-oid-truncated-arc", subject(set(seq(tlv(0x06, []byte{0x55, 0x84}), str(0x13, "a")))), no},
		{"subject-oid-first-arc-2", subject(set(seq(tlv(0x06, []byte{0x88, 0x37, 0x01}), str(0x13, "a")))), yes},
		{"subject-oid-4-byte-arc", subject(set(seq(tlv(0x06, []byte{0x2a, 0xff, 0xff, 0xff, 0x7f}), str(0x13, "a")))), yes},
		{"subject-oid-5-byte-arc", subject(set(seq(tlv(0x06, []byte{0x2a, 0x87, 0xff, 0xff, 0xff, 0x7f}), str(0x13, "a")))), no},
		{"subject-oid-too-big-arc", subject(set(seq(tlv(0x06, []byte{0x2a, 0x88, 0x80, 0x80, 0x80, 0x00}), str(0x13, "a")))), no},
		{"subject-rdn-sequence", subject(seq(atv(oidCN, str(0x13, "a")))), no},
		{"subject-set", func(p *csrParts) { p.subject = set(set(atv(oidCN, str(0x13, "a")))) }, no},
		{"subject-null-element", func(p *csrParts) { p.subject = derNullElem }, no},
		{"subject-set-of-non-sequence", subject(set(str(0x13, "a"))), no},

		// Attributes and extension requests.
		{"attrs-empty", attrs(), yes},
		{"attrs-missing", func(p *csrParts) { p.attrs = nil }, no},
		{"attrs-wrong-tag", func(p *csrParts) { p.attrs = set() }, no},
		{"attrs-primitive-tag", func(p *csrParts) { p.attrs = tlv(0x80, nil) }, no},
		{"attr-not-sequence", attrs(derNullElem), no},
		{"attr-no-set", attrs(seq(oidCPB)), no},
		{"attr-trailing", attrs(seq(oidCPB, set(str(0x13, "pw")), derNullElem)), no},
		{"challenge-printable", attrs(seq(oidCPB, set(str(0x13, "pw")))), yes},
		{"challenge-utf8", attrs(seq(oidCPB, set(str(0x0c, "pässword")))), yes},
		{"challenge-two-strings", attrs(seq(oidCPB, set(str(0x13, "a"), str(0x0c, "b")))), yes},
		{"challenge-bad-utf8", attrs(seq(oidCPB, set(tlv(0x0c, []byte{0xff})))), yes},
		{"challenge-then-sequence", attrs(seq(oidCPB, set(str(0x13, "a"), seq()))), yes},
		{"challenge-atv-set", attrs(seq(oidCPB, set(seq(atv(oidCPB, str(0x13, "pw")))))), yes},
		{"attr-sequence-then-string", attrs(seq(oidCPB, set(seq(), str(0x13, "a")))), no},
		{"attr-empty-set", attrs(seq(oidCPB, set())), yes},
		{"attr-empty-sequence-value", attrs(seq(oidCPB, set(seq()))), yes},
		{"attr-atv-integer", attrs(seq(oidCPB, set(seq(atv(oidCPB, tlv(2, []byte{1})))))), no},
		{"attr-context-value", attrs(seq(oidCPB, set(tlv(0xa0, nil)))), no},
		{"attr-and-extensions", attrs(seq(oidCPB, set(str(0x13, "pw"))), extReq(san(str(0x82, "x.example")))), yes},
		{"ext-req-empty-set", attrs(seq(oidExtReqB, set())), yes},
		{"ext-req-empty-extensions", attrs(extReq()), yes},
		{"ext-req-string-value", attrs(seq(oidExtReqB, set(str(0x13, "x")))), no},
		{"ext-req-two-values", attrs(seq(oidExtReqB, set(seq(san(str(0x82, "a.example"))), seq(ext(oid(1, 2, 3), octets(nil)))))), yes},
		{"ext-req-twice", attrs(extReq(san(str(0x82, "a.example"))), extReq(ext(oid(1, 2, 3), octets([]byte{1})))), yes},
		{"ext-req-twice-duplicate", attrs(extReq(san(str(0x82, "a.example"))), extReq(san(str(0x82, "b.example")))), no},
		{"ext-duplicate", attrs(extReq(ext(oid(1, 2, 3), octets(nil)), ext(oid(1, 2, 3), octets(nil)))), no},
		{"ext-critical", attrs(extReq(ext(oid(2, 5, 29, 15), critTrue, octets([]byte{3, 2, 5, 0xa0})))), yes},
		{"ext-critical-false", attrs(extReq(ext(oid(2, 5, 29, 15), []byte{1, 1, 0}, octets([]byte{3, 2, 5, 0xa0})))), yes},
		{"ext-critical-bad", attrs(extReq(ext(oid(2, 5, 29, 15), []byte{1, 1, 1}, octets(nil)))), no},
		{"ext-critical-san", attrs(extReq(ext(oidSANB, critTrue, octets(seq(str(0x82, "c.example")))))), yes},
		{"ext-empty-value", attrs(extReq(ext(oid(1, 2, 3), octets(nil)))), yes},
		{"ext-no-value", attrs(extReq(ext(oid(1, 2, 3)))), no},
		{"ext-trailing", attrs(extReq(ext(oid(1, 2, 3), octets(nil), derNullElem))), no},
		{"ext-value-not-octets", attrs(extReq(ext(oid(1, 2, 3), str(0x13, "x")))), no},
		{"ext-many", attrs(extReq(manyExtensions(40)...)), no},
		{"ext-not-sequence", attrs(seq(oidExtReqB, set(seq(derNullElem)))), no},
		{"unknown-attr-extensions", attrs(seq(oid(1, 2, 3), set(seq(san(str(0x82, "a.example")))))), yes},

		// Subject alternative names.
		{"san-all-types", sans(str(0x81, "a@example.com"), str(0x82, "b.example.com"), str(0x86, "spiffe://example.org/x"),
			tlv(0x87, []byte{192, 0, 2, 1}), tlv(0x87, unhex("20010db8000000000000000000000001")), tlv(0x87, unhex("00000000000000000000ffffc0000221"))), yes},
		{"san-empty", sans(), yes},
		{"san-other-names", sans(tlv(0xa0, oid(1, 2, 3), tlv(0xa0, str(0x0c, "x"))), tlv(0xa4, seq()), tlv(0x88, []byte{0x2a}), tlv(0x83, nil), tlv(0xa5, nil)), yes},
		{"san-constructed-dns", sans(tlv(0xa2, str(0x16, "x.example"))), yes},
		{"san-universal-tags", sans(str(0x02, "x"), str(0x16, "y")), yes},
		{"san-ip-bad-length", sans(tlv(0x87, []byte{1, 2, 3})), no},
		{"san-ip-empty", sans(tlv(0x87, nil)), no},
		{"san-dns-non-ascii", sans(str(0x82, "bücher.example")), no},
		{"san-email-non-ascii", sans(str(0x81, "ü@example.com")), no},
		{"san-dns-empty", sans(str(0x82, "")), yes},
		{"san-dns-odd", sans(str(0x82, "not a hostname..")), yes},
		{"san-uri-bad", sans(str(0x86, "http://[::1")), no},
		{"san-uri-control", sans(str(0x86, "http://a\x7f.example/")), no},
		{"san-uri-empty", sans(str(0x86, "")), yes},
		{"san-uri-relative", sans(str(0x86, "/just/a/path")), yes},
		{"san-uri-host-trailing-dot", sans(str(0x86, "https://example.com./")), no},
		{"san-uri-host-empty-label", sans(str(0x86, "https://a..example.com/")), no},
		{"san-uri-host-leading-dot", sans(str(0x86, "https://.example.com/")), no},
		{"san-uri-host-port", sans(str(0x86, "https://example.com:8443/")), yes},
		{"san-uri-host-ipv6", sans(str(0x86, "https://[2001:db8::1]:8443/")), yes},
		{"san-uri-host-percent", sans(str(0x86, "https://ex%41mple.com/")), no},
		{"san-uri-userinfo", sans(str(0x86, "ftp://user:pw@files.example.com/")), yes},
		{"san-uri-opaque", sans(str(0x86, "urn:ietf:rfc:5280")), yes},
		{"san-trailing-data", attrs(extReq(ext(oidSANB, octets(append(seq(str(0x82, "a.example")), 0xff, 0xff))))), yes},
		{"san-not-sequence", attrs(extReq(ext(oidSANB, octets(set(str(0x82, "a.example")))))), no},
		{"san-truncated-name", attrs(extReq(ext(oidSANB, octets(seq([]byte{0x82, 0x05, 'a'}))))), no},
		{"san-high-tag", attrs(extReq(ext(oidSANB, octets(seq([]byte{0x9f, 0x21, 0x00}))))), no},
		{"san-empty-value", attrs(extReq(ext(oidSANB, octets(nil)))), no},
	}
}

func manyExtensions(n int) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, ext(oid(1, 2, 3, i), octets(nil)))
	}
	return out
}

// TestHandBuilt compares Parse with x509 on hand-made encodings, covering
// shapes and malformations Go never produces.
func TestHandBuilt(t *testing.T) {
	for _, v := range handVariants() {
		t.Run(v.name, func(t *testing.T) {
			p := baseParts()
			v.modify(&p)
			der := p.der()
			fast := checkEquivalent(t, der)
			checkAliasing(t, der)
			if v.fast != nil && fast != *v.fast {
				_, err := x509.ParseCertificateRequest(der)
				t.Errorf("fast path taken = %v, want %v (x509 error: %v)", fast, *v.fast, err)
			}
		})
	}
}

// TestHandBuiltSignatures checks that the signed hand-made variants verify
// when parsed by either parser.
func TestHandBuiltSignatures(t *testing.T) {
	for _, name := range []string{"base", "ed25519", "subject-bmp", "san-all-types", "attr-and-extensions"} {
		for _, v := range handVariants() {
			if v.name != name {
				continue
			}
			p := baseParts()
			v.modify(&p)
			der := p.der()
			got, err := Parse(der)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := got.CheckSignature(); err != nil {
				t.Errorf("%s: CheckSignature: %v", name, err)
			}
		}
	}
}
