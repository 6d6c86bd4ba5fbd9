package e2e

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// orgTemplate is a leaf whose organization comes from the request's
// templateData (step ca certificate --set org=...), with code signing added.
const orgTemplate = `{{ if not .Insecure.User.org }}{{ fail "org is required: use --set org=<name>" }}{{ end }}{
	"subject": {"commonName": {{ toJson .Subject.CommonName }}, "organization": {{ toJson .Insecure.User.org }}},
	"sans": {{ toJson .SANs }},
	"keyUsage": ["digitalSignature"],
	"extKeyUsage": ["serverAuth", "clientAuth", "codeSigning"]
}`

// stepProvisionerOID is step's provisioner extension (wire-spec §5.1).
var stepProvisionerOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 37476, 9000, 64, 1}

// TestTemplates: an X.509 template configured with `step ca provisioner
// update --x509-template`, data sent with `step ca certificate --set` and
// `step ca sign --set-file`, fail reaching the user, and a template parsed
// when the configuration loads (an edit needs a SIGHUP; a broken edit is
// refused and the running template kept).
func TestTemplates(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	tplDir := filepath.Join(p.caPath, "templates", "x509")
	if err := os.MkdirAll(tplDir, 0o700); err != nil {
		t.Fatal(err)
	}
	tplFile := filepath.Join(tplDir, "org.tpl")
	if err := os.WriteFile(tplFile, []byte(orgTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	p.op.ok(t, "ca", "provisioner", "update", "admin", "--x509-template", tplFile)
	if !bytes.Contains(readFile(t, p.configPath()), []byte(`"templateFile": "`+tplFile+`"`)) {
		t.Fatalf("ca.json does not name the template:\n%s", readFile(t, p.configPath()))
	}
	ca := p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")

	crt, key := u.path("svc.crt"), u.path("svc.key")
	u.ok(t, "ca", "certificate", "svc.example.com", crt, key, "--provisioner-password-file", pw, "--set", "org=Acme")
	leaf := checkTemplated(t, p, crt, "svc.example.com", []string{"Acme"}, nil)
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageCodeSigning) {
		t.Fatalf("extended key usage = %v, want codeSigning", leaf.ExtKeyUsage)
	}
	if !samePublicKey(leaf.PublicKey, readKey(t, key).Public()) {
		t.Fatal("the certificate is not for the generated key")
	}
	// A renewal keeps what the template put in the certificate.
	u.ok(t, "ca", "renew", crt, key, "--force")
	renewed := checkTemplated(t, p, crt, "svc.example.com", []string{"Acme"}, nil)
	if renewed.SerialNumber.Cmp(leaf.SerialNumber) == 0 || !slices.Contains(renewed.ExtKeyUsage, x509.ExtKeyUsageCodeSigning) {
		t.Fatalf("renewed: serial %v (was %v), extended key usage %v", renewed.SerialNumber, leaf.SerialNumber, renewed.ExtKeyUsage)
	}

	r := u.fails(t, "ca", "certificate", "nodata.example.com", u.path("n.crt"), u.path("n.key"), "--provisioner-password-file", pw)
	checkOneLine(t, r, "The request could not be completed: org is required: use --set org=<name>.")
	mustNotExist(t, u.path("n.crt"))

	csr := u.path("signed.csr")
	writeCSR(t, csr, "csr.example.com")
	data := u.writeFile(t, "data.json", `{"org": "From File, Inc."}`, 0o644)
	u.ok(t, "ca", "sign", csr, u.path("signed.crt"), "--provisioner-password-file", pw, "--set-file", data)
	checkTemplated(t, p, u.path("signed.crt"), "csr.example.com", []string{"From File, Inc."}, nil)

	// The template was parsed when the configuration loaded: an edit to the
	// file changes nothing until a reload, which here also switches to a
	// path relative to $STEPPATH.
	v2 := strings.Replace(orgTemplate, `"organization":`, `"organizationalUnit": ["v2"], "organization":`, 1)
	if err := os.WriteFile(tplFile, []byte(v2), 0o644); err != nil {
		t.Fatal(err)
	}
	u.ok(t, "ca", "certificate", "before.example.com", u.path("b.crt"), u.path("b.key"), "--provisioner-password-file", pw, "--set", "org=Acme")
	checkTemplated(t, p, u.path("b.crt"), "before.example.com", []string{"Acme"}, nil)
	setTemplateFile(t, p.configPath(), "templates/x509/org.tpl")
	mark := ca.log.mark()
	ca.signal(t, syscall.SIGHUP)
	ca.waitLog(t, mark, "reloaded", "reload failed")
	u.ok(t, "ca", "certificate", "after.example.com", u.path("a.crt"), u.path("a.key"), "--provisioner-password-file", pw, "--set", "org=Acme")
	checkTemplated(t, p, u.path("a.crt"), "after.example.com", []string{"Acme"}, []string{"v2"})

	// A template that no longer parses is refused at reload, naming the
	// provisioner and the file; the running one keeps serving.
	if err := os.WriteFile(tplFile, []byte(`{"subject": {{ toJson .Subject }`), 0o644); err != nil {
		t.Fatal(err)
	}
	mark = ca.log.mark()
	ca.signal(t, syscall.SIGHUP)
	line := ca.waitLog(t, mark, "reload failed")
	if !strings.Contains(line, "authority.provisioners[0].options.x509.templateFile") || !strings.Contains(line, tplFile) {
		t.Fatalf("the reload error does not name the template: %s", line)
	}
	u.ok(t, "ca", "certificate", "kept.example.com", u.path("k.crt"), u.path("k.key"), "--provisioner-password-file", pw, "--set", "org=Acme")
	checkTemplated(t, p, u.path("k.crt"), "kept.example.com", []string{"Acme"}, []string{"v2"})
}

// checkTemplated checks the chain in crt verifies to the root and the leaf
// has the template's subject, the token's SAN and the CA's provisioner
// extension, and returns the leaf.
func checkTemplated(t *testing.T, p *testPKI, crt, cn string, org, ou []string) *x509.Certificate {
	t.Helper()
	chain := readCerts(t, crt)
	if len(chain) != 2 {
		t.Fatalf("%s holds %d certificates, want leaf and intermediate", crt, len(chain))
	}
	leaf := chain[0]
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(p.root)
	inters.AddCert(chain[1])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("%s does not verify: %v", crt, err)
	}
	if leaf.Subject.CommonName != cn || !slices.Equal(leaf.Subject.Organization, org) || !slices.Equal(leaf.Subject.OrganizationalUnit, ou) {
		t.Fatalf("%s: subject = %s, want CN=%s O=%v OU=%v", crt, leaf.Subject, cn, org, ou)
	}
	if !slices.Equal(leaf.DNSNames, []string{cn}) {
		t.Fatalf("%s: DNS names = %v", crt, leaf.DNSNames)
	}
	found := false
	for _, e := range leaf.Extensions {
		found = found || e.Id.Equal(stepProvisionerOID)
	}
	if !found {
		t.Fatalf("%s has no provisioner extension", crt)
	}
	return leaf
}

// setTemplateFile sets options.x509.templateFile of the first provisioner
// in the ca.json at path, as an operator editing the file would.
func setTemplateFile(t *testing.T, path, file string) {
	t.Helper()
	var cfg map[string]any
	dec := json.NewDecoder(bytes.NewReader(readFile(t, path)))
	dec.UseNumber()
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	auth, _ := cfg["authority"].(map[string]any)
	provs, _ := auth["provisioners"].([]any)
	if len(provs) == 0 {
		t.Fatalf("%s has no provisioners", path)
	}
	prov := provs[0].(map[string]any)
	prov["options"] = map[string]any{"x509": map[string]any{"templateFile": file}}
	out, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		t.Fatalf("encode %s: %v", path, err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// TestTemplateFileMissing: a ca.json naming a template file that does not
// exist is a configuration error: step-ca (and --validate-config) exit 1
// with one line naming the JSON path and the file, and change nothing.
func TestTemplateFileMissing(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	setTemplateFile(t, p.configPath(), "templates/x509/missing.tpl")
	missing := filepath.Join(p.caPath, "templates", "x509", "missing.tpl")
	before := snapshot(t, p.caPath)
	for _, args := range [][]string{
		{p.configPath(), "--password-file", p.pwFile},
		{p.configPath(), "--validate-config"},
	} {
		r := p.op.stepCA(args...)
		if r.code != 1 {
			t.Fatalf("want exit code 1:\n%s", r)
		}
		checkOneLine(t, r, p.configPath(), "authority.provisioners[0].options.x509.templateFile", missing, "no such file or directory")
	}
	sameSnapshot(t, "step-ca with a missing template", before, snapshot(t, p.caPath))
}
