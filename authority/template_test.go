package authority_test

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/templates"
)

// templateEnv is an authority whose admin provisioner has options.x509 =
// x509 (plus extra provisioner members).
func templateEnv(t *testing.T, x509 map[string]any, extra map[string]any) *at.Env {
	t.Helper()
	admin := map[string]any{"options": map[string]any{"x509": x509}}
	for k, v := range extra {
		admin[k] = v
	}
	return at.New(t, at.Options{AdminExtra: admin})
}

// signWith signs a CSR for sub (CN and DNS SAN) with a fresh admin token.
func signWith(t *testing.T, env *at.Env, sub string, user json.RawMessage) (*x509.Certificate, error) {
	t.Helper()
	csr := at.NewCSR(t, at.CSR{CommonName: sub, DNSNames: []string{sub}})
	iss, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: env.SignToken(t, sub), TemplateData: user})
	if err != nil {
		return nil, err
	}
	return parse(t, iss.DER), nil
}

// verify checks c chains to the test root for any extended key usage.
func verify(t *testing.T, env *at.Env, c *x509.Certificate) {
	t.Helper()
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(env.PKI.Root)
	inters.AddCert(env.PKI.Intermediate)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: env.Clock.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

func extensionIDs(c *x509.Certificate) []string {
	var ids []string
	for _, e := range c.Extensions {
		ids = append(ids, e.Id.String())
	}
	return ids
}

// A template file adding codeSigning and the organization of templateData;
// the CA still sets validity, SKI, AKI, serial and the provisioner extension.
func TestSignTemplateFileWithData(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "codesign.tpl")
	text := `{
	"subject": {"commonName": {{ toJson .Subject.CommonName }}, "organization": {{ toJson .Organization }}},
	"sans": {{ toJson .SANs }},
	"keyUsage": ["digitalSignature"],
	"extKeyUsage": ["codeSigning"],
	"notBefore": "2001-01-01T00:00:00Z",
	"notAfter": "2099-01-01T00:00:00Z"
}`
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	env := templateEnv(t, map[string]any{"templateFile": file, "templateData": map[string]any{"Organization": "Acme"}}, nil)
	now := env.Clock.Now()
	c, err := signWith(t, env, "signer.example.com", nil)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	verify(t, env, c)
	if c.Subject.CommonName != "signer.example.com" || !slices.Equal(c.Subject.Organization, []string{"Acme"}) {
		t.Fatalf("subject = %s", c.Subject)
	}
	if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}) || c.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Fatalf("key usage = %v / %v", c.KeyUsage, c.ExtKeyUsage)
	}
	if !slices.Equal(c.DNSNames, []string{"signer.example.com"}) {
		t.Fatalf("dns names = %v", c.DNSNames)
	}
	// The CA's validity wins over the template's (step-ca's modifiers run
	// after the template).
	if !c.NotBefore.Equal(now.Add(-time.Minute)) || !c.NotAfter.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("validity = %s .. %s, want the CA's", c.NotBefore, c.NotAfter)
	}
	if len(c.SubjectKeyId) != 20 || !bytes.Equal(c.AuthorityKeyId, env.PKI.Intermediate.SubjectKeyId) {
		t.Fatalf("SKI %x AKI %x", c.SubjectKeyId, c.AuthorityKeyId)
	}
	ext, ok := provisioner.FindExtension(c)
	if !ok || ext.Name != "admin" || ext.Type != provisioner.TypeJWK || ext.CredentialID != env.Admin.Key.KeyID {
		t.Fatalf("provisioner extension = %+v, %v", ext, ok)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() < 64 {
		t.Fatalf("serial = %v", c.SerialNumber)
	}
	// Stored like any other certificate.
	rec, err := env.Store.GetCertificate(ctx, c.SerialNumber.String())
	if err != nil || !bytes.Equal(rec.DER, c.Raw) {
		t.Fatalf("stored record: %v", err)
	}
}

// The request's templateData is .Insecure.User; request data that is not an
// object is no data (as step-ca).
func TestSignTemplateUserData(t *testing.T) {
	t.Parallel()
	env := templateEnv(t, map[string]any{
		"template": `{"subject": {"commonName": {{ toJson .Subject.CommonName }}, "organization": {{ toJson .Insecure.User.org }}},
			"sans": {{ toJson .SANs }}, "extKeyUsage": ["serverAuth"]}`,
	}, nil)
	tests := []struct {
		name string
		user string
		want []string
	}{
		{"set", `{"org": "Acme"}`, []string{"Acme"}},
		{"absent", ``, nil},
		{"not an object", `["Acme"]`, nil},
	}
	for _, tt := range tests {
		c, err := signWith(t, env, "u.example.com", json.RawMessage(tt.user))
		if err != nil {
			t.Fatalf("%s: Sign: %v", tt.name, err)
		}
		if !slices.Equal(c.Subject.Organization, tt.want) {
			t.Fatalf("%s: organization = %v, want %v", tt.name, c.Subject.Organization, tt.want)
		}
	}
}

// .Token is the token's payload and .Insecure.CR the request.
func TestSignTemplateTokenAndRequest(t *testing.T) {
	t.Parallel()
	env := templateEnv(t, map[string]any{
		"template": `{"subject": {"commonName": {{ toJson .Token.sub }}, "organizationalUnit": [{{ toJson .Token.iss }}]},
			"emailAddresses": ["{{ .Insecure.CR.Subject.CommonName }}@example.com"]}`,
	}, nil)
	c, err := signWith(t, env, "svc", nil)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if c.Subject.CommonName != "svc" || !slices.Equal(c.Subject.OrganizationalUnit, []string{"admin"}) {
		t.Fatalf("subject = %s", c.Subject)
	}
	if !slices.Equal(c.EmailAddresses, []string{"svc@example.com"}) || len(c.DNSNames) != 0 {
		t.Fatalf("SANs = %v %v", c.EmailAddresses, c.DNSNames)
	}
}

// Errors are step-ca's: fail is a 400 with the template's words (after the
// token was spent), a document that is not a certificate a 500 "error
// applying certificate template", other rendering errors the plain 500.
func TestSignTemplateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		template string
		kind     errs.Kind
		msg      string
	}{
		{"fail", `{{ if not .Insecure.User.team }}{{ fail "the team variable is required" }}{{ end }}{"subject": {{ toJson .Subject }}}`,
			errs.BadRequest, "The request could not be completed: the team variable is required."},
		{"required", `{"subject": {"commonName": {{ required "a commonName is required" .Insecure.User.cn | toJson }}}}`,
			errs.BadRequest, "The request could not be completed: a commonName is required."},
		{"invalid JSON", `{"subject": {{ toJson .Subject }},}`,
			errs.Internal, "error applying certificate template"},
		{"wrong JSON type", `{"sans": "a.example.com"}`,
			errs.Internal, "error applying certificate template"},
		{"bad SAN", `{"sans": [{"type": "ip", "value": "not an ip"}]}`,
			errs.Internal, "error applying certificate template"},
		{"execution error", `{"subject": {{ toJson (index .SANs 7) }}}`,
			errs.Internal, "The certificate authority encountered an Internal Server Error. Please see the certificate authority logs for more info."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := templateEnv(t, map[string]any{"template": tt.template}, nil)
			sub := "e.example.com"
			csr := at.NewCSR(t, at.CSR{CommonName: sub, DNSNames: []string{sub}})
			ott := env.SignToken(t, sub)
			_, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: ott})
			wantErr(t, err, tt.kind, tt.msg)
			// The token was used before the template ran (wire-spec §3.4).
			_, err = env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: ott})
			wantErr(t, err, errs.Unauthorized, "")
		})
	}
}

// A template copying the request (or writing its own) cannot name another
// provisioner: the CA's extension replaces it; with
// disableSmallstepExtensions the CA adds none.
func TestSignTemplateProvisionerExtension(t *testing.T) {
	t.Parallel()
	forged, err := provisioner.NewExtension(provisioner.Info{Name: "forged", Type: provisioner.TypeJWK, CredentialID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(map[string]any{
		"subject": map[string]any{"commonName": "f.example.com"},
		"extensions": []map[string]any{
			{"id": forged.Id.String(), "value": forged.Value},
			{"id": "1.2.3.4", "value": []byte{0x05, 0x00}},
			{"id": forged.Id.String(), "value": forged.Value},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	env := templateEnv(t, map[string]any{"template": string(doc)}, nil)
	c, err := signWith(t, env, "f.example.com", nil)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if ext, ok := provisioner.FindExtension(c); !ok || ext.Name != "admin" {
		t.Fatalf("provisioner extension = %+v", ext)
	}
	ids := extensionIDs(c)
	if n := strings.Count(strings.Join(ids, " "), provisioner.ExtensionOID.String()); n != 1 || !slices.Contains(ids, "1.2.3.4") {
		t.Fatalf("extensions = %v", ids)
	}

	off := templateEnv(t, map[string]any{"template": `{"subject": {{ toJson .Subject }}, "sans": {{ toJson .SANs }}}`},
		map[string]any{"claims": map[string]any{"disableSmallstepExtensions": true}})
	c, err = signWith(t, off, "g.example.com", nil)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if _, ok := provisioner.FindExtension(c); ok {
		t.Fatal("provisioner extension present with disableSmallstepExtensions")
	}
}

// The issuer signs whatever a template describes: a CA with constraints and
// policies, names the direct encoder does not know, any extended key usage.
func TestSignTemplateArbitraryShape(t *testing.T) {
	t.Parallel()
	env := templateEnv(t, map[string]any{"template": `{
	"subject": {"commonName": {{ toJson .Subject.CommonName }}, "country": "NZ"},
	"sans": [{"type": "dns", "value": {{ toJson .Subject.CommonName }}},
	         {"type": "permanentIdentifier", "value": "id-1234"}],
	"keyUsage": ["certSign", "crlSign"],
	"extKeyUsage": ["ipsecEndSystem", "timeStamping"],
	"unknownExtKeyUsage": ["1.3.6.1.4.1.311.10.3.12"],
	"basicConstraints": {"isCA": true, "maxPathLen": 0},
	"nameConstraints": {"critical": true, "permittedDNSDomains": ["example.com"]},
	"policyIdentifiers": ["2.23.140.1.2.1"],
	"ocspServer": ["http://ocsp.example.com"],
	"crlDistributionPoints": ["http://crl.example.com/ca.crl"]
}`}, nil)
	c, err := signWith(t, env, "sub.example.com", nil)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	verify(t, env, c)
	if !c.IsCA || !c.MaxPathLenZero || !c.PermittedDNSDomainsCritical || !slices.Equal(c.PermittedDNSDomains, []string{"example.com"}) {
		t.Fatalf("constraints: isCA %v maxPathLenZero %v permitted %v", c.IsCA, c.MaxPathLenZero, c.PermittedDNSDomains)
	}
	if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageIPSECEndSystem, x509.ExtKeyUsageTimeStamping}) ||
		len(c.UnknownExtKeyUsage) != 1 || len(c.PolicyIdentifiers) != 1 || !c.PolicyIdentifiers[0].Equal(asn1.ObjectIdentifier{2, 23, 140, 1, 2, 1}) {
		t.Fatalf("EKU %v unknown %v policies %v", c.ExtKeyUsage, c.UnknownExtKeyUsage, c.PolicyIdentifiers)
	}
	if !slices.Equal(c.OCSPServer, []string{"http://ocsp.example.com"}) || !slices.Equal(c.CRLDistributionPoints, []string{"http://crl.example.com/ca.crl"}) {
		t.Fatalf("AIA %v CRL DP %v", c.OCSPServer, c.CRLDistributionPoints)
	}
	// The permanentIdentifier makes the template encode subjectAltName
	// itself; crypto/x509 still reads the DNS name from it.
	if !slices.Equal(c.DNSNames, []string{"sub.example.com"}) || !slices.Equal(c.Subject.Country, []string{"NZ"}) {
		t.Fatalf("names: %v %s", c.DNSNames, c.Subject)
	}
}

// step's default leaf template, configured explicitly, gives the same
// certificate as the CA's built-in default path.
func TestSignTemplateDefaultLeafMatchesDefaultPath(t *testing.T) {
	t.Parallel()
	def := at.New(t, at.Options{})
	tpl := templateEnv(t, map[string]any{"template": templates.DefaultLeafTemplate}, nil)
	// Both clocks start at at.Epoch.
	sans := []string{"d.example.com", "10.1.2.3", "ops@example.com", "spiffe://example.com/d"}
	var got []*x509.Certificate
	for _, env := range []*at.Env{def, tpl} {
		csr := at.NewCSR(t, at.CSR{CommonName: "d.example.com", DNSNames: []string{"d.example.com"}})
		iss, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: env.SignToken(t, "d.example.com", sans...)})
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		got = append(got, parse(t, iss.DER))
	}
	a, b := got[0], got[1]
	if a.Subject.String() != b.Subject.String() || a.KeyUsage != b.KeyUsage || !slices.Equal(a.ExtKeyUsage, b.ExtKeyUsage) ||
		!slices.Equal(a.DNSNames, b.DNSNames) || !slices.Equal(a.EmailAddresses, b.EmailAddresses) ||
		!slices.Equal(ipStrs(a), ipStrs(b)) || !slices.Equal(uriStrs(a), uriStrs(b)) ||
		!a.NotBefore.Equal(b.NotBefore) || !a.NotAfter.Equal(b.NotAfter) {
		t.Fatalf("default path and default template differ:\n%s %v %v %v %v %v\n%s %v %v %v %v %v",
			a.Subject, a.KeyUsage, a.ExtKeyUsage, a.DNSNames, a.EmailAddresses, ipStrs(a),
			b.Subject, b.KeyUsage, b.ExtKeyUsage, b.DNSNames, b.EmailAddresses, ipStrs(b))
	}
	if !slices.Equal(extensionIDs(a), extensionIDs(b)) {
		t.Fatalf("extensions differ: %v vs %v", extensionIDs(a), extensionIDs(b))
	}
}

func ipStrs(c *x509.Certificate) []string {
	var out []string
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

func uriStrs(c *x509.Certificate) []string {
	var out []string
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	return out
}

// BenchmarkSignTemplate is authority.Sign with a provisioner template (step's
// default leaf): rendering, decoding and x509.CreateCertificate on top of
// the default path (BenchmarkSign in tools/bench).
func BenchmarkSignTemplate(b *testing.B) {
	env := at.New(b, at.Options{AdminExtra: map[string]any{"options": map[string]any{"x509": map[string]any{"template": templates.DefaultLeafTemplate}}}})
	csr := at.NewCSR(b, at.CSR{CommonName: "bench.example.com", DNSNames: []string{"bench.example.com"}})
	tokens := make([]string, b.N)
	for i := range tokens {
		tokens[i] = env.SignToken(b, "bench.example.com")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: tokens[i]}); err != nil {
			b.Fatal(err)
		}
	}
}
