// Command mtls-server is an example service that gets its TLS certificate
// from a Mayfly (or step-ca) CA and serves HTTPS with mutual TLS: it
// bootstraps trust from the CA's root fingerprint, asks for a certificate
// with a one-time token, renews it in the background before it expires
// (no restart: every handshake uses the current certificate), and accepts
// only clients with a certificate from the same CA.
//
//	TOKEN=$(step ca token svc.example.com --provisioner-password-file pw)
//	go run ./examples/mtls-server --ca-url https://ca.example.com:9000 \
//	    --fingerprint $(step certificate fingerprint root_ca.crt) \
//	    --name svc.example.com --token "$TOKEN" --addr 127.0.0.1:8443
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mayfly-pki/mayfly/ca/client"
)

func main() {
	caURL := flag.String("ca-url", "", "the CA's URL (https://host:port)")
	fingerprint := flag.String("fingerprint", "", "SHA-256 fingerprint of the CA's root certificate")
	token := flag.String("token", os.Getenv("TOKEN"), "one-time token from `step ca token NAME` (default $TOKEN)")
	name := flag.String("name", "", "the service's DNS name (the token's subject)")
	addr := flag.String("addr", "127.0.0.1:8443", "address to serve HTTPS on")
	notAfter := flag.Duration("not-after", 0, "certificate lifetime to ask for (0: the provisioner's default)")
	flag.Parse()
	if err := run(*caURL, *fingerprint, *token, *name, *addr, *notAfter); err != nil {
		log.Fatal(err)
	}
}

func run(caURL, fingerprint, token, name, addr string, notAfter time.Duration) error {
	if caURL == "" || fingerprint == "" || token == "" || name == "" {
		return errors.New("--ca-url, --fingerprint, --token and --name are required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ca, _, err := client.Bootstrap(ctx, caURL, fingerprint)
	if err != nil {
		return err
	}
	id, err := ca.NewIdentity(ctx, token, client.IdentityOptions{
		Subject: name, NotAfter: notAfter,
		OnRenew: func(c *x509.Certificate) {
			log.Printf("renewed certificate: serial %s, valid until %s", c.SerialNumber, c.NotAfter.Format(time.RFC3339))
		},
		OnError: func(err error) { log.Printf("renewal failed, will retry: %v", err) },
	})
	if err != nil {
		return err
	}
	leaf := id.Certificate().Leaf
	log.Printf("got certificate: serial %s, valid until %s", leaf.SerialNumber, leaf.NotAfter.Format(time.RFC3339))
	go func() { _ = id.Run(ctx) }()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		peer := r.TLS.PeerCertificates[0]
		fmt.Fprintf(w, "hello %s, from %s (serial %s)\n", peer.Subject.CommonName, name, id.Certificate().Leaf.SerialNumber)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, TLSConfig: id.ServerTLSConfig(), ReadHeaderTimeout: 10 * time.Second}
	log.Printf("serving mTLS on https://%s", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
