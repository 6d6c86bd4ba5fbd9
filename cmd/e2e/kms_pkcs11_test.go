//go:build cgo && !nopkcs11

package e2e

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/kms/kmstest"
)

// hsmUser runs step with SOFTHSM2_CONF pointing at the test's token.
type hsmUser struct {
	*user
	hsm kmstest.SoftHSM
}

func (h hsmUser) ok(t *testing.T, args ...string) result {
	t.Helper()
	r := runBinary(stepBin(), h.dir, append(commandEnv(h.home, h.stepPath), h.hsm.Env()), commandTimeout, args...)
	if r.code != 0 || r.err != nil {
		t.Fatalf("command failed, want exit code 0:\n%s", r)
	}
	return r
}

func (h hsmUser) fails(t *testing.T, args ...string) result {
	t.Helper()
	r := runBinary(stepBin(), h.dir, append(commandEnv(h.home, h.stepPath), h.hsm.Env()), commandTimeout, args...)
	if r.code <= 0 || r.err != nil {
		t.Fatalf("command did not fail as it should have:\n%s", r)
	}
	return r
}

// TestKMSPKCS11 follows the PKCS #11 walkthrough of step-ca's documentation
// (seed 002) on a SoftHSM2 token: step kms create, the root and
// intermediate made with step certificate create --kms, ca.json edited to
// the key URI and the kms block, then step-ca serves, signs and renews with
// the HSM key, and restarts with pin-source.
func TestKMSPKCS11(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	hsm := kmstest.NewSoftHSM(t, "mayfly-e2e")
	op := hsmUser{p.op, hsm}
	pkcsURI := hsm.URI()
	rootKey, interKey := "pkcs11:id=7331;object=root-ca", "pkcs11:id=7332;object=intermediate-ca"

	// $ step kms create --json --kms "$PKCS_URI" "pkcs11:id=7331;object=root-ca"
	r := op.ok(t, "kms", "create", "--json", "--kms", pkcsURI, rootKey)
	var created struct {
		Name      string `json:"name"`
		PublicKey string `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil {
		t.Fatalf("step kms create --json printed %q: %v", r.stdout, err)
	}
	if created.Name != rootKey {
		t.Fatalf("step kms create name = %q, want %q", created.Name, rootKey)
	}
	rootPub, err := pemutil.ParsePublicKey([]byte(created.PublicKey))
	if err != nil {
		t.Fatalf("step kms create publicKey: %v", err)
	}
	if !strings.HasPrefix(r.stdout, "{\n  \"name\": ") {
		t.Fatalf("step kms create --json is not indented as step's: %q", r.stdout)
	}
	op.ok(t, "kms", "create", "--json", "--kms", pkcsURI, interKey)
	op.fails(t, "kms", "create", "--kms", pkcsURI, rootKey) // exists already

	// The public key read back is the one created.
	r = op.ok(t, "kms", "key", "--kms", pkcsURI, rootKey)
	if got, err := pemutil.ParsePublicKey([]byte(r.stdout)); err != nil || !samePublicKey(got, rootPub) {
		t.Fatalf("step kms key printed another key (%v):\n%s", err, r.stdout)
	}

	// step kms sign: a signature over the file's SHA-256 that the public key verifies.
	data := op.user.writeFile(t, "data.bin", "mayfly signs this", 0o600)
	r = op.ok(t, "kms", "sign", "--kms", pkcsURI, "--in", data, rootKey)
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.stdout))
	digest := sha256.Sum256([]byte("mayfly signs this"))
	if err != nil || !ecdsa.VerifyASN1(rootPub.(*ecdsa.PublicKey), digest[:], sig) {
		t.Fatalf("step kms sign printed %q, which does not verify (%v)", r.stdout, err)
	}

	op.ok(t, "certificate", "create", "--profile", "root-ca", "--kms", pkcsURI, "--key", rootKey, "Smallstep Root CA", "root_ca.crt")
	op.ok(t, "certificate", "create", "--profile", "intermediate-ca", "--kms", pkcsURI, "--ca-kms", pkcsURI,
		"--ca", "root_ca.crt", "--ca-key", rootKey, "--key", interKey, "Smallstep Intermediate CA", "intermediate_ca.crt")
	root := readCerts(t, op.path("root_ca.crt"))[0]
	inter := readCerts(t, op.path("intermediate_ca.crt"))[0]
	if !samePublicKey(root.PublicKey, rootPub) {
		t.Fatal("the root certificate is not for the HSM root key")
	}
	if err := inter.CheckSignatureFrom(root); err != nil || !inter.IsCA {
		t.Fatalf("intermediate: CA=%v, %v", inter.IsCA, err)
	}
	// No key file was written next to the certificates.
	if entries, _ := filepath.Glob(op.path("*key*")); len(entries) != 0 {
		t.Fatalf("--kms wrote key files: %v", entries)
	}

	// $ cp root_ca.crt intermediate_ca.crt $(step path)/certs, and ca.json as the walkthrough says.
	for _, f := range []string{"root_ca.crt", "intermediate_ca.crt"} {
		if err := os.WriteFile(filepath.Join(p.caPath, "certs", f), readFile(t, op.path(f)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	metricsAddr, _ := freeAddr(t)
	editConfig(t, p.configPath(), func(cfg map[string]any) {
		cfg["key"] = interKey
		cfg["kms"] = map[string]any{"type": "pkcs11", "uri": pkcsURI}
		cfg["metricsAddress"] = metricsAddr
	})
	p.root, p.fp = root, fingerprint(root)

	ca := launchCAWith(t, t, p.caPath, []string{hsm.Env()}, p.configPath())
	ca.waitLog(t, 0, "Serving HTTPS on")
	ca.expectLog(t, 0, "X.509 Root Fingerprint: "+p.fp, "step-ca must print the HSM root's fingerprint")
	u := p.client(t)
	pw := u.path("password.txt")
	crt, key := u.path("leaf.crt"), u.path("leaf.key")

	t.Run("sign with the HSM key", func(t *testing.T) {
		before := time.Now()
		u.ok(t, "ca", "certificate", "leaf.example.com", crt, key, "--provisioner-password-file", pw)
		got := checkIssued(t, p, crt, key, "leaf.example.com", 24*time.Hour, before, time.Now())
		if err := got.leaf.CheckSignatureFrom(inter); err != nil {
			t.Fatalf("leaf is not signed by the HSM intermediate: %v", err)
		}
		// The HSM's signatures are metered (kms.Guard → metrics).
		const kmsCalls = `mayfly_kms_call_duration_seconds_count{backend="pkcs11",operation="sign",result="ok"} `
		if body := scrape(t, "http://"+metricsAddr+"/metrics"); !strings.Contains(body, "\n"+kmsCalls) {
			t.Fatalf("no %q series after an HSM signature:\n%s", kmsCalls, body)
		}
	})
	t.Run("renew", func(t *testing.T) {
		before := time.Now()
		u.ok(t, "ca", "renew", crt, key, "--force")
		checkIssued(t, p, crt, key, "leaf.example.com", 24*time.Hour, before, time.Now())
	})
	t.Run("health", func(t *testing.T) {
		if r := u.ok(t, "ca", "health"); strings.TrimSpace(r.stdout) != "ok" {
			t.Fatalf("step ca health = %q", r.stdout)
		}
	})
	t.Run("step certificate sign --kms", func(t *testing.T) {
		writeCSR(t, op.path("offline.csr"), "offline.example.com")
		r := op.ok(t, "certificate", "sign", "--kms", pkcsURI, op.path("offline.csr"), op.path("intermediate_ca.crt"), interKey)
		c, err := x509.ParseCertificate(pemBlock(t, r.stdout))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CheckSignatureFrom(inter); err != nil || c.Subject.CommonName != "offline.example.com" {
			t.Fatalf("step certificate sign --kms: %s, %v", c.Subject, err)
		}
	})
	ca.stop(t)

	t.Run("restart with pin-source", func(t *testing.T) {
		pinFile := op.user.writeFile(t, "hsm-pin.txt", hsm.Pin+"\n", 0o600)
		editConfig(t, p.configPath(), func(cfg map[string]any) {
			cfg["kms"] = map[string]any{"type": "pkcs11",
				"uri": fmt.Sprintf("pkcs11:module-path=%s;token=%s?pin-source=%s", kmstest.SoftHSMModule, hsm.Label, pinFile)}
		})
		ca := launchCAWith(t, t, p.caPath, []string{hsm.Env()}, p.configPath())
		ca.waitLog(t, 0, "Serving HTTPS on")
		before := time.Now()
		u.ok(t, "ca", "certificate", "again.example.com", u.path("again.crt"), u.path("again.key"), "--provisioner-password-file", pw)
		checkIssued(t, p, u.path("again.crt"), u.path("again.key"), "again.example.com", 24*time.Hour, before, time.Now())
		ca.stop(t)
	})
	t.Run("a wrong PIN stops step-ca with a clear error", func(t *testing.T) {
		editConfig(t, p.configPath(), func(cfg map[string]any) {
			cfg["kms"] = map[string]any{"type": "pkcs11",
				"uri": fmt.Sprintf("pkcs11:module-path=%s;token=%s?pin-value=0000", kmstest.SoftHSMModule, hsm.Label)}
		})
		ca := launchCAWith(t, t, p.caPath, []string{hsm.Env()}, p.configPath())
		line := ca.waitLog(t, 0, "pkcs11")
		<-ca.exited
		if ca.code == 0 || strings.Contains(ca.log.tail(40), "pin-value=0000") {
			t.Fatalf("step-ca with a wrong PIN: exit %d, line %q\n%s", ca.code, line, ca.log.tail(40))
		}
	})
}

func pemBlock(t *testing.T, s string) []byte {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("no PEM in %q", s)
	}
	return b.Bytes
}

// TestKMSInitPKCS11: step ca init --kms creates the root and intermediate
// keys in the token, writes no key file, and the CA it configures serves.
func TestKMSInitPKCS11(t *testing.T) {
	t.Parallel()
	needBinaries(t)
	hsm := kmstest.NewSoftHSM(t, "mayfly-init")
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte(hsm.Pin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	uri := fmt.Sprintf("pkcs11:module-path=%s;token=%s?pin-source=%s", kmstest.SoftHSMModule, hsm.Label, pinFile)
	p := &testPKI{caPath: filepath.Join(t.TempDir(), "ca")}
	p.addr, p.port = freeAddr(t)
	p.url = "https://localhost:" + p.port
	p.op = newUser(t, p.caPath)
	p.pwFile = p.op.writeFile(t, "password.txt", passwordFileText, 0o600)
	op := hsmUser{p.op, hsm}
	r := op.ok(t, append(p.initArgs(), "--kms", uri)...)
	if !strings.Contains(r.output(), "pkcs11:id=7331;object=intermediate-ca") {
		t.Fatalf("step ca init --kms does not report the intermediate key URI:\n%s", r)
	}
	mustNotExist(t, filepath.Join(p.caPath, "secrets", "root_ca_key"))
	mustNotExist(t, filepath.Join(p.caPath, "secrets", "intermediate_ca_key"))
	var cfg struct {
		Key string `json:"key"`
		KMS struct {
			Type string `json:"type"`
			URI  string `json:"uri"`
		} `json:"kms"`
	}
	if err := json.Unmarshal(readFile(t, p.configPath()), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Key != "pkcs11:id=7331;object=intermediate-ca" || cfg.KMS.Type != "pkcs11" || cfg.KMS.URI != uri {
		t.Fatalf("ca.json key %q kms %+v", cfg.Key, cfg.KMS)
	}
	p.root = readCerts(t, filepath.Join(p.caPath, "certs", "root_ca.crt"))[0]
	p.fp = fingerprint(p.root)
	r = op.ok(t, "kms", "key", "--kms", uri, "pkcs11:id=7330;object=root-ca")
	if pub, err := pemutil.ParsePublicKey([]byte(r.stdout)); err != nil || !samePublicKey(pub, p.root.PublicKey) {
		t.Fatalf("the root certificate is not for the token's root key (%v)", err)
	}

	ca := launchCAWith(t, t, p.caPath, []string{hsm.Env()}, p.configPath())
	ca.waitLog(t, 0, "Serving HTTPS on")
	u := p.client(t)
	before := time.Now()
	u.ok(t, "ca", "certificate", "init.example.com", u.path("a.crt"), u.path("a.key"), "--provisioner-password-file", u.path("password.txt"))
	checkIssued(t, p, u.path("a.crt"), u.path("a.key"), "init.example.com", 24*time.Hour, before, time.Now())
}
