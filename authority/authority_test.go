package authority_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/db/memory"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
)

func baseOptions(t *testing.T) authority.Options {
	t.Helper()
	pki := at.NewPKI(t, at.Epoch, time.Hour)
	return authority.Options{
		Roots:         []*x509.Certificate{pki.Root},
		Intermediates: []*x509.Certificate{pki.Intermediate},
		Signer:        pki.IntermediateKey,
		DNSNames:      []string{at.DNSName},
		Registry:      at.Registry(),
		Store:         memory.New(),
		Now:           func() time.Time { return at.Epoch },
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	admin := at.NewJWK(t, "admin")
	tests := []struct {
		name string
		mod  func(*authority.Options)
		want string
	}{
		{"no root", func(o *authority.Options) { o.Roots = nil }, "root"},
		{"no store", func(o *authority.Options) { o.Store = nil }, "store"},
		{"no intermediate", func(o *authority.Options) { o.Intermediates = nil }, "intermediate"},
		{"wrong key", func(o *authority.Options) { o.Signer = at.NewKey(t) }, "does not match"},
		{"negative backdate", func(o *authority.Options) { o.Backdate = -time.Second }, "backdate"},
		{"bad claims", func(o *authority.Options) {
			o.Claims = &provisioner.Claims{MinTLSDur: &provisioner.Duration{Duration: 48 * time.Hour}}
		}, "authority.claims"},
		{"duplicate provisioner names", func(o *authority.Options) {
			o.Provisioners = []json.RawMessage{admin.Entry(t, nil), at.NewJWK(t, "admin").Entry(t, nil)}
		}, "authority.provisioners"},
	}
	for _, tc := range tests {
		o := baseOptions(t)
		tc.mod(&o)
		if _, err := authority.New(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: New = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestNewProvisioners(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := logrus.New()
	logger.Out = &logs
	o := baseOptions(t)
	o.Logger = logger
	admin := at.NewJWK(t, "admin")
	o.Provisioners = []json.RawMessage{
		admin.Entry(t, nil),
		json.RawMessage(`{"type":"FUTURE","name":"skipped"}`),
		json.RawMessage(`{"type":"OIDC","name":"google","clientID":"c"}`),
		json.RawMessage(`{"type":"JWK","name":"nokey"}`),
	}
	a, err := authority.New(o)
	if err != nil {
		t.Fatal(err)
	}
	all := a.Provisioners().All()
	if len(all) != 3 || all[0].Info().Name != "admin" || all[1].Info().Name != "google" || all[2].Info().Name != "nokey" {
		t.Fatalf("provisioners = %v", all)
	}
	for _, p := range all[1:] {
		var m map[string]any
		if err := json.Unmarshal(p.JSON(), &m); err != nil {
			t.Fatal(err)
		}
		if m["state"] != "Uninitialized" || m["stateReason"] == "" {
			t.Fatalf("%s JSON = %s", p.Info().Name, p.JSON())
		}
	}
	if !strings.Contains(logs.String(), "nokey") || !strings.Contains(logs.String(), "level=warning") {
		t.Fatalf("no warning logged for the failed provisioner: %s", logs.String())
	}
	if a.Claims() != provisioner.DefaultClaims {
		t.Fatalf("Claims = %+v", a.Claims())
	}
}

func TestRoots(t *testing.T) {
	t.Parallel()
	o := baseOptions(t)
	federated := at.NewPKI(t, at.Epoch, time.Hour).Root
	o.FederatedRoots = []*x509.Certificate{federated}
	a, err := authority.New(o)
	if err != nil {
		t.Fatal(err)
	}
	root := o.Roots[0]
	if len(a.Roots()) != 1 || a.Roots()[0] != root {
		t.Fatal("Roots")
	}
	if fed := a.Federation(); len(fed) != 2 || fed[0] != root || fed[1] != federated {
		t.Fatalf("Federation = %d certificates", len(fed))
	}
	if a.Issuer().Certificate() != o.Intermediates[0] {
		t.Fatal("Issuer")
	}
	if _, err := root.Verify(x509.VerifyOptions{Roots: a.RootPool(), CurrentTime: at.Epoch}); err != nil {
		t.Fatalf("RootPool: %v", err)
	}

	sum := func(c *x509.Certificate) string {
		s := sha256.Sum256(c.Raw)
		return hex.EncodeToString(s[:])
	}
	dashed := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i += 2 {
			if i > 0 {
				b.WriteByte('-')
			}
			b.WriteString(s[i : i+2])
		}
		return b.String()
	}
	for _, in := range []string{sum(root), strings.ToUpper(sum(root)), dashed(sum(root))} {
		if c, err := a.Root(in); err != nil || c != root {
			t.Fatalf("Root(%s) = %v", in, err)
		}
	}
	if c, err := a.Root(sum(federated)); err != nil || c != federated {
		t.Fatalf("Root(federated) = %v", err)
	}
	missing := strings.Repeat("ab", 32)
	_, err = a.Root(strings.ToUpper(missing))
	wantErr(t, err, errs.NotFound, fmt.Sprintf("root certificate with fingerprint %q was not found", missing))
}

func TestEncodePEM(t *testing.T) {
	t.Parallel()
	der := bytes.Repeat([]byte{0xab}, 100)
	s := authority.EncodePEM(der)
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != "CERTIFICATE" || !bytes.Equal(block.Bytes, der) || len(rest) != 0 {
		t.Fatalf("EncodePEM = %q", s)
	}
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if len(line) > 64 {
			t.Fatalf("line longer than 64 columns: %q", line)
		}
	}
}
