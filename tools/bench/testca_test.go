package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/api"
	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/ca"
	"github.com/mayfly-pki/mayfly/ca/pki"
	"github.com/mayfly-pki/mayfly/db/memory"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/jwk"
)

// testPassword protects the test PKIs' keys and provisioner.
const testPassword = "bench-test-password"

// testPKI is a step path made by `step ca init`'s code (ca/pki) with a
// password file next to it.
type testPKI struct {
	dir     string
	cfgPath string
	pwFile  string
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte(testPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := pki.Init(context.Background(), filepath.Join(dir, "steppath"), pki.Options{
		Name: "Bench Test", DNSNames: []string{"localhost"}, Address: "127.0.0.1:9000",
		ProvisionerName: "admin", Password: []byte(testPassword), NoDB: true,
	})
	if err != nil {
		t.Fatalf("pki.Init: %v", err)
	}
	return &testPKI{dir: dir, cfgPath: res.CAConfigPath, pwFile: pw}
}

// startTestCA serves p's CA in this process (the api, authority and ca
// packages as step-ca wires them, with the in-memory store) on a free
// loopback port, until the test ends. It returns the CA's URL.
func startTestCA(t *testing.T, p *testPKI) string {
	t.Helper()
	cfg, err := config.Load(p.cfgPath)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	var roots []*x509.Certificate
	for _, path := range cfg.Roots() {
		cs, err := pemutil.ReadCertificates(path)
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, cs...)
	}
	chain, err := pemutil.ReadCertificates(cfg.IntermediateCert)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(cfg.IntermediateKey)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := pemutil.ParsePrivateKey(keyPEM, []byte(testPassword))
	if err != nil {
		t.Fatalf("intermediate key: %v", err)
	}
	tlsOpts, err := cfg.ResolveTLS()
	if err != nil {
		t.Fatal(err)
	}
	auth, err := authority.New(authority.Options{
		Roots: roots, Intermediates: chain, Signer: signer, DNSNames: cfg.DNSNames,
		Provisioners: cfg.Authority.Provisioners,
		Registry:     provisioner.Registry{provisioner.TypeJWK: jwk.New},
		Backdate:     time.Minute, StartTime: time.Now(), Store: memory.New(),
	})
	if err != nil {
		t.Fatalf("authority.New: %v", err)
	}
	handler := api.New(api.Deps{Authority: func() *authority.Authority { return auth }, Version: "test"})
	srv, err := ca.NewServer(ca.Options{Address: "127.0.0.1:0", Handler: handler, ShutdownTimeout: 5 * time.Second},
		&ca.Snapshot{Authority: auth, CommonName: "Step Online CA", DNSNames: cfg.DNSNames, TLS: ca.TLSOptions{
			MinVersion: tlsOpts.MinVersion, MaxVersion: tlsOpts.MaxVersion, CipherSuites: tlsOpts.CipherSuites,
		}})
	if err != nil {
		t.Fatalf("ca.NewServer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("CA server: %v", err)
		}
	})
	return fmt.Sprintf("https://localhost:%d", srv.Addr().(*net.TCPAddr).Port)
}
