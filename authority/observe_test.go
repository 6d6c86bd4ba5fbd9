package authority_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/db/memory"
	"github.com/mayfly-pki/mayfly/internal/audit"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// countingMeter records the authority's reports.
type countingMeter struct {
	mu      sync.Mutex
	certs   map[string]int // "op provisioner result"
	replays map[string]int
}

func newCountingMeter() *countingMeter {
	return &countingMeter{certs: map[string]int{}, replays: map[string]int{}}
}

func (m *countingMeter) Certificate(op, prov, result string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.certs[op+" "+prov+" "+result]++
}

func (m *countingMeter) TokenReplay(prov string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.replays[prov]++
}

func auditLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestDecisionsAreMeteredAndAudited(t *testing.T) {
	t.Parallel()
	m := newCountingMeter()
	var buf bytes.Buffer
	log, err := audit.Open(audit.Options{Out: &buf, Chain: true})
	if err != nil {
		t.Fatal(err)
	}
	env := at.New(t, at.Options{Meter: m, Audit: log, Store: at.OpenBadger(t)})
	rctx := audit.WithRequest(context.Background(), &audit.Request{ID: "req-1", ClientAddress: "127.0.0.9:4000"})

	// Issue, then replay the same token.
	key := at.NewKey(t)
	csr := at.NewCSR(t, at.CSR{CommonName: "o.example.com", DNSNames: []string{"o.example.com"}, Key: key})
	ott := env.SignToken(t, "o.example.com")
	iss, err := env.Authority.Sign(rctx, &authority.SignRequest{CSR: csr, OTT: ott})
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.Authority.Sign(rctx, &authority.SignRequest{CSR: csr, OTT: ott})
	wantErr(t, err, errs.Unauthorized, "")
	// Renew, rekey, revoke.
	cert := parse(t, iss.DER)
	if _, err := env.Authority.Renew(ctx, cert); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Authority.Rekey(ctx, cert, at.NewCSR(t, at.CSR{Key: at.NewKey(t)})); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: iss.Serial(), ReasonCode: 1, OTT: env.RevokeToken(t, iss.Serial())}); err != nil {
		t.Fatal(err)
	}
	// A revoked certificate cannot renew: refused.
	_, err = env.Authority.Renew(ctx, cert)
	wantErr(t, err, errs.Unauthorized, "")

	for k, want := range map[string]int{
		"sign admin ok": 1, "sign admin unauthorized": 1, "renew admin ok": 1, "rekey admin ok": 1,
		"revoke admin ok": 1, "renew admin unauthorized": 1,
	} {
		if m.certs[k] != want {
			t.Errorf("meter %q = %d, want %d (all: %v)", k, m.certs[k], want, m.certs)
		}
	}
	if m.replays["admin"] != 1 || len(m.replays) != 1 {
		t.Errorf("replays = %v, want admin: 1", m.replays)
	}

	if strings.Contains(buf.String(), ott) || strings.Contains(buf.String(), "eyJ") {
		t.Fatal("the audit log holds a token")
	}
	lines := auditLines(t, &buf)
	if len(lines) != 6 {
		t.Fatalf("want 6 audit lines, got %d:\n%s", len(lines), buf.String())
	}
	issued := lines[0]
	for k, want := range map[string]any{
		"decision": "issue", "operation": "sign", "requestId": "req-1", "clientAddress": "127.0.0.9:4000",
		"provisioner": "admin", "subject": "CN=o.example.com", "serial": iss.Serial(), "outcome": "ok",
		"notAfter": cert.NotAfter.UTC().Format(time.RFC3339),
	} {
		if issued[k] != want {
			t.Errorf("issue line: %s = %v, want %v", k, issued[k], want)
		}
	}
	if sans, _ := issued["sans"].([]any); len(sans) != 1 || sans[0] != "o.example.com" {
		t.Errorf("issue line: sans = %v", issued["sans"])
	}
	refused := lines[1]
	if refused["decision"] != "refuse" || refused["operation"] != "sign" || refused["outcome"] != "unauthorized" ||
		!strings.Contains(refused["reason"].(string), "token already used") || refused["provisioner"] != "admin" ||
		refused["subject"] != "CN=o.example.com" {
		t.Errorf("refusal line: %v", refused)
	}
	for i, want := range []string{"issue", "refuse", "renew", "rekey", "revoke", "refuse"} {
		if lines[i]["decision"] != want {
			t.Errorf("line %d: decision %v, want %s", i+1, lines[i]["decision"], want)
		}
	}
	if lines[4]["serial"] != iss.Serial() || lines[4]["reason"] != "keycompromise" {
		t.Errorf("revoke line: %v", lines[4])
	}
	if lines[5]["serial"] != iss.Serial() || lines[5]["operation"] != "renew" {
		t.Errorf("refused renew line: %v", lines[5])
	}
	if res, err := audit.Verify(bytes.NewReader(buf.Bytes())); err != nil || res.Lines != 6 {
		t.Fatalf("verify: %+v %v", res, err)
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	st := at.OpenBadger(t)
	env := at.New(t, at.Options{Store: st})
	if err := env.Authority.Ready(ctx); err != nil {
		t.Fatalf("Ready with an open database: %v", err)
	}
	_ = st.Close()
	err := env.Authority.Ready(ctx)
	wantErr(t, err, errs.Unavailable, "")
	if !strings.Contains(err.Error(), "database is not reachable") {
		t.Fatalf("got %v", err)
	}
}

// failingSigner signs with its key until broken is set (a token removed
// from an HSM, a revoked cloud key).
type failingSigner struct {
	crypto.Signer
	broken atomic.Bool
}

func (s *failingSigner) Sign(r io.Reader, digest []byte, o crypto.SignerOpts) ([]byte, error) {
	if s.broken.Load() {
		return nil, errors.New("CKR_DEVICE_REMOVED")
	}
	return s.Signer.Sign(r, digest, o)
}

func TestReadyNeedsAWorkingKey(t *testing.T) {
	t.Parallel()
	pki := at.NewPKI(t, at.Epoch, 30*24*time.Hour)
	signer := &failingSigner{Signer: pki.IntermediateKey}
	a, err := authority.New(authority.Options{
		Roots: []*x509.Certificate{pki.Root}, Intermediates: []*x509.Certificate{pki.Intermediate},
		Signer: signer, Registry: at.Registry(), Store: memory.New(), Now: func() time.Time { return at.Epoch },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	signer.broken.Store(true)
	err = a.Ready(ctx)
	wantErr(t, err, errs.Unavailable, "")
	if !strings.Contains(err.Error(), "issuing key is not usable") || !strings.Contains(err.Error(), "CKR_DEVICE_REMOVED") {
		t.Fatalf("got %v", err)
	}
}
