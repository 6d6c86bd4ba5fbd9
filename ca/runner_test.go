package ca_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/ca"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// refresher is a provisioner with background work: it reports when its Run
// starts and when its context ends.
type refresher struct {
	name    string
	started chan string
	stopped chan string
}

func (r *refresher) Info() provisioner.Info {
	return provisioner.Info{ID: "r/" + r.name, Name: r.name, Type: provisioner.TypeOIDC}
}
func (r *refresher) TokenID() string                      { return "r/" + r.name }
func (r *refresher) Claims() provisioner.Resolved         { return provisioner.DefaultClaims }
func (r *refresher) EncryptedKey() (string, string, bool) { return "", "", false }
func (r *refresher) JSON() json.RawMessage                { return json.RawMessage(`{}`) }
func (r *refresher) AuthorizeSign(context.Context, *token.Token) (*provisioner.X509Plan, error) {
	return nil, errs.Errorf(errs.Unauthorized, "no")
}
func (r *refresher) AuthorizeRevoke(context.Context, *token.Token) error {
	return errs.Errorf(errs.Unauthorized, "no")
}
func (r *refresher) AuthorizeRenew(context.Context, *x509.Certificate) error {
	return errs.Errorf(errs.Unauthorized, "no")
}
func (r *refresher) Run(ctx context.Context) error {
	r.started <- r.name
	<-ctx.Done()
	r.stopped <- r.name
	return nil
}

func recv(t *testing.T, ch chan string, what string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: nothing after 60s", what)
		return ""
	}
}

// TestRunnersFollowTheSnapshot checks that the server runs the background
// work of the snapshot's provisioners (provisioner.Runner), stops it when a
// new snapshot replaces it, and stops the new one's when Run returns.
func TestRunnersFollowTheSnapshot(t *testing.T) {
	t.Parallel()
	started, stopped := make(chan string, 4), make(chan string, 4)
	newEnv := func(name string) *at.Env {
		reg := provisioner.Registry{provisioner.TypeOIDC: func(json.RawMessage, provisioner.Config) (provisioner.Interface, error) {
			return &refresher{name: name, started: started, stopped: stopped}, nil
		}}
		return at.New(t, at.Options{Registry: reg, MoreProvisioners: []json.RawMessage{json.RawMessage(`{"type":"OIDC","name":"` + name + `"}`)}})
	}
	snap := func(e *at.Env) *ca.Snapshot {
		return &ca.Snapshot{Authority: e.Authority, CommonName: "Test CA", DNSNames: []string{"localhost"},
			TLS: ca.TLSOptions{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}}
	}
	first := newEnv("first")
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv, err := ca.NewServer(ca.Options{Address: "127.0.0.1:0", Handler: h, Now: first.Clock.Now, ShutdownTimeout: 5 * time.Second}, snap(first))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	if got := recv(t, started, "start"); got != "first" {
		t.Fatalf("started %q", got)
	}
	if err := srv.Swap(snap(newEnv("second"))); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, stopped, "swap"); got != "first" {
		t.Fatalf("stopped %q at the swap, want first", got)
	}
	if got := recv(t, started, "swap"); got != "second" {
		t.Fatalf("started %q at the swap, want second", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := recv(t, stopped, "shutdown"); got != "second" {
		t.Fatalf("stopped %q at shutdown, want second", got)
	}
}
