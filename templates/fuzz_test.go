package templates

import "testing"

// FuzzParseCertificate: a rendered document (which may carry requesters'
// data) never panics the parser or GetCertificate.
func FuzzParseCertificate(f *testing.F) {
	for _, seed := range []string{
		`{"subject": "x", "sans": [{"type": "dns", "value": "a"}], "keyUsage": "digitalSignature"}`,
		`{"subject": {"country": ["US"], "extraNames": [{"type": "1.2.3", "value": "v"}]}, "serialNumber": "0x10"}`,
		`{"sans": [{"type": "permanentIdentifier", "asn1Value": {"identifier": "i", "assigner": "1.2.3"}}, {"type": "1.2.3.4", "value": "int:5"}]}`,
		`{"basicConstraints": {"isCA": true, "maxPathLen": -1}, "nameConstraints": {"permittedIPRanges": "10.0.0.0/8"}}`,
		`{"extensions": [{"id": "1.2.3", "value": "AQ=="}], "policyIdentifiers": ["2.23.140.1.2.1"], "signatureAlgorithm": "Ed25519"}`,
		`{"sans": [{"type": "dn", "asn1Value": {"commonName": "x"}}, {"type": "registeredID", "value": "1.2"}]}`,
		`[`, `{"notAfter": 1}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		c, err := ParseCertificate(doc)
		if err != nil {
			return
		}
		if _, err := c.GetCertificate(); err != nil {
			return
		}
	})
}
