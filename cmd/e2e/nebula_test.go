package e2e

import (
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slackhq/nebula/cert"

	"github.com/mayfly-pki/mayfly/provisioner/nebula/nebulatest"
)

// TestNebula: a Nebula provisioner added with `step ca provisioner add
// --type Nebula --nebula-root` trusting a Nebula CA made here; a host
// certificate of that CA authenticates `step ca certificate --nebula-cert
// --nebula-key` and `step ca token --nebula-cert --nebula-key` (XEdDSA
// tokens with the certificate in the nebula header); the certificate names
// the host and its Nebula IP, lies within the Nebula certificate's
// validity and carries the Nebula provisioner extension (11). A name
// outside the Nebula certificate, a host of another CA and an expired host
// certificate are refused; a key that is not the certificate's is refused
// before anything is sent.
func TestNebula(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	now := time.Now()
	ca := nebulatest.NewCA(t, "mesh ca", cert.Curve_CURVE25519, now.Add(-3*time.Hour), now.Add(24*time.Hour))
	host := ca.Issue(t, nebulatest.HostOptions{Name: "web.mesh", Networks: []string{"10.42.0.7/16"}, Groups: []string{"web"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(2 * time.Hour)})
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	caFile := write("nebula-ca.crt", ca.PEM(t))
	hostCrt, hostKey := write("host.crt", host.CertPEM(t)), write("host.key", host.KeyPEM())

	p.op.ok(t, "ca", "provisioner", "add", "neb", "--type", "Nebula", "--nebula-root", caFile)
	p.start(t)
	u := p.client(t)

	crt, key := u.path("web.crt"), u.path("web.key")
	r := u.ok(t, "ca", "certificate", "web.mesh", crt, key, "--nebula-cert", hostCrt, "--nebula-key", hostKey)
	if !strings.Contains(r.stderr, "Provisioner: neb (NEBULA)") {
		t.Fatalf("provisioner selected:\n%s", r.stderr)
	}
	web := readCerts(t, crt)[0]
	if web.Subject.CommonName != "web.mesh" || strings.Join(web.DNSNames, ",") != "web.mesh" {
		t.Fatalf("subject %v, DNS names %v", web.Subject, web.DNSNames)
	}
	if !web.NotAfter.Equal(host.Cert.NotAfter()) {
		t.Fatalf("NotAfter %s, want the nebula certificate's %s (the default 24h capped)", web.NotAfter, host.Cert.NotAfter())
	}
	if ext := provisionerExtension(t, web); ext.typ != 11 || ext.name != "neb" {
		t.Fatalf("provisioner extension %+v, want Nebula (11) neb", ext)
	}

	// The host's name and its Nebula IP.
	u.ok(t, "ca", "certificate", "web.mesh", u.path("ip.crt"), u.path("ip.key"), "--san", "web.mesh", "--san", "10.42.0.7",
		"--nebula-cert", hostCrt, "--nebula-key", hostKey)
	ip := readCerts(t, u.path("ip.crt"))[0]
	if len(ip.IPAddresses) != 1 || !ip.IPAddresses[0].Equal(net.ParseIP("10.42.0.7")) {
		t.Fatalf("IP SANs %v", ip.IPAddresses)
	}

	// A token minted alone, as step mints it.
	tok := strings.TrimSpace(u.ok(t, "ca", "token", "web.mesh", "--nebula-cert", hostCrt, "--nebula-key", hostKey).stdout)
	header, payload := tokenParts(t, tok)
	if header["alg"] != "XEdDSA" || header["nebula"] == nil || header["nebula"] == "" {
		t.Fatalf("token header %v", header)
	}
	if payload["iss"] != "neb" || payload["aud"] != p.url+"/1.0/sign#nebula/neb" || payload["sub"] != "web.mesh" {
		t.Fatalf("token payload %v", payload)
	}
	u.ok(t, "ca", "certificate", "web.mesh", u.path("t.crt"), u.path("t.key"), "--token", tok, "--not-after", "1h")

	// The certificate's bytes instead of PEM, as step reads them too: the
	// header carries them as they are.
	der, err := host.Cert.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tok = strings.TrimSpace(u.ok(t, "ca", "token", "web.mesh", "--nebula-cert", write("host.der", der), "--nebula-key", hostKey).stdout)
	if header, _ = tokenParts(t, tok); header["nebula"] != base64.StdEncoding.EncodeToString(der) {
		t.Fatalf("token header %v", header)
	}
	u.ok(t, "ca", "certificate", "web.mesh", u.path("d.crt"), u.path("d.key"), "--token", tok)

	// A name the Nebula certificate does not hold: refused, nothing written.
	r = u.fails(t, "ca", "certificate", "db.mesh", u.path("db.crt"), u.path("db.key"), "--nebula-cert", hostCrt, "--nebula-key", hostKey)
	if !strings.Contains(r.stderr, "not the nebula certificate's name") {
		t.Fatalf("name outside the nebula certificate:\n%s", r.stderr)
	}
	mustNotExist(t, u.path("db.crt"))

	// A host of another CA, and an expired host certificate.
	other := nebulatest.NewCA(t, "mesh ca", cert.Curve_CURVE25519, now.Add(-time.Hour), now.Add(24*time.Hour)).Issue(t,
		nebulatest.HostOptions{Name: "web.mesh", Networks: []string{"10.42.0.7/16"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	expired := ca.Issue(t, nebulatest.HostOptions{Name: "web.mesh", Networks: []string{"10.42.0.7/16"},
		NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(-time.Hour)})
	for name, h := range map[string]*nebulatest.Host{"other": other, "expired": expired} {
		c, k := write(name+".crt", h.CertPEM(t)), write(name+".key", h.KeyPEM())
		r = u.fails(t, "ca", "certificate", "web.mesh", u.path(name+"-out.crt"), u.path(name+"-out.key"), "--nebula-cert", c, "--nebula-key", k)
		if !strings.Contains(r.stderr, "The request lacked necessary authorization to be completed") { // 401, as step-ca says it
			t.Fatalf("%s host certificate:\n%s", name, r.stderr)
		}
		mustNotExist(t, u.path(name+"-out.crt"))
	}

	// Revoked with a token of the same Nebula certificate.
	u.ok(t, "ca", "revoke", ip.SerialNumber.String(), "--nebula-cert", hostCrt, "--nebula-key", hostKey)

	// A key that is not the certificate's is refused before anything is sent.
	r = u.fails(t, "ca", "token", "web.mesh", "--nebula-cert", hostCrt, "--nebula-key", write("wrong.key", other.KeyPEM()))
	checkOneLine(t, r, "is not the key of the certificate")
	r = u.fails(t, "ca", "token", "web.mesh", "--nebula-key", hostKey)
	checkOneLine(t, r, "flag '--nebula-cert' is required with '--nebula-key'")
}
