package e2e

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// clockSlack absorbs the truncation of certificate times to whole seconds.
const clockSlack = 2 * time.Second

// backdate is step-ca's default authority.backdate (wire-spec §5.1).
const backdate = time.Minute

// issued is a certificate bundle and key written by the step CLI.
type issued struct {
	leaf *x509.Certificate
	key  crypto.Signer
}

// checkIssued checks what `step ca certificate|renew|rekey` wrote to crtPath
// and keyPath between before and after (wire-spec §1.5, §5.1): both files
// 0600, the bundle is leaf + the CA's intermediate, the key is the leaf's,
// the leaf verifies against the root for cn with serverAuth and clientAuth,
// CN and DNS SANs are [cn], NotBefore is the issuance time minus the
// backdate and NotAfter the issuance time plus lifetime.
func checkIssued(t *testing.T, p *testPKI, crtPath, keyPath, cn string, lifetime time.Duration, before, after time.Time) issued {
	t.Helper()
	checkMode(t, crtPath, 0o600)
	checkMode(t, keyPath, 0o600)
	chain := readCerts(t, crtPath)
	if len(chain) != 2 {
		t.Fatalf("%s: %d certificates, want 2 (leaf and intermediate)", crtPath, len(chain))
	}
	leaf := chain[0]
	inter := readCerts(t, filepath.Join(p.caPath, "certs", "intermediate_ca.crt"))[0]
	if !chain[1].Equal(inter) {
		t.Fatalf("%s: second certificate is %q, want the CA's intermediate %q", crtPath, chain[1].Subject, inter.Subject)
	}
	key := readKey(t, keyPath)
	if !samePublicKey(key.Public(), leaf.PublicKey) {
		t.Fatalf("%s does not hold the private key of the leaf in %s", keyPath, crtPath)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.root)
	inters := x509.NewCertPool()
	inters.AddCert(chain[1])
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := leaf.Verify(x509.VerifyOptions{
			DNSName: cn, Roots: roots, Intermediates: inters, KeyUsages: []x509.ExtKeyUsage{usage},
		}); err != nil {
			t.Fatalf("%s: leaf does not verify against the root for %s with EKU %v: %v", crtPath, cn, usage, err)
		}
	}
	if leaf.Subject.CommonName != cn || !slices.Equal(leaf.DNSNames, []string{cn}) {
		t.Fatalf("%s: subject %q, DNS SANs %v; want CN=%s and SANs [%s]", crtPath, leaf.Subject, leaf.DNSNames, cn, cn)
	}
	if len(leaf.IPAddresses)+len(leaf.EmailAddresses)+len(leaf.URIs) != 0 {
		t.Fatalf("%s: unexpected SANs: IPs %v, emails %v, URIs %v", crtPath, leaf.IPAddresses, leaf.EmailAddresses, leaf.URIs)
	}
	checkWindow(t, crtPath+" NotBefore", leaf.NotBefore, before.Add(-backdate), after.Add(-backdate))
	checkWindow(t, crtPath+" NotAfter", leaf.NotAfter, before.Add(lifetime), after.Add(lifetime))
	return issued{leaf: leaf, key: key}
}

// checkWindow fails unless lo-clockSlack <= got <= hi+clockSlack.
func checkWindow(t *testing.T, what string, got, lo, hi time.Time) {
	t.Helper()
	if got.Before(lo.Add(-clockSlack)) || got.After(hi.Add(clockSlack)) {
		t.Fatalf("%s is %s, want between %s and %s", what, got.UTC(), lo.UTC(), hi.UTC())
	}
}

// tokenIssuedAt returns the iat claim of a compact JWT, without verifying it.
func tokenIssuedAt(t *testing.T, tok string) time.Time {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode the token payload: %v", err)
	}
	var claims struct {
		IAT int64 `json:"iat"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil || claims.IAT == 0 {
		t.Fatalf("token payload %s has no iat (%v)", payload, err)
	}
	return time.Unix(claims.IAT, 0)
}

// waitUntilAfterSecond returns once the wall clock is in a later second than
// ts. step-ca compares a token's iat (whole seconds) with its own start time
// truncated to the second, so a CA started in the same second as a token was
// minted would legitimately accept it; this establishes the precondition of
// the iat test and asserts nothing about timing.
func waitUntilAfterSecond(ts time.Time) {
	next := ts.Truncate(time.Second).Add(time.Second)
	if d := time.Until(next); d > 0 {
		time.Sleep(d + 10*time.Millisecond)
	}
}

// TestLifecycle walks one certificate through its life with the real
// binaries: init, start, bootstrap by fingerprint, issue, renew (mTLS and
// token), skip a renewal, rekey, sign a CSR, read roots and provisioners,
// refuse a replayed token, revoke by serial and by mTLS, restart the CA and
// check that revocations persist and tokens from before the restart are
// refused (wire-spec §3.4, §4.9, §4.10, §8, §9).
func TestLifecycle(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	ca := p.start(t)
	u := p.client(t)
	pw := u.path("password.txt")
	crt, key := u.path("foo.crt"), u.path("foo.key")
	var cur issued
	var preRestartToken string
	parent := t // owns the restarted CA, which must outlive the restart step

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"bootstrap", func(t *testing.T) {
			rootPath := filepath.Join(u.stepPath, "certs", "root_ca.crt")
			checkMode(t, rootPath, 0o600)
			if got := readCerts(t, rootPath); len(got) != 1 || !got[0].Equal(p.root) {
				t.Fatalf("bootstrap saved %d certificates in %s, want exactly the CA's root", len(got), rootPath)
			}
			var defaults map[string]any
			if err := json.Unmarshal(readFile(t, filepath.Join(u.stepPath, "config", "defaults.json")), &defaults); err != nil {
				t.Fatalf("bootstrap's defaults.json: %v", err)
			}
			want := map[string]any{"ca-url": p.url, "fingerprint": p.fp, "root": rootPath}
			if len(defaults) != len(want) {
				t.Fatalf("bootstrap's defaults.json = %v, want the keys of %v", defaults, want)
			}
			for k, v := range want {
				if defaults[k] != v {
					t.Fatalf("bootstrap's defaults.json %q = %v, want %v", k, defaults[k], v)
				}
			}
			if r := u.ok(t, "ca", "health"); strings.TrimSpace(r.stdout) != "ok" {
				t.Fatalf("step ca health printed %q on stdout, want ok:\n%s", r.stdout, r)
			}
		}},
		{"certificate", func(t *testing.T) {
			before := time.Now()
			u.ok(t, "ca", "certificate", "foo.example.com", crt, key, "--provisioner-password-file", pw)
			cur = checkIssued(t, p, crt, key, "foo.example.com", 24*time.Hour, before, time.Now())
		}},
		{"openssl accepts the certificate and key", func(t *testing.T) {
			openssl, err := exec.LookPath("openssl")
			if err != nil {
				t.Skip("openssl is not installed; skipping the cross-check")
			}
			rootPath := filepath.Join(u.stepPath, "certs", "root_ca.crt")
			for _, args := range [][]string{
				{"verify", "-CAfile", rootPath, "-untrusted", crt, "-purpose", "sslserver", crt},
				{"ec", "-in", key, "-check", "-noout"},
			} {
				if r := runBinary(openssl, u.dir, os.Environ(), commandTimeout, args...); r.code != 0 || r.err != nil {
					t.Fatalf("openssl rejects what step ca certificate wrote:\n%s", r)
				}
			}
		}},
		{"renew over mTLS keeps the key", func(t *testing.T) {
			keyBytes := readFile(t, key)
			before := time.Now()
			u.ok(t, "ca", "renew", crt, key, "--force")
			next := checkIssued(t, p, crt, key, "foo.example.com", 24*time.Hour, before, time.Now())
			checkRenewed(t, cur, next)
			if string(readFile(t, key)) != string(keyBytes) {
				t.Fatalf("step ca renew rewrote the key file %s", key)
			}
			cur = next
		}},
		{"renew with a renew token keeps the key", func(t *testing.T) {
			before := time.Now()
			u.ok(t, "ca", "renew", crt, key, "--force", "--mtls=false")
			next := checkIssued(t, p, crt, key, "foo.example.com", 24*time.Hour, before, time.Now())
			checkRenewed(t, cur, next)
			cur = next
		}},
		{"renew skipped while far from expiry", func(t *testing.T) {
			crtBytes := readFile(t, crt)
			r := u.ok(t, "ca", "renew", crt, key, "--expires-in", "1h")
			if !strings.Contains(r.output(), "certificate not renewed: expires in") {
				t.Fatalf("want %q in the output:\n%s", "certificate not renewed: expires in", r)
			}
			if string(readFile(t, crt)) != string(crtBytes) {
				t.Fatalf("step ca renew --expires-in 1h rewrote %s although it did not renew", crt)
			}
		}},
		{"rekey", func(t *testing.T) {
			before := time.Now()
			u.ok(t, "ca", "rekey", crt, key, "--force")
			next := checkIssued(t, p, crt, key, "foo.example.com", 24*time.Hour, before, time.Now())
			if next.leaf.SerialNumber.Cmp(cur.leaf.SerialNumber) == 0 {
				t.Fatalf("rekey kept the serial %s", cur.leaf.SerialNumber)
			}
			if samePublicKey(next.key.Public(), cur.key.Public()) {
				t.Fatalf("rekey kept the old key")
			}
			cur = next
		}},
		{"sign a CSR", func(t *testing.T) {
			csr, out := u.path("req.csr"), u.path("req.crt")
			csrKey := writeCSR(t, csr, "req.example.com")
			u.ok(t, "ca", "sign", csr, out, "--provisioner-password-file", pw)
			chain := readCerts(t, out)
			if len(chain) != 2 || chain[0].Subject.CommonName != "req.example.com" || !samePublicKey(chain[0].PublicKey, csrKey.Public()) {
				t.Fatalf("%s: %d certificates, leaf %q; want leaf for req.example.com with the CSR's key, and the intermediate", out, len(chain), chain[0].Subject)
			}
			roots := x509.NewCertPool()
			roots.AddCert(p.root)
			inters := x509.NewCertPool()
			inters.AddCert(chain[1])
			if _, err := chain[0].Verify(x509.VerifyOptions{DNSName: "req.example.com", Roots: roots, Intermediates: inters}); err != nil {
				t.Fatalf("%s does not verify: %v", out, err)
			}
		}},
		{"roots, root and provisioner list", func(t *testing.T) {
			r := u.ok(t, "ca", "roots")
			b, _ := pem.Decode([]byte(r.stdout))
			if b == nil || b.Type != "CERTIFICATE" || string(b.Bytes) != string(p.root.Raw) {
				t.Fatalf("step ca roots did not print the root certificate:\n%s", r)
			}
			rootOut := u.path("root.crt")
			u.ok(t, "ca", "root", rootOut)
			if got := readCerts(t, rootOut); len(got) != 1 || !got[0].Equal(p.root) {
				t.Fatalf("step ca root wrote %d certificates to %s, want the root", len(got), rootOut)
			}
			r = u.ok(t, "ca", "provisioner", "list")
			var provs []struct {
				Type string `json:"type"`
				Name string `json:"name"`
				Key  struct {
					Kid string `json:"kid"`
				} `json:"key"`
				EncryptedKey string `json:"encryptedKey"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &provs); err != nil {
				t.Fatalf("step ca provisioner list did not print a JSON array: %v\n%s", err, r)
			}
			if len(provs) != 1 || provs[0].Type != "JWK" || provs[0].Name != "admin" || provs[0].Key.Kid == "" || strings.Count(provs[0].EncryptedKey, ".") != 4 {
				t.Fatalf("step ca provisioner list = %+v, want the one JWK provisioner admin with its key and encryptedKey", provs)
			}
		}},
		{"a token is single-use", func(t *testing.T) {
			tok := strings.TrimSpace(u.ok(t, "ca", "token", "bar.example.com", "--provisioner-password-file", pw).stdout)
			u.ok(t, "ca", "certificate", "bar.example.com", u.path("bar.crt"), u.path("bar.key"), "--token", tok)
			mark := ca.log.mark()
			u.fails(t, "ca", "certificate", "bar.example.com", u.path("bar2.crt"), u.path("bar2.key"), "--token", tok)
			mustNotExist(t, u.path("bar2.crt"))
			mustNotExist(t, u.path("bar2.key"))
			ca.expectLog(t, mark, "token already used", "the CA refused the replayed token, but not for its reuse")
		}},
		{"revoke by hex serial, then renew is refused", func(t *testing.T) {
			sn := cur.leaf.SerialNumber
			r := u.ok(t, "ca", "revoke", "0x"+sn.Text(16), "--reasonCode", "KeyCompromise", "--provisioner-password-file", pw)
			if want := "Certificate with Serial Number " + sn.String() + " has been revoked."; !strings.Contains(r.output(), want) {
				t.Fatalf("want %q in the output:\n%s", want, r)
			}
			crtBytes := readFile(t, crt)
			u.fails(t, "ca", "renew", crt, key, "--force")
			if string(readFile(t, crt)) != string(crtBytes) {
				t.Fatalf("a refused renewal rewrote %s", crt)
			}
		}},
		{"revoke over mTLS", func(t *testing.T) {
			barCrt, barKey := u.path("bar.crt"), u.path("bar.key")
			sn := readCerts(t, barCrt)[0].SerialNumber
			r := u.ok(t, "ca", "revoke", "--cert", barCrt, "--key", barKey)
			if want := "Certificate with Serial Number " + sn.String() + " has been revoked."; !strings.Contains(r.output(), want) {
				t.Fatalf("want %q in the output:\n%s", want, r)
			}
			u.fails(t, "ca", "renew", barCrt, barKey, "--force")
		}},
		{"mint a token before the restart", func(t *testing.T) {
			preRestartToken = strings.TrimSpace(u.ok(t, "ca", "token", "pre.example.com", "--provisioner-password-file", pw).stdout)
		}},
		{"restart", func(t *testing.T) {
			ca.stop(t)
			waitUntilAfterSecond(tokenIssuedAt(t, preRestartToken))
			ca = launchCA(parent, t, p.caPath, p.configPath(), "--password-file", p.pwFile)
			ca.waitLog(t, 0, "Serving HTTPS on")
		}},
		{"revocation survives the restart", func(t *testing.T) {
			mark := ca.log.mark()
			u.fails(t, "ca", "renew", crt, key, "--force")
			ca.expectLog(t, mark, "revoked", "the CA refused the renewal, but not because the certificate is revoked")
		}},
		{"a token minted before the restart is refused", func(t *testing.T) {
			mark := ca.log.mark()
			u.fails(t, "ca", "certificate", "pre.example.com", u.path("pre.crt"), u.path("pre.key"), "--token", preRestartToken)
			mustNotExist(t, u.path("pre.crt"))
			ca.expectLog(t, mark, "token issued before the bootstrap of certificate authority", "the CA refused the token, but not for its iat")
		}},
		{"issuing works after the restart", func(t *testing.T) {
			before := time.Now()
			out, k := u.path("post.crt"), u.path("post.key")
			u.ok(t, "ca", "certificate", "post.example.com", out, k, "--provisioner-password-file", pw)
			checkIssued(t, p, out, k, "post.example.com", 24*time.Hour, before, time.Now())
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			t.FailNow()
		}
	}
}

// checkRenewed checks that next is a renewal of prev: a new serial, the same
// key and subject.
func checkRenewed(t *testing.T, prev, next issued) {
	t.Helper()
	if next.leaf.SerialNumber.Cmp(prev.leaf.SerialNumber) == 0 {
		t.Fatalf("renewal kept the serial %s", prev.leaf.SerialNumber)
	}
	if !samePublicKey(next.leaf.PublicKey, prev.leaf.PublicKey) {
		t.Fatalf("renewal changed the public key")
	}
	if string(next.leaf.RawSubject) != string(prev.leaf.RawSubject) {
		t.Fatalf("renewal changed the subject from %q to %q", prev.leaf.Subject, next.leaf.Subject)
	}
}
