package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	legoacme "github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/lego"
	legolog "github.com/go-acme/lego/v5/log"
	"github.com/go-acme/lego/v5/registration"
)

// modeACME is the ACME run: each worker is an ACME account (the lego
// library, as the issue measured step-ca) doing new-order → http-01
// (answered by this process) → finalize → download, one certificate per
// request.
const modeACME = "acme"

// acmeOptions configure runACME.
type acmeOptions struct {
	Directory string         // the ACME directory URL (any CA: Mayfly or step-ca)
	Roots     *x509.CertPool // trusted for the CA's TLS and the chains
	// Identifier is what every order asks for: an IP (the CA validates
	// http-01 at http://IP:80) or a DNS name the CA resolves to Listen.
	Identifier string
	// Listen is where this process answers http-01 (port 80 of the
	// identifier's address, so usually root is needed).
	Listen    string
	C, N      int
	Duration  time.Duration
	Timeout   time.Duration
	ServerPID int
}

// challengeServer answers http-01 for every worker.
type challengeServer struct {
	mu     sync.RWMutex
	tokens map[string]string
}

func (s *challengeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.URL.Path, "/.well-known/acme-challenge/")
	s.mu.RLock()
	ka, ok := s.tokens[tok]
	s.mu.RUnlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	_, _ = io.WriteString(w, ka)
}

// Present and CleanUp make the server a lego http-01 provider.
func (s *challengeServer) Present(_ context.Context, _, token, keyAuth string) error {
	s.mu.Lock()
	s.tokens[token] = keyAuth
	s.mu.Unlock()
	return nil
}

func (s *challengeServer) CleanUp(_ context.Context, _, token, _ string) error {
	s.mu.Lock()
	delete(s.tokens, token)
	s.mu.Unlock()
	return nil
}

type acmeUser struct {
	key crypto.Signer
	reg *legoacme.ExtendedAccount
}

func (u *acmeUser) GetEmail() string                           { return "" }
func (u *acmeUser) GetRegistration() *legoacme.ExtendedAccount { return u.reg }
func (u *acmeUser) GetPrivateKey() crypto.Signer               { return u.key }

type acmeWorker struct {
	client *lego.Client
	key    crypto.Signer // the certificates' key
	stats  *opStats
	certs  [][]byte
}

// runACME registers C accounts (untimed), then runs the timed loop: each
// request is one certificate obtained end to end.
func runACME(ctx context.Context, o acmeOptions) (*Result, error) {
	legolog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	cs := &challengeServer{tokens: map[string]string{}}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("acme: listen for http-01 on %s (port 80 needs root): %w", o.Listen, err)
	}
	srv := &http.Server{Handler: cs, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	workers := make([]*acmeWorker, o.C)
	for i := range workers {
		w, err := newACMEWorker(ctx, o, cs)
		if err != nil {
			return nil, fmt.Errorf("acme: account %d: %w", i, err)
		}
		workers[i] = w
	}
	var m measurement
	var srv0 time.Duration
	if o.ServerPID > 0 {
		if srv0, err = cpuOfPid(o.ServerPID); err != nil {
			return nil, err
		}
	}
	cpu0, err := cpuSelf()
	if err != nil {
		return nil, err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if (o.N > 0 && i >= o.N) || (o.Duration > 0 && time.Since(start) > o.Duration) {
					return
				}
				w.obtain(ctx, o)
			}
		}()
	}
	wg.Wait()
	m.wall = time.Since(start)
	cpu1, err := cpuSelf()
	if err != nil {
		return nil, err
	}
	m.client = cpu1 - cpu0
	if o.ServerPID > 0 {
		srv1, err := cpuOfPid(o.ServerPID)
		if err != nil {
			return nil, err
		}
		m.server, m.serverSet = srv1-srv0, true
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("acme run interrupted: %w", err)
	}
	// Verify every certificate after the clock stopped.
	ws := make([]*worker, len(workers))
	for i, w := range workers {
		verified := &opStats{}
		for j, pemChain := range w.certs {
			if err := verifyACMEChain(pemChain, o.Roots, o.Identifier); err != nil {
				verified.fail("verify", err.Error())
				continue
			}
			verified.succeed(w.stats.lat[j])
		}
		for k, f := range w.stats.failures {
			for range f.Count {
				verified.fail(k, f.First)
			}
		}
		ws[i] = &worker{stats: map[string]*opStats{modeACME: verified}}
	}
	r := &runner{o: loadOptions{Name: modeACME, Mode: modeACME, C: o.C}}
	return r.summarize(m, ws), nil
}

func newACMEWorker(ctx context.Context, o acmeOptions, cs *challengeServer) (*acmeWorker, error) {
	accKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	certKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	u := &acmeUser{key: accKey}
	cfg := lego.NewConfig(u)
	cfg.CADirURL = o.Directory
	cfg.UserAgent = "mayfly-bench"
	cfg.HTTPClient = &http.Client{Timeout: o.Timeout, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: o.Roots}, MaxIdleConnsPerHost: 2,
	}}
	cfg.Certificate.Timeout = o.Timeout
	c, err := lego.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.Challenge.SetHTTP01Provider(cs); err != nil {
		return nil, err
	}
	reg, err := c.Registration.Register(ctx, registration.RegisterOptions{TermsOfServiceAgreed: true})
	if err != nil {
		return nil, err
	}
	u.reg = reg
	return &acmeWorker{client: c, key: certKey, stats: &opStats{}}, nil
}

func (w *acmeWorker) obtain(ctx context.Context, o acmeOptions) {
	t0 := time.Now()
	res, err := w.client.Certificate.Obtain(ctx, certificate.ObtainRequest{
		Domains: []string{o.Identifier}, PrivateKey: w.key, KeyType: certcrypto.EC256, Bundle: true,
	})
	lat := time.Since(t0)
	if err != nil {
		w.stats.fail("acme", err.Error())
		return
	}
	// succeed now for the latency; runACME re-counts after verification.
	w.stats.lat = append(w.stats.lat, lat)
	w.certs = append(w.certs, res.Certificate)
}

// verifyACMEChain checks a PEM chain: leaf for ident, chaining to roots.
func verifyACMEChain(chain []byte, roots *x509.CertPool, ident string) error {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, chain = pem.Decode(chain)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return errors.New("no certificate in the chain")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: ident})
	return err
}
