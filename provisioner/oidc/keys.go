package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/sirupsen/logrus"
)

// maxDocument bounds a discovery document or key set read from the network.
const maxDocument = 1 << 20

// Tuning are the timings of the background refresh of the provider's
// discovery document and keys. The zero value of a field means its default.
type Tuning struct {
	// Refresh is the interval between two refreshes after a success (1h).
	Refresh time.Duration
	// Retry is the first interval after a failure (5s); it doubles after
	// each failure in a row, up to MaxRetry.
	Retry time.Duration
	// MaxRetry bounds the interval after failures (5m, at most Refresh).
	MaxRetry time.Duration
	// MinForced is the shortest interval between two refreshes asked for by
	// tokens with an unknown kid (30s): a stream of bogus kids cannot make
	// the CA hammer the provider.
	MinForced time.Duration
	// Wait is how long a request whose kid is unknown waits for the refresh
	// it asked for, or a request waits for the first read (2s); after it,
	// the request fails.
	Wait time.Duration
	// MaxAge is how old the keys may be before requests are refused
	// instead of trusting them (24h): a provider down that long may have
	// revoked them.
	MaxAge time.Duration
}

func (t Tuning) withDefaults() Tuning {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Refresh, time.Hour)
	def(&t.Retry, 5*time.Second)
	def(&t.MaxRetry, 5*time.Minute)
	t.MaxRetry = min(t.MaxRetry, t.Refresh)
	def(&t.MinForced, 30*time.Second)
	def(&t.Wait, 2*time.Second)
	def(&t.MaxAge, 24*time.Hour)
	return t
}

// discoveryURL is where the provider's configuration is read, as step-ca
// builds it: the configuration endpoint, with
// /.well-known/openid-configuration appended when its path lacks it.
func discoveryURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("error parsing %s: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("error parsing %s: the scheme must be http or https", endpoint)
	}
	if !strings.Contains(u.Path, "/.well-known/openid-configuration") {
		u.Path = path.Join(u.Path, "/.well-known/openid-configuration")
	}
	return u.String(), nil
}

// parseDiscovery reads a discovery document: issuer and jwks_uri are
// required (step-ca's openIDConfiguration.Validate).
func parseDiscovery(b []byte) (*gooidc.ProviderConfig, error) {
	var c gooidc.ProviderConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("error decoding the discovery document: %w", err)
	}
	switch {
	case c.IssuerURL == "":
		return nil, errors.New("issuer cannot be empty")
	case c.JWKSURL == "":
		return nil, errors.New("jwks_uri cannot be empty")
	}
	u, err := url.Parse(c.JWKSURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("jwks_uri %q is not an http(s) URL", c.JWKSURL)
	}
	return &c, nil
}

// parseJWKS reads a key set, keeping the public signature keys it can use:
// a key of an unknown type or for encryption is skipped, not fatal, so that a
// provider adding a new kind of key keeps working.
func parseJWKS(b []byte) (map[string][]jose.JSONWebKey, int, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, 0, fmt.Errorf("error decoding the key set: %w", err)
	}
	keys := map[string][]jose.JSONWebKey{}
	n := 0
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil || !k.Valid() || k.Use == "enc" {
			continue
		}
		if !k.IsPublic() {
			k = k.Public()
			if !k.Valid() {
				continue
			}
		}
		keys[k.KeyID] = append(keys[k.KeyID], k)
		n++
	}
	if n == 0 {
		return nil, 0, errors.New("the key set has no usable signature key")
	}
	return keys, n, nil
}

// keySet is one successful fetch of the provider's configuration and keys.
type keySet struct {
	issuer  string // after {tenantid} substitution
	keys    map[string][]jose.JSONWebKey
	fetched time.Time
}

// lookup returns the keys for kid: those with that kid, or every key when
// the token names none.
func (s *keySet) lookup(kid string) []jose.JSONWebKey {
	if kid != "" {
		return s.keys[kid]
	}
	var all []jose.JSONWebKey
	for _, ks := range s.keys {
		all = append(all, ks...)
	}
	return all
}

// keyCache holds the last key set and what the refresher is doing. Requests
// only read it; the refresher (Run) writes it.
type keyCache struct {
	mu      sync.Mutex
	set     *keySet
	lastErr error
	// done is closed and replaced after every refresh attempt, so a request
	// that asked for one can wait for it.
	done   chan struct{}
	forced time.Time // when the last refresh a token asked for started
	kick   chan struct{}
}

func newKeyCache() *keyCache {
	return &keyCache{done: make(chan struct{}), kick: make(chan struct{}, 1)}
}

// current returns the key set, the last refresh error, and a channel
// closed when the next refresh attempt ends.
func (c *keyCache) current() (*keySet, error, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.set, c.lastErr, c.done
}

// store records the result of a refresh attempt and wakes its waiters.
func (c *keyCache) store(set *keySet, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if set != nil {
		c.set = set
	}
	c.lastErr = err
	close(c.done)
	c.done = make(chan struct{})
}

// ask asks the refresher for a refresh (a token's kid is unknown) and says
// whether one will run: no more than one per minForced of real time (not
// the provisioner's clock, which tests may stop).
func (c *keyCache) ask(now time.Time, minForced time.Duration) bool {
	c.mu.Lock()
	if !c.forced.IsZero() && now.Sub(c.forced) < minForced {
		c.mu.Unlock()
		return false
	}
	c.forced = now
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return true
}

// fetcher reads the provider's documents.
type fetcher struct {
	client    *http.Client
	discovery string
	tenantID  string
}

func (f *fetcher) get(ctx context.Context, uri string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to connect to %s: %w", uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("error reading %s: status %s", uri, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", uri, err)
	}
	if len(b) > maxDocument {
		return nil, fmt.Errorf("error reading %s: more than %d bytes", uri, maxDocument)
	}
	return b, nil
}

// fetch reads the discovery document, then the key set it names.
func (f *fetcher) fetch(ctx context.Context, now time.Time) (*keySet, error) {
	b, err := f.get(ctx, f.discovery)
	if err != nil {
		return nil, err
	}
	conf, err := parseDiscovery(b)
	if err != nil {
		return nil, fmt.Errorf("error parsing %s: %w", f.discovery, err)
	}
	issuer := conf.IssuerURL
	if f.tenantID != "" {
		issuer = strings.ReplaceAll(issuer, "{tenantid}", f.tenantID)
	}
	b, err = f.get(ctx, conf.JWKSURL)
	if err != nil {
		return nil, err
	}
	keys, _, err := parseJWKS(b)
	if err != nil {
		return nil, fmt.Errorf("error parsing %s: %w", conf.JWKSURL, err)
	}
	return &keySet{issuer: issuer, keys: keys, fetched: now}, nil
}

// run refreshes the cache until ctx ends: now, every Refresh after a
// success, sooner (Retry, doubling) after a failure, and when a token asks.
func (c *keyCache) run(ctx context.Context, f *fetcher, t Tuning, now func() time.Time, log logrus.FieldLogger, name string) error {
	retry := t.Retry
	for {
		set, err := f.fetch(ctx, now())
		if ctx.Err() != nil {
			return nil
		}
		c.store(set, err)
		wait := t.Refresh
		if err != nil {
			log.WithError(err).WithField("provisioner", name).Warn("OIDC provider configuration or keys could not be refreshed")
			wait = retry
			retry = min(2*retry, t.MaxRetry)
		} else {
			retry = t.Retry
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		case <-c.kick:
			timer.Stop()
		}
	}
}
