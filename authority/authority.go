// Package authority is the X.509 issuing service: it authorizes requests with
// provisioners, applies claims, signs with the issuer and persists records.
// An Authority is an immutable snapshot of one configuration; reload builds a
// new one.
package authority

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/authority/crl"
	"github.com/mayfly-pki/mayfly/authority/issuer"
	"github.com/mayfly-pki/mayfly/authority/ocsp"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/audit"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/meter"
	"github.com/mayfly-pki/mayfly/policy"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// Options are what an Authority is built from.
type Options struct {
	Roots          []*x509.Certificate
	FederatedRoots []*x509.Certificate
	// Intermediates is the issuing chain, issuing certificate first.
	Intermediates []*x509.Certificate
	Signer        crypto.Signer
	DNSNames      []string
	// Provisioners are the raw ca.json entries, built with Registry.
	Provisioners []json.RawMessage
	Registry     provisioner.Registry
	Claims       *provisioner.Claims
	Backdate     time.Duration
	// DisableIssuedAtCheck accepts tokens issued before StartTime.
	DisableIssuedAtCheck bool
	// StartTime is when the CA process started (wire-spec §4.9).
	StartTime time.Time
	Store     store.Store
	// StoreName names the backend in messages (ca.json db.type, or
	// "in-memory"); empty means "configured".
	StoreName string
	Now       func() time.Time
	Logger    logrus.FieldLogger
	// HTTPClient is given to provisioners for their background network
	// work; cmd/step-ca builds it with timeouts. Nil: http.DefaultClient's
	// transport with a 30s timeout.
	HTTPClient *http.Client
	// X509Policy is authority.policy.x509 (nil: no policy).
	X509Policy *policy.X509Options
	// CRL enables the CRL (nil: disabled).
	CRL *CRLOptions
	// OCSP enables the OCSP responder (nil: disabled).
	OCSP *OCSPOptions
	// Lint is authority.lint (nil: off).
	Lint *LintOptions
	// Meter receives a count of every decision and token replay (nil:
	// meter.Nop); Audit a record of every decision (nil: none). See observe.go.
	Meter meter.Certificates
	Audit audit.Sink
	// KeyHealth reports the key managers the CA's keys live in (nil: keys
	// are files). It returns an errs.Unavailable naming the one that is down.
	KeyHealth func() error
	// SSH is the ca.json ssh block, loaded (nil: no SSH CA).
	SSH *SSHConfig
	// Admins are the admins of the admin API (authority.enableAdmin); nil
	// when remote administration is off. AdminRecords, when set instead,
	// are the database's admin tables: their live provisioners are added
	// after Provisioners and their admins indexed (an admin's provisioner
	// ID names a stored provisioner or a ca.json provisioner's ID).
	Admins       *admin.Index
	AdminRecords *admin.Records
	// Upstream, when set, makes this CA a registration authority
	// (authority.type "stepcas"): Intermediates are the upstream's chain,
	// Signer is unused, and the upstream signs every X.509 certificate
	// (upstream.go). CRL, OCSP and lint need a local key and are refused.
	Upstream Upstream
}

// Authority is one configuration snapshot. Safe for concurrent use.
type Authority struct {
	roots        []*x509.Certificate
	federated    []*x509.Certificate
	rootsBySHA   map[string]*x509.Certificate
	rootPool     *x509.CertPool
	interPool    *x509.CertPool
	issuer       *issuer.Issuer
	provisioners *provisioner.Collection
	audiences    provisioner.Audiences
	claims       provisioner.Resolved
	backdate     time.Duration
	checkIAT     bool
	startTime    time.Time
	store        store.Store
	storeName    string
	now          func() time.Time
	log          logrus.FieldLogger
	policy       *policy.Engine // nil: no X.509 name policy
	// provPolicy holds the X.509 name policy of each provisioner that has
	// one, by provisioner name.
	provPolicy map[string]*policy.Engine
	// provSSHPolicy holds the SSH name policy of each provisioner that has
	// one, by provisioner name.
	provSSHPolicy map[string]*sshPolicy
	// sshTemplates holds the options.ssh template of each provisioner that
	// has one, by name (nil: none).
	sshTemplates map[string]*provisioner.SSHTemplate
	crl          *crl.Service       // nil: CRL disabled
	ocsp         *ocsp.Responder    // nil: OCSP disabled
	lint         *linter            // authority.lint; nil: off
	provLint     map[string]*linter // by provisioner name
	// issuedExts are added to every issued certificate (CRL distribution
	// point, AIA OCSP), encoded once per snapshot.
	issuedExts []pkix.Extension
	meter      meter.Certificates
	audit      audit.Sink   // nil: no audit log
	keyHealth  func() error // nil: keys are files
	ssh        *sshCA       // nil: no SSH CA
	dnsNames   []string
	admins     *admin.Index // nil: remote administration off
	upstream   Upstream     // nil: this CA signs itself
}

// New builds an authority. A provisioner that fails to initialize is kept,
// disabled, with its reason (wire-spec §2.2); every other problem is an error.
func New(o Options) (*Authority, error) {
	if len(o.Roots) == 0 {
		return nil, errors.New("authority: no root certificate")
	}
	if o.Store == nil {
		return nil, errors.New("authority: no store")
	}
	iss, err := newIssuer(o)
	if err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	log := o.Logger
	if log == nil {
		l := logrus.New()
		l.Out = nopWriter{}
		log = l
	}
	claims := o.Claims.Merge(provisioner.DefaultClaims)
	if err := claims.Validate(); err != nil {
		return nil, fmt.Errorf("authority.claims: %w", err)
	}
	if o.Backdate < 0 {
		return nil, errors.New("authority.backdate cannot be negative")
	}
	a := &Authority{
		roots: o.Roots, federated: o.FederatedRoots, rootsBySHA: map[string]*x509.Certificate{},
		rootPool: x509.NewCertPool(), interPool: x509.NewCertPool(), issuer: iss,
		audiences: provisioner.NewAudiences(o.DNSNames), claims: claims, backdate: o.Backdate,
		checkIAT: !o.DisableIssuedAtCheck, startTime: o.StartTime, store: o.Store, now: now, log: log,
		storeName: o.StoreName, meter: o.Meter, audit: o.Audit, keyHealth: o.KeyHealth,
		dnsNames: o.DNSNames, admins: o.Admins, upstream: o.Upstream,
	}
	if a.meter == nil {
		a.meter = meter.Nop{}
	}
	if a.policy, err = policy.New(o.X509Policy); err != nil {
		return nil, fmt.Errorf("authority.policy.x509: %w", err)
	}
	if o.SSH != nil {
		if a.ssh, err = newSSHCA(o.SSH); err != nil {
			return nil, err
		}
		a.ssh.krl = a.newKRLCache(o.SSH.KRLInterval)
	}
	if a.storeName == "" {
		a.storeName = "configured"
	}
	if err := a.newCRL(o.CRL); err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	if err := a.newOCSP(o.OCSP); err != nil {
		return nil, fmt.Errorf("ocsp: %w", err)
	}
	if a.lint, err = newLinter(o.Lint, iss.Certificate(), iss.Signer()); err != nil {
		return nil, fmt.Errorf("authority.lint.%w", err)
	}
	for _, c := range append(append([]*x509.Certificate{}, o.Roots...), o.FederatedRoots...) {
		a.rootsBySHA[fingerprint(c)] = c
	}
	for _, c := range o.Roots {
		a.rootPool.AddCert(c)
	}
	for _, c := range o.Intermediates {
		a.interPool.AddCert(c)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	cfg := provisioner.Config{Audiences: a.audiences, Claims: claims, Now: now, HTTPClient: hc, Roots: o.Roots, Logger: log}
	if a.ssh != nil {
		cfg.SSHUserKeys, cfg.SSHHostKeys = a.sshKeys()
	}
	var ps []provisioner.Interface
	raws := o.Provisioners
	var dbNames map[string]string // stored provisioner ID → name
	if o.AdminRecords != nil {
		_, live := o.AdminRecords.Live()
		raws = append(append([]json.RawMessage{}, raws...), make([]json.RawMessage, 0, len(live))...)
		dbNames = make(map[string]string, len(live))
		for _, p := range live {
			raws = append(raws, p.Config)
			dbNames[p.ID] = p.Name
		}
	}
	for i, raw := range raws {
		p, err := buildProvisioner(raw, o.Registry, cfg)
		if err == nil && p != nil {
			err = a.addProvisionerPolicy(p.Info(), raw)
		}
		if err == nil && p != nil {
			err = a.addProvisionerSSHTemplate(p.Info(), raw)
		}
		if err != nil {
			var base provisioner.Base
			_ = json.Unmarshal(raw, &base)
			log.WithField("provisioner", base.Name).Warnf("failed to initialize %s provisioner %q: %v", base.Type, base.Name, err)
			p = provisioner.NewUninitialized(raw, i, err)
		}
		if p == nil {
			var base provisioner.Base
			_ = json.Unmarshal(raw, &base)
			log.WithFields(logrus.Fields{"provisioner": base.Name, "type": base.Type}).
				Warn("provisioner is disabled: unknown provisioner type")
			continue
		}
		ps = append(ps, p)
	}
	if a.provisioners, err = provisioner.NewCollection(ps, a.audiences); err != nil {
		return nil, fmt.Errorf("authority.provisioners: %w", err)
	}
	if o.AdminRecords != nil {
		byID := map[string]string{}
		for _, p := range a.provisioners.All() {
			byID[p.Info().ID] = p.Info().Name
		}
		admins, _ := o.AdminRecords.Live()
		a.admins = admin.NewIndex(admins, func(id string) string {
			if n, ok := dbNames[id]; ok {
				return n
			}
			return byID[id]
		})
	}
	return a, nil
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// buildProvisioner returns nil, nil for a type the registry does not know:
// step-ca skips those (wire-spec §7.2); New logs them.
func buildProvisioner(raw json.RawMessage, reg provisioner.Registry, cfg provisioner.Config) (provisioner.Interface, error) {
	var base provisioner.Base
	if err := json.Unmarshal(raw, &base); err != nil {
		return nil, fmt.Errorf("invalid provisioner: %w", err)
	}
	t, ok := provisioner.ParseType(base.Type)
	if !ok {
		return nil, nil
	}
	build, ok := reg[t]
	if !ok {
		return nil, fmt.Errorf("provisioner type %s is not supported yet", t)
	}
	return build(raw, cfg)
}

// Roots returns the root certificates.
func (a *Authority) Roots() []*x509.Certificate { return a.roots }

// Federation returns the roots and the federated roots.
func (a *Authority) Federation() []*x509.Certificate {
	return append(append([]*x509.Certificate{}, a.roots...), a.federated...)
}

// RootPool returns the roots as a pool (for TLS client authentication).
func (a *Authority) RootPool() *x509.CertPool { return a.rootPool }

// Root returns the root or federated root with this SHA-256 fingerprint
// (case and '-' insensitive), or a NotFound error.
func (a *Authority) Root(sum string) (*x509.Certificate, error) {
	sum = strings.ToLower(strings.ReplaceAll(sum, "-", ""))
	if c, ok := a.rootsBySHA[sum]; ok {
		return c, nil
	}
	return nil, errs.Exact(errs.NotFound, fmt.Sprintf("root certificate with fingerprint %q was not found", sum), nil)
}

// Issuer returns the signing issuer.
func (a *Authority) Issuer() *issuer.Issuer { return a.issuer }

// Provisioners returns the provisioner collection.
func (a *Authority) Provisioners() *provisioner.Collection { return a.provisioners }

// Runners returns the provisioners with background work (provisioner.Runner),
// which the CA runtime runs for as long as this snapshot serves.
func (a *Authority) Runners() []provisioner.Runner {
	rs := a.provisioners.Runners()
	if a.crl != nil {
		rs = append(rs, a.crl)
	}
	if a.ocsp != nil {
		rs = append(rs, a.ocsp)
	}
	if a.ssh != nil && a.ssh.krl != nil {
		rs = append(rs, a.ssh.krl)
	}
	return rs
}

// Claims returns the global claims.
func (a *Authority) Claims() provisioner.Resolved { return a.claims }

// authorizeToken parses ott, finds and runs its provisioner's check, then
// marks the token used (wire-spec §4.10) before any further check.
func (a *Authority) authorizeToken(ctx context.Context, ott string, check func(provisioner.Interface, *token.Token) error) (provisioner.Interface, *token.Token, error) {
	return a.authorizeTokenReuse(ctx, ott, check, true)
}

// authorizeTokenReuse is authorizeToken; with record false the token is not
// marked used (a token already used by the request it came with:
// /ssh/sign's identityCSR).
func (a *Authority) authorizeTokenReuse(ctx context.Context, ott string, check func(provisioner.Interface, *token.Token) error, record bool) (provisioner.Interface, *token.Token, error) {
	tok, err := a.provisioners.ParseToken(ott)
	if err != nil {
		return nil, nil, errs.E(errs.Unauthorized, "authority.authorizeToken", err)
	}
	if a.checkIAT && tok.Claims.IssuedAt != nil && tok.Claims.IssuedAt.Time().Before(a.startTime.Truncate(time.Second)) {
		return nil, nil, errs.Errorf(errs.Unauthorized, "authority.authorizeToken: token issued before the bootstrap of certificate authority")
	}
	p, ok := a.provisioners.ByToken(tok)
	if !ok {
		return nil, nil, errs.Errorf(errs.Unauthorized, "authority.authorizeToken: provisioner not found or invalid audience (%s)", strings.Join(tok.Claims.Audience, ", "))
	}
	if err := check(p, tok); err != nil {
		return nil, nil, err
	}
	a.provisioners.LearnHeader(tok)
	if !record {
		return p, tok, nil
	}
	key := tok.ReuseKey()
	if r, ok := p.(provisioner.TokenReuser); ok {
		var record bool
		if key, record = r.UsedKey(tok); !record {
			return p, tok, nil
		}
	}
	if err := a.useKey(ctx, tok, key, p.Info().Name); err != nil {
		return nil, nil, err
	}
	return p, tok, nil
}

// useToken marks tok used. With the iat check on, a store that commits in
// order (store.OrderedTokens) need not wait for the record's sync: the
// certificate or revocation written next makes it durable, and a token whose
// record a crash loses was issued before the restart, so it is refused anyway.
func (a *Authority) useToken(ctx context.Context, tok *token.Token) error {
	return a.useKey(ctx, tok, tok.ReuseKey(), "")
}

// useKey is useToken with the used_ott key a provisioner chose (TokenReuser).
// prov names the provisioner in the replay count ("" for a renew token).
func (a *Authority) useKey(ctx context.Context, tok *token.Token, key, prov string) error {
	use := a.store.UseToken
	if ot, ok := a.store.(store.OrderedTokens); ok && a.checkIAT {
		use = ot.UseTokenOrdered
	}
	if err := use(ctx, key, []byte(tok.Raw)); err != nil {
		if errors.Is(err, store.ErrTokenUsed) {
			a.meter.TokenReplay(prov)
			return errs.E(errs.Unauthorized, "authority.authorizeToken: token already used", nil)
		}
		return storeError("error recording used token", err)
	}
	return nil
}

// storeError classifies a backend failure: unavailable, with the cause logged.
func storeError(detail string, err error) error {
	if k := errs.KindOf(err); k != errs.Internal {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errs.E(errs.Unavailable, detail, err)
	}
	return errs.E(errs.Internal, detail, err)
}

func fingerprint(c *x509.Certificate) string {
	return strings.ToLower(hexSHA256(c.Raw))
}

// EncodePEM returns the PEM of one DER certificate, byte-identical to
// pem.EncodeToMemory's, built in one exactly sized allocation (it runs for
// every certificate issued).
func EncodePEM(der []byte) string {
	const begin, end = "-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n"
	n := base64.StdEncoding.EncodedLen(len(der))
	var b strings.Builder
	b.Grow(len(begin) + n + (n+63)/64 + len(end))
	b.WriteString(begin)
	var line [64]byte
	for len(der) > 0 {
		chunk := min(len(der), 48) // 48 bytes encode to one 64-column line
		base64.StdEncoding.Encode(line[:], der[:chunk])
		b.Write(line[:base64.StdEncoding.EncodedLen(chunk)])
		b.WriteByte('\n')
		der = der[chunk:]
	}
	b.WriteString(end)
	return b.String()
}

// expectWrite announces a request that is going to write to a store that
// groups writes (store.WriteHinter); call the result when the request ends.
// It is called only once the request is authorized, so that a batch never
// waits for a request that was refused (the used-token record, if any, is
// written before it and is not waited for: store.OrderedTokens).
func (a *Authority) expectWrite() func() {
	if h, ok := a.store.(store.WriteHinter); ok {
		return h.ExpectWrite()
	}
	return func() {}
}
