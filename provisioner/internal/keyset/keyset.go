// Package keyset keeps a JSON Web Key Set fetched from an identity
// provider (Google's certificates, an Azure tenant's jwks_uri) fresh in the
// background: Run fetches it, and again before it expires; requests read
// the last good set and never wait for the network. A set not refreshed for
// MaxStale is refused, so a CA cut off from its identity provider fails
// fast with a clear error rather than trusting rotated-out keys forever.
package keyset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/sirupsen/logrus"
)

// Refresh bounds: a set is fetched again after its Cache-Control max-age,
// within [MinRefresh, MaxRefresh]; a failed fetch is retried after a backoff
// from RetryMin doubling to RetryMax.
const (
	MinRefresh = time.Minute
	MaxRefresh = time.Hour
	RetryMin   = time.Second
	RetryMax   = time.Minute
	// MaxStale is how long the last good set is used without a successful
	// refresh.
	MaxStale = 24 * time.Hour
	// MaxSize bounds a key set document.
	MaxSize = 1 << 20
)

// Source returns the URL of the key set; it may do network work itself
// (OIDC discovery). It runs in Run only.
type Source func(ctx context.Context, client *http.Client) (string, error)

// Set is a key set kept fresh by Run. Safe for concurrent use.
type Set struct {
	name   string // for errors and logs: "gcp provisioner \"x\""
	source Source
	client *http.Client
	now    func() time.Time
	log    logrus.FieldLogger

	mu      sync.RWMutex
	keys    map[string][]jose.JSONWebKey
	fetched time.Time
	lastErr error
	ready   chan struct{}
	once    sync.Once
}

// New returns an empty set for the key set at url (or, with source, the URL
// source finds).
func New(name string, source Source, client *http.Client, now func() time.Time, log logrus.FieldLogger) *Set {
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	if log == nil {
		l := logrus.New()
		l.SetOutput(io.Discard)
		log = l
	}
	return &Set{name: name, source: source, client: client, now: now, log: log, ready: make(chan struct{})}
}

// URL is a Source for a fixed URL.
func URL(u string) Source {
	return func(context.Context, *http.Client) (string, error) { return u, nil }
}

// Ready is closed once a key set has been fetched.
func (s *Set) Ready() <-chan struct{} { return s.ready }

// Get returns the keys with this kid (every key when kid is empty), or an
// error when no key set was fetched yet or the last good one is stale.
func (s *Set) Get(kid string) ([]jose.JSONWebKey, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch {
	case s.fetched.IsZero() && s.lastErr != nil:
		return nil, fmt.Errorf("%s: keys are not available: %v", s.name, s.lastErr)
	case s.fetched.IsZero():
		return nil, fmt.Errorf("%s: keys are not available yet", s.name)
	case s.now().Sub(s.fetched) > MaxStale:
		return nil, fmt.Errorf("%s: keys are stale: last refreshed %s ago: %v", s.name, s.now().Sub(s.fetched).Round(time.Second), s.lastErr)
	}
	if kid == "" {
		var all []jose.JSONWebKey
		for _, ks := range s.keys {
			all = append(all, ks...)
		}
		return all, nil
	}
	return s.keys[kid], nil
}

// Run fetches the set now, then again before it expires, until ctx is done.
func (s *Set) Run(ctx context.Context) error {
	retry := RetryMin
	for {
		next, err := s.Refresh(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.log.WithError(err).Warnf("%s: error refreshing keys; retrying in %s", s.name, retry)
			next = retry
			retry = min(retry*2, RetryMax)
		} else {
			retry = RetryMin
		}
		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Refresh fetches the set once and returns when to fetch it again.
func (s *Set) Refresh(ctx context.Context) (time.Duration, error) {
	keys, maxAge, err := s.fetch(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.lastErr = err
		return 0, err
	}
	s.keys, s.fetched, s.lastErr = keys, s.now(), nil
	s.once.Do(func() {
		s.log.Infof("%s: keys fetched", s.name)
		close(s.ready)
	})
	return min(max(maxAge, MinRefresh), MaxRefresh), nil
}

func (s *Set) fetch(ctx context.Context) (map[string][]jose.JSONWebKey, time.Duration, error) {
	u, err := s.source(ctx, s.client)
	if err != nil {
		return nil, 0, err
	}
	body, hdr, err := Get(ctx, s.client, u)
	if err != nil {
		return nil, 0, err
	}
	keys, err := Parse(body)
	if err != nil {
		return nil, 0, fmt.Errorf("error reading %s: %w", u, err)
	}
	return keys, MaxAge(hdr.Get("Cache-Control")), nil
}

// Get fetches u with client: a 200 response's body of at most MaxSize.
func Get(ctx context.Context, client *http.Client, u string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, http.NoBody)
	if err != nil {
		return nil, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("error fetching %s: status %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("error fetching %s: %w", u, err)
	}
	if len(body) > MaxSize {
		return nil, nil, fmt.Errorf("error fetching %s: document is larger than %d bytes", u, MaxSize)
	}
	return body, resp.Header, nil
}

// Parse reads a JWKS document: the public keys by kid. Private keys and a
// set without keys are refused.
func Parse(b []byte) (map[string][]jose.JSONWebKey, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("invalid key set: %w", err)
	}
	keys := map[string][]jose.JSONWebKey{}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			return nil, errors.New("invalid key set: it has a private key")
		}
		if !k.Valid() {
			continue
		}
		keys[k.KeyID] = append(keys[k.KeyID], k)
	}
	if len(keys) == 0 {
		return nil, errors.New("invalid key set: no keys")
	}
	return keys, nil
}

// MaxAge reads max-age from a Cache-Control header; 0 when absent.
func MaxAge(cc string) time.Duration {
	for _, d := range strings.Split(cc, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(d), "=")
		if !ok || !strings.EqualFold(k, "max-age") {
			continue
		}
		if n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64); err == nil && n > 0 && n < 1<<31 {
			return time.Duration(n) * time.Second
		}
	}
	return 0
}
