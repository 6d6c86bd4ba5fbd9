package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server serves GET /metrics over plain HTTP on its own listener.
type Server struct {
	ln net.Listener
	hs *http.Server
}

// Listen listens on address (ca.json metricsAddress). An address without a
// host (":9100") listens on loopback only (127.0.0.1): metrics are exposed
// beyond the host only when the operator names a host or 0.0.0.0.
func Listen(address string, p *Prometheus) (*Server, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("metricsAddress %q: %w", address, err)
	}
	if host == "" {
		address = net.JoinHostPort("127.0.0.1", port)
	}
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("metricsAddress: cannot listen on %s: %w", address, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{MaxRequestsInFlight: 4}))
	return &Server{ln: ln, hs: &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}}, nil
}

// Addr is the listening address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run serves until ctx ends, then shuts down and returns nil.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.hs.Serve(s.ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("metrics server stopped: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.hs.Shutdown(sctx)
}

// Close releases the listener of a server that never ran.
func (s *Server) Close() error { return s.ln.Close() }
