package provisioner

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// Paging limits of GET /provisioners (wire-spec §3.4).
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Collection is an immutable, ordered set of provisioners with the lookups the
// authority needs. Safe for concurrent use.
type Collection struct {
	list      []entry
	byTokenID map[string]Interface
	byName    map[string]Interface
	byKID     map[string]Interface
	audiences Audiences
	// headers are the token headers of the provisioners' keys, computed
	// here once per configuration snapshot, never from a request.
	headers *token.Headers
}

type entry struct {
	uid string
	p   Interface
}

// NewCollection indexes ps in load order. Names and token IDs must be unique.
func NewCollection(ps []Interface, audiences Audiences) (*Collection, error) {
	c := &Collection{
		byTokenID: map[string]Interface{}, byName: map[string]Interface{}, byKID: map[string]Interface{},
		audiences: audiences,
	}
	var keys []*jose.JSONWebKey
	for i, p := range ps {
		info := p.Info()
		if _, dup := c.byName[info.Name]; dup {
			return nil, fmt.Errorf("provisioner name %q is used more than once", info.Name)
		}
		if _, dup := c.byTokenID[p.TokenID()]; dup {
			return nil, fmt.Errorf("provisioner %q: token ID %q is used more than once", info.Name, p.TokenID())
		}
		c.byName[info.Name] = p
		c.byTokenID[p.TokenID()] = p
		if kid, _, ok := p.EncryptedKey(); ok {
			c.byKID[kid] = p
		}
		if tk, ok := p.(TokenKeyer); ok {
			keys = append(keys, tk.TokenKeys()...)
		}
		c.list = append(c.list, entry{uid: uid(i, info.ID), p: p})
	}
	c.headers = token.NewHeaders(keys)
	return c, nil
}

// ParseToken parses a token without verifying it. A token whose header is
// one a provisioner key's tokens carry has its signature checked directly.
func (c *Collection) ParseToken(raw string) (*token.Token, error) {
	return c.headers.Parse(raw)
}

// uid is step's ordering key: SHA-1 of the ID with the first 4 bytes replaced
// by the big-endian load index (wire-spec §3.4).
func uid(index int, id string) string {
	sum := sha1.Sum([]byte(id))
	binary.BigEndian.PutUint32(sum[:4], uint32(index))
	return hex.EncodeToString(sum[:])
}

// Len returns the number of provisioners.
func (c *Collection) Len() int { return len(c.list) }

// All returns the provisioners in load order.
func (c *Collection) All() []Interface {
	out := make([]Interface, len(c.list))
	for i, e := range c.list {
		out[i] = e.p
	}
	return out
}

// ByName returns the provisioner called name.
func (c *Collection) ByName(name string) (Interface, bool) {
	p, ok := c.byName[name]
	return p, ok
}

// ByKID returns the provisioner whose encrypted key has this kid.
func (c *Collection) ByKID(kid string) (Interface, bool) {
	p, ok := c.byKID[kid]
	return p, ok
}

// ByToken finds the provisioner a token names (wire-spec §4.8).
func (c *Collection) ByToken(tok *token.Token) (Interface, bool) {
	if frag, ok := c.audiences.MatchAny(tok.Claims.Audience); ok {
		if frag != "" {
			p, ok := c.byTokenID[frag]
			return p, ok
		}
		p, ok := c.byTokenID[tok.Claims.Issuer+":"+tok.Header.KeyID]
		return p, ok
	}
	return nil, false
}

// ByCertificate finds the provisioner named by cert's provisioner extension.
func (c *Collection) ByCertificate(ext *Extension) (Interface, bool) {
	p, ok := c.byName[ext.Name]
	if !ok || p.Info().Type != ext.Type {
		return nil, false
	}
	if ext.Type == TypeJWK && p.Info().CredentialID != ext.CredentialID {
		return nil, false
	}
	return p, true
}

// Page returns up to limit provisioners starting at cursor, and the next
// cursor ("" at the end), as step-ca pages GET /provisioners.
func (c *Collection) Page(cursor string, limit int) ([]Interface, string) {
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	if n := len(cursor); n < 40 {
		cursor = strings.Repeat("0", 40-n) + cursor
	}
	start := len(c.list)
	for i, e := range c.list {
		if e.uid >= cursor {
			start = i
			break
		}
	}
	end := min(start+limit, len(c.list))
	out := make([]Interface, 0, end-start)
	for _, e := range c.list[start:end] {
		out = append(out, e.p)
	}
	next := ""
	if end < len(c.list) {
		next = strings.TrimLeft(c.list[end].uid, "0")
	}
	return out, next
}
