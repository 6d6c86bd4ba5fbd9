// Package localkms runs local-kms (github.com/nsmithuk/local-kms, an AWS
// KMS-compatible server) in the test process on 127.0.0.1, for the awskms
// backend's tests and the end-to-end tests.
package localkms

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	lkmsconfig "github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
	"github.com/nsmithuk/local-kms/src/handler"
	"github.com/sirupsen/logrus"
)

// Region is the region every local-kms of the process answers for
// (local-kms keeps it in a package variable).
const Region = "eu-west-2"

var setup sync.Once

// Server is one running local-kms.
type Server struct {
	// URL is its endpoint, http://127.0.0.1:port.
	URL string
	// CredentialsFile holds fake static credentials the SDK signs with.
	CredentialsFile string

	addr string
	db   *data.Database
	mu   *sync.Mutex
	srv  **http.Server
}

// handle dispatches one KMS JSON request ("X-Amz-Target: TrentService.Sign")
// to local-kms's handler with a silent logger (its package logger prints
// every operation).
func (s Server) handle(w http.ResponseWriter, r *http.Request) {
	_, op, ok := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	if r.Method != http.MethodPost || !ok {
		http.Error(w, "not a KMS request", http.StatusBadRequest)
		return
	}
	quiet := logrus.New()
	quiet.Out = io.Discard
	h := handler.NewRequestHandler(r, quiet, s.db)
	m := reflect.ValueOf(h).MethodByName(op)
	if !m.IsValid() || m.Type().NumIn() != 0 || m.Type().NumOut() != 1 {
		http.Error(w, "operation not implemented by local-kms: "+op, http.StatusNotImplemented)
		return
	}
	resp, ok := m.Call(nil)[0].Interface().(handler.Response)
	if !ok {
		http.Error(w, "unexpected local-kms response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(resp.Code)
	_, _ = io.WriteString(w, resp.Body)
}

func (s Server) serve(l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(s.handle)}
	s.mu.Lock()
	*s.srv = srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(l) }()
}

// Stop closes the listener and every connection: the KMS is down.
func (s Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if *s.srv != nil {
		_ = (*s.srv).Close()
		*s.srv = nil
	}
}

// Restart serves again on the same address with the same keys.
func (s Server) Restart(t testing.TB) {
	t.Helper()
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Fatalf("local-kms restart on %s: %v", s.addr, err)
	}
	s.serve(l)
}

// KMSURI returns the awskms kms URI that reaches s.
func (s Server) KMSURI() string {
	return fmt.Sprintf("awskms:region=%s;endpoint=%s;credentials-file=%s", Region, s.URL, s.CredentialsFile)
}

// Start starts local-kms with a fresh database in t.TempDir(); it stops
// with t.
func Start(t testing.TB) Server {
	t.Helper()
	setup.Do(func() {
		lkmsconfig.AWSRegion = Region
		lkmsconfig.AWSAccountId = "111122223333"
	})
	dir := t.TempDir()
	db := data.NewDatabase(filepath.Join(dir, "db"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = AKIDLOCALKMS\naws_secret_access_key = local-kms-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := Server{URL: "http://" + l.Addr().String(), CredentialsFile: creds, addr: l.Addr().String(), db: db,
		mu: &sync.Mutex{}, srv: new(*http.Server)}
	s.serve(l)
	t.Cleanup(func() {
		s.Stop()
		db.Close()
	})
	return s
}
