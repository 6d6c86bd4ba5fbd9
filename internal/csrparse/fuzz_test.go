package csrparse

import (
	"crypto/rand"
	"crypto/x509"
	"testing"
)

// FuzzParse checks that Parse agrees with x509.ParseCertificateRequest on
// arbitrary input (and, through the fast path check, that the fast path
// only accepts what x509 accepts and never panics).
func FuzzParse(f *testing.F) {
	for _, der := range mutationCorpus(f) {
		f.Add(der)
	}
	for _, der := range readPEMs(f, "openssl-*.pem") {
		f.Add(der)
	}
	for _, v := range handVariants() {
		p := baseParts()
		v.modify(&p)
		f.Add(p.der())
	}
	key := keyNamed("p256")
	for _, subj := range subjectCases {
		for _, san := range sanCases {
			for _, extra := range extraCases {
				tmpl := &x509.CertificateRequest{DNSNames: san.dns, EmailAddresses: san.emails, IPAddresses: san.ips, URIs: san.uris}
				subj.apply(tmpl)
				extra.apply(tmpl)
				der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(der)
			}
		}
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		checkEquivalent(t, der)
		checkAliasing(t, der)
	})
}

// fixedSignature is a syntactically valid ECDSA signature BIT STRING.
var fixedSignature = bitString(seq(tlv(0x02, []byte{0x01}), tlv(0x02, []byte{0x02})))

// rawTLV encodes an element with any identifier byte, including the
// high-tag-number marker that cryptobyte's Builder refuses to write.
func rawTLV(tag byte, content []byte) []byte {
	out := []byte{tag}
	switch n := len(content); {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, content...)
}

// FuzzFields fuzzes the contents of individual fields inside an otherwise
// well-formed request, where byte-level mutation of whole requests rarely
// gets past the length checks: a subject attribute (OID and tagged value),
// a subjectAltName entry, an extension (OID, critical flag, value) and an
// arbitrary attribute (OID and SET contents).
func FuzzFields(f *testing.F) {
	f.Add([]byte{0x55, 0x04, 0x03}, byte(0x0c), []byte("host.example.com"),
		byte(0x82), []byte("host.example.com"),
		[]byte{0x2a, 0x03}, byte(0), []byte{0x05, 0x00},
		[]byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x07}, rawTLV(0x13, []byte("pw")))
	f.Add([]byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01}, byte(0x1e), bmp("Grüße"),
		byte(0x86), []byte("https://example.com:8443/x?y#z"),
		[]byte{0x55, 0x1d, 0x0f}, byte(0xff), []byte{0x03, 0x02, 0x05, 0xa0},
		[]byte{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e}, seq(ext(oid(1, 2, 3), octets(nil))))
	f.Add([]byte{0x55, 0x04, 0x0a}, byte(0x14), []byte{0xe9, 0x74, 0xe9},
		byte(0x87), []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
		[]byte{0x55, 0x1d, 0x11}, byte(1), seq(str(0x82, "dup.example")),
		[]byte{0x2a, 0x03}, seq(atv(oid(1, 2), str(0x13, "v"))))
	f.Fuzz(func(t *testing.T, subjOID []byte, subjTag byte, subjValue []byte,
		sanTag byte, sanValue []byte,
		extOID []byte, critical byte, extValue []byte,
		attrOID []byte, attrSet []byte) {
		p := baseParts()
		p.sig = fixedSignature // signing every input would dominate the run time
		p.subject = seq(set(seq(rawTLV(0x06, subjOID), rawTLV(subjTag, subjValue))))
		var crit []byte
		if critical != 0 {
			crit = []byte{0x01, 0x01, critical}
		}
		extension := seq(append(rawTLV(0x06, extOID), append(crit, rawTLV(0x04, extValue)...)...))
		p.attrs = ctx0(
			extReq(san(rawTLV(sanTag, sanValue)), extension),
			seq(rawTLV(0x06, attrOID), rawTLV(0x31, attrSet)),
		)
		der := p.der()
		checkEquivalent(t, der)
		checkAliasing(t, der)
	})
}
