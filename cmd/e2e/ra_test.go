package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/badger"
)

// jwkIssuer is a certificateIssuer with the upstream's JWK provisioner
// "admin", its key the encryptedKey of the upstream's ca.json written to a
// file (its password is given with --issuer-password-file).
func jwkIssuer(t *testing.T, up *testPKI) map[string]any {
	t.Helper()
	var upCfg struct {
		Authority struct {
			Provisioners []struct {
				Name         string `json:"name"`
				EncryptedKey string `json:"encryptedKey"`
			} `json:"provisioners"`
		} `json:"authority"`
	}
	if err := json.Unmarshal(readFile(t, up.configPath()), &upCfg); err != nil {
		t.Fatal(err)
	}
	if len(upCfg.Authority.Provisioners) == 0 || upCfg.Authority.Provisioners[0].EncryptedKey == "" {
		t.Fatalf("upstream ca.json: want the JWK provisioner admin with an encryptedKey")
	}
	issuerKey := filepath.Join(t.TempDir(), "upstream_issuer.jwe")
	if err := os.WriteFile(issuerKey, []byte(upCfg.Authority.Provisioners[0].EncryptedKey), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]any{"type": "jwk", "provisioner": "admin", "key": issuerKey}
}

// newRA turns a fresh `step ca init` CA into a registration authority in
// front of up (authority.type "stepcas", wire-spec §7.2), as step-ca's docs
// write its ca.json: no crt and key, the upstream's root as root, and
// issuer as certificateIssuer. The RA keeps its own JWK provisioner "admin"
// (its own key) to authorise requests. It is reached at
// https://127.0.0.1:port, the upstream at https://localhost:port.
func newRA(t *testing.T, up *testPKI, issuer map[string]any) *testPKI {
	t.Helper()
	ra := initPKI(t)
	rootPath := filepath.Join(ra.caPath, "certs", "root_ca.crt")
	if err := os.WriteFile(rootPath, pemOf(up.root), 0o600); err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(readFile(t, ra.configPath()), &cfg); err != nil {
		t.Fatal(err)
	}
	delete(cfg, "crt")
	delete(cfg, "key")
	// The RA is reached by another name than the upstream's (localhost):
	// a renew token made for the RA is not for the upstream's audience.
	cfg["dnsNames"] = []string{"127.0.0.1"}
	ra.url = "https://127.0.0.1:" + ra.port
	auth := cfg["authority"].(map[string]any)
	auth["type"] = "stepcas"
	auth["certificateAuthority"] = up.url
	auth["certificateAuthorityFingerprint"] = up.fp
	auth["certificateIssuer"] = issuer
	out, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ra.configPath(), out, 0o600); err != nil {
		t.Fatal(err)
	}
	ra.root, ra.fp = up.root, up.fp
	return ra
}

// startRA starts step-ca on the RA's ca.json with the issuer's password.
func startRA(owner, t *testing.T, ra, up *testPKI) *caProcess {
	t.Helper()
	p := launchCA(owner, t, ra.caPath, ra.configPath(), "--issuer-password-file", up.pwFile)
	p.waitLog(t, 0, "Serving HTTPS on")
	return p
}

// openUpstreamDB opens the stopped upstream's Badger database.
func openUpstreamDB(t *testing.T, up *testPKI) *badger.Store {
	t.Helper()
	st, err := badger.Open(context.Background(), badger.Options{Dir: filepath.Join(up.caPath, "db")})
	if err != nil {
		t.Fatalf("open the upstream's database: %v", err)
	}
	return st
}

// TestRegistrationAuthority: our step gets, renews, rekeys and revokes
// certificates through one of our CAs in RA mode (authority.type stepcas)
// in front of another; the certificates chain to the upstream's root, the
// upstream's database holds them and the revocation; with the upstream down
// the RA answers 503 naming it, and recovers when it is back.
func TestRegistrationAuthority(t *testing.T) {
	t.Parallel()
	up := initPKI(t)
	upCA := up.start(t)
	ra := newRA(t, up, jwkIssuer(t, up))
	raCA := startRA(t, t, ra, up)
	u := ra.client(t)
	pw := u.path("password.txt")
	crt, key := u.path("foo.crt"), u.path("foo.key")
	var cur issued
	var serials []string // every certificate the RA handed out
	var revoked string

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"the RA's TLS certificate comes from the upstream", func(t *testing.T) {
			if r := u.ok(t, "ca", "health"); strings.TrimSpace(r.stdout) != "ok" {
				t.Fatalf("step ca health through the RA printed %q, want ok:\n%s", r.stdout, r)
			}
			// The client trusts only the upstream's root (bootstrapped with
			// its fingerprint): its TLS handshake with the RA verified.
			r := u.ok(t, "ca", "roots")
			if !strings.Contains(r.stdout, strings.TrimSpace(string(pemOf(up.root)))) {
				t.Fatalf("the RA's roots are not the upstream's root:\n%s", r)
			}
		}},
		{"certificate through the RA chains to the upstream", func(t *testing.T) {
			before := time.Now()
			u.ok(t, "ca", "certificate", "foo.example.com", crt, key, "--provisioner-password-file", pw)
			// checkIssued with up: the chain is leaf + the upstream's intermediate.
			cur = checkIssued(t, up, crt, key, "foo.example.com", 24*time.Hour, before, time.Now())
			serials = append(serials, cur.leaf.SerialNumber.String())
		}},
		{"renew over mTLS is refused with the way out", func(t *testing.T) {
			crtBytes := readFile(t, crt)
			r := u.fails(t, "ca", "renew", crt, key, "--force")
			if !strings.Contains(r.output(), "--mtls=false") {
				t.Fatalf("want the message to point to --mtls=false:\n%s", r)
			}
			if string(readFile(t, crt)) != string(crtBytes) {
				t.Fatalf("a refused renewal rewrote %s", crt)
			}
		}},
		{"renew with a renew token goes upstream", func(t *testing.T) {
			before := time.Now()
			u.ok(t, "ca", "renew", crt, key, "--force", "--mtls=false")
			next := checkIssued(t, up, crt, key, "foo.example.com", 24*time.Hour, before, time.Now())
			checkRenewed(t, cur, next)
			cur = next
			serials = append(serials, cur.leaf.SerialNumber.String())
		}},
		{"rekey goes upstream", func(t *testing.T) {
			before := time.Now()
			u.ok(t, "ca", "rekey", crt, key, "--force")
			next := checkIssued(t, up, crt, key, "foo.example.com", 24*time.Hour, before, time.Now())
			if next.leaf.SerialNumber.Cmp(cur.leaf.SerialNumber) == 0 || samePublicKey(next.key.Public(), cur.key.Public()) {
				t.Fatalf("rekey kept the serial or the key")
			}
			cur = next
			serials = append(serials, cur.leaf.SerialNumber.String())
		}},
		{"revoke is forwarded", func(t *testing.T) {
			sn := cur.leaf.SerialNumber
			r := u.ok(t, "ca", "revoke", sn.String(), "--reasonCode", "KeyCompromise", "--provisioner-password-file", pw)
			if want := "Certificate with Serial Number " + sn.String() + " has been revoked."; !strings.Contains(r.output(), want) {
				t.Fatalf("want %q in the output:\n%s", want, r)
			}
			revoked = sn.String()
			u.fails(t, "ca", "renew", crt, key, "--force", "--mtls=false")
		}},
		{"upstream down: 503 naming it", func(t *testing.T) {
			upCA.stop(t)
			r := u.fails(t, "ca", "health")
			if !strings.Contains(r.output(), up.url) {
				t.Fatalf("step ca health through the RA with the upstream down does not name %s:\n%s", up.url, r)
			}
			mark := raCA.log.mark()
			r = u.fails(t, "ca", "certificate", "down.example.com", u.path("down.crt"), u.path("down.key"), "--provisioner-password-file", pw)
			if !strings.Contains(r.output(), "upstream CA "+up.url) {
				t.Fatalf("a sign with the upstream down does not name it:\n%s", r)
			}
			mustNotExist(t, u.path("down.crt"))
			raCA.expectLog(t, mark, "status=503", "the RA did not answer 503 with the upstream down")
			// A second RA (without a database: the first holds its lock)
			// cannot start without its upstream, and says why.
			var cfg map[string]any
			if err := json.Unmarshal(readFile(t, ra.configPath()), &cfg); err != nil {
				t.Fatal(err)
			}
			delete(cfg, "db")
			second, err := json.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			secondPath := filepath.Join(t.TempDir(), "ca.json")
			if err := os.WriteFile(secondPath, second, 0o600); err != nil {
				t.Fatal(err)
			}
			r = ra.op.stepCA(secondPath, "--issuer-password-file", up.pwFile)
			if r.code <= 0 || r.err != nil || !strings.Contains(r.output(), "upstream CA "+up.url) {
				t.Fatalf("an RA started with its upstream down did not fail naming it:\n%s", r)
			}
		}},
		{"the upstream's database holds the certificates and the revocation", func(t *testing.T) {
			st := openUpstreamDB(t, up)
			defer st.Close()
			ctx := context.Background()
			for _, s := range serials {
				rec, err := st.GetCertificate(ctx, s)
				if err != nil {
					t.Fatalf("certificate %s issued through the RA is not in the upstream's database: %v", s, err)
				}
				c, err := x509.ParseCertificate(rec.DER)
				if err != nil || c.SerialNumber.String() != s {
					t.Fatalf("upstream record %s holds another certificate (%v)", s, err)
				}
			}
			rv, err := st.GetRevocation(ctx, revoked)
			if err != nil {
				t.Fatalf("the revocation of %s through the RA is not in the upstream's database: %v", revoked, err)
			}
			if rv.ReasonCode != 1 {
				t.Fatalf("upstream revocation reason code %d, want 1 (keyCompromise)", rv.ReasonCode)
			}
			if _, err := st.GetRevocation(ctx, serials[0]); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("certificate %s was not revoked, but the upstream has a revocation for it (%v)", serials[0], err)
			}
		}},
		{"upstream back: the RA recovers", func(t *testing.T) {
			upCA = up.start(t)
			if r := u.ok(t, "ca", "health"); strings.TrimSpace(r.stdout) != "ok" {
				t.Fatalf("step ca health after the upstream came back printed %q:\n%s", r.stdout, r)
			}
			before := time.Now()
			bar, barKey := u.path("bar.crt"), u.path("bar.key")
			u.ok(t, "ca", "certificate", "bar.example.com", bar, barKey, "--provisioner-password-file", pw)
			checkIssued(t, up, bar, barKey, "bar.example.com", 24*time.Hour, before, time.Now())
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			return
		}
	}
}

// TestRegistrationAuthorityX5C: an RA whose certificateIssuer is an X5C
// provisioner of the upstream (a certificate the upstream issued, and its
// key) signs and revokes through it.
func TestRegistrationAuthorityX5C(t *testing.T) {
	t.Parallel()
	up := initPKI(t)
	up.op.ok(t, "ca", "provisioner", "add", "x5cp", "--type", "X5C", "--x5c-root", filepath.Join(up.caPath, "certs", "root_ca.crt"))
	upCA := up.start(t)
	idUser := up.client(t)
	idCrt, idKey := idUser.path("ra.crt"), idUser.path("ra.key")
	idUser.ok(t, "ca", "certificate", "ra.example.com", idCrt, idKey, "--provisioner", "admin",
		"--provisioner-password-file", idUser.path("password.txt"), "--not-after", "2h")
	ra := newRA(t, up, map[string]any{"type": "x5c", "provisioner": "x5cp", "crt": idCrt, "key": idKey})
	startRA(t, t, ra, up)
	u := ra.client(t)
	crt, key := u.path("svc.crt"), u.path("svc.key")
	// The upstream caps what an X5C credential obtains at its NotAfter
	// (2h): a longer request is refused upstream, and the RA says so.
	r := u.fails(t, "ca", "certificate", "svc.example.com", crt, key, "--provisioner-password-file", u.path("password.txt"))
	if !strings.Contains(r.output(), "upstream CA "+up.url+" answered 403") {
		t.Fatalf("want the upstream's 403 named in the message:\n%s", r)
	}
	mustNotExist(t, crt)
	u.ok(t, "ca", "certificate", "svc.example.com", crt, key, "--provisioner-password-file", u.path("password.txt"), "--not-after", "1h")
	chain := readCerts(t, crt)
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(up.root)
	for _, c := range chain[1:] {
		inters.AddCert(c)
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{DNSName: "svc.example.com", Roots: roots, Intermediates: inters}); err != nil {
		t.Fatalf("%s does not chain to the upstream's root: %v", crt, err)
	}
	if ext := provisionerExtension(t, chain[0]); ext.typ != 7 || ext.name != "x5cp" {
		t.Fatalf("provisioner extension %+v, want the upstream's X5C provisioner x5cp (7)", ext)
	}
	sn := chain[0].SerialNumber.String()
	u.ok(t, "ca", "revoke", sn, "--provisioner-password-file", u.path("password.txt"))
	upCA.stop(t)
	st := openUpstreamDB(t, up)
	defer st.Close()
	if _, err := st.GetRevocation(context.Background(), sn); err != nil {
		t.Fatalf("the revocation of %s through the X5C RA is not in the upstream's database: %v", sn, err)
	}
}
