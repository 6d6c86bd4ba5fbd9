package authority

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/ssh/krl"
)

// KRL is the key revocation list served at GET /ssh/krl.
type KRL struct {
	Body     []byte
	ETag     string // strong, derived from Body
	Modified time.Time
	Count    int // revoked serials listed
}

// krlCache keeps the KRL of an authority snapshot: built from the store
// once, then updated in memory on every revocation this node records and
// rebuilt from the store every interval (revocations of other nodes
// sharing a SQL database). Serving it reads no database.
//
// The body is a function of its content only (generated_date and
// krl_version are the newest revocation's time), so nodes with the same
// revocations serve the same bytes and the same ETag.
type krlCache struct {
	st       store.SSHStore
	caKeys   [][]byte // wire format of the CA keys the serials are listed under
	now      func() time.Time
	interval time.Duration
	log      logrus.FieldLogger

	mu      sync.Mutex
	entries map[uint64]krlEntry // nil until loaded
	doc     *KRL
	// nextExpiry is the earliest expiry among the listed entries (zero:
	// none): the document is rebuilt once it passes, not on every request.
	nextExpiry time.Time
}

type krlEntry struct {
	expires time.Time // zero: unknown, kept
	revoked time.Time
}

// KRL returns the current list, loading it from the store the first time.
func (a *Authority) KRL(ctx context.Context) (*KRL, error) {
	if !a.SSHEnabled() {
		return nil, errSSHDisabled()
	}
	if a.ssh.krl == nil {
		return nil, errSSHDisabled()
	}
	return a.ssh.krl.get(ctx)
}

func (k *krlCache) get(ctx context.Context) (*KRL, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.entries == nil {
		if err := k.loadLocked(ctx); err != nil {
			return nil, err
		}
	}
	now := k.now()
	if k.doc == nil || k.expiredLocked(now) {
		k.encodeLocked(now)
	}
	return k.doc, nil
}

// loadLocked reads every SSH revocation from the store.
func (k *krlCache) loadLocked(ctx context.Context) error {
	rs, err := k.st.ListSSHRevocations(ctx)
	if err != nil {
		return storeError("error listing ssh revocations", err)
	}
	m := make(map[uint64]krlEntry, len(rs))
	for _, r := range rs {
		n, err := strconv.ParseUint(r.Serial, 10, 64)
		if err != nil {
			continue // not an SSH serial: nothing sshd could match
		}
		m[n] = krlEntry{expires: r.ExpiresAt, revoked: r.RevokedAt}
	}
	k.entries, k.doc = m, nil
	return nil
}

// expiredLocked reports whether an entry of the current document expired.
func (k *krlCache) expiredLocked(now time.Time) bool {
	return !k.nextExpiry.IsZero() && k.nextExpiry.Before(now)
}

// encodeLocked builds the document from the unexpired entries.
func (k *krlCache) encodeLocked(now time.Time) {
	serials := make([]uint64, 0, len(k.entries))
	var newest time.Time
	k.nextExpiry = time.Time{}
	for n, e := range k.entries {
		if !e.expires.IsZero() && e.expires.Before(now) {
			delete(k.entries, n)
			continue
		}
		serials = append(serials, n)
		if e.revoked.After(newest) {
			newest = e.revoked
		}
		if !e.expires.IsZero() && (k.nextExpiry.IsZero() || e.expires.Before(k.nextExpiry)) {
			k.nextExpiry = e.expires
		}
	}
	l := &krl.KRL{Version: uint64(max(newest.Unix(), 0)), Generated: newest, Comment: "Mayfly SSH CA"}
	for _, key := range k.caKeys {
		l.Certs = append(l.Certs, krl.CertSection{CAKey: key, Serials: serials})
	}
	body := l.Marshal()
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	if k.doc != nil && k.doc.ETag == etag {
		return
	}
	mod := newest.UTC().Truncate(time.Second)
	if mod.IsZero() || (k.doc != nil && mod.Before(k.doc.Modified)) {
		mod = now.UTC().Truncate(time.Second)
	}
	k.doc = &KRL{Body: body, ETag: etag, Modified: mod, Count: len(serials)}
}

// add records a revocation this node made.
func (k *krlCache) add(r *store.Revocation) {
	n, err := strconv.ParseUint(r.Serial, 10, 64)
	if err != nil {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.entries == nil {
		return // loaded, with this revocation, on first use
	}
	k.entries[n] = krlEntry{expires: r.ExpiresAt, revoked: r.RevokedAt}
	k.encodeLocked(k.now())
}

// Run rebuilds the list from the store every interval until ctx ends.
func (k *krlCache) Run(ctx context.Context) error {
	t := time.NewTicker(k.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		k.mu.Lock()
		err := k.loadLocked(ctx)
		if err == nil {
			k.encodeLocked(k.now())
		}
		k.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			k.log.WithError(err).Warn("error rebuilding the ssh key revocation list")
		}
	}
}

// newKRLCache returns the KRL cache of a snapshot whose store keeps SSH
// records, or nil.
func (a *Authority) newKRLCache(interval time.Duration) *krlCache {
	st, ok := a.store.(store.SSHStore)
	if !ok || !a.SSHEnabled() {
		return nil
	}
	if interval <= 0 {
		interval = time.Minute
	}
	k := &krlCache{st: st, now: a.now, interval: interval, log: a.log}
	if a.ssh.user != nil {
		k.caKeys = append(k.caKeys, a.ssh.user.PublicKey().Marshal())
	}
	if a.ssh.host != nil {
		k.caKeys = append(k.caKeys, a.ssh.host.PublicKey().Marshal())
	}
	return k
}
