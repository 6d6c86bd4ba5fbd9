// Package nebulatest makes Nebula CAs, host certificates and tokens for
// tests, with the nebula cert package.
package nebulatest

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/slackhq/nebula/cert"
	"golang.org/x/crypto/curve25519"

	"github.com/mayfly-pki/mayfly/provisioner/nebula"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// CA is a Nebula certificate authority.
type CA struct {
	Cert  cert.Certificate
	Curve cert.Curve
	key   []byte // Ed25519 private key or P-256 scalar
}

// NewCA creates a Curve25519 (or P-256) Nebula CA valid from nb to na.
func NewCA(t testing.TB, name string, curve cert.Curve, nb, na time.Time) *CA {
	t.Helper()
	var pub, priv []byte
	switch curve {
	case cert.Curve_CURVE25519:
		p, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub, priv = p, k
	case cert.Curve_P256:
		k, err := ecdh.P256().GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub, priv = k.PublicKey().Bytes(), k.Bytes()
	}
	tbs := &cert.TBSCertificate{
		Version: cert.Version1, Name: name, IsCA: true, NotBefore: nb.Truncate(time.Second), NotAfter: na.Truncate(time.Second),
		PublicKey: pub, Curve: curve,
	}
	c, err := tbs.Sign(nil, curve, priv)
	if err != nil {
		t.Fatal(err)
	}
	return &CA{Cert: c, Curve: curve, key: priv}
}

// PEM returns the CA certificate in PEM.
func (ca *CA) PEM(t testing.TB) []byte {
	t.Helper()
	b, err := ca.Cert.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Host is a host certificate and its private key.
type Host struct {
	Cert  cert.Certificate
	Curve cert.Curve
	Key   []byte // X25519 or P-256 private key
}

// HostOptions describe a host certificate.
type HostOptions struct {
	Name      string
	Networks  []string // e.g. "10.1.0.5/16"
	Groups    []string
	NotBefore time.Time
	NotAfter  time.Time
	Version   cert.Version // default v1
}

// Issue signs a host certificate.
func (ca *CA) Issue(t testing.TB, o HostOptions) *Host {
	t.Helper()
	var pub, priv []byte
	switch ca.Curve {
	case cert.Curve_CURVE25519:
		priv = make([]byte, 32)
		if _, err := rand.Read(priv); err != nil {
			t.Fatal(err)
		}
		var err error
		if pub, err = curve25519.X25519(priv, curve25519.Basepoint); err != nil {
			t.Fatal(err)
		}
	case cert.Curve_P256:
		k, err := ecdh.P256().GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub, priv = k.PublicKey().Bytes(), k.Bytes()
	}
	nets := make([]netip.Prefix, len(o.Networks))
	for i, n := range o.Networks {
		nets[i] = netip.MustParsePrefix(n)
	}
	v := o.Version
	if v == 0 {
		v = cert.Version1
	}
	tbs := &cert.TBSCertificate{
		Version: v, Name: o.Name, Networks: nets, Groups: o.Groups,
		NotBefore: o.NotBefore.Truncate(time.Second), NotAfter: o.NotAfter.Truncate(time.Second), PublicKey: pub, Curve: ca.Curve,
	}
	c, err := tbs.Sign(ca.Cert, ca.Curve, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return &Host{Cert: c, Curve: ca.Curve, Key: priv}
}

// CertPEM and KeyPEM are the host's files, as nebula-cert writes them.
func (h *Host) CertPEM(t testing.TB) []byte {
	t.Helper()
	b, err := h.Cert.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// KeyPEM is the host's private key file.
func (h *Host) KeyPEM() []byte { return cert.MarshalPrivateKeyToPEM(h.Curve, h.Key) }

// Token signs c with the host's key, the certificate in the nebula header.
func (h *Host) Token(t testing.TB, c *token.Claims) string {
	t.Helper()
	return h.TokenWith(t, c, h.Key)
}

// TokenWith signs c with key (maybe not the host's), the host's
// certificate in the nebula header.
func (h *Host) TokenWith(t testing.TB, c *token.Claims, key []byte) string {
	t.Helper()
	k, err := nebula.Key(h.Curve, key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := nebula.Sign(h.Cert, k, c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Entry is the ca.json entry of a Nebula provisioner trusting cas.
func Entry(t testing.TB, name string, extra map[string]any, cas ...*CA) json.RawMessage {
	t.Helper()
	var bundle []byte
	for _, ca := range cas {
		bundle = append(bundle, ca.PEM(t)...)
	}
	m := map[string]any{"type": "Nebula", "name": name, "roots": bundle}
	for k, v := range extra {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
