package ca

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"
)

// InsecureServer is step-ca's plain HTTP listener (ca.json insecureAddress,
// wire-spec §2.6): it serves only what clients without the CA's trust need
// (SCEP); everything else is 404.
type InsecureServer struct {
	hs *http.Server
	ln net.Listener
}

// NewInsecureServer listens on address for h.
func NewInsecureServer(address string, h http.Handler) (*InsecureServer, error) {
	ln, err := net.Listen("tcp", address)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("cannot listen on %s: the address is already in use", address)
		}
		return nil, fmt.Errorf("cannot listen on %s: %w", address, err)
	}
	return &InsecureServer{ln: ln, hs: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}}, nil
}

// Addr returns the listening address.
func (s *InsecureServer) Addr() net.Addr { return s.ln.Addr() }

// Run serves until ctx is cancelled, then shuts down gracefully.
func (s *InsecureServer) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.hs.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("insecure server stopped: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.hs.Shutdown(sctx)
}
