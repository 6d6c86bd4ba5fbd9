package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

// scepclientBin returns micromdm's scepclient (Debian's scep package, `make
// deps`): skipped when it is absent, except in CI, where it must be there.
func scepclientBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("scepclient")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("scepclient not found (CI=true; `make deps` installs Debian's scep): %v", err)
		}
		t.Skip("scepclient not found (apt-get install scep), skipping")
	}
	return bin
}

// writeDecrypter writes an RSA decrypter pair issued by the CA's (EC)
// intermediate: step-ca needs one for SCEP when the intermediate is not RSA.
func writeDecrypter(t *testing.T, p *testPKI, dir string) (crtFile, keyFile string, crt *x509.Certificate) {
	t.Helper()
	inter := readCerts(t, filepath.Join(p.caPath, "certs", "intermediate_ca.crt"))[0]
	interKey, err := pemutil.ParsePrivateKey(readFile(t, filepath.Join(p.caPath, "secrets", "intermediate_ca_key")), []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "Mayfly SCEP decrypter"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, inter, &key.PublicKey, interKey)
	if err != nil {
		t.Fatal(err)
	}
	crtFile, keyFile = filepath.Join(dir, "decrypter.crt"), filepath.Join(dir, "decrypter.key")
	if err := os.WriteFile(crtFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
	crt, _ = x509.ParseCertificate(der)
	return crtFile, keyFile, crt
}

// TestSCEP: a SCEP provisioner added with `step ca provisioner add --type
// SCEP --challenge` and an RSA decrypter; step-ca serves it on the insecure
// HTTP listener and over HTTPS; micromdm's scepclient enrolls with the right
// challenge (the certificate is issued, stored and carries the provisioner
// extension) and is refused with a wrong one (a CertRep FAILURE).
func TestSCEP(t *testing.T) {
	t.Parallel()
	client := scepclientBin(t)
	p := initPKI(t)
	dir := t.TempDir()
	decCrt, decKey, dec := writeDecrypter(t, p, dir)
	p.op.ok(t, "ca", "provisioner", "add", "scep", "--type", "SCEP", "--challenge", "s3cret",
		"--scep-decrypter-certificate-file", decCrt, "--scep-decrypter-key-file", decKey, "--exclude-intermediate",
		"--encryption-algorithm-identifier", "2")
	insecureAddr, insecurePort := freeAddr(t)
	var entry map[string]any
	editConfig(t, p.configPath(), func(cfg map[string]any) {
		cfg["insecureAddress"] = insecureAddr
		for _, e := range cfg["authority"].(map[string]any)["provisioners"].([]any) {
			if m := e.(map[string]any); m["name"] == "scep" {
				entry = m
			}
		}
	})
	if entry == nil || entry["type"] != "SCEP" || entry["challenge"] != "s3cret" || entry["excludeIntermediate"] != true ||
		entry["decrypterCertificate"] != base64.StdEncoding.EncodeToString(readFile(t, decCrt)) {
		t.Fatalf("ca.json SCEP entry = %v", entry)
	}
	ca := p.start(t)
	ca.waitLog(t, 0, "Serving HTTP on")
	httpURL := "http://127.0.0.1:" + insecurePort + "/scep/scep"

	// GetCACaps and GetCACert, on the insecure listener.
	caps := httpGet(t, httpURL+"?operation=GetCACaps")
	if !strings.Contains(caps, "POSTPKIOperation") || !strings.Contains(caps, "SCEPStandard") {
		t.Fatalf("GetCACaps = %q", caps)
	}
	if got := httpGet(t, httpURL+"?operation=GetCACert"); got != string(dec.Raw) {
		t.Fatalf("GetCACert is not the decrypter certificate (%d bytes)", len(got))
	}
	// Only SCEP on the insecure listener.
	resp, err := http.Get("http://127.0.0.1:" + insecurePort + "/roots.pem")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("insecure /roots.pem = %d, want 404", resp.StatusCode)
	}

	enroll := func(serverURL, challenge, cn string, env ...string) (result, string) {
		d := t.TempDir()
		crt := filepath.Join(d, "device.crt")
		r := runBinary(client, d, append(os.Environ(), env...), 2*time.Minute,
			"-server-url", serverURL, "-challenge", challenge, "-private-key", filepath.Join(d, "device.key"),
			"-certificate", crt, "-cn", cn, "-keySize", "2048")
		return r, crt
	}

	r, crt := enroll(httpURL, "s3cret", "device.example.com")
	if r.code != 0 {
		t.Fatalf("scepclient with the right challenge:\n%s\nCA log:\n%s", r, ca.log.tail(20))
	}
	issued := readCerts(t, crt)[0]
	if issued.Subject.CommonName != "device.example.com" || strings.Join(issued.DNSNames, ",") != "device.example.com" {
		t.Fatalf("issued subject %v, DNS names %v", issued.Subject, issued.DNSNames)
	}
	inter := readCerts(t, filepath.Join(p.caPath, "certs", "intermediate_ca.crt"))[0]
	if err := issued.CheckSignatureFrom(inter); err != nil {
		t.Fatalf("issued certificate not signed by the intermediate: %v", err)
	}
	if ext := provisionerExtension(t, issued); ext.typ != 10 || ext.name != "scep" {
		t.Fatalf("provisioner extension %+v, want SCEP (10) scep", ext)
	}
	ca.waitLog(t, 0, "scep-status=SUCCESS")

	// A wrong challenge: a CertRep FAILURE, badRequest; nothing written.
	r, crt = enroll(httpURL, "n0t-the-s3cret-42", "bad.example.com")
	if r.code == 0 || !strings.Contains(r.output(), "failInfo: badRequest") {
		t.Fatalf("scepclient with a wrong challenge:\n%s", r)
	}
	line := ca.waitLog(t, 0, "scep-status=FAILURE")
	if !strings.Contains(line, "failed validating challenge password") || strings.Contains(line, "n0t-the-s3cret-42") {
		t.Fatalf("the refusal's log line: %s", line)
	}
	if logs := ca.log.tail(1000); strings.Contains(logs, "s3cret") {
		t.Fatalf("the CA logged the challenge:\n%s", logs)
	}
	if b, err := os.ReadFile(crt); err == nil && bytes.Contains(b, []byte("CERTIFICATE")) {
		if c := readCerts(t, crt); c[0].Subject.CommonName == "bad.example.com" && c[0].Issuer.CommonName != "bad.example.com" {
			t.Fatal("a certificate was issued for a wrong challenge")
		}
	}

	// Over HTTPS, trusting the CA's root.
	r, crt = enroll(p.url+"/scep/scep", "s3cret", "tls.example.com", "SSL_CERT_FILE="+filepath.Join(p.caPath, "certs", "root_ca.crt"))
	if r.code != 0 {
		t.Fatalf("scepclient over HTTPS:\n%s", r)
	}
	if c := readCerts(t, crt)[0]; c.Subject.CommonName != "tls.example.com" || c.Issuer.CommonName != inter.Subject.CommonName {
		t.Fatalf("HTTPS enrollment: subject %v issuer %v", c.Subject, c.Issuer)
	}

	// /provisioners redacts the challenge, as step-ca.
	u := p.client(t)
	list := u.ok(t, "ca", "provisioner", "list").stdout
	if strings.Contains(list, "s3cret") || !strings.Contains(list, "*** REDACTED ***") {
		t.Fatalf("provisioner list shows the SCEP challenge:\n%s", list)
	}
}

func httpGet(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d %q %v", u, resp.StatusCode, b, err)
	}
	return string(b)
}

// TestSCEPNoDecrypter: with step ca init's EC intermediate and no decrypter,
// step-ca starts, says why the SCEP provisioner cannot work (step-ca's
// words), and GetCACert fails with them; the insecure listener serves SCEP.
func TestSCEPNoDecrypter(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	p.op.ok(t, "ca", "provisioner", "add", "scep", "--type", "SCEP", "--challenge", "s3cret")
	insecureAddr, insecurePort := freeAddr(t)
	editConfig(t, p.configPath(), func(cfg map[string]any) { cfg["insecureAddress"] = insecureAddr })
	ca := p.start(t)
	ca.waitLog(t, 0, `failed validating SCEP authority: SCEP provisioner "scep" does not have a decrypter certificate`)
	ca.waitLog(t, 0, "Serving HTTP on")
	resp, err := http.Get("http://127.0.0.1:" + insecurePort + "/scep/scep?operation=GetCACert")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || !strings.Contains(string(b), "does not have a decrypter certificate") {
		t.Fatalf("GetCACert without a decrypter = %d %q", resp.StatusCode, b)
	}
	if caps := httpGet(t, "http://127.0.0.1:"+insecurePort+"/scep/scep?operation=GetCACaps"); !strings.Contains(caps, "AES") {
		t.Fatalf("GetCACaps = %q", caps)
	}
}
