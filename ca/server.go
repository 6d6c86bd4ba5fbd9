// Package ca is the server runtime of step-ca: the HTTPS listener with its
// own renewing TLS certificate, client-certificate checks, configuration
// snapshots and graceful shutdown.
package ca

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/api"
	"github.com/mayfly-pki/mayfly/authority"
)

// MaxConcurrentStreams bounds the HTTP/2 streams a client may have open on
// one connection. Go's default is 250, and 200 connections with 250 pending
// streams each took the CA from 104 MB to 780 MB. 100 is the lowest value
// RFC 9113 §6.5.2 recommends, Google's front end and Apache httpd use it,
// and Go's own source means to lower its default to it.
const MaxConcurrentStreams = 100

// Snapshot is one loaded configuration: the authority and what the server
// needs besides it.
type Snapshot struct {
	Authority  *authority.Authority
	CommonName string
	DNSNames   []string
	TLS        TLSOptions
}

// Options configure a Server.
type Options struct {
	Address string
	Handler http.Handler
	Logger  logrus.FieldLogger
	Now     func() time.Time
	// ShutdownTimeout bounds how long Run waits for requests in flight.
	ShutdownTimeout time.Duration
}

// Server serves the CA API over HTTPS. Construct with NewServer; Run serves.
type Server struct {
	opts     Options
	snapshot atomic.Pointer[Snapshot]
	pools    atomic.Pointer[clientPools]
	cert     atomic.Pointer[tls.Certificate]
	ln       net.Listener

	// runMu guards the background work of the snapshot in use (its
	// provisioners' Run): started by Run, replaced by Swap.
	runMu      sync.Mutex
	runCtx     context.Context // nil until Run
	stopRunner func()
}

// NewServer listens on o.Address (so "address already in use" is reported
// before anything starts) and prepares the TLS certificate for s.
func NewServer(o Options, s *Snapshot) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	srv := &Server{opts: o}
	if err := srv.Swap(s); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", o.Address)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("cannot listen on %s: the address is already in use", o.Address)
		}
		return nil, fmt.Errorf("cannot listen on %s: %w", o.Address, err)
	}
	srv.ln = ln
	return srv, nil
}

// Addr returns the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Current returns the snapshot in use.
func (s *Server) Current() *Snapshot { return s.snapshot.Load() }

// Authority returns the authority of the current snapshot.
func (s *Server) Authority() *authority.Authority { return s.snapshot.Load().Authority }

// Swap installs a new snapshot: a new TLS certificate and client trust
// anchors; requests in flight finish on the snapshot they started with.
func (s *Server) Swap(snap *Snapshot) error {
	cert, err := newServerCertificate(snap.Authority, snap.CommonName, snap.DNSNames, s.opts.Now())
	if err != nil {
		return err
	}
	s.pools.Store(newClientPools(snap.Authority))
	s.cert.Store(cert)
	s.snapshot.Store(snap)
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.runCtx != nil {
		s.stopRunner()
		s.stopRunner = s.startRunners(s.runCtx, snap)
	}
	return nil
}

// startRunners runs the background work of snap's provisioners until the
// returned function is called (it waits for them to return) or ctx ends.
func (s *Server) startRunners(ctx context.Context, snap *Snapshot) func() {
	rs := snap.Authority.Runners()
	if len(rs) == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, r := range rs {
		wg.Go(func() {
			if err := r.Run(ctx); err != nil && ctx.Err() == nil && s.opts.Logger != nil {
				s.opts.Logger.WithError(err).Error("provisioner background work stopped")
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

func (s *Server) tlsConfig() *tls.Config {
	snap := s.snapshot.Load()
	return &tls.Config{
		MinVersion:   snap.TLS.MinVersion,
		MaxVersion:   snap.TLS.MaxVersion,
		CipherSuites: snap.TLS.CipherSuites,
		ClientAuth:   tls.RequestClientCert,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if c := s.cert.Load(); c != nil {
				return c, nil
			}
			return nil, errNoCertificate
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			return s.pools.Load().verifyClient(cs, s.opts.Now())
		},
	}
}

// Run serves until ctx is cancelled, then stops accepting, lets requests in
// flight finish (bounded by ShutdownTimeout) and returns nil.
func (s *Server) Run(ctx context.Context) error {
	hs := &http.Server{
		Handler:           s.opts.Handler,
		TLSConfig:         s.tlsConfig(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          nil,
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams: MaxConcurrentStreams,
			// A stream never needs a larger window than the largest body
			// the API accepts (Go's default is 1 MiB). The connection's
			// window stays Go's 1 MiB: it bounds what a connection's
			// streams buffer together. The API also bounds the body bytes
			// held by all requests together (api.Deps.BodyBudget).
			MaxReceiveBufferPerStream: api.MaxBodySize,
		},
	}
	renewCtx, stopRenew := context.WithCancel(ctx)
	defer stopRenew()
	s.runMu.Lock()
	s.runCtx, s.stopRunner = renewCtx, s.startRunners(renewCtx, s.snapshot.Load())
	s.runMu.Unlock()
	defer func() {
		s.runMu.Lock()
		defer s.runMu.Unlock()
		s.stopRunner()
		s.runCtx = nil
	}()
	go s.renewLoop(renewCtx)
	errc := make(chan error, 1)
	go func() { errc <- hs.ServeTLS(s.ln, "", "") }()
	select {
	case err := <-errc:
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// renewLoop renews the CA's TLS certificate at about 2/3 of its life, with
// jitter of 1/20 of the lifetime (wire-spec §2.3). It waits against deadlines
// computed from the certificate, so a suspend or clock jump is caught up.
func (s *Server) renewLoop(ctx context.Context) {
	for {
		c := s.cert.Load()
		life := c.Leaf.NotAfter.Sub(c.Leaf.NotBefore)
		due := c.Leaf.NotBefore.Add(life * 2 / 3).Add(-time.Duration(rand.Int64N(int64(life / 20))))
		wait := min(max(due.Sub(s.opts.Now()), 0), time.Minute)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		if s.opts.Now().Before(due) {
			continue
		}
		snap := s.snapshot.Load()
		cert, err := newServerCertificate(snap.Authority, snap.CommonName, snap.DNSNames, s.opts.Now())
		if err != nil {
			if s.opts.Logger != nil {
				s.opts.Logger.WithError(err).Error("error renewing the CA's TLS certificate")
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Minute):
			}
			continue
		}
		s.cert.Store(cert)
	}
}
