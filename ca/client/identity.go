package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
)

// Bootstrap returns a client for caURL that trusts the CA's root, fetched
// without TLS verification and accepted only when its SHA-256 is
// fingerprint (as `step ca bootstrap --fingerprint` does), and the root.
func Bootstrap(ctx context.Context, caURL, fingerprint string) (*Client, *x509.Certificate, error) {
	c, err := New(caURL, nil)
	if err != nil {
		return nil, nil, err
	}
	root, err := c.Root(ctx, fingerprint)
	if err != nil {
		return nil, nil, fmt.Errorf("bootstrap %s: %w", caURL, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	c, err = New(caURL, pool)
	if err != nil {
		return nil, nil, err
	}
	return c, root, nil
}

// RootPool returns the roots the client trusts (nil before bootstrap).
func (c *Client) RootPool() *x509.CertPool { return c.roots }

// IdentityOptions describe the certificate an Identity asks for.
type IdentityOptions struct {
	// Subject is the common name; SANs default to [Subject]. Both must be
	// what the token allows.
	Subject string
	SANs    []string
	// NotAfter, when set, asks for this lifetime instead of the
	// provisioner's default.
	NotAfter time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// OnRenew is called after each renewal with the new leaf (nil: none);
	// OnError with each failed attempt (nil: none). Both run on Run's
	// goroutine.
	OnRenew func(*x509.Certificate)
	OnError func(error)
}

// Identity is a private key and a certificate for it from the CA, renewed
// by Run before it expires. Its TLS configurations always present the
// current certificate, so a server or client built from them never restarts
// to pick up a renewal. Safe for concurrent use.
type Identity struct {
	c    *Client
	o    IdentityOptions
	cert atomic.Pointer[tls.Certificate]
	// due is when Run renews the certificate (written by store).
	due atomic.Pointer[time.Time]
}

// store installs cert, received now: it is due for renewal when two thirds
// of the time from now (or its NotBefore, if later) to its expiry have
// passed. Counting from receipt, not from NotBefore, matters: the CA
// backdates certificates (a minute by default), which would make a
// short-lived certificate due as soon as it arrives.
func (id *Identity) store(cert *tls.Certificate) {
	start := id.o.Now()
	if nb := cert.Leaf.NotBefore; nb.After(start) {
		start = nb
	}
	due := start.Add(cert.Leaf.NotAfter.Sub(start) * 2 / 3)
	id.due.Store(&due)
	id.cert.Store(cert)
}

// NewIdentity generates a P-256 key and gets it a certificate with token
// (a one-time token from `step ca token`). It does no background work: call
// Run to keep the certificate renewed.
func (c *Client) NewIdentity(ctx context.Context, token string, o IdentityOptions) (*Identity, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Subject == "" {
		return nil, errors.New("identity: the subject is empty")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: o.Subject}}
	sans := o.SANs
	if len(sans) == 0 {
		sans = []string{o.Subject}
	}
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
			tmpl.URIs = append(tmpl.URIs, u)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, err
	}
	req := &wire.SignRequest{CSR: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})), OTT: token}
	if o.NotAfter > 0 {
		req.NotAfter = timeutil.NewDuration(o.NotAfter)
	}
	resp, err := c.Sign(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("identity: sign: %w", err)
	}
	cert, err := tlsCertificate(resp, key)
	if err != nil {
		return nil, err
	}
	id := &Identity{c: c, o: o}
	id.store(cert)
	return id, nil
}

// tlsCertificate is the response's chain with key.
func tlsCertificate(resp *wire.SignResponse, key any) (*tls.Certificate, error) {
	chain := resp.CertChain
	if len(chain) == 0 {
		chain = []string{resp.Certificate}
	}
	out := &tls.Certificate{PrivateKey: key}
	for _, p := range chain {
		certs, err := ParsePEMCertificates([]byte(p))
		if err != nil {
			return nil, fmt.Errorf("identity: the CA's answer: %w", err)
		}
		for _, c := range certs {
			out.Certificate = append(out.Certificate, c.Raw)
		}
	}
	if len(out.Certificate) == 0 {
		return nil, errors.New("identity: the CA answered no certificate")
	}
	leaf, err := x509.ParseCertificate(out.Certificate[0])
	if err != nil {
		return nil, err
	}
	out.Leaf = leaf
	return out, nil
}

// Certificate returns the current certificate and key.
func (id *Identity) Certificate() *tls.Certificate { return id.cert.Load() }

// Renew renews the certificate now, over mTLS with the current one.
func (id *Identity) Renew(ctx context.Context) error {
	cur := id.cert.Load()
	resp, err := id.c.Renew(ctx, cur)
	if err != nil {
		return fmt.Errorf("identity: renew: %w", err)
	}
	next, err := tlsCertificate(resp, cur.PrivateKey)
	if err != nil {
		return err
	}
	id.store(next)
	return nil
}

// Run renews the certificate when two thirds of its lifetime have passed
// (step's renewal default; counted from when it was received), and retries
// a failed renewal every twentieth of the lifetime (at least a second),
// until ctx ends; it returns nil then.
func (id *Identity) Run(ctx context.Context) error {
	for {
		leaf := id.cert.Load().Leaf
		life := leaf.NotAfter.Sub(leaf.NotBefore)
		due := *id.due.Load()
		// Waits are bounded, so a suspended machine or a clock jump is
		// caught up within a minute.
		wait := min(max(due.Sub(id.o.Now()), 0), time.Minute)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if id.o.Now().Before(due) {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := id.Renew(rctx)
		cancel()
		if err == nil {
			if id.o.OnRenew != nil {
				id.o.OnRenew(id.cert.Load().Leaf)
			}
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		if id.o.OnError != nil {
			id.o.OnError(err)
		}
		t = time.NewTimer(max(life/20, time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// ServerTLSConfig serves the current certificate and requires clients to
// present a certificate from the CA's roots (mTLS).
func (id *Identity) ServerTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return id.cert.Load(), nil
		},
		ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs:  id.c.roots,
	}
}

// ClientTLSConfig presents the current certificate and trusts the CA's roots.
func (id *Identity) ClientTLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return id.cert.Load(), nil
		},
		RootCAs: id.c.roots,
	}
}
