package kms

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Loader resolves the CA's key references (ca.json "key", "ssh.hostKey",
// "ssh.userKey", and step's --key/--ca-key) to signers: a file path through
// ReadFile, a key URI through the key manager that ca.json's "kms" block
// (or the URI's own scheme) selects. Key managers are opened once, on first
// use, and kept until Close, so SIGHUP reloads reuse their sessions. Safe
// for concurrent use.
type Loader struct {
	registry Registry
	opts     *Options // ca.json kms block; nil: none
	readFile func(path string, password []byte) (crypto.Signer, error)
	guard    GuardOptions

	mu     sync.Mutex
	open   map[Options]KeyManager
	guards map[string]*Guard
}

// LoaderDeps are what a Loader is built from.
type LoaderDeps struct {
	Registry Registry
	// KMS is ca.json's "kms" block (nil without one).
	KMS *Options
	// ReadFile reads and decrypts a PEM key file (a path that is no URI).
	ReadFile func(path string, password []byte) (crypto.Signer, error)
	// Guard bounds the signatures of every external key manager; Name is
	// set per backend.
	Guard GuardOptions
}

// NewLoader returns a loader; it opens nothing yet.
func NewLoader(d LoaderDeps) *Loader {
	return &Loader{registry: d.Registry, opts: d.KMS, readFile: d.ReadFile, guard: d.Guard,
		open: map[Options]KeyManager{}, guards: map[string]*Guard{}}
}

// options picks the key manager for key: the kms block when its type
// matches the key's scheme (or the block has no type), else the scheme
// alone with no extra options.
func (l *Loader) options(block *Options, key string) Options {
	scheme := backendOf(block, key)
	if block != nil {
		o := *block
		b := o.Backend()
		if b == scheme || (o.Type == "" && o.URI == "") {
			if o.Type == "" && o.URI == "" {
				o.Type = scheme
			}
			return o
		}
	}
	return Options{Type: scheme}
}

// manager returns the opened key manager for o.
func (l *Loader) manager(ctx context.Context, o Options) (KeyManager, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if km, ok := l.open[o]; ok {
		return km, nil
	}
	km, err := l.registry.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	l.open[o] = km
	return km, nil
}

// Signer returns the signer for key. password decrypts a PEM file and is
// ignored for URIs. A signer from a key manager outside this process is
// wrapped in that backend's Guard and is External.
func (l *Loader) Signer(ctx context.Context, key string, password []byte) (crypto.Signer, error) {
	return l.SignerWith(ctx, l.opts, key, password)
}

// SignerWith is Signer with another kms block (a reloaded ca.json's): key
// managers already opened with the same options are reused.
func (l *Loader) SignerWith(ctx context.Context, block *Options, key string, password []byte) (crypto.Signer, error) {
	if key == "" {
		return nil, errors.New("the key is empty")
	}
	scheme := backendOf(block, key)
	if scheme == "" || scheme == "softkms" {
		if l.readFile == nil {
			return nil, errors.New("no file reader configured")
		}
		path := key
		if scheme == "softkms" {
			u, err := ParseURI(key)
			if err != nil {
				return nil, err
			}
			path = u.Get("path")
		}
		return l.readFile(path, password)
	}
	o := l.options(block, key)
	km, err := l.manager(ctx, o)
	if err != nil {
		return nil, err
	}
	s, err := km.CreateSigner(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Redact(key), err)
	}
	return l.guardFor(o.Backend()).Wrap(s), nil
}

// backendOf returns the backend a key reference belongs to: its URI
// scheme, or "cloudkms" for a bare Cloud KMS resource name
// ("projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
// as step writes them) under a cloudkms block; "" for a file path.
func backendOf(block *Options, key string) string {
	if s := Scheme(key); s != "" {
		return s
	}
	if block != nil && block.Backend() == "cloudkms" && strings.HasPrefix(key, "projects/") {
		return "cloudkms"
	}
	return ""
}

// InKeyManager reports whether key (under the kms block, nil for none) is
// held by a key manager rather than read from a file: such a key needs no
// password.
func InKeyManager(block *Options, key string) bool {
	b := backendOf(block, key)
	return b != "" && b != "softkms"
}

// PublicKey returns the public key of a key URI.
func (l *Loader) PublicKey(ctx context.Context, key string) (crypto.PublicKey, error) {
	km, err := l.manager(ctx, l.options(l.opts, key))
	if err != nil {
		return nil, err
	}
	return km.GetPublicKey(ctx, key)
}

func (l *Loader) guardFor(name string) *Guard {
	l.mu.Lock()
	defer l.mu.Unlock()
	g, ok := l.guards[name]
	if !ok {
		o := l.guard
		o.Name = name
		g = NewGuard(o)
		l.guards[name] = g
	}
	return g
}

// Health returns the first unhealthy key manager's error, or nil.
func (l *Loader) Health() error {
	l.mu.Lock()
	gs := make([]*Guard, 0, len(l.guards))
	for _, g := range l.guards {
		gs = append(gs, g)
	}
	l.mu.Unlock()
	for _, g := range gs {
		if err := g.Health(); err != nil {
			return err
		}
	}
	return nil
}

// Close closes every opened key manager.
func (l *Loader) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errList []error
	for o, km := range l.open {
		if err := km.Close(); err != nil {
			errList = append(errList, err)
		}
		delete(l.open, o)
	}
	return errors.Join(errList...)
}
