package certificate

import (
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

// writeFiles writes name→content under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

const codeSigningTemplate = `{
	"subject": {
		"commonName": {{ toJson .Subject.CommonName }},
		"organization": {{ toJson .Insecure.User.organization }},
		"country": {{ toJson .Insecure.User.country }}
	},
{{- if .Insecure.User.dnsNames }}
	"dnsNames": {{ toJson .Insecure.User.dnsNames }},
{{- else }}
	"sans": {{ toJson .SANs }},
{{- end }}
	"keyUsage": "digitalSignature",
	"extKeyUsage": ["codeSigning", "timeStamping"]
}`

func TestCreateWithTemplate(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := pki(t)
	p := func(name string) string { return filepath.Join(dir, name) }
	writeFiles(t, dir, map[string]string{
		"code.tpl":  codeSigningTemplate,
		"org.json":  `{"organization": "Acme", "country": "US"}`,
		"fixed.tpl": `{"subject": {{ toJson .Subject }}, "notAfter": "2030-01-01T00:00:00Z", "extKeyUsage": "emailProtection", "keyUsage": "digitalSignature"}`,
		"ca.tpl":    `{"subject": {{ toJson .Subject }}, "keyUsage": ["certSign", "crlSign"], "basicConstraints": {"isCA": true, "maxPathLen": {{ .Insecure.User.pathLen }}}}`,
	})
	inter := readCert(t, p("int.crt"))[0]

	// Leaf signed by the intermediate: extended key usage from the template,
	// SANs and organization from --set and --set-file (--set wins).
	r := run(t, "certificate", "create", "signer.example.com", p("code.crt"), p("code.key"), "--template", p("code.tpl"),
		"--set-file", p("org.json"), "--set", "organization=Acme Signing", "--set", `dnsNames=["a.example.com","b.example.com"]`,
		"--ca", p("int.crt"), "--ca-key", p("int.key"), "--no-password", "--insecure", "--not-after", "2h", "--bundle")
	if r.Code != 0 {
		t.Fatalf("create --template: exit %d: %s", r.Code, r.Stderr)
	}
	certs := readCert(t, p("code.crt"))
	c := certs[0]
	if len(certs) != 2 || !certs[1].Equal(inter) || c.CheckSignatureFrom(inter) != nil {
		t.Fatalf("not a bundle signed by the intermediate: %d certificates", len(certs))
	}
	if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageTimeStamping}) || c.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Fatalf("key usage %v / %v", c.KeyUsage, c.ExtKeyUsage)
	}
	if !slices.Equal(c.DNSNames, []string{"a.example.com", "b.example.com"}) || len(c.IPAddresses) != 0 {
		t.Fatalf("SANs from --set: %v %v", c.DNSNames, c.IPAddresses)
	}
	if c.Subject.CommonName != "signer.example.com" || !slices.Equal(c.Subject.Organization, []string{"Acme Signing"}) || !slices.Equal(c.Subject.Country, []string{"US"}) {
		t.Fatalf("subject %v", c.Subject)
	}
	if d := c.NotAfter.Sub(c.NotBefore); d < 2*time.Hour-time.Second || d > 2*time.Hour+time.Second {
		t.Fatalf("--not-after 2h: validity %v", d)
	}
	if c.SerialNumber.Sign() <= 0 || len(c.SubjectKeyId) != 20 || c.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		t.Fatalf("serial %v ski %x alg %v", c.SerialNumber, c.SubjectKeyId, c.SignatureAlgorithm)
	}

	// Without --set the template falls back to .SANs, which defaults to the subject.
	if r := run(t, "certificate", "create", "plain.example.com", p("plain.crt"), p("plain.key"), "--template", p("code.tpl"),
		"--ca", p("int.crt"), "--ca-key", p("int.key"), "--no-password", "--insecure"); r.Code != 0 {
		t.Fatalf("create --template without data: %s", r.Stderr)
	}
	plain := readCert(t, p("plain.crt"))[0]
	if !slices.Equal(plain.DNSNames, []string{"plain.example.com"}) || len(plain.Subject.Organization) != 0 || plain.NotAfter.Sub(plain.NotBefore) != 24*time.Hour {
		t.Fatalf("default SAN %v, org %v, validity %v", plain.DNSNames, plain.Subject.Organization, plain.NotAfter.Sub(plain.NotBefore))
	}

	// Without --ca the certificate is self-signed; the template's notAfter is used.
	if r := run(t, "certificate", "create", "self", p("self.crt"), p("self.key"), "--template", p("fixed.tpl"), "--no-password", "--insecure"); r.Code != 0 {
		t.Fatalf("self-signed template: %s", r.Stderr)
	}
	self := readCert(t, p("self.crt"))[0]
	if err := self.CheckSignature(self.SignatureAlgorithm, self.RawTBSCertificate, self.Signature); err != nil ||
		self.Issuer.String() != self.Subject.String() || !self.NotAfter.Equal(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		!slices.Equal(self.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}) {
		t.Fatalf("self-signed: %v issuer %v notAfter %v eku %v", err, self.Issuer, self.NotAfter, self.ExtKeyUsage)
	}

	// A CA from a template, then a leaf it signs: the chain verifies.
	if r := run(t, "certificate", "create", "Templated CA", p("tca.crt"), p("tca.key"), "--template", p("ca.tpl"), "--set", "pathLen=0",
		"--ca", p("root.crt"), "--ca-key", p("root.key"), "--ca-password-file", p("pass"), "--no-password", "--insecure"); r.Code != 0 {
		t.Fatalf("CA template: %s", r.Stderr)
	}
	tca := readCert(t, p("tca.crt"))[0]
	if !tca.IsCA || !tca.MaxPathLenZero || tca.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Fatalf("templated CA: ca=%v pathlen0=%v ku=%v", tca.IsCA, tca.MaxPathLenZero, tca.KeyUsage)
	}
	if r := run(t, "certificate", "create", "leaf.example.com", p("tleaf.crt"), p("tleaf.key"), "--ca", p("tca.crt"), "--ca-key", p("tca.key"),
		"--no-password", "--insecure"); r.Code != 0 {
		t.Fatalf("leaf under templated CA: %s", r.Stderr)
	}
	if r := run(t, "certificate", "verify", p("tleaf.crt"), "--roots", p("root.crt")); r.Code == 0 {
		t.Fatalf("verify without the intermediate should fail")
	}
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(readCert(t, p("root.crt"))[0])
	inters.AddCert(tca)
	if _, err := readCert(t, p("tleaf.crt"))[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters}); err != nil {
		t.Fatalf("chain through the templated CA: %v", err)
	}

	// --csr with a template: the request carries the template's subject.
	writeFiles(t, dir, map[string]string{"csr.tpl": `{"subject": {"commonName": {{ toJson .Subject.CommonName }}, "organization": "Req Org"}, "sans": {{ toJson .SANs }}}`})
	if r := run(t, "certificate", "create", "req.example.com", p("t.csr"), p("t.key"), "--csr", "--template", p("csr.tpl"), "--no-password", "--insecure"); r.Code != 0 {
		t.Fatalf("--csr --template: %s", r.Stderr)
	}
	csrPEM, err := os.ReadFile(p("t.csr"))
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pemutil.ParseCSR(csrPEM)
	if err != nil || csr.CheckSignature() != nil || csr.Subject.CommonName != "req.example.com" || !slices.Equal(csr.Subject.Organization, []string{"Req Org"}) ||
		!slices.Equal(csr.DNSNames, []string{"req.example.com"}) {
		t.Fatalf("templated CSR: %v %+v", err, csr)
	}
}

func TestSignWithTemplate(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := pki(t)
	p := func(name string) string { return filepath.Join(dir, name) }
	writeFiles(t, dir, map[string]string{
		"client.tpl": `{
	"subject": {"commonName": {{ toJson .Subject.CommonName }}, "organizationalUnit": {{ toJson .Insecure.User.ou }}},
	"emailAddresses": {{ toJson .Insecure.CR.EmailAddresses }},
	"keyUsage": ["digitalSignature"],
	"extKeyUsage": ["clientAuth"]
}`,
		"inter.tpl": `{"subject": {{ toJson .Subject }}, "keyUsage": ["certSign"], "basicConstraints": {"isCA": true, "maxPathLen": {{ .MaxPathLen }}}}`,
	})
	if r := run(t, "certificate", "create", "coyote@acme.example", p("coyote.csr"), p("coyote.key"), "--csr", "--no-password", "--insecure"); r.Code != 0 {
		t.Fatalf("create --csr: %s", r.Stderr)
	}
	r := run(t, "certificate", "sign", p("coyote.csr"), p("int.crt"), p("int.key"), "--template", p("client.tpl"), "--set", "ou=Rockets", "--not-after", "3h")
	if r.Code != 0 {
		t.Fatalf("sign --template: %s", r.Stderr)
	}
	certs, err := pemutil.ParseCertificates([]byte(r.Stdout))
	if err != nil || len(certs) != 1 {
		t.Fatalf("sign output: %v %d", err, len(certs))
	}
	c := certs[0]
	if c.Subject.CommonName != "coyote@acme.example" || !slices.Equal(c.Subject.OrganizationalUnit, []string{"Rockets"}) ||
		!slices.Equal(c.EmailAddresses, []string{"coyote@acme.example"}) || len(c.DNSNames) != 0 ||
		!slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) || c.CheckSignatureFrom(readCert(t, p("int.crt"))[0]) != nil {
		t.Fatalf("signed: %v %v %v %v", c.Subject, c.EmailAddresses, c.DNSNames, c.ExtKeyUsage)
	}
	if d := c.NotAfter.Sub(c.NotBefore); d != 3*time.Hour {
		t.Fatalf("validity %v", d)
	}

	// .MaxPathLen is --path-len.
	if r := run(t, "certificate", "create", "Sub CA", p("sub.csr"), p("sub.key"), "--csr", "--no-password", "--insecure"); r.Code != 0 {
		t.Fatalf("create --csr: %s", r.Stderr)
	}
	r = run(t, "certificate", "sign", p("sub.csr"), p("root.crt"), p("root.key"), "--password-file", p("pass"), "--template", p("inter.tpl"), "--path-len", "3")
	if r.Code != 0 {
		t.Fatalf("sign intermediate template: %s", r.Stderr)
	}
	certs, err = pemutil.ParseCertificates([]byte(r.Stdout))
	if err != nil || !certs[0].IsCA || certs[0].MaxPathLen != 3 || certs[0].Subject.CommonName != "Sub CA" {
		t.Fatalf("intermediate: %v %+v", err, certs)
	}
}

func TestTemplateErrors(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	dir := pki(t)
	p := func(name string) string { return filepath.Join(dir, name) }
	writeFiles(t, dir, map[string]string{
		"fail.tpl":   `{{ if not (hasKey .Insecure.User "team") }}{{ fail "the team variable is required" }}{{ end }}{"subject": {{ toJson .Subject }}}`,
		"syntax.tpl": "{\n  \"subject\": {{ toJson .Subject }\n}",
		"json.tpl":   "{\n  \"subject\": {{ toJson .Subject }},\n  \"keyUsage\": [\"digitalSignature\",]\n}",
		"ku.tpl":     `{"subject": {{ toJson .Subject }}, "extKeyUsage": ["serverAuth", "teleport"]}`,
		"good.tpl":   `{"subject": {{ toJson .Subject }}}`,
		"list.json":  `["not", "an", "object"]`,
	})
	ca := []string{"--ca", p("int.crt"), "--ca-key", p("int.key")}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"fail", []string{"--template", p("fail.tpl")}, "error executing template: the team variable is required"},
		{"missing template", []string{"--template", p("nope.tpl")}, "error reading template: open " + p("nope.tpl") + ": no such file or directory"},
		{"syntax", []string{"--template", p("syntax.tpl")}, "error parsing template " + p("syntax.tpl") + ": line 2:"},
		{"bad JSON", []string{"--template", p("json.tpl")}, "error parsing rendered template " + p("json.tpl") + ": invalid character ']' looking for beginning of value at line 3, column 35"},
		{"bad ext key usage", []string{"--template", p("ku.tpl")}, `extKeyUsage: unsupported extended key usage "teleport"`},
		{"profile and template", []string{"--template", p("good.tpl"), "--profile", "leaf"}, "flag '--profile' is incompatible with '--template'"},
		{"ca without ca-key", []string{"--template", p("good.tpl"), "--ca", p("int.crt")}, "flag '--ca' requires the '--ca-key' flag"},
		{"bundle without ca", []string{"--template", p("good.tpl"), "--bundle"}, "flag '--bundle' requires the '--ca' flag"},
		{"bad --set", []string{"--template", p("good.tpl"), "--set", "novalue"}, "invalid value 'novalue' for flag '--set'"},
		{"missing --set-file", []string{"--template", p("good.tpl"), "--set-file", p("nope.json")}, p("nope.json")},
		{"--set-file not an object", []string{"--template", p("good.tpl"), "--set-file", p("list.json")}, "error parsing " + p("list.json") + ": the template data must be a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			crt, key := p("new.crt"), p("new.key")
			args := append([]string{"certificate", "create", "new.example.com", crt, key, "--no-password", "--insecure"}, tt.args...)
			if !strings.Contains(tt.name, "ca") {
				args = append(args, ca...)
			}
			r := run(t, args...)
			if r.Code != 1 || !strings.Contains(r.Stderr, tt.want) || strings.Count(r.Stderr, "\n") != 1 {
				t.Fatalf("exit %d stderr %q, want 1 and one line with %q", r.Code, r.Stderr, tt.want)
			}
			for _, f := range []string{crt, key} {
				if _, err := os.Stat(f); err == nil {
					t.Fatalf("%s was written", f)
				}
			}
		})
	}
	// sign reports the same errors.
	if r := run(t, "certificate", "create", "x.example.com", p("x.csr"), p("x.key"), "--csr", "--no-password", "--insecure"); r.Code != 0 {
		t.Fatal(r.Stderr)
	}
	r := run(t, "certificate", "sign", p("x.csr"), p("int.crt"), p("int.key"), "--template", p("fail.tpl"))
	if r.Code != 1 || r.Stderr != "error executing template: the team variable is required\n" || r.Stdout != "" {
		t.Fatalf("sign with fail: exit %d %q %q", r.Code, r.Stderr, r.Stdout)
	}
	r = run(t, "certificate", "sign", p("x.csr"), p("int.crt"), p("int.key"), "--template", p("fail.tpl"), "--set", "team=a")
	if r.Code != 0 {
		t.Fatalf("sign with --set team: %s", r.Stderr)
	}
}

func TestUserData(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "data.json")
	writeFiles(t, dir, map[string]string{"data.json": `{"a": "file", "b": 1, "keep": true}`})
	got, err := userData(file, []string{"a=flag", "b= 2 ", "list=[1,\"x\"]", "obj={\"k\":\"v\"}", "s=not json", "eq=x=y", "empty="})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":"flag","b":2,"empty":"","eq":"x=y","keep":true,"list":[1,"x"],"obj":{"k":"v"},"s":"not json"}`
	if string(b) != want {
		t.Fatalf("userData = %s, want %s", b, want)
	}
	if m, err := userData("", nil); err != nil || m == nil || len(m) != 0 {
		t.Fatalf("no data: %v %v", m, err)
	}
}
