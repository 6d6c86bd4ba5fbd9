// Package client is the Go client of the CA API used by the step CLI:
// bootstrap by root fingerprint, provisioners, sign, renew, rekey, revoke
// and the admin certificate inventory.
package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/internal/version"
)

// APIError is an error answered by the CA: its message is what step prints.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

// Client talks to one CA. Safe for concurrent use.
type Client struct {
	base      *url.URL
	roots     *x509.CertPool
	http      *http.Client
	userAgent string
}

// NormalizeURL adds https:// to a URL without scheme and refuses any scheme
// but https (wire-spec §8 General).
func NormalizeURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("the CA URL is required: use --ca-url or run `step ca bootstrap`")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid CA URL %q: %w", s, err)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("invalid CA URL %q: only https is supported", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// New returns a client for caURL trusting roots (nil: no trust, only the
// insecure bootstrap call works).
func New(caURL string, roots *x509.CertPool) (*Client, error) {
	u, err := NormalizeURL(caURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base: u, roots: roots,
		userAgent: fmt.Sprintf("Mayfly CLI/%s (%s/%s)", version.Version, runtime.GOOS, runtime.GOARCH),
	}
	c.http = c.httpClient(nil, false)
	return c, nil
}

// URL returns the CA URL.
func (c *Client) URL() *url.URL { return c.base }

func (c *Client) httpClient(cert *tls.Certificate, insecure bool) *http.Client {
	cfg := &tls.Config{RootCAs: c.roots, MinVersion: tls.VersionTLS12}
	if insecure {
		cfg.InsecureSkipVerify = true // bootstrap: the caller checks the fingerprint itself
	}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment, TLSClientConfig: cfg, ForceAttemptHTTP2: cert == nil && !insecure,
		TLSHandshakeTimeout: 15 * time.Second, IdleConnTimeout: 90 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// do sends one request and decodes a 2xx JSON answer into out.
func (c *Client) do(ctx context.Context, hc *http.Client, method, path string, body any, header http.Header, out any) error {
	u := *c.base
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, u.RawQuery = path[:i], path[i+1:]
	}
	u.Path = c.base.Path + path
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("X-Request-Id", uuid.NewString())
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("client %s %s failed: %w", method, u.String(), unwrapURLError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("client %s %s: error reading response: %w", method, u.String(), err)
	}
	if resp.StatusCode >= 400 {
		return apiError(resp.StatusCode, data, method, u.String(), resp.Status)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("client %s %s: error decoding response: %w", method, u.String(), err)
	}
	return nil
}

// apiError is the error of a non-2xx answer: step-ca's message when the
// body has one.
func apiError(code int, data []byte, method, url, status string) error {
	var e wire.Error
	if json.Unmarshal(data, &e) == nil && e.Message != "" {
		return &APIError{Status: code, Message: e.Message}
	}
	return &APIError{Status: code, Message: fmt.Sprintf("client %s %s: %s", method, url, status)}
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Health calls GET /health.
func (c *Client) Health(ctx context.Context) (string, error) {
	var r wire.StatusResponse
	err := c.do(ctx, c.http, http.MethodGet, "/health", nil, nil, &r)
	return r.Status, err
}

// Version calls GET /version.
func (c *Client) Version(ctx context.Context) (*wire.VersionResponse, error) {
	var r wire.VersionResponse
	return &r, c.do(ctx, c.http, http.MethodGet, "/version", nil, nil, &r)
}

// Root fetches GET /root/{fingerprint} WITHOUT TLS verification and checks
// the SHA-256 of the answer itself, as step's bootstrap does.
func (c *Client) Root(ctx context.Context, fingerprint string) (*x509.Certificate, error) {
	fp := strings.ToLower(strings.ReplaceAll(fingerprint, ":", ""))
	var r wire.RootResponse
	if err := c.do(ctx, c.httpClient(nil, true), http.MethodGet, "/root/"+fp, nil, nil, &r); err != nil {
		return nil, err
	}
	certs, err := ParsePEMCertificates([]byte(r.RootPEM))
	if err != nil || len(certs) != 1 {
		return nil, fmt.Errorf("error parsing the root certificate from %s", c.base)
	}
	sum := sha256.Sum256(certs[0].Raw)
	if hex.EncodeToString(sum[:]) != fp {
		return nil, errors.New("root certificate fingerprint does not match")
	}
	return certs[0], nil
}

// Roots calls GET /roots.
func (c *Client) Roots(ctx context.Context) ([]*x509.Certificate, error) {
	return c.certificates(ctx, "/roots")
}

// Federation calls GET /federation.
func (c *Client) Federation(ctx context.Context) ([]*x509.Certificate, error) {
	return c.certificates(ctx, "/federation")
}

func (c *Client) certificates(ctx context.Context, path string) ([]*x509.Certificate, error) {
	var r wire.CertificatesResponse
	if err := c.do(ctx, c.http, http.MethodGet, path, nil, nil, &r); err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, p := range r.Certificates {
		cs, err := ParsePEMCertificates([]byte(p))
		if err != nil {
			return nil, fmt.Errorf("error parsing certificates from %s: %w", path, err)
		}
		out = append(out, cs...)
	}
	return out, nil
}

// Provisioners lists every provisioner, following cursors (limit=100).
func (c *Client) Provisioners(ctx context.Context) ([]json.RawMessage, error) {
	var all []json.RawMessage
	cursor := ""
	for {
		path := "/provisioners?limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var r wire.ProvisionersResponse
		if err := c.do(ctx, c.http, http.MethodGet, path, nil, nil, &r); err != nil {
			return nil, err
		}
		all = append(all, r.Provisioners...)
		if r.NextCursor == "" || len(r.Provisioners) == 0 {
			return all, nil
		}
		cursor = r.NextCursor
	}
}

// EncryptedKey calls GET /provisioners/{kid}/encrypted-key.
func (c *Client) EncryptedKey(ctx context.Context, kid string) (string, error) {
	var r wire.EncryptedKeyResponse
	err := c.do(ctx, c.http, http.MethodGet, "/provisioners/"+url.PathEscape(kid)+"/encrypted-key", nil, nil, &r)
	return r.Key, err
}

// Sign calls POST /sign.
func (c *Client) Sign(ctx context.Context, req *wire.SignRequest) (*wire.SignResponse, error) {
	var r wire.SignResponse
	return &r, c.do(ctx, c.http, http.MethodPost, "/sign", req, nil, &r)
}

// Renew calls POST /renew over mTLS with cert.
func (c *Client) Renew(ctx context.Context, cert *tls.Certificate) (*wire.SignResponse, error) {
	var r wire.SignResponse
	return &r, c.do(ctx, c.httpClient(cert, false), http.MethodPost, "/renew", nil, nil, &r)
}

// RenewWithToken calls POST /renew with an x5cInsecure token and no client certificate.
func (c *Client) RenewWithToken(ctx context.Context, token string) (*wire.SignResponse, error) {
	var r wire.SignResponse
	h := http.Header{"Authorization": {"Bearer " + token}}
	return &r, c.do(ctx, c.http, http.MethodPost, "/renew", nil, h, &r)
}

// Rekey calls POST /rekey over mTLS with cert.
func (c *Client) Rekey(ctx context.Context, cert *tls.Certificate, csrPEM string) (*wire.SignResponse, error) {
	var r wire.SignResponse
	return &r, c.do(ctx, c.httpClient(cert, false), http.MethodPost, "/rekey", wire.RekeyRequest{CSR: csrPEM}, nil, &r)
}

// Revoke calls POST /revoke, over mTLS when cert is not nil.
func (c *Client) Revoke(ctx context.Context, req *wire.RevokeRequest, cert *tls.Certificate) error {
	hc := c.http
	if cert != nil {
		hc = c.httpClient(cert, false)
	}
	return c.do(ctx, hc, http.MethodPost, "/revoke", req, nil, nil)
}

// ListCertificates calls GET /admin/certificates with query (filters,
// cursor, limit) and the admin token as bearer. Each call needs a new
// token: the CA accepts a token once.
func (c *Client) ListCertificates(ctx context.Context, token string, query url.Values) (*wire.CertificateListResponse, error) {
	var r wire.CertificateListResponse
	path := "/admin/certificates"
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	h := http.Header{"Authorization": {"Bearer " + token}}
	return &r, c.do(ctx, c.http, http.MethodGet, path, nil, h, &r)
}

// ParsePEMCertificates parses every CERTIFICATE block of data.
func ParsePEMCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no certificate found")
	}
	return out, nil
}
