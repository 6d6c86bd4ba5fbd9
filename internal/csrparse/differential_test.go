package csrparse

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"net"
	"net/url"
	"sync"
	"testing"
	"unicode/utf16"
)

type namedKey struct {
	name string
	key  crypto.Signer
}

// testKeys are generated once; RSA key generation is slow.
var testKeys = sync.OnceValue(func() []namedKey {
	mustEC := func(c elliptic.Curve) crypto.Signer {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return []namedKey{
		{"p256", mustEC(elliptic.P256())},
		{"p384", mustEC(elliptic.P384())},
		{"p521", mustEC(elliptic.P521())},
		{"ed25519", ed},
		{"rsa2048", rsaKey},
	}
})

func keyNamed(name string) crypto.Signer {
	for _, k := range testKeys() {
		if k.name == name {
			return k.key
		}
	}
	panic("no key " + name)
}

var (
	oidChallengePassword = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}
	oidExtReq            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 14}
)

func bmp(s string) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u>>8), byte(u))
	}
	return out
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

type subjectCase struct {
	name string
	// apply sets the subject of the template (Subject or RawSubject).
	apply func(*x509.CertificateRequest)
}

var subjectCases = []subjectCase{
	{"empty", func(*x509.CertificateRequest) {}},
	{"cn", func(t *x509.CertificateRequest) { t.Subject = pkix.Name{CommonName: "host.example.com"} }},
	{"full", func(t *x509.CertificateRequest) {
		t.Subject = pkix.Name{
			Country:            []string{"US", "CA"},
			Organization:       []string{"Acme, Inc.", "Acme & Sons"},
			OrganizationalUnit: []string{"Engineering", "Ops*"},
			Locality:           []string{"Zürich"},
			Province:           []string{"ZH"},
			StreetAddress:      []string{"Bahnhofstrasse 1", "c/o Büro 3"},
			PostalCode:         []string{"8001"},
			SerialNumber:       "SN-12345",
			CommonName:         "full.example.com",
		}
	}},
	{"extra-strings", func(t *x509.CertificateRequest) {
		t.Subject = pkix.Name{
			CommonName: "extra.example.com",
			ExtraNames: []pkix.AttributeTypeAndValue{
				{Type: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, Value: asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte("pki@example.com")}},
				{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}, Value: asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte("example")}},
				{Type: asn1.ObjectIdentifier{2, 5, 4, 45}, Value: asn1.RawValue{Tag: asn1.TagBMPString, Bytes: bmp("Grüße €")}},
				{Type: asn1.ObjectIdentifier{2, 5, 4, 4}, Value: asn1.RawValue{Tag: asn1.TagT61String, Bytes: []byte{'M', 0xfc, 'l', 'l', 'e', 'r'}}},
				{Type: asn1.ObjectIdentifier{2, 5, 4, 5}, Value: asn1.RawValue{Tag: asn1.TagNumericString, Bytes: []byte("123 456")}},
				{Type: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 3}, Value: "DE"},
				{Type: asn1.ObjectIdentifier{2, 999, 268435455}, Value: "big arc"},
				{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "later CN wins"},
				{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "utf8 Ørg"},
			},
		}
	}},
	{"extra-exotic", func(t *x509.CertificateRequest) {
		t.Subject = pkix.Name{
			CommonName: "exotic.example.com",
			ExtraNames: []pkix.AttributeTypeAndValue{
				{Type: asn1.ObjectIdentifier{1, 2, 3}, Value: true},
				{Type: asn1.ObjectIdentifier{1, 2, 4}, Value: []byte{1, 2, 3}},
				{Type: asn1.ObjectIdentifier{1, 2, 5}, Value: asn1.NullRawValue},
				{Type: asn1.ObjectIdentifier{1, 2, 6}, Value: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 3, Bytes: []byte("ctx")}},
				{Type: asn1.ObjectIdentifier{1, 2, 7}, Value: asn1.RawValue{Tag: asn1.TagGeneralString, Bytes: []byte("general")}},
				{Type: asn1.ObjectIdentifier{1, 2, 8}, Value: asn1.RawValue{Tag: asn1.TagBMPString, Bytes: append(bmp("nul-terminated"), 0, 0)}},
			},
		}
	}},
	{"extra-unmodelled", func(t *x509.CertificateRequest) {
		// INTEGER values and 5-byte OID arcs are left to x509.
		t.Subject = pkix.Name{
			CommonName: "fallback.example.com",
			ExtraNames: []pkix.AttributeTypeAndValue{
				{Type: asn1.ObjectIdentifier{1, 2, 3}, Value: 42},
				{Type: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 2147483647}, Value: "max arc"},
			},
		}
	}},
	{"raw-multivalued", func(t *x509.CertificateRequest) {
		t.RawSubject = mustMarshal(pkix.RDNSequence{
			{
				{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "multi.example.com"},
				{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}, Value: "uid42"},
			},
			{},
			{{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "NZ"}},
		})
	}},
}

type sanCase struct {
	name   string
	dns    []string
	emails []string
	ips    []net.IP
	uris   []*url.URL
}

var sanCases = []sanCase{
	{name: "none"},
	{name: "dns", dns: []string{"host.example.com"}},
	{name: "dns-email", dns: []string{"a.example.com", "*.example.com", "xn--bcher-kva.example"}, emails: []string{"admin@example.com", "x+y@sub.example.org"}},
	{name: "ips", ips: []net.IP{
		net.ParseIP("192.0.2.1").To4(),
		net.ParseIP("198.51.100.7"), // 16-byte form of an IPv4 address
		net.ParseIP("2001:db8::1"),
		net.ParseIP("::ffff:203.0.113.9"),
		net.ParseIP("::1"),
	}},
	{name: "uris", uris: []*url.URL{
		mustURL("spiffe://example.org/ns/default/sa/web"),
		mustURL("https://host.example.com:8443/a/b?c=d&e=f#frag"),
		mustURL("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"),
		mustURL("mailto:user@example.com"),
		mustURL("http://[2001:db8::1]:8080/p"),
		mustURL("https://user:pass@host.example.com/"),
		mustURL("file:///etc/hosts"),
		mustURL("https://example.com/%2Fescaped%20path"),
	}},
	{name: "all", dns: []string{"all.example.com"}, emails: []string{"all@example.com"},
		ips: []net.IP{net.ParseIP("10.1.2.3"), net.ParseIP("fe80::1")}, uris: []*url.URL{mustURL("spiffe://example.org/all")}},
}

type extraCase struct {
	name  string
	apply func(*x509.CertificateRequest)
}

var extraCases = []extraCase{
	{"none", func(*x509.CertificateRequest) {}},
	{"extensions", func(t *x509.CertificateRequest) {
		t.ExtraExtensions = []pkix.Extension{
			{Id: asn1.ObjectIdentifier{2, 5, 29, 15}, Critical: true, Value: []byte{0x03, 0x02, 0x05, 0xa0}},
			{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: []byte{0x30, 0x00}},
			{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Value: mustMarshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 1}})},
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}, Value: []byte{0x30, 0x03, 0x02, 0x01, 0x05}},
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, Value: []byte{}},
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2}, Critical: true, Value: []byte("opaque")},
		}
	}},
	{"san-extension", func(t *x509.CertificateRequest) {
		// A hand-made subjectAltName overrides the template's names and
		// carries name forms Go never writes.
		names := []asn1.RawValue{
			{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte("raw.example.com")},
			{Class: asn1.ClassContextSpecific, Tag: 7, Bytes: net.ParseIP("::ffff:192.0.2.33")}, // 16-byte v4-mapped
			{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: mustMarshal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3})},
			{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: mustMarshal(pkix.Name{CommonName: "dir"}.ToRDNSequence())},
			{Class: asn1.ClassContextSpecific, Tag: 8, Bytes: []byte{0x2a, 0x03}},
			{Class: asn1.ClassContextSpecific, Tag: 1, Bytes: []byte("raw@example.com")},
			{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte("https://raw.example.com/")},
		}
		t.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: mustMarshal(names)}}
	}},
	{"challenge-password", func(t *x509.CertificateRequest) {
		t.Attributes = []pkix.AttributeTypeAndValueSET{{
			Type:  oidChallengePassword,
			Value: [][]pkix.AttributeTypeAndValue{{{Type: oidChallengePassword, Value: "s3cret"}}},
		}}
		t.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4}, Critical: true, Value: []byte{5}}}
	}},
	{"extension-request-attribute", func(t *x509.CertificateRequest) {
		// Go merges the template's extensions into this attribute's value.
		t.Attributes = []pkix.AttributeTypeAndValueSET{{
			Type:  oidExtReq,
			Value: [][]pkix.AttributeTypeAndValue{{{Type: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: []byte{0x05, 0x00}}}},
		}}
	}},
	{"extension-request-two-values", func(t *x509.CertificateRequest) {
		// x509 decodes only the first value as extensions, but all of them
		// show up in Attributes. encoding/asn1 sorts the SET when
		// marshalling, so depending on lengths the value Go merged the
		// extensions into may no longer be first, and x509 then rejects
		// the request it made itself.
		t.Attributes = []pkix.AttributeTypeAndValueSET{{
			Type: oidExtReq,
			Value: [][]pkix.AttributeTypeAndValue{
				{{Type: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: []byte{0x05, 0x00}}},
				{{Type: asn1.ObjectIdentifier{1, 2, 3, 5}, Value: "second value"}},
			},
		}}
	}},
}

// TestGenerated compares Parse with x509 on requests made by Go for every
// combination of key, subject, names and extra extensions/attributes.
func TestGenerated(t *testing.T) {
	total, fast := 0, 0
	for _, k := range testKeys() {
		for _, subj := range subjectCases {
			for _, san := range sanCases {
				for _, extra := range extraCases {
					name := k.name + "/" + subj.name + "/" + san.name + "/" + extra.name
					tmpl := &x509.CertificateRequest{
						DNSNames:       san.dns,
						EmailAddresses: san.emails,
						IPAddresses:    san.ips,
						URIs:           san.uris,
					}
					subj.apply(tmpl)
					extra.apply(tmpl)
					der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, k.key)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					total++
					if checkGenerated(t, name, der) {
						fast++
					}
				}
			}
		}
	}
	t.Logf("%d of %d generated requests took the fast path", fast, total)
}

// checkGenerated runs all checks on a well-formed, signed request.
func checkGenerated(t *testing.T, name string, der []byte) (fast bool) {
	t.Helper()
	var ok bool
	t.Run(name, func(t *testing.T) {
		ok = checkEquivalent(t, der)
		checkAliasing(t, der)
		want, err := x509.ParseCertificateRequest(der)
		if err != nil {
			t.Logf("x509 rejects it, and so does Parse: %v", err)
			return
		}
		got, _ := Parse(der)
		if err := got.CheckSignature(); err != nil {
			t.Errorf("CheckSignature on Parse result: %v", err)
		}
		if err := want.CheckSignature(); err != nil {
			t.Errorf("CheckSignature on x509 result: %v", err)
		}
	})
	return ok
}

// TestOpenSSL compares on requests made by OpenSSL (see
// testdata/gen-openssl.sh), all of which the fast path should take.
func TestOpenSSL(t *testing.T) {
	for name, der := range readPEMs(t, "openssl-*.pem") {
		if !checkGenerated(t, name, der) {
			t.Errorf("%s: fast path not taken", name)
		}
	}
}
