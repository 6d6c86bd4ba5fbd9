// Package validate checks ACME challenges against the client's servers:
// http-01 (RFC 8555 §8.3), dns-01 (§8.4) and tls-alpn-01 (RFC 8737). Each
// check is bounded: a slot in a fixed pool (no unbounded goroutines), a
// deadline, a body limit and a redirect limit, so a hostile target costs
// the CA bounded time and memory.
package validate

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/authority/acme"
)

// Defaults.
const (
	DefaultWorkers = 32
	DefaultTimeout = 10 * time.Second
	MaxBody        = 8 << 10
	MaxRedirects   = 5
)

// Options configure a Checker.
type Options struct {
	// Resolver is a DNS server "host:port" used for every lookup (step-ca's
	// --resolver); empty means the system's.
	Resolver string
	// Workers bounds concurrent validations; 0 means DefaultWorkers.
	Workers int
	// Timeout bounds one validation; 0 means DefaultTimeout.
	Timeout time.Duration
	// HTTPPort and TLSPort are the ports dialed (80 and 443 unless set,
	// for tests).
	HTTPPort, TLSPort int
}

// Checker is an acme.Validator.
type Checker struct {
	o     Options
	slots chan struct{}
	res   *net.Resolver
	// http is the http-01 client, shared by every validation: its
	// transport keeps at most 4 idle connections per host (64 in all, for
	// 30 s), so validations of one client's server reuse a connection, as
	// step-ca's do, while a server cannot make the CA hold more.
	http *http.Client
}

var _ acme.Validator = (*Checker)(nil)

// New returns a Checker.
func New(o Options) *Checker {
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.HTTPPort == 0 {
		o.HTTPPort = 80
	}
	if o.TLSPort == 0 {
		o.TLSPort = 443
	}
	c := &Checker{o: o, slots: make(chan struct{}, o.Workers), res: net.DefaultResolver}
	if o.Resolver != "" {
		addr := o.Resolver
		c.res = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
	}
	tr := &http.Transport{
		DialContext:            c.dial,
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // RFC 8555 §8.3: redirects to https are not verified
		ResponseHeaderTimeout:  o.Timeout,
		MaxResponseHeaderBytes: 16 << 10,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        30 * time.Second,
	}
	c.http = &http.Client{Transport: tr, CheckRedirect: c.checkRedirect}
	return c
}

// Failure is a failed validation and its RFC 8555 problem type.
type Failure struct {
	Type   string
	Detail string
}

func (f *Failure) Error() string { return f.Detail }

// ProblemType implements acme.FailureTyper.
func (f *Failure) ProblemType() string { return f.Type }

func fail(t acme.ProblemType, format string, args ...any) error {
	return &Failure{Type: string(t), Detail: fmt.Sprintf(format, args...)}
}

// Validate implements acme.Validator.
func (c *Checker) Validate(ctx context.Context, req acme.ValidationRequest) error {
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return fail(acme.Connection, "the server is too busy to validate the challenge now")
	}
	switch req.Type {
	case "http-01":
		return c.http01(ctx, req)
	case "dns-01":
		return c.dns01(ctx, req)
	case "tls-alpn-01":
		return c.tlsALPN01(ctx, req)
	}
	return fail(acme.Malformed, "unsupported challenge type %q", req.Type)
}

// dial resolves host with the configured resolver and dials it.
func (c *Checker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips := []string{host}
	if net.ParseIP(host) == nil {
		ips, err = c.res.LookupHost(ctx, host)
		if err != nil {
			return nil, &Failure{Type: string(acme.DNS), Detail: fmt.Sprintf("cannot resolve %s: %v", host, err)}
		}
	}
	var d net.Dialer
	var last error
	for _, ip := range ips {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip, port))
		if err == nil {
			return conn, nil
		}
		last = err
	}
	return nil, last
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(host, fmt.Sprint(port))
}

// checkRedirect follows at most MaxRedirects redirects, to http or https
// on the standard ports only (RFC 8555 §8.3; the configured ones in tests).
func (c *Checker) checkRedirect(r *http.Request, via []*http.Request) error {
	if len(via) >= MaxRedirects {
		return fail(acme.Connection, "too many redirects")
	}
	if r.URL.Scheme != "http" && r.URL.Scheme != "https" {
		return fail(acme.Connection, "redirect to unsupported scheme %q", r.URL.Scheme)
	}
	want := strconv.Itoa(c.o.HTTPPort)
	if r.URL.Scheme == "https" {
		want = strconv.Itoa(c.o.TLSPort)
	}
	if p := r.URL.Port(); p != "" && p != want {
		return fail(acme.Connection, "redirect to %s port %s is not allowed", r.URL.Scheme, p)
	}
	return nil
}

// http01 fetches http://<host>/.well-known/acme-challenge/<token> and
// compares the body with the key authorization; redirects are followed
// (at most MaxRedirects, to http or https on the standard ports).
func (c *Checker) http01(ctx context.Context, req acme.ValidationRequest) error {
	u := "http://" + hostPort(req.Identifier.Value, c.o.HTTPPort) + "/.well-known/acme-challenge/" + req.Token
	if c.o.HTTPPort == 80 {
		u = "http://" + bracket(req.Identifier.Value) + "/.well-known/acme-challenge/" + req.Token
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fail(acme.Malformed, "bad challenge URL: %v", err)
	}
	hr.Header.Set("User-Agent", "Mayfly ACME validator")
	resp, err := c.http.Do(hr)
	if err != nil {
		var f *Failure
		if errors.As(err, &f) {
			return f
		}
		return fail(acme.Connection, "error doing http GET for url %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fail(acme.Connection, "error doing http GET for url %s with status code %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return fail(acme.Connection, "error reading response body for url %s: %v", u, err)
	}
	if len(body) > MaxBody {
		return fail(acme.IncorrectResponse, "response body for url %s is over %d bytes", u, MaxBody)
	}
	got := strings.TrimSpace(string(body))
	if subtle.ConstantTimeCompare([]byte(got), []byte(req.KeyAuthorization)) != 1 {
		return fail(acme.IncorrectResponse, "key authorization does not match")
	}
	return nil
}

func bracket(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

// dns01 looks up TXT records at _acme-challenge.<domain> (CNAMEs are
// followed by the resolver) for base64url(sha256(keyAuthorization)).
func (c *Checker) dns01(ctx context.Context, req acme.ValidationRequest) error {
	name := "_acme-challenge." + strings.TrimPrefix(req.Identifier.Value, "*.")
	txts, err := c.res.LookupTXT(ctx, name)
	if err != nil {
		return fail(acme.DNS, "error looking up TXT records for domain %s: %v", name, err)
	}
	sum := sha256.Sum256([]byte(req.KeyAuthorization))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	for _, t := range txts {
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(t)), []byte(want)) == 1 {
			return nil
		}
	}
	return fail(acme.IncorrectResponse, "no TXT record at %s matches the key authorization", name)
}

// idPeAcmeIdentifier is the acmeValidationV1 extension (RFC 8737 §6.1).
var idPeAcmeIdentifier = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 31}

// tlsALPN01 connects with ALPN acme-tls/1 and SNI the identifier, and checks
// the self-signed certificate's acmeValidationV1 extension (RFC 8737).
func (c *Checker) tlsALPN01(ctx context.Context, req acme.ValidationRequest) error {
	host := req.Identifier.Value
	cfg := &tls.Config{
		NextProtos:         []string{"acme-tls/1"},
		InsecureSkipVerify: true, //nolint:gosec // RFC 8737: the certificate is self-signed
		MinVersion:         tls.VersionTLS12,
	}
	if req.Identifier.Type == "ip" {
		// RFC 8738 §6: the SNI is the reverse-DNS name of the IP.
		cfg.ServerName = reverseName(net.ParseIP(host))
	} else {
		cfg.ServerName = host
	}
	raw, err := c.dial(ctx, "tcp", hostPort(host, c.o.TLSPort))
	if err != nil {
		var f *Failure
		if errors.As(err, &f) {
			return f
		}
		return fail(acme.Connection, "error dialing %s: %v", host, err)
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		return fail(acme.TLS, "tls handshake with %s: %v", host, err)
	}
	st := conn.ConnectionState()
	if st.NegotiatedProtocol != "acme-tls/1" {
		return fail(acme.TLS, "the server did not negotiate the acme-tls/1 protocol")
	}
	if len(st.PeerCertificates) == 0 {
		return fail(acme.TLS, "the server presented no certificate")
	}
	leaf := st.PeerCertificates[0]
	if !namesMatch(leaf, req.Identifier) {
		return fail(acme.IncorrectResponse, "the certificate is not for %s", host)
	}
	sum := sha256.Sum256([]byte(req.KeyAuthorization))
	for _, ext := range leaf.Extensions {
		if !ext.Id.Equal(idPeAcmeIdentifier) {
			continue
		}
		if !ext.Critical {
			return fail(acme.IncorrectResponse, "the acmeValidationV1 extension is not critical")
		}
		var got []byte
		if rest, err := asn1.Unmarshal(ext.Value, &got); err != nil || len(rest) > 0 {
			return fail(acme.IncorrectResponse, "malformed acmeValidationV1 extension")
		}
		if subtle.ConstantTimeCompare(got, sum[:]) != 1 {
			return fail(acme.IncorrectResponse, "the acmeValidationV1 extension does not match the key authorization")
		}
		return nil
	}
	return fail(acme.IncorrectResponse, "the certificate has no acmeValidationV1 extension")
}

func namesMatch(c *x509.Certificate, id acme.Identifier) bool {
	if id.Type == "ip" {
		ip := net.ParseIP(id.Value)
		return len(c.IPAddresses) == 1 && c.IPAddresses[0].Equal(ip) && len(c.DNSNames) == 0
	}
	return len(c.DNSNames) == 1 && strings.EqualFold(c.DNSNames[0], id.Value) && len(c.IPAddresses) == 0
}

// reverseName returns the in-addr.arpa / ip6.arpa name of ip.
func reverseName(ip net.IP) string {
	if ip4 := ip.To4(); ip4 != nil {
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa", ip4[3], ip4[2], ip4[1], ip4[0])
	}
	const hex = "0123456789abcdef"
	b := make([]byte, 0, 72)
	for i := len(ip) - 1; i >= 0; i-- {
		b = append(b, hex[ip[i]&0xf], '.', hex[ip[i]>>4], '.')
	}
	return string(b) + "ip6.arpa"
}
