package templates

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// request returns a signed request for cn and sans with key.
func request(t *testing.T, key crypto.Signer, subject pkix.Name, dns ...string) *x509.CertificateRequest {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject, DNSNames: dns}, key)
	if err != nil {
		t.Fatal(err)
	}
	cr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return cr
}

// issue renders text with data and signs the result with a throwaway CA, so
// tests look at what crypto/x509 really encodes.
func issue(t *testing.T, text string, data X509Data, pub crypto.PublicKey) *x509.Certificate {
	t.Helper()
	tpl, err := ParseX509("test.tpl", text)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := tpl.Certificate(data)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := doc.GetCertificate()
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.SerialNumber == nil {
		tmpl.SerialNumber = big.NewInt(1)
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now()
		tmpl.NotAfter = tmpl.NotBefore.Add(time.Hour)
	}
	caKey := ecKey(t)
	ca := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Test CA"}, SubjectKeyId: []byte{1, 2, 3},
		BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageCertSign,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		t.Fatalf("CreateCertificate: %v", err)
	}
	crt, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return crt
}

func TestDefaultTemplates(t *testing.T) {
	t.Parallel()
	ec := ecKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	leafData := func(key crypto.Signer) X509Data {
		d := NewX509Data("leaf.example.com", []string{"leaf.example.com", "10.0.0.1", "jane@example.com", "spiffe://example.com/x"})
		d.SetCertificateRequest(request(t, key, pkix.Name{CommonName: "csr.example.com", Organization: []string{"CSR Org"}}, "csr.example.com"))
		return d
	}

	t.Run("leaf EC", func(t *testing.T) {
		c := issue(t, DefaultLeafTemplate, leafData(ec), ec.Public())
		if c.Subject.CommonName != "leaf.example.com" || c.KeyUsage != x509.KeyUsageDigitalSignature ||
			len(c.ExtKeyUsage) != 2 || c.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || c.ExtKeyUsage[1] != x509.ExtKeyUsageClientAuth ||
			c.IsCA || c.BasicConstraintsValid {
			t.Fatalf("leaf: cn=%q ku=%v eku=%v ca=%v", c.Subject.CommonName, c.KeyUsage, c.ExtKeyUsage, c.IsCA)
		}
		if len(c.DNSNames) != 1 || c.DNSNames[0] != "leaf.example.com" || len(c.IPAddresses) != 1 || c.IPAddresses[0].String() != "10.0.0.1" ||
			len(c.EmailAddresses) != 1 || c.EmailAddresses[0] != "jane@example.com" || len(c.URIs) != 1 || c.URIs[0].String() != "spiffe://example.com/x" {
			t.Fatalf("leaf SANs: %v %v %v %v", c.DNSNames, c.IPAddresses, c.EmailAddresses, c.URIs)
		}
	})
	t.Run("leaf RSA", func(t *testing.T) {
		c := issue(t, DefaultLeafTemplate, leafData(rsaKey), rsaKey.Public())
		if c.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment {
			t.Fatalf("RSA leaf key usage %v", c.KeyUsage)
		}
	})
	t.Run("intermediate", func(t *testing.T) {
		c := issue(t, DefaultIntermediateTemplate, leafData(ec), ec.Public())
		if !c.IsCA || c.MaxPathLen != 0 || !c.MaxPathLenZero || c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign ||
			c.Subject.CommonName != "leaf.example.com" || len(c.DNSNames) != 0 {
			t.Fatalf("intermediate: ca=%v pathlen=%d/%v ku=%v", c.IsCA, c.MaxPathLen, c.MaxPathLenZero, c.KeyUsage)
		}
	})
	t.Run("root", func(t *testing.T) {
		c := issue(t, DefaultRootTemplate, leafData(ec), ec.Public())
		if !c.IsCA || c.MaxPathLen != 1 || c.MaxPathLenZero || c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
			t.Fatalf("root: ca=%v pathlen=%d ku=%v", c.IsCA, c.MaxPathLen, c.KeyUsage)
		}
	})
	t.Run("admin takes the request", func(t *testing.T) {
		c := issue(t, DefaultAdminLeafTemplate, leafData(ec), ec.Public())
		if c.Subject.CommonName != "csr.example.com" || len(c.Subject.Organization) != 1 || len(c.DNSNames) != 1 || c.DNSNames[0] != "csr.example.com" {
			t.Fatalf("admin: %v %v", c.Subject, c.DNSNames)
		}
	})
	t.Run("IID with and without verified SANs", func(t *testing.T) {
		c := issue(t, DefaultIIDLeafTemplate, leafData(ec), ec.Public())
		if c.Subject.CommonName != "csr.example.com" || len(c.Subject.Organization) != 0 || len(c.DNSNames) != 1 || c.DNSNames[0] != "leaf.example.com" {
			t.Fatalf("IID with SANs: %v %v", c.Subject, c.DNSNames)
		}
		d := leafData(ec)
		d.SetSANs(nil)
		c = issue(t, DefaultIIDLeafTemplate, d, ec.Public())
		if len(c.DNSNames) != 1 || c.DNSNames[0] != "csr.example.com" || len(c.IPAddresses) != 0 {
			t.Fatalf("IID without SANs: %v %v", c.DNSNames, c.IPAddresses)
		}
	})
	t.Run("request as is", func(t *testing.T) {
		c := issue(t, CertificateRequestTemplate, leafData(ec), ec.Public())
		if c.Subject.CommonName != "csr.example.com" || len(c.DNSNames) != 1 || c.DNSNames[0] != "csr.example.com" || c.KeyUsage != 0 || len(c.ExtKeyUsage) != 0 {
			t.Fatalf("CR template: %v %v ku=%v", c.Subject, c.DNSNames, c.KeyUsage)
		}
	})
	t.Run("default request", func(t *testing.T) {
		tpl, err := ParseX509("", DefaultCertificateRequestTemplate)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := tpl.Certificate(NewX509Data("a", []string{"a", "b"}))
		if err != nil || doc.Subject.CommonName != "a" || len(doc.SANs) != 2 {
			t.Fatalf("default CSR document: %v %+v", err, doc)
		}
	})
}

func TestFunctions(t *testing.T) {
	t.Parallel()
	data := NewX509Data("Foo.Example.com", []string{"foo.example.com"})
	data.SetUserData(map[string]any{"list": []any{"a", "b"}, "n": json.Number("3"), "name": "  Jane  "})
	data.SetToken(map[string]any{"nbf": float64(1700000000)})
	tests := []struct {
		text, want string
	}{
		{`{{ toJson .Subject }}`, `{"commonName":"Foo.Example.com"}`},
		{`{{ toJson .SANs }}`, `[{"type":"dns","value":"foo.example.com"}]`},
		{`{{ .Subject.CommonName | lower }}`, `foo.example.com`},
		{`{{ .Subject.CommonName | upper }}`, `FOO.EXAMPLE.COM`},
		{`{{ .Insecure.User.name | trim | quote }}`, `"Jane"`},
		{`{{ .Insecure.User.missing | default "dflt" }}`, `dflt`},
		{`{{ hasKey .Insecure.User "name" }} {{ hasKey .Insecure.User "x" }}`, `true false`},
		{`{{ join "," .Insecure.User.list }}`, `a,b`},
		{`{{ (split "." "a.b.c")._1 }}`, `b`},
		{`{{ list 1 2 | toJson }}`, `[1,2]`},
		{`{{ dict "k" "v" | toJson }}`, `{"k":"v"}`},
		{`{{ required "need n" .Insecure.User.n }}`, `3`},
		{`{{ typeIs "templates.Name" .Subject }}`, `true`},
		{`{{ .Token.nbf | formatTime }}`, `2023-11-14T22:13:20Z`},
		{`{{ toTimeLayout "RFC3339" }}`, time.RFC3339},
		{`{{ (parseTime "2024-07-02T23:16:02Z").Unix }}`, `1719962162`},
		{`{{ (mustParseTime "time.DateOnly" "2024-07-02").Unix }}`, `1719878400`},
		{`{{ asn1Enc "int:42" }}`, `AgEq`},
		{`{{ asn1Enc "utf8:é" }}`, `DALDqQ==`},
		{`{{ asn1Enc "Jane" }}`, `EwRKYW5l`},
		{`{{ asn1Seq (asn1Enc "int:1") (asn1Enc "bool:true") }}`, `MAYCAQEBAf8=`},
		{`{{ asn1Set (asn1Enc "oid:1.2.3") }}`, `MQQGAioD`},
		{`{{ asn1Marshal 5 "explicit" "tag:1" }}`, `oQMCAQU=`},
	}
	for _, tt := range tests {
		tpl, err := ParseX509("f", tt.text)
		if err != nil {
			t.Fatalf("%s: %v", tt.text, err)
		}
		out, err := tpl.Render(data)
		if err != nil || string(out) != tt.want {
			t.Errorf("%s = %q, %v; want %q", tt.text, out, err, tt.want)
		}
	}
	// The environment stays out of templates.
	for _, text := range []string{`{{ env "HOME" }}`, `{{ expandenv "$HOME" }}`} {
		if _, err := ParseX509("env.tpl", text); err == nil || !strings.Contains(err.Error(), "not defined") {
			t.Errorf("%s parsed: %v", text, err)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	data := NewX509Data("x", nil)
	data.SetUserData(nil)
	tests := []struct {
		name, text string
		want       string
	}{
		{"syntax", "{\n{{ if }}", "error parsing template bad.tpl: line 2: missing value for if"},
		{"unknown function", "{{ nope }}", `error parsing template bad.tpl: line 1: function "nope" not defined`},
		{"fail", `{{ fail "no way" }}`, "error executing template: no way"},
		{"required", `{{ required "need it" .Insecure.User.x }}`, "error executing template: need it"},
		{"execution", `{{ index .SANs 3 }}`, "error executing template bad.tpl: line 1, column 3: executing"},
		{"bad JSON", "{\n  \"subject\": \"x\",\n}", "error parsing rendered template bad.tpl: invalid character '}' looking for beginning of object key string at line 3, column 1 (offset 20)"},
		{"truncated JSON", `{"subject": "x"`, "error parsing rendered template bad.tpl: unexpected end of JSON at line 1, column 16 (offset 15)"},
		{"empty", `{{/* nothing */}}`, "the template rendered an empty document"},
		{"not an object", `["x"]`, "the template must render a JSON object"},
		{"key usage", `{"keyUsage": ["digitalSignature", "signEverything"]}`, `keyUsage: unsupported key usage "signEverything"`},
		{"ext key usage", `{"extKeyUsage": "flying"}`, `extKeyUsage: unsupported extended key usage "flying"`},
		{"subject field", `{"subject": {"organization": [1]}}`, "subject.organization: element 0 is a number, want a string"},
		{"basic constraints", `{"basicConstraints": {"isCA": "yes"}}`, "basicConstraints.isCA: got a JSON string, want a boolean"},
		{"ip", `{"ipAddresses": ["10.0.0.300"]}`, `ipAddresses: invalid IP address "10.0.0.300"`},
		{"oid", `{"policyIdentifiers": "1.x"}`, `policyIdentifiers: invalid object identifier "1.x"`},
		{"extension id", `{"extensions": [{"value": "AQ=="}]}`, "extensions[0]: missing id"},
		{"extension value", `{"extensions": [{"id": "1.2.3", "value": "%%%"}]}`, "extensions: illegal base64"},
		{"san", `{"sans": [{"type": "ip", "value": "host"}]}`, `sans[0]: invalid IP address "host"`},
		{"san type", `{"sans": [{"type": "x400Address", "value": "x"}]}`, `sans[0]: unsupported SAN type "x400Address"`},
		{"serial", `{"serialNumber": "12z"}`, `serialNumber: invalid serial number "12z"`},
		{"signature algorithm", `{"signatureAlgorithm": "ROT13"}`, `signatureAlgorithm: unsupported signature algorithm "ROT13"`},
		{"notAfter", `{"notAfter": "tomorrow"}`, `notAfter: parsing time`},
	}
	for _, tt := range tests {
		tpl, err := ParseX509("bad.tpl", tt.text)
		if err == nil {
			_, err = tpl.Certificate(data)
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want %q on one line", tt.name, err, tt.want)
		}
	}
	// fail gives the template's own words to the caller.
	tpl, err := ParseX509("f", `{{ if not .Insecure.User.ok }}{{ fail "set ok" }}{{ end }}{}`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tpl.Render(data)
	var fail *FailError
	if !errors.As(err, &fail) || fail.Message != "set ok" {
		t.Fatalf("fail: %v", err)
	}
	var field *FieldError
	_, err = ParseCertificate([]byte(`{"subject": {"country": 1}}`))
	if !errors.As(err, &field) || field.Path != "subject.country" {
		t.Fatalf("FieldError: %v", err)
	}
}

// TestConcurrentRender: one parsed template serves many goroutines, some of
// which fail; no render sees another's data or failure.
func TestConcurrentRender(t *testing.T) {
	t.Parallel()
	tpl, err := ParseX509("c", `{{ if eq .Insecure.User.i 0 }}{{ fail (printf "stop %d" .Insecure.User.n) }}{{ end }}{"subject": {{ toJson .Subject }}}`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for n := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := NewX509Data(fmt.Sprintf("cn-%d", n), nil)
			d.SetUserData(map[string]any{"i": n % 2, "n": n})
			doc, err := tpl.Certificate(d)
			var fail *FailError
			switch {
			case n%2 == 0 && (!errors.As(err, &fail) || fail.Message != fmt.Sprintf("stop %d", n)):
				errs <- fmt.Errorf("%d: want fail, got %v", n, err)
			case n%2 == 1 && (err != nil || doc.Subject.CommonName != fmt.Sprintf("cn-%d", n)):
				errs <- fmt.Errorf("%d: got %v %+v", n, err, doc)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
