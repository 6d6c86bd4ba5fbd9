package templates

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
	"time"
)

// TestFieldMapping renders a document with every field and checks what
// crypto/x509 encodes for each.
func TestFieldMapping(t *testing.T) {
	t.Parallel()
	key := ecKey(t)
	extValue := base64.StdEncoding.EncodeToString([]byte{0x0c, 0x02, 'h', 'i'}) // UTF8String "hi"
	text := `{
		"version": 3,
		"subject": {
			"commonName": {{ toJson .Subject.CommonName }},
			"country": "US",
			"organization": ["Acme", "Acme Labs"],
			"organizationalUnit": "Eng",
			"locality": "SF",
			"province": "CA",
			"streetAddress": "1 Main St",
			"postalCode": "94000",
			"serialNumber": "42",
			"extraNames": [{"type": "1.2.840.113549.1.9.1", "value": "jane@example.com"}]
		},
		"issuer": "ignored by crypto/x509",
		"serialNumber": "0x1234",
		"dnsNames": "a.example.com",
		"emailAddresses": ["jane@example.com"],
		"ipAddresses": ["10.0.0.1", "::1"],
		"uris": "spiffe://example.com/a",
		"sans": [{"type": "dns", "value": "b.example.com"}, {"type": "auto", "value": "192.168.0.1"}, {"value": "c.example.com"}],
		"notBefore": "2030-01-02T03:04:05Z",
		"notAfter": "2031-01-02T03:04:05Z",
		"extensions": [{"id": "1.3.6.1.4.1.99999.1", "critical": false, "value": "` + extValue + `"}],
		"keyUsage": ["digitalSignature", "keyEncipherment", "contentCommitment", "dataEncipherment", "keyAgreement"],
		"extKeyUsage": ["serverAuth", "clientAuth", "codeSigning", "emailProtection", "timeStamping", "ocspSigning"],
		"unknownExtKeyUsage": ["1.3.6.1.4.1.99999.2"],
		"subjectKeyId": "AQIDBA==",
		"ocspServer": "http://ocsp.example.com",
		"issuingCertificateURL": ["http://ca.example.com/ca.crt"],
		"crlDistributionPoints": "http://ca.example.com/crl",
		"policyIdentifiers": ["2.23.140.1.2.1", "1.3.6.1.4.1.99999.3"],
		"basicConstraints": {"isCA": true, "maxPathLen": 2},
		"nameConstraints": {
			"critical": true,
			"permittedDNSDomains": ".example.com",
			"excludedDNSDomains": ["bad.example.com"],
			"permittedIPRanges": "10.0.0.0/8",
			"excludedIPRanges": ["10.1.0.0/16"],
			"permittedEmailAddresses": "example.com",
			"excludedEmailAddresses": "bad@example.com",
			"permittedURIDomains": ".example.com",
			"excludedURIDomains": "bad.example.com"
		},
		"signatureAlgorithm": "ecdsa-sha384",
		"someFutureField": {"ignored": true}
	}`
	c := issue(t, text, NewX509Data("full.example.com", nil), key.Public())

	s := c.Subject
	if s.CommonName != "full.example.com" || !slices.Equal(s.Country, []string{"US"}) || !slices.Equal(s.Organization, []string{"Acme", "Acme Labs"}) ||
		!slices.Equal(s.OrganizationalUnit, []string{"Eng"}) || !slices.Equal(s.Locality, []string{"SF"}) || !slices.Equal(s.Province, []string{"CA"}) ||
		!slices.Equal(s.StreetAddress, []string{"1 Main St"}) || !slices.Equal(s.PostalCode, []string{"94000"}) || s.SerialNumber != "42" {
		t.Fatalf("subject: %+v", s)
	}
	var email bool
	for _, atv := range s.Names {
		email = email || atv.Type.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}) && atv.Value == "jane@example.com"
	}
	if !email {
		t.Fatalf("extra name missing: %v", s.Names)
	}
	if c.Issuer.CommonName != "Test CA" {
		t.Fatalf("issuer %v: crypto/x509 takes the parent's subject", c.Issuer)
	}
	if c.SerialNumber.Int64() != 0x1234 {
		t.Fatalf("serial %v", c.SerialNumber)
	}
	if !slices.Equal(c.DNSNames, []string{"a.example.com", "b.example.com", "c.example.com"}) ||
		!slices.Equal(c.EmailAddresses, []string{"jane@example.com"}) ||
		len(c.IPAddresses) != 3 || c.IPAddresses[0].String() != "10.0.0.1" || c.IPAddresses[1].String() != "::1" || c.IPAddresses[2].String() != "192.168.0.1" ||
		len(c.URIs) != 1 || c.URIs[0].String() != "spiffe://example.com/a" {
		t.Fatalf("SANs: %v %v %v %v", c.DNSNames, c.EmailAddresses, c.IPAddresses, c.URIs)
	}
	if !c.NotBefore.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) || !c.NotAfter.Equal(time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("validity %v - %v", c.NotBefore, c.NotAfter)
	}
	var ext *pkix.Extension
	for i, e := range c.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}) {
			ext = &c.Extensions[i]
		}
	}
	if ext == nil || ext.Critical || !bytes.Equal(ext.Value, []byte{0x0c, 0x02, 'h', 'i'}) {
		t.Fatalf("custom extension: %+v", ext)
	}
	wantKU := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageContentCommitment | x509.KeyUsageDataEncipherment | x509.KeyUsageKeyAgreement
	if c.KeyUsage != wantKU {
		t.Fatalf("key usage %b, want %b", c.KeyUsage, wantKU)
	}
	wantEKU := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageCodeSigning,
		x509.ExtKeyUsageEmailProtection, x509.ExtKeyUsageTimeStamping, x509.ExtKeyUsageOCSPSigning}
	if !slices.Equal(c.ExtKeyUsage, wantEKU) || len(c.UnknownExtKeyUsage) != 1 || c.UnknownExtKeyUsage[0].String() != "1.3.6.1.4.1.99999.2" {
		t.Fatalf("ext key usage %v unknown %v", c.ExtKeyUsage, c.UnknownExtKeyUsage)
	}
	if !bytes.Equal(c.SubjectKeyId, []byte{1, 2, 3, 4}) || !bytes.Equal(c.AuthorityKeyId, []byte{1, 2, 3}) {
		t.Fatalf("key ids %x %x", c.SubjectKeyId, c.AuthorityKeyId)
	}
	if !slices.Equal(c.OCSPServer, []string{"http://ocsp.example.com"}) || !slices.Equal(c.IssuingCertificateURL, []string{"http://ca.example.com/ca.crt"}) ||
		!slices.Equal(c.CRLDistributionPoints, []string{"http://ca.example.com/crl"}) {
		t.Fatalf("AIA/CRL: %v %v %v", c.OCSPServer, c.IssuingCertificateURL, c.CRLDistributionPoints)
	}
	if len(c.PolicyIdentifiers) != 2 || c.PolicyIdentifiers[0].String() != "2.23.140.1.2.1" || c.PolicyIdentifiers[1].String() != "1.3.6.1.4.1.99999.3" {
		t.Fatalf("policies %v", c.PolicyIdentifiers)
	}
	if !c.BasicConstraintsValid || !c.IsCA || c.MaxPathLen != 2 {
		t.Fatalf("basic constraints: %v %v %d", c.BasicConstraintsValid, c.IsCA, c.MaxPathLen)
	}
	if !c.PermittedDNSDomainsCritical || !slices.Equal(c.PermittedDNSDomains, []string{".example.com"}) || !slices.Equal(c.ExcludedDNSDomains, []string{"bad.example.com"}) ||
		len(c.PermittedIPRanges) != 1 || c.PermittedIPRanges[0].String() != "10.0.0.0/8" || len(c.ExcludedIPRanges) != 1 || c.ExcludedIPRanges[0].String() != "10.1.0.0/16" ||
		!slices.Equal(c.PermittedEmailAddresses, []string{"example.com"}) || !slices.Equal(c.ExcludedEmailAddresses, []string{"bad@example.com"}) ||
		!slices.Equal(c.PermittedURIDomains, []string{".example.com"}) || !slices.Equal(c.ExcludedURIDomains, []string{"bad.example.com"}) {
		t.Fatalf("name constraints: %+v", c)
	}
	if c.SignatureAlgorithm != x509.ECDSAWithSHA384 {
		t.Fatalf("signature algorithm %v", c.SignatureAlgorithm)
	}
}

func TestFieldVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		check     func(*x509.Certificate) bool
	}{
		{"subject as a string", `{"subject": "just a CN"}`, func(c *x509.Certificate) bool { return c.Subject.CommonName == "just a CN" }},
		{"key usage as a string, any case", `{"keyUsage": "CertSign"}`, func(c *x509.Certificate) bool { return c.KeyUsage == x509.KeyUsageCertSign }},
		{"key usage with underscores", `{"keyUsage": ["digital_signature", "crl_sign"]}`, func(c *x509.Certificate) bool {
			return c.KeyUsage == x509.KeyUsageDigitalSignature|x509.KeyUsageCRLSign
		}},
		{"serial as a number", `{"serialNumber": 12345}`, func(c *x509.Certificate) bool { return c.SerialNumber.Int64() == 12345 }},
		{"serial beyond int64", `{"serialNumber": 123456789012345678901234567890}`, func(c *x509.Certificate) bool {
			return c.SerialNumber.String() == "123456789012345678901234567890"
		}},
		{"CA without maxPathLen is path length 0", `{"basicConstraints": {"isCA": true}}`, func(c *x509.Certificate) bool {
			return c.IsCA && c.MaxPathLen == 0 && c.MaxPathLenZero
		}},
		{"maxPathLen -1 is unlimited", `{"basicConstraints": {"isCA": true, "maxPathLen": -1}}`, func(c *x509.Certificate) bool {
			return c.IsCA && c.MaxPathLen == -1 && !c.MaxPathLenZero
		}},
		{"not a CA ignores maxPathLen", `{"basicConstraints": {"isCA": false, "maxPathLen": 3}}`, func(c *x509.Certificate) bool {
			return c.BasicConstraintsValid && !c.IsCA && c.MaxPathLen == -1 && !c.MaxPathLenZero // parsed: no pathLen
		}},
		{"empty string is no value", `{"dnsNames": "", "ocspServer": null}`, func(c *x509.Certificate) bool { return c.DNSNames == nil && c.OCSPServer == nil }},
		{"rawSubject wins", `{"subject": "ignored", "rawSubject": "MA8xDTALBgNVBAMTBHJhd3M="}`, func(c *x509.Certificate) bool {
			return c.Subject.CommonName == "raws"
		}},
		{"keys are matched as encoding/json does", `{"KeyUsage": "crlSign"}`, func(c *x509.Certificate) bool { return c.KeyUsage == x509.KeyUsageCRLSign }},
		{"own subjectAltName extension", `{"dnsNames": "x.example.com", "extensions": [{"id": "2.5.29.17", "value": "MA+CDXkuZXhhbXBsZS5jb20="}]}`,
			func(c *x509.Certificate) bool { return slices.Equal(c.DNSNames, []string{"y.example.com"}) }},
	}
	key := ecKey(t)
	for _, tt := range tests {
		if c := issue(t, tt.doc, NewX509Data("", nil), key.Public()); !tt.check(c) {
			t.Errorf("%s: %+v", tt.name, c)
		}
	}
}

// TestExtendedSANs: SAN types crypto/x509 does not know are encoded in a
// subjectAltName extension built by the template, together with the others.
func TestExtendedSANs(t *testing.T) {
	t.Parallel()
	key := ecKey(t)
	text := `{
		"subject": {},
		"dnsNames": "a.example.com",
		"sans": [
			{"type": "ip", "value": "10.0.0.1"},
			{"type": "permanentIdentifier", "value": "device-123"},
			{"type": "hardwareModuleName", "asn1Value": {"type": "1.2.3.4", "serialNumber": "AQID"}},
			{"type": "registeredID", "value": "1.2.3.5"},
			{"type": "dn", "asn1Value": {"commonName": "Dir Name"}},
			{"type": "1.3.6.1.4.1.311.20.2.3", "value": "utf8:jane@example.com"}
		]
	}`
	c := issue(t, text, NewX509Data("", nil), key.Public())
	var san *pkix.Extension
	for i, e := range c.Extensions {
		if e.Id.Equal(oidSubjectAltName) {
			san = &c.Extensions[i]
		}
	}
	if san == nil || !san.Critical {
		t.Fatalf("subjectAltName missing or not critical with an empty subject: %+v", san)
	}
	var names []asn1.RawValue
	if rest, err := asn1.Unmarshal(san.Value, &names); err != nil || len(rest) != 0 {
		t.Fatalf("GeneralNames: %v", err)
	}
	if len(names) != 7 {
		t.Fatalf("%d names, want 7", len(names))
	}
	wantTags := []int{tagDNSName, tagIPAddress, tagOtherName, tagOtherName, tagRegisteredID, tagDirectoryName, tagOtherName}
	for i, n := range names {
		if n.Class != asn1.ClassContextSpecific || n.Tag != wantTags[i] {
			t.Fatalf("name %d: class %d tag %d, want tag %d", i, n.Class, n.Tag, wantTags[i])
		}
	}
	if string(names[0].Bytes) != "a.example.com" || !bytes.Equal(names[1].Bytes, []byte{10, 0, 0, 1}) {
		t.Fatalf("dns/ip: %q %v", names[0].Bytes, names[1].Bytes)
	}
	// otherName: type-id then [0] EXPLICIT value.
	otherName := func(n asn1.RawValue) (asn1.ObjectIdentifier, asn1.RawValue) {
		var oid asn1.ObjectIdentifier
		rest, err := asn1.Unmarshal(n.Bytes, &oid)
		if err != nil {
			t.Fatal(err)
		}
		var v asn1.RawValue
		if _, err := asn1.Unmarshal(rest, &v); err != nil || v.Tag != 0 || v.Class != asn1.ClassContextSpecific || !v.IsCompound {
			t.Fatalf("otherName value: %v %+v", err, v)
		}
		return oid, v
	}
	oid, v := otherName(names[2])
	var pid struct {
		Identifier string `asn1:"utf8,optional"`
	}
	if _, err := asn1.Unmarshal(v.Bytes, &pid); err != nil || !oid.Equal(oidPermanentIdentifier) || pid.Identifier != "device-123" {
		t.Fatalf("permanentIdentifier %v %v %+v", oid, err, pid)
	}
	oid, v = otherName(names[3])
	var hw struct {
		Type   asn1.ObjectIdentifier
		Serial []byte
	}
	if _, err := asn1.Unmarshal(v.Bytes, &hw); err != nil || !oid.Equal(oidHardwareModuleName) || hw.Type.String() != "1.2.3.4" || !bytes.Equal(hw.Serial, []byte{1, 2, 3}) {
		t.Fatalf("hardwareModuleName %v %v %+v", oid, err, hw)
	}
	regDER := append([]byte{0x06, byte(len(names[4].Bytes))}, names[4].Bytes...)
	var reg asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(regDER, &reg); err != nil || reg.String() != "1.2.3.5" {
		t.Fatalf("registeredID %v %v", reg, err)
	}
	var rdn pkix.RDNSequence
	if _, err := asn1.Unmarshal(names[5].Bytes, &rdn); err != nil {
		t.Fatal(err)
	}
	var dn pkix.Name
	dn.FillFromRDNSequence(&rdn)
	if dn.CommonName != "Dir Name" {
		t.Fatalf("directoryName %v", dn)
	}
	oid, v = otherName(names[6])
	var upn string
	if _, err := asn1.Unmarshal(v.Bytes, &upn); err != nil || oid.String() != "1.3.6.1.4.1.311.20.2.3" || upn != "jane@example.com" {
		t.Fatalf("UPN otherName %v %v %q", oid, err, upn)
	}
}

func TestNewSANsAndRequest(t *testing.T) {
	t.Parallel()
	got := NewSANs([]string{"spiffe://x/y", "jane@example.com", "::1", "host", "10.0.0.1"})
	want := []SubjectAlternativeName{{Type: "dns", Value: "host"}, {Type: "ip", Value: "::1"}, {Type: "ip", Value: "10.0.0.1"},
		{Type: "email", Value: "jane@example.com"}, {Type: "uri", Value: "spiffe://x/y"}}
	if len(got) != len(want) {
		t.Fatalf("NewSANs: %v", got)
	}
	for i := range want {
		if got[i].Type != want[i].Type || got[i].Value != want[i].Value {
			t.Fatalf("NewSANs[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	// The request's JSON is a certificate document of the same names.
	key := ecKey(t)
	cr := request(t, key, pkix.Name{}, "only.example.com")
	view := NewCertificateRequest(cr)
	if len(view.Extensions) != 1 || !view.Extensions[0].Critical {
		t.Fatalf("subjectAltName of a request without subject must be critical: %+v", view.Extensions)
	}
	b, err := json.Marshal(view)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ParseCertificate(b)
	if err != nil || !slices.Equal(doc.DNSNames, []string{"only.example.com"}) || len(doc.Extensions) != 1 {
		t.Fatalf("request round trip: %v %s", err, b)
	}
}
