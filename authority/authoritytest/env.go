package authoritytest

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/badger"
	"github.com/mayfly-pki/mayfly/db/memory"
	"github.com/mayfly-pki/mayfly/internal/audit"
	"github.com/mayfly-pki/mayfly/internal/meter"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/policy"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/jwk"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/x5c"
)

// DNSName is the CA's default DNS name, and CAURL the URL clients use (with a
// port, which audience matching ignores).
const (
	DNSName = "ca.example.com"
	CAURL   = "https://ca.example.com:9443"
)

// Options tune New. The zero value gives step ca init's defaults: one JWK
// provisioner "admin", backdate 1m, default claims, an in-memory store.
type Options struct {
	// Store defaults to db/memory (no revocation); see OpenBadger.
	Store store.Store
	// Claims are the global authority.claims.
	Claims *provisioner.Claims
	// AdminExtra adds fields (e.g. "claims") to the admin provisioner entry.
	AdminExtra map[string]any
	// MoreProvisioners are appended after the admin provisioner.
	MoreProvisioners []json.RawMessage
	// MoreProvisionersFn, when set, returns more entries (after
	// MoreProvisioners) from the PKI New creates: an X5C provisioner
	// trusting the CA's own root.
	MoreProvisionersFn func(*PKI) []json.RawMessage
	// Backdate defaults to one minute; set NoBackdate for zero.
	Backdate   time.Duration
	NoBackdate bool
	// DisableIssuedAtCheck and StartTime are passed through.
	DisableIssuedAtCheck bool
	StartTime            time.Time
	// InterLife is the intermediate's remaining life; default 30 days.
	InterLife time.Duration
	Logger    logrus.FieldLogger
	// Registry adds provisioner types to Registry()'s (a test type, X5C).
	Registry provisioner.Registry
	// X509Policy is authority.policy.x509.
	X509Policy *policy.X509Options
	// CRL enables the CRL.
	CRL *authority.CRLOptions
	// OCSP enables the OCSP responder.
	OCSP *authority.OCSPOptions
	// Lint is authority.lint.
	Lint *authority.LintOptions
	// Meter and Audit are passed through (nil: none).
	Meter meter.Certificates
	Audit audit.Sink
	// SSH is the ssh block (nil: no SSH CA).
	SSH *authority.SSHConfig
	// Admins turns the admin API on with these admins.
	Admins *admin.Index
}

// Env is an Authority with everything it was built from.
type Env struct {
	Clock     *Clock
	PKI       *PKI
	Admin     *JWK
	Store     store.Store
	Authority *authority.Authority
}

// Registry returns the provisioner registry the tests use: JWK and X5C.
func Registry() provisioner.Registry {
	return provisioner.Registry{provisioner.TypeJWK: jwk.New, provisioner.TypeX5C: x5c.New}
}

// New builds an Env at Epoch.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	clock := NewClock(Epoch)
	life := o.InterLife
	if life == 0 {
		life = 30 * 24 * time.Hour
	}
	pki := NewPKI(t, clock.Now(), life)
	admin := NewJWK(t, "admin")
	st := o.Store
	if st == nil {
		st = memory.New()
	}
	backdate := o.Backdate
	if backdate == 0 && !o.NoBackdate {
		backdate = time.Minute
	}
	provs := append([]json.RawMessage{admin.Entry(t, o.AdminExtra)}, o.MoreProvisioners...)
	if o.MoreProvisionersFn != nil {
		provs = append(provs, o.MoreProvisionersFn(pki)...)
	}
	reg := Registry()
	for k, v := range o.Registry {
		reg[k] = v
	}
	a, err := authority.New(authority.Options{
		Roots:                []*x509.Certificate{pki.Root},
		Intermediates:        []*x509.Certificate{pki.Intermediate},
		Signer:               pki.IntermediateKey,
		DNSNames:             []string{DNSName, "127.0.0.1", "::1"},
		Provisioners:         provs,
		Registry:             reg,
		Claims:               o.Claims,
		Backdate:             backdate,
		DisableIssuedAtCheck: o.DisableIssuedAtCheck,
		StartTime:            o.StartTime,
		Store:                st,
		Now:                  clock.Now,
		Logger:               o.Logger,
		X509Policy:           o.X509Policy,
		CRL:                  o.CRL,
		OCSP:                 o.OCSP,
		Lint:                 o.Lint,
		Meter:                o.Meter,
		Audit:                o.Audit,
		SSH:                  o.SSH,
		Admins:               o.Admins,
	})
	if err != nil {
		t.Fatalf("authority.New: %v", err)
	}
	return &Env{Clock: clock, PKI: pki, Admin: admin, Store: st, Authority: a}
}

// OpenBadger opens a badger store in a temporary directory, closed at cleanup.
func OpenBadger(t testing.TB) store.Store {
	t.Helper()
	s, err := badger.Open(context.Background(), badger.Options{Dir: t.TempDir(), MemTableSize: 16 << 20})
	if err != nil {
		t.Fatalf("badger.Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// SignClaims returns admin sign claims for sub with sans (nil: none, so the
// CA defaults them to [sub]) at the current fake time.
func (e *Env) SignClaims(t testing.TB, sub string, sans ...string) *token.Claims {
	t.Helper()
	c := e.Admin.Claims(t, CAURL+"/1.0/sign", sub, e.Clock.Now())
	c.SANs = sans
	return c
}

// SignToken is Admin.Sign(SignClaims(sub, sans...)).
func (e *Env) SignToken(t testing.TB, sub string, sans ...string) string {
	t.Helper()
	return e.Admin.Sign(t, e.SignClaims(t, sub, sans...))
}

// RevokeToken returns an admin revoke token for serial.
func (e *Env) RevokeToken(t testing.TB, serial string) string {
	t.Helper()
	return e.Admin.Sign(t, e.Admin.Claims(t, CAURL+"/1.0/revoke", serial, e.Clock.Now()))
}

// Issue signs a new certificate for sub through the authority and returns it
// with its key.
func (e *Env) Issue(t testing.TB, sub string, notAfter time.Duration) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key := NewKey(t)
	csr := NewCSR(t, CSR{CommonName: sub, DNSNames: []string{sub}, Key: key})
	req := &authority.SignRequest{CSR: csr, OTT: e.SignToken(t, sub)}
	if notAfter != 0 {
		req.NotAfter = timeutil.NewDuration(notAfter)
	}
	iss, err := e.Authority.Sign(context.Background(), req)
	if err != nil {
		t.Fatalf("Sign %s: %v", sub, err)
	}
	c, err := x509.ParseCertificate(iss.DER)
	if err != nil {
		t.Fatalf("parse issued certificate: %v", err)
	}
	return c, key
}
