package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/lego"
	legolog "github.com/go-acme/lego/v5/log"
	"github.com/go-acme/lego/v5/registration"
)

// lateHTTP01 is a lego http-01 provider whose server is not listening when
// the CA first validates: it starts listening on addr only when start is
// called (after the CA answered the challenge POST with processing).
type lateHTTP01 struct {
	addr   string
	tokens sync.Map // token → key authorization
	served atomic.Int32
	once   sync.Once
	srv    *http.Server
	err    error
}

func (l *lateHTTP01) Present(_ context.Context, _, token, keyAuth string) error {
	l.tokens.Store(token, keyAuth)
	return nil
}

func (l *lateHTTP01) CleanUp(_ context.Context, _, token, _ string) error {
	l.tokens.Delete(token)
	return nil
}

// start listens on addr and serves the tokens; once.
func (l *lateHTTP01) start() {
	l.once.Do(func() {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			l.err = err
			return
		}
		l.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ka, ok := l.tokens.Load(strings.TrimPrefix(r.URL.Path, "/.well-known/acme-challenge/"))
			if !ok {
				http.NotFound(w, r)
				return
			}
			l.served.Add(1)
			_, _ = io.WriteString(w, ka.(string))
		})}
		go func() { _ = l.srv.Serve(ln) }()
	})
}

func (l *lateHTTP01) close() {
	l.once.Do(func() {}) // no start after the test
	if l.srv != nil {
		_ = l.srv.Close()
	}
}

// onProcessing calls fn when the CA answers a challenge POST with a
// Retry-After: the challenge is processing (RFC 8555 §8.2).
type onProcessing struct {
	rt http.RoundTripper
	fn func()
}

func (o onProcessing) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := o.rt.RoundTrip(r)
	if err == nil && r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/challenge/") && resp.Header.Get("Retry-After") != "" {
		o.fn()
	}
	return resp, err
}

// TestACMELegoRetry: lego's http-01 server is not listening when the CA
// first validates (the dial is refused): the challenge is processing with a
// Retry-After, the server starts listening, and the CA's background retry
// validates it; lego, polling the authorization, gets the certificate.
func TestACMELegoRetry(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("http-01 needs port 80: run as root")
	}
	const name, ip = "retry.acme.test", "127.0.0.21"
	p, ca, _ := acmePKI(t, map[string]string{name: ip}, false)
	if c, err := net.DialTimeout("tcp", ip+":80", 5*time.Second); err == nil {
		c.Close()
		t.Fatalf("something already listens on %s:80: the first validation would not be refused", ip)
	}
	resp := &lateHTTP01{addr: ip + ":80"}
	t.Cleanup(resp.close)
	var processing atomic.Bool

	legolog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	u := &legoUser{key: key}
	cfg := lego.NewConfig(u)
	cfg.CADirURL = p.url + "/acme/acme/directory"
	pool := x509.NewCertPool()
	pool.AddCert(p.root)
	cfg.HTTPClient = &http.Client{Timeout: time.Minute, Transport: onProcessing{
		rt: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		fn: func() { processing.Store(true); resp.start() },
	}}
	cfg.Certificate.Timeout = time.Minute
	c, err := lego.NewClient(cfg)
	if err != nil {
		t.Fatalf("lego client: %v", err)
	}
	if u.reg, err = c.Registration.Register(context.Background(), registration.RegisterOptions{TermsOfServiceAgreed: true}); err != nil {
		t.Fatalf("register: %v", err)
	}
	if err := c.Challenge.SetHTTP01Provider(resp); err != nil {
		t.Fatal(err)
	}
	from := ca.log.mark()
	res, err := c.Certificate.Obtain(context.Background(), certificate.ObtainRequest{Domains: []string{name}, KeyType: certcrypto.EC256, Bundle: true})
	if err != nil {
		t.Fatalf("obtain: %v\nCA log:\n%s", err, ca.log.tail(20))
	}
	resp.once.Do(func() {}) // start has returned: err is set
	if resp.err != nil {
		t.Fatalf("http-01 server: %v", resp.err)
	}
	if !processing.Load() {
		t.Fatal("the challenge POST was never answered processing with a Retry-After")
	}
	if resp.served.Load() == 0 {
		t.Fatal("the CA never fetched the token from the late server")
	}
	checkACMEIssued(t, p, res, name)
	ca.waitLog(t, from, "retrying in the background")
	ca.waitLog(t, from, "acme challenge valid after retry")
}
