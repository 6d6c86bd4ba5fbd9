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
	list []entry
	// routes is the token routing table (wire-spec §4.8), one map per
	// RouteKind, built once per configuration snapshot from each
	// provisioner's TokenID and, for a Router, its RouteKeys.
	routes    [numRouteKinds]map[string]Interface
	fallback  bool // some provisioner has a key besides RouteTokenID
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
		byName: map[string]Interface{}, byKID: map[string]Interface{}, audiences: audiences,
	}
	for k := range c.routes {
		c.routes[k] = map[string]Interface{}
	}
	var keys []*jose.JSONWebKey
	for i, p := range ps {
		info := p.Info()
		if _, dup := c.byName[info.Name]; dup {
			return nil, fmt.Errorf("provisioner name %q is used more than once", info.Name)
		}
		if err := c.addRoute(p, RouteKey{Kind: RouteTokenID, Value: p.TokenID()}); err != nil {
			return nil, err
		}
		if r, ok := p.(Router); ok {
			for _, k := range r.RouteKeys() {
				if err := c.addRoute(p, k); err != nil {
					return nil, err
				}
			}
		}
		c.byName[info.Name] = p
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

var routeNames = [numRouteKinds]string{
	RouteTokenID: "token ID", RouteIssuer: "token issuer", RouteAZP: "OIDC client ID (azp)",
	RouteTenant: "tenant ID (tid)", RouteAudience: "token audience",
}

// addRoute adds one routing key of p; a key two provisioners claim is an
// error, since a token could not tell them apart.
func (c *Collection) addRoute(p Interface, k RouteKey) error {
	if k.Kind < 0 || k.Kind >= numRouteKinds || k.Value == "" {
		return fmt.Errorf("provisioner %q: invalid routing key %v", p.Info().Name, k)
	}
	if q, dup := c.routes[k.Kind][k.Value]; dup && q != p {
		return fmt.Errorf("provisioner %q: %s %q is used more than once", p.Info().Name, routeNames[k.Kind], k.Value)
	}
	c.routes[k.Kind][k.Value] = p
	if k.Kind != RouteTokenID {
		c.fallback = true
	}
	return nil
}

// ParseToken parses a token without verifying it. A token whose header is
// one a provisioner key's tokens carry has its signature checked directly.
func (c *Collection) ParseToken(raw string) (*token.Token, error) {
	return c.headers.Parse(raw)
}

// LearnHeader records the header of tok, whose signature a provisioner has
// just verified, so that the same client's next tokens parse and verify
// directly (token.Headers.Learn). Call it only after a provisioner
// accepted tok.
func (c *Collection) LearnHeader(tok *token.Token) { c.headers.Learn(tok) }

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

// ByToken finds the provisioner a token names (wire-spec §4.8): a token
// addressed to one of the CA's audiences by its #fragment, or without one by
// "<iss>:<kid>"; any other token by its issuer (K8sSA), its azp (OIDC), its
// tid (Azure: by aud[0] first when it has an email), and last by aud[0].
func (c *Collection) ByToken(tok *token.Token) (Interface, bool) {
	if frag, ok := c.audiences.MatchAny(tok.Claims.Audience); ok {
		if frag != "" {
			p, ok := c.routes[RouteTokenID][frag]
			return p, ok
		}
		p, ok := c.routes[RouteTokenID][tok.Claims.Issuer+":"+tok.Header.KeyID]
		return p, ok
	}
	if !c.fallback {
		return nil, false
	}
	if p, ok := c.routes[RouteIssuer][tok.Claims.Issuer]; ok {
		return p, true
	}
	aud0 := ""
	if len(tok.Claims.Audience) > 0 {
		aud0 = tok.Claims.Audience[0]
	}
	// Claims only these types carry: decoded here, on the rare path.
	extra := TokenPayload(tok)
	if azp, _ := extra["azp"].(string); azp != "" {
		if p, ok := c.routes[RouteAZP][azp]; ok {
			return p, true
		}
	}
	if tid, _ := extra["tid"].(string); tid != "" {
		if email, _ := extra["email"].(string); email != "" {
			if p, ok := c.routes[RouteAudience][aud0]; ok {
				return p, true
			}
		}
		if p, ok := c.routes[RouteTenant][tid]; ok {
			return p, true
		}
	}
	p, ok := c.routes[RouteAudience][aud0]
	return p, ok
}

// Runners returns the provisioners with background work, in load order.
func (c *Collection) Runners() []Runner {
	var out []Runner
	for _, e := range c.list {
		if r, ok := e.p.(Runner); ok {
			out = append(out, r)
		}
	}
	return out
}

// ByCertificate finds the provisioner named by cert's provisioner extension.
func (c *Collection) ByCertificate(ext *Extension) (Interface, bool) {
	p, ok := c.byName[ext.Name]
	if !ok || p.Info().Type != ext.Type {
		return nil, false
	}
	if id := p.Info().CredentialID; id != "" && id != ext.CredentialID {
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
