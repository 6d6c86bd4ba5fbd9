package issuer

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// derCA returns a self-signed CA with key k, as the issuing certificate.
func derCA(t testing.TB, k crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "der CA", Organization: []string{"Mayfly"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDirectEncoderMatchesStdlib: for every template shape the authority
// builds, and the edges of the encoding (long-form lengths, serials with the
// top bit set, the UTCTime range), the TBSCertificate is byte-identical to
// x509.CreateCertificate's and the signature verifies. RSA PKCS #1 v1.5 and
// Ed25519 signatures are deterministic: with those issuers the whole
// certificate is identical.
func TestDirectEncoderMatchesStdlib(t *testing.T) {
	t.Parallel()
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	leaf521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	leafEd, _, _ := ed25519.GenerateKey(rand.Reader)
	leafRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	u, _ := url.Parse("spiffe://example.org/svc")
	extra := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 37476, 9000, 64, 1}, Value: []byte{0x30, 0}}
	kuExt := pkix.Extension{Id: oidKeyUsage, Critical: true, Value: mustDER(asn1.BitString{Bytes: []byte{0x80}, BitLength: 1})}
	nb := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var manyNames []string
	for i := range 40 {
		manyNames = append(manyNames, fmt.Sprintf("host-%02d.svc.cluster.example.com", i))
	}
	type tc struct {
		tmpl *x509.Certificate
		pub  crypto.PublicKey // the leaf's; leafKey's when nil
	}
	defaultLeaf := func() *x509.Certificate {
		return &x509.Certificate{
			Subject: pkix.Name{CommonName: "svc.example.com"}, NotBefore: nb, NotAfter: nb.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			SubjectKeyId: []byte{1, 2, 3}, DNSNames: []string{"svc.example.com"}, ExtraExtensions: []pkix.Extension{extra},
		}
	}
	cases := map[string]tc{
		"sign leaf": {tmpl: &x509.Certificate{
			Subject: pkix.Name{CommonName: "svc.example.com"}, NotBefore: nb, NotAfter: nb.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			SubjectKeyId: []byte{1, 2, 3}, DNSNames: []string{"svc.example.com", "b.example.com"},
			IPAddresses: []net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("::1")}, EmailAddresses: []string{"a@example.com"},
			URIs: []*url.URL{u}, ExtraExtensions: []pkix.Extension{extra},
		}},
		"single DNS name":        {tmpl: defaultLeaf()},
		"P-384 leaf key":         {tmpl: defaultLeaf(), pub: leaf384.Public()},
		"P-521 leaf key":         {tmpl: defaultLeaf(), pub: leaf521.Public()},
		"Ed25519 leaf key":       {tmpl: defaultLeaf(), pub: leafEd},
		"RSA leaf key":           {tmpl: defaultLeaf(), pub: leafRSA.Public()},
		"serial without top bit": {tmpl: withSerial(defaultLeaf(), new(big.Int).Lsh(big.NewInt(1), 126))},
		"serial of one byte":     {tmpl: withSerial(defaultLeaf(), big.NewInt(0x7f))},
		"serial 0x80":            {tmpl: withSerial(defaultLeaf(), big.NewInt(0x80))},
		"serial of 20 bytes":     {tmpl: withSerial(defaultLeaf(), new(big.Int).SetBytes(bytes.Repeat([]byte{0xff}, 20)))},
		"rsa key usage": {tmpl: &x509.Certificate{
			Subject: pkix.Name{CommonName: "r"}, NotBefore: nb, NotAfter: nb.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		}},
		"key usage in two bytes": {tmpl: &x509.Certificate{
			Subject: pkix.Name{CommonName: "ku"}, NotBefore: nb, NotAfter: nb.Add(time.Hour),
			KeyUsage: x509.KeyUsageKeyAgreement | x509.KeyUsageDecipherOnly,
		}},
		"key usage beyond 16 bits": {tmpl: &x509.Certificate{
			Subject: pkix.Name{CommonName: "ku"}, NotBefore: nb, NotAfter: nb.Add(time.Hour), KeyUsage: 1 << 20,
		}},
		"every supported extended key usage": {tmpl: &x509.Certificate{
			Subject: pkix.Name{CommonName: "eku"}, NotBefore: nb, NotAfter: nb.Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageAny, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth,
				x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageEmailProtection, x509.ExtKeyUsageTimeStamping, x509.ExtKeyUsageOCSPSigning},
		}},
		"empty subject, SAN critical": {tmpl: &x509.Certificate{
			NotBefore: nb, NotAfter: nb.Add(time.Hour), DNSNames: []string{"x.example.com"},
		}},
		"renewal: raw subject, copied extensions": {tmpl: &x509.Certificate{
			RawSubject: mustDER(pkix.Name{CommonName: "old", Organization: []string{"O"}}.ToRDNSequence()),
			NotBefore:  nb, NotAfter: nb.Add(time.Hour),
			ExtraExtensions: []pkix.Extension{kuExt, {Id: oidSubjectAltName, Value: []byte{0x30, 3, 0x82, 1, 'a'}}, extra},
		}},
		"subject equals the issuer's: no extensions": {tmpl: &x509.Certificate{
			Subject: pkix.Name{CommonName: "der CA", Organization: []string{"Mayfly"}}, NotBefore: nb, NotAfter: nb.Add(time.Hour),
		}},
		"multi-attribute subject": {tmpl: &x509.Certificate{
			Subject:   pkix.Name{CommonName: "m", Organization: []string{"O2", "O1"}, Country: []string{"NZ"}, SerialNumber: "42"},
			NotBefore: nb, NotAfter: nb.Add(time.Hour),
		}},
		"UTF8String common name":        {tmpl: withCN(defaultLeaf(), "bücher.example")},
		"common name with an asterisk":  {tmpl: withCN(defaultLeaf(), "*.example.com")},
		"common name with an ampersand": {tmpl: withCN(defaultLeaf(), "a&b")},
		"subject over 127 bytes":        {tmpl: withCN(defaultLeaf(), strings.Repeat("a", 130))},
		"subject over 255 bytes":        {tmpl: withCN(defaultLeaf(), strings.Repeat("b", 300))},
		"raw subject over 255 bytes": {tmpl: &x509.Certificate{
			RawSubject: mustDER(pkix.Name{CommonName: strings.Repeat("c", 200), Organization: []string{strings.Repeat("o", 100)}}.ToRDNSequence()),
			NotBefore:  nb, NotAfter: nb.Add(time.Hour), DNSNames: []string{"c.example.com"},
		}},
		"long SAN list": {tmpl: &x509.Certificate{
			Subject: pkix.Name{CommonName: "many"}, NotBefore: nb, NotAfter: nb.Add(time.Hour), DNSNames: manyNames,
			IPAddresses: []net.IP{net.ParseIP("192.0.2.1").To16(), net.ParseIP("2001:db8::1")},
		}},
		"long and critical extra extension": {tmpl: &x509.Certificate{
			Subject: pkix.Name{CommonName: "x"}, NotBefore: nb, NotAfter: nb.Add(time.Hour),
			ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 3, 4, 1 << 30}, Critical: true, Value: bytes.Repeat([]byte{7}, 300)}},
		}},
		"not before 1949, not after 1950": {tmpl: withValidity(defaultLeaf(),
			time.Date(1949, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC))},
		"not before 2049, not after 2050": {tmpl: withValidity(defaultLeaf(),
			time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC))},
		"generalized time after 2049": {tmpl: &x509.Certificate{
			Subject: pkix.Name{CommonName: "far"}, NotBefore: nb, NotAfter: time.Date(2051, 1, 1, 0, 0, 0, 0, time.UTC),
		}},
		"years 1 and 9999": {tmpl: withValidity(defaultLeaf(),
			time.Date(1, 2, 3, 4, 5, 6, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC))},
		"local times with nanoseconds": {tmpl: withValidity(defaultLeaf(),
			time.Date(2049, 12, 31, 20, 30, 59, 999999999, time.FixedZone("", -5*3600)), time.Date(2030, 1, 1, 0, 0, 0, 1, time.FixedZone("", 13*3600)))},
	}
	for keyName, key := range map[string]crypto.Signer{"P-256": ecKey, "P-384": ec384, "RSA": rsaKey, "Ed25519": edKey} {
		ca := derCA(t, key)
		iss, err := New([]*x509.Certificate{ca}, key)
		if err != nil {
			t.Fatalf("%s: New: %v", keyName, err)
		}
		if !iss.fast {
			t.Fatalf("%s: direct encoder not enabled", keyName)
		}
		deterministic := keyName == "RSA" || keyName == "Ed25519"
		for name, c := range cases {
			tmpl, pub := c.tmpl, c.pub
			if pub == nil {
				pub = leafKey.Public()
			}
			if tmpl.SerialNumber == nil {
				tmpl.SerialNumber = new(big.Int).Lsh(big.NewInt(1), 127)
			}
			want, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, key)
			if err != nil {
				t.Fatalf("%s/%s: stdlib: %v", keyName, name, err)
			}
			got, err := iss.createCertificate(tmpl, pub)
			if err != nil {
				t.Fatalf("%s/%s: direct: %v", keyName, name, err)
			}
			wc, _ := x509.ParseCertificate(want)
			gc, err := x509.ParseCertificate(got)
			if err != nil {
				t.Fatalf("%s/%s: direct encoding does not parse: %v", keyName, name, err)
			}
			if !bytes.Equal(wc.RawTBSCertificate, gc.RawTBSCertificate) {
				t.Fatalf("%s/%s: TBSCertificate differs from x509.CreateCertificate's\nwant %x\ngot  %x", keyName, name, wc.RawTBSCertificate, gc.RawTBSCertificate)
			}
			if deterministic && !bytes.Equal(want, got) {
				t.Fatalf("%s/%s: certificate differs from x509.CreateCertificate's\nwant %x\ngot  %x", keyName, name, want, got)
			}
			if err := gc.CheckSignatureFrom(ca); err != nil {
				t.Fatalf("%s/%s: signature: %v", keyName, name, err)
			}
		}
	}
}

func withSerial(c *x509.Certificate, n *big.Int) *x509.Certificate { c.SerialNumber = n; return c }
func withCN(c *x509.Certificate, cn string) *x509.Certificate      { c.Subject.CommonName = cn; return c }
func withValidity(c *x509.Certificate, nb, na time.Time) *x509.Certificate {
	c.NotBefore, c.NotAfter = nb, na
	return c
}

// TestDirectEncoderRefuses: what x509.CreateCertificate refuses, and the
// shapes the encoder does not take, are errors.
func TestDirectEncoderRefuses(t *testing.T) {
	t.Parallel()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	iss, err := New([]*x509.Certificate{derCA(t, key)}, key)
	if err != nil {
		t.Fatal(err)
	}
	nb := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	u := &url.URL{Scheme: "urn", Opaque: "bücher"}
	for name, tmpl := range map[string]*x509.Certificate{
		"no serial":                   {},
		"zero serial":                 {SerialNumber: new(big.Int)},
		"negative serial":             {SerialNumber: big.NewInt(-1)},
		"year 10000":                  {NotBefore: nb, NotAfter: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"year -1":                     {NotBefore: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: nb},
		"common name not UTF-8":       {Subject: pkix.Name{CommonName: "\xff"}},
		"organization not UTF-8":      {Subject: pkix.Name{Organization: []string{"\xff"}}},
		"non-ASCII DNS name":          {DNSNames: []string{"bücher.example"}},
		"non-ASCII email":             {EmailAddresses: []string{"ü@example.com"}},
		"non-ASCII URI":               {URIs: []*url.URL{u}},
		"IP address of 5 bytes":       {IPAddresses: []net.IP{{1, 2, 3, 4, 5}}},
		"unsupported ext key usage":   {ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageIPSECUser}},
		"unknown ext key usage":       {ExtKeyUsage: []x509.ExtKeyUsage{-1}},
		"extra extension without OID": {ExtraExtensions: []pkix.Extension{{Value: []byte{5, 0}}}},
	} {
		if tmpl.SerialNumber == nil && name != "no serial" {
			tmpl.SerialNumber = big.NewInt(1)
		}
		if tmpl.NotBefore.IsZero() {
			tmpl.NotBefore, tmpl.NotAfter = nb, nb.Add(time.Hour)
		}
		if _, err := iss.createCertificate(tmpl, key.Public()); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}

// TestPublicKeyEncoding: the direct SubjectPublicKeyInfo is
// x509.MarshalPKIXPublicKey's for random keys of every type, and an invalid
// key is an error.
func TestPublicKeyEncoding(t *testing.T) {
	t.Parallel()
	var keys []crypto.PublicKey
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		for range 100 {
			k, err := ecdsa.GenerateKey(c, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k.Public())
		}
	}
	for range 300 {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, pub)
	}
	// The fallbacks: RSA, a curve without a prefix, an Ed25519 key of the wrong size.
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	keys = append(keys, rsaKey.Public(), p224.Public(), ed25519.PublicKey(make([]byte, 31)))
	for _, k := range keys {
		want, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		w := derWriter{b: []byte{0xee}}
		if err := w.addPublicKey(k); err != nil || !bytes.Equal(w.b[1:], want) || w.b[0] != 0xee {
			t.Fatalf("%T: %v\nwant %x\ngot  %x", k, err, want, w.b[1:])
		}
	}

	// Invalid keys, which x509.MarshalPKIXPublicKey also refuses. Setting
	// the coordinates is the only way to make one.
	valid, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p := elliptic.P256().Params().P
	invalid := map[string]crypto.PublicKey{
		"off the curve":       &ecdsa.PublicKey{Curve: elliptic.P256(), X: valid.X, Y: new(big.Int).Add(valid.Y, big.NewInt(1))},
		"coordinate over p":   &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).Add(valid.X, p), Y: valid.Y},
		"negative coordinate": &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).Neg(valid.X), Y: valid.Y},
		"point at infinity":   &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int), Y: new(big.Int)},
		"no curve":            &ecdsa.PublicKey{X: valid.X, Y: valid.Y},
		"not a key":           struct{}{},
	}
	for name, k := range invalid {
		if _, err := x509.MarshalPKIXPublicKey(k); err == nil {
			t.Fatalf("%s: x509.MarshalPKIXPublicKey accepts it", name)
		}
		var w derWriter
		if err := w.addPublicKey(k); err == nil {
			t.Errorf("%s: encoded as %x", name, w.b)
		}
	}
}

// TestDERWriterLengths: close writes encoding/asn1's length, short or long form.
func TestDERWriterLengths(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 24} {
		v := bytes.Repeat([]byte{0x5a}, n)
		want := mustDER(asn1.RawValue{Tag: asn1.TagOctetString, Bytes: v})
		w := derWriter{b: []byte{1, 2}}
		s := w.open(tagSequence)
		w.addBytes(tagOctetString, v)
		w.close(s)
		if !bytes.Equal(w.b[:2], []byte{1, 2}) || !bytes.Equal(w.b[2:], mustDER(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: want})) {
			t.Fatalf("length %d: encoded as % x…", n, w.b[:min(len(w.b), 16)])
		}
	}
}

// FuzzDirectEncoder: for templates built from fuzzed names, serials, times,
// key usages, addresses and extensions, the direct encoder's certificate is
// x509.CreateCertificate's byte for byte (the issuer's Ed25519 signatures
// are deterministic), or both refuse the template; the encoder refuses more
// only for what it does not support.
func FuzzDirectEncoder(f *testing.F) {
	_, caKey, _ := ed25519.GenerateKey(rand.Reader)
	ca := derCA(f, caKey)
	iss, err := New([]*x509.Certificate{ca}, caKey)
	if err != nil {
		f.Fatal(err)
	}
	var leaves []crypto.PublicKey
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		k, _ := ecdsa.GenerateKey(c, rand.Reader)
		leaves = append(leaves, k.Public())
	}
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	leaves = append(leaves, edPub, rsaKey.Public())

	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).Unix()
	day := int64(24 * 3600)
	serial := bytes.Repeat([]byte{0x9c}, 16)
	// cn, org, raw, serial, negative, notBefore, notAfter, keyUsage, extKeyUsages, dns, emails, ips, uri, ski, extras, leaf
	f.Add("svc.example.com", "", false, serial, false, now, now+day, int64(x509.KeyUsageDigitalSignature), []byte{1, 2}, "svc.example.com", "", []byte{}, "", []byte{1, 2, 3}, uint8(1<<5), uint8(0))
	f.Add("old", "O", true, serial[:1], false, now, now+day, int64(0), []byte{}, "", "", []byte{}, "", []byte{}, uint8(0x3f), uint8(4))
	f.Add("", "", false, []byte{1}, false, now, now+day, int64(0), []byte{}, "x.example.com", "a@example.com", []byte{4, 10, 0, 0, 1, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "spiffe://example.org/svc", []byte{}, uint8(0), uint8(1))
	f.Add(strings.Repeat("a", 300), "", false, []byte{0x7f}, false, time.Date(1949, 12, 31, 23, 59, 59, 0, time.UTC).Unix(), time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), int64(x509.KeyUsageDecipherOnly), []byte{0, 3, 4, 8, 9}, strings.Repeat("n.example.com,", 30), "", []byte{}, "", bytes.Repeat([]byte{9}, 200), uint8(0xe0), uint8(2))
	f.Add("bücher", "", false, []byte{2}, false, now, now-day, int64(-1), []byte{}, "bücher.example", "", []byte{}, "", []byte{}, uint8(0), uint8(3))
	f.Add("ipsec", "", false, []byte{2}, false, now, now+day, int64(0), []byte{5}, "", "", []byte{5, 1, 2, 3, 4, 5}, "", []byte{}, uint8(0), uint8(3))
	f.Add("a&b*", "\xff", false, serial, true, int64(-68000000000), int64(300000000000), int64(1<<20), []byte{0xff, 14}, ",", ",", []byte{0}, "%zz", []byte{}, uint8(0x12), uint8(0))
	f.Fuzz(func(t *testing.T, cn, org string, raw bool, serial []byte, negative bool, notBefore, notAfter, keyUsage int64,
		extKeyUsages []byte, dns, emails string, ips []byte, uri string, ski []byte, extras, leaf uint8) {
		tmpl := &x509.Certificate{
			SerialNumber: new(big.Int).SetBytes(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    fuzzTime(notBefore), NotAfter: fuzzTime(notAfter),
			KeyUsage:     x509.KeyUsage(keyUsage),
			SubjectKeyId: ski,
		}
		if negative {
			tmpl.SerialNumber.Neg(tmpl.SerialNumber)
		}
		if org != "" {
			tmpl.Subject.Organization = []string{org}
		}
		if raw {
			tmpl.RawSubject, _ = asn1.Marshal(tmpl.Subject.ToRDNSequence())
		}
		for _, u := range extKeyUsages {
			tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsage(int8(u)))
		}
		if dns != "" {
			tmpl.DNSNames = strings.Split(dns, ",")
		}
		if emails != "" {
			tmpl.EmailAddresses = strings.Split(emails, ",")
		}
		// Length-prefixed addresses of 0 to 17 bytes.
		for len(ips) > 0 {
			n := min(int(ips[0]%18), len(ips)-1)
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(ips[1:1+n]))
			ips = ips[1+n:]
		}
		if u, err := url.Parse(uri); uri != "" && err == nil {
			tmpl.URIs = []*url.URL{u}
		}
		// Each bit of extras adds an extension, those of the first five
		// replacing the one the encoder would derive from a field.
		for bit, e := range []pkix.Extension{
			{Id: oidKeyUsage, Critical: true, Value: []byte{3, 2, 7, 0x80}},
			{Id: oidExtKeyUsage, Value: []byte{0x30, 0}},
			{Id: oidSubjectKeyID, Value: []byte{4, 1, 1}},
			{Id: oidAuthorityKeyID, Value: []byte{0x30, 3, 0x80, 1, 1}},
			{Id: oidSubjectAltName, Value: []byte{0x30, 3, 0x82, 1, 'a'}},
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 37476, 9000, 64, 1}, Value: []byte{0x30, 0}},
			{Id: asn1.ObjectIdentifier{1, 2, 3}, Critical: true, Value: []byte{5, 0}},
			{Id: asn1.ObjectIdentifier{2, 999, 1 << 30}, Value: bytes.Repeat([]byte{1}, 300)},
		} {
			if extras&(1<<bit) != 0 {
				tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, e)
			}
		}
		pub := leaves[int(leaf)%len(leaves)]

		want, wantErr := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
		got, err := iss.createCertificate(tmpl, pub)
		switch {
		case wantErr != nil && err == nil:
			t.Fatalf("x509.CreateCertificate refuses the template (%v), the direct encoder does not", wantErr)
		case wantErr == nil && err != nil:
			if !unsupported(tmpl) {
				t.Fatalf("the direct encoder refuses a template x509.CreateCertificate takes: %v", err)
			}
		case err == nil && !bytes.Equal(got, want):
			t.Fatalf("certificate differs from x509.CreateCertificate's\nwant %x\ngot  %x", want, got)
		}
	})
}

// fuzzTime is within 2,000 years of the epoch, mostly inside the years
// x509.CreateCertificate can encode, with nanoseconds and in a time zone that
// the encoding must drop.
func fuzzTime(sec int64) time.Time {
	return time.Unix(sec%(1<<36), sec%1e9).In(time.FixedZone("", int(sec%(14*3600))))
}

// unsupported reports whether tmpl uses what x509.CreateCertificate encodes
// and the direct encoder refuses: a zero serial, extended key usages it has
// no OID for, IP addresses of other than 4 or 16 bytes.
func unsupported(tmpl *x509.Certificate) bool {
	if tmpl.SerialNumber.Sign() == 0 {
		return true
	}
	if !hasExtension(tmpl.ExtraExtensions, oidExtKeyUsage) {
		for _, u := range tmpl.ExtKeyUsage {
			if u < 0 || int(u) >= len(extKeyUsageOIDs) || extKeyUsageOIDs[u] == nil {
				return true
			}
		}
	}
	if !hasExtension(tmpl.ExtraExtensions, oidSubjectAltName) {
		for _, ip := range tmpl.IPAddresses {
			if len(ip) != net.IPv4len && len(ip) != net.IPv6len {
				return true
			}
		}
	}
	return false
}

// TestDirectEncoderFallsBack: fields it does not encode go to x509.CreateCertificate.
func TestDirectEncoderFallsBack(t *testing.T) {
	t.Parallel()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := derCA(t, key)
	iss, err := New([]*x509.Certificate{ca}, key)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: "ca-ish"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
		BasicConstraintsValid: true, OCSPServer: []string{"http://ocsp.example.com"}}
	der, err := iss.Sign(tmpl, key.Public())
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil || !c.BasicConstraintsValid || len(c.OCSPServer) != 1 {
		t.Fatalf("fallback lost fields: %v %+v", err, c)
	}
}

func TestSelfCheckRefusesBadSigner(t *testing.T) {
	t.Parallel()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := derCA(t, key)
	s := &mixedSigner{pub: key.Public(), sign: other}
	if _, err := New([]*x509.Certificate{ca}, s); err == nil {
		t.Fatal("New accepted a signer whose signatures do not verify")
	}
}

// mixedSigner claims one key and signs with another.
type mixedSigner struct {
	pub  crypto.PublicKey
	sign crypto.Signer
}

func (m *mixedSigner) Public() crypto.PublicKey { return m.pub }
func (m *mixedSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return m.sign.Sign(r, d, o)
}
