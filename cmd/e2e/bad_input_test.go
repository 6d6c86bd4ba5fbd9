package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// checkOneLine fails t unless r exited non-zero on its own and printed
// exactly one error line on stderr (progress lines aside) containing every
// one of wants.
func checkOneLine(t *testing.T, r result, wants ...string) {
	t.Helper()
	if r.code <= 0 || r.err != nil {
		t.Fatalf("command did not fail as it should have:\n%s", r)
	}
	lines := r.errorLines()
	if len(lines) != 1 {
		t.Fatalf("want exactly one error line on stderr, got %d:\n%s", len(lines), r)
	}
	for _, w := range wants {
		if !strings.Contains(lines[0], w) {
			t.Fatalf("the error line does not contain %q:\n%s", w, r)
		}
	}
}

// TestBadInput feeds the binaries mistakes a user makes. Each must fail with
// a non-zero exit and one clear line on stderr, and must leave every file as
// it was.
func TestBadInput(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	op := p.op
	const wrongPassword = "not-the-password"
	wrongPW := op.writeFile(t, "wrong-password.txt", wrongPassword+"\n", 0o600)

	// step-ca failures first: the CA must not be running for these (it
	// would hold the database lock).
	t.Run("step-ca with the wrong password", func(t *testing.T) {
		before := snapshot(t, p.caPath, "db")
		r := op.stepCA(p.configPath(), "--password-file", wrongPW)
		checkOneLine(t, r, "intermediate_ca_key", "password")
		if strings.Contains(r.output(), wrongPassword) {
			t.Fatalf("step-ca printed the password:\n%s", r)
		}
		sameSnapshot(t, "step-ca with the wrong password", before, snapshot(t, p.caPath, "db"))
		if dialable(p.addr) {
			t.Fatalf("something listens on %s although step-ca failed to start", p.addr)
		}
	})

	t.Run("ca.json with several mistakes", func(t *testing.T) {
		var cfg map[string]any
		if err := json.Unmarshal(readFile(t, p.configPath()), &cfg); err != nil {
			t.Fatalf("ca.json: %v", err)
		}
		dbDir := filepath.Join(t.TempDir(), "must-not-be-created")
		cfg["address"] = "no-port-here"
		cfg["dnsNames"] = []string{}
		cfg["logger"] = map[string]any{"format": "xml"}
		cfg["tls"].(map[string]any)["minVersion"] = 1.7
		cfg["db"].(map[string]any)["dataSource"] = dbDir
		data, err := json.MarshalIndent(cfg, "", "\t")
		if err != nil {
			t.Fatalf("encode the broken ca.json: %v", err)
		}
		bad := op.writeFile(t, "broken-ca.json", string(data), 0o644)
		before := snapshot(t, p.caPath, "db")
		r := op.stepCA(bad, "--password-file", p.pwFile)
		if r.code <= 0 || r.err != nil {
			t.Fatalf("step-ca accepted a broken ca.json:\n%s", r)
		}
		mistakes := []string{"address", "dnsNames", "logger.format", "tls.minVersion"}
		lines := r.errorLines()
		if len(lines) != 1+len(mistakes) || !strings.Contains(lines[0], bad) {
			t.Fatalf("want a line naming %s and one line per mistake (%d), got %d lines:\n%s", bad, len(mistakes), len(lines), r)
		}
		for _, m := range mistakes {
			found := false
			for _, l := range lines[1:] {
				found = found || strings.HasPrefix(l, m+":")
			}
			if !found {
				t.Fatalf("no line reports the mistake in %s:\n%s", m, r)
			}
		}
		if strings.Contains(r.output(), "Serving HTTPS") {
			t.Fatalf("step-ca started serving with a broken ca.json:\n%s", r)
		}
		mustNotExist(t, dbDir)
		sameSnapshot(t, "step-ca with a broken ca.json", before, snapshot(t, p.caPath, "db"))
	})

	t.Run("address already in use", func(t *testing.T) {
		l, err := net.Listen("tcp", p.addr)
		if err != nil {
			t.Fatalf("occupy %s: %v", p.addr, err)
		}
		defer l.Close()
		before := snapshot(t, p.caPath, "db")
		r := op.stepCA(p.configPath(), "--password-file", p.pwFile)
		checkOneLine(t, r, p.addr, "in use")
		sameSnapshot(t, "step-ca on a busy address", before, snapshot(t, p.caPath, "db"))
	})

	t.Run("init into an unwritable STEPPATH", func(t *testing.T) {
		// Tests may run as root, for whom directory modes do not stop
		// writes; a path below a regular file cannot be created by anyone.
		u := newUser(t, "")
		file := u.writeFile(t, "regular-file", "precious\n", 0o600)
		u.stepPath = filepath.Join(file, "sub")
		pw := u.writeFile(t, "password.txt", passwordFileText, 0o600)
		before := snapshot(t, u.dir)
		r := u.run("ca", "init", "--name", caName, "--dns", "localhost", "--address", p.addr,
			"--provisioner", "admin", "--password-file", pw, "--provisioner-password-file", pw)
		checkOneLine(t, r, file)
		sameSnapshot(t, "step ca init into "+u.stepPath, before, snapshot(t, u.dir))
	})

	t.Run("init again without --force", func(t *testing.T) {
		before := snapshot(t, p.caPath)
		r := op.run(p.initArgs()...)
		checkOneLine(t, r, "--force")
		sameSnapshot(t, "a second step ca init", before, snapshot(t, p.caPath))
	})

	// Client mistakes, against a running CA.
	startCA(t, p.caPath, p.pwFile)
	u := p.client(t)
	clientPW := u.writeFile(t, "wrong-password.txt", wrongPassword+"\n", 0o600)

	t.Run("certificate with a wrong provisioner password", func(t *testing.T) {
		r := u.run("ca", "certificate", "w.example.com", u.path("w.crt"), u.path("w.key"), "--provisioner-password-file", clientPW)
		checkOneLine(t, r, "password")
		if strings.Contains(r.output(), wrongPassword) {
			t.Fatalf("step printed the password:\n%s", r)
		}
		mustNotExist(t, u.path("w.crt"))
		mustNotExist(t, u.path("w.key"))
	})

	t.Run("bootstrap with a wrong fingerprint", func(t *testing.T) {
		v := newUser(t, filepath.Join(t.TempDir(), "client"))
		wrong := strings.Repeat("ab", 32)
		r := v.run("ca", "bootstrap", "--ca-url", p.url, "--fingerprint", wrong)
		checkOneLine(t, r, "fingerprint")
		mustNotExist(t, v.stepPath)
	})

	t.Run("bootstrap against a server with another root", func(t *testing.T) {
		srv, paths := impostorCA(t)
		v := newUser(t, filepath.Join(t.TempDir(), "client"))
		r := v.run("ca", "bootstrap", "--ca-url", srv.URL, "--fingerprint", p.fp)
		checkOneLine(t, r, "root certificate fingerprint does not match")
		if got := paths(); len(got) != 1 || got[0] != "/root/"+p.fp {
			t.Fatalf("step ca bootstrap requested %v, want just /root/%s", got, p.fp)
		}
		mustNotExist(t, v.stepPath)
	})

	t.Run("certificate to an existing file without --force", func(t *testing.T) {
		pw := u.path("password.txt")
		crt, key := u.path("mine.crt"), u.path("mine.key")
		u.ok(t, "ca", "certificate", "mine.example.com", crt, key, "--provisioner-password-file", pw)
		before := snapshot(t, u.dir)
		r := u.run("ca", "certificate", "mine.example.com", crt, key, "--provisioner-password-file", pw)
		checkOneLine(t, r, "mine.crt", "exists")
		sameSnapshot(t, "step ca certificate without --force", before, snapshot(t, u.dir))
	})

	t.Run("renew a garbage certificate file", func(t *testing.T) {
		garbage := u.writeFile(t, "garbage.crt", "this is not a certificate\n", 0o600)
		key := u.path("mine.key") // written by the previous subtest
		if _, err := os.Stat(key); err != nil {
			t.Fatalf("the key from the previous subtest is missing: %v", err)
		}
		before := snapshot(t, u.dir)
		r := u.run("ca", "renew", garbage, key, "--force")
		checkOneLine(t, r, garbage)
		sameSnapshot(t, "step ca renew of a garbage file", before, snapshot(t, u.dir))
	})
}

// impostorCA starts a TLS server on loopback that answers every /root/...
// request with a root certificate of its own, as a man in the middle would.
// paths returns the request paths seen so far.
func impostorCA(t *testing.T) (srv *httptest.Server, paths func() []string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate the impostor key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Impostor Root CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("create the impostor root: %v", err)
	}
	body, _ := json.Marshal(map[string]string{"ca": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))})
	var mu sync.Mutex
	var seen []string
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		if !strings.HasPrefix(r.URL.Path, "/root/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(body, '\n'))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}
