package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestValidityAndKeyRules drives step against step-ca with requests that
// must not be certified (issue 14, items 1 and 2): a validity window outside
// the intermediate's, and a rekey to an RSA-1024 key over mTLS. Each fails
// with the CA's one-line reason and writes nothing.
func TestValidityAndKeyRules(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")
	inter := readCerts(t, filepath.Join(p.caPath, "certs", "intermediate_ca.crt"))[0]
	expiry := inter.NotAfter.UTC().Format(time.RFC3339)

	t.Run("certificate window outside the intermediate", func(t *testing.T) {
		for i, tc := range []struct {
			name  string
			flags []string
			wants []string
		}{
			{"inverted far future", []string{"--not-before", "9999-12-31T23:00:00Z", "--not-after", "9999-12-31T23:59:59Z"},
				[]string{"The request could not be completed: requested notBefore 9999-12-31T23:00:00Z is after the issuer's expiry at " + expiry}},
			{"notAfter past the intermediate", []string{"--not-after", "9999-12-31T23:59:59Z"},
				[]string{"The request could not be completed: requested notAfter 9999-12-31T23:59:59Z is after the issuer's expiry at " + expiry}},
			{"60 seconds before the intermediate's expiry", []string{
				"--not-before", inter.NotAfter.Add(-time.Minute).UTC().Format(time.RFC3339),
				"--not-after", inter.NotAfter.Add(time.Hour).UTC().Format(time.RFC3339)},
				[]string{"The request could not be completed: requested notAfter", "is after the issuer's expiry at " + expiry}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				crt, key := u.path(fmt.Sprintf("x%d.crt", i)), u.path(fmt.Sprintf("x%d.key", i))
				before := snapshot(t, u.dir)
				args := append([]string{"ca", "certificate", "x.example.com", crt, key, "--provisioner-password-file", pw}, tc.flags...)
				checkOneLine(t, u.run(args...), tc.wants...)
				mustNotExist(t, crt)
				mustNotExist(t, key)
				sameSnapshot(t, "a refused step ca certificate", before, snapshot(t, u.dir))
			})
		}
	})

	t.Run("rekey to an RSA-1024 key", func(t *testing.T) {
		crt, key := u.path("k.crt"), u.path("k.key")
		u.ok(t, "ca", "certificate", "k.example.com", crt, key, "--provisioner-password-file", pw)
		weak, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		u.writeFile(t, "weak.key", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(weak)})), 0o600)
		before := snapshot(t, u.dir)
		r := u.run("ca", "rekey", crt, key, "--private-key", u.path("weak.key"), "--force")
		checkOneLine(t, r, "The request was forbidden by the certificate authority: certificate request RSA key must be at least 2048 bits (2048).")
		sameSnapshot(t, "a refused step ca rekey", before, snapshot(t, u.dir))
		// The same certificate still rekeys to a good key.
		u.ok(t, "ca", "rekey", crt, key, "--force")
	})
}
