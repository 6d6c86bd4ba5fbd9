package authority

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/sirupsen/logrus"
	zx509 "github.com/zmap/zcrypto/x509"
	"github.com/zmap/zlint/v3"
	"github.com/zmap/zlint/v3/lint"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
)

// LintOptions enables linting before signing (authority.lint).
type LintOptions = provisioner.LintOptions

// linter lints certificates before the real signature: the certificate is
// built exactly as it will be issued, but signed by a throwaway key of the
// issuer's type under a copy of the issuer certificate (so the issuer name,
// AKI and signature algorithm are the real ones), then parsed with zcrypto
// and run through the chosen zlint registry.
type linter struct {
	registry lint.Registry
	parent   *x509.Certificate // the issuer with the throwaway key
	key      crypto.Signer
}

// newLinter builds the registry of o (built once per snapshot) and the
// throwaway key; nil when o is off.
func newLinter(o *LintOptions, issuer *x509.Certificate, signer crypto.Signer) (*linter, error) {
	if o == nil || !o.Enabled {
		return nil, nil
	}
	var names []string
	var sources lint.SourceList
	known := map[string]bool{}
	for _, s := range lint.GlobalRegistry().Sources() {
		known[string(s)] = true
	}
	for _, l := range o.Lints {
		switch {
		case known[l]:
			sources = append(sources, lint.LintSource(l))
		case lint.GlobalRegistry().ByName(l) != nil:
			names = append(names, l)
		default:
			return nil, fmt.Errorf("lints: unknown lint or lint source %q", l)
		}
	}
	if len(names) == 0 && len(sources) == 0 {
		// The CA/Browser Forum's lints require what a private CA's
		// certificates rarely carry (certificate policies, AIA): they are
		// opt-in ("CABF_BR"), RFC 5280's are the default.
		sources = lint.SourceList{lint.RFC5280}
	}
	reg := lint.GlobalRegistry()
	var err error
	if len(names) > 0 {
		if reg, err = reg.Filter(lint.FilterOptions{IncludeNames: names}); err != nil {
			return nil, err
		}
	}
	if len(sources) > 0 {
		bySource, err := lint.GlobalRegistry().Filter(lint.FilterOptions{IncludeSources: sources})
		if err != nil {
			return nil, err
		}
		if len(names) > 0 {
			all := append(append([]string{}, names...), bySource.Names()...)
			if reg, err = lint.GlobalRegistry().Filter(lint.FilterOptions{IncludeNames: all}); err != nil {
				return nil, err
			}
		} else {
			reg = bySource
		}
	}
	key, err := throwawayKey(signer.Public())
	if err != nil {
		return nil, err
	}
	parent := *issuer
	parent.PublicKey = key.Public()
	return &linter{registry: reg, parent: &parent, key: key}, nil
}

func throwawayKey(pub crypto.PublicKey) (crypto.Signer, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.GenerateKey(k.Curve, rand.Reader)
	case *rsa.PublicKey:
		return rsa.GenerateKey(rand.Reader, k.N.BitLen())
	case ed25519.PublicKey:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	}
	return nil, fmt.Errorf("lint: unsupported issuer key %T", pub)
}

// check lints tmpl for pub; which names the configuration in messages. A
// lint with an error or fatal result refuses the certificate (403) naming
// the lint; warnings pass.
func (l *linter) check(which string, tmpl *x509.Certificate, pub any) ([]string, error) {
	c := *tmpl
	if c.SerialNumber == nil {
		sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
		if err != nil {
			return nil, err
		}
		c.SerialNumber = sn.Add(sn, big.NewInt(1))
	}
	der, err := x509.CreateCertificate(rand.Reader, &c, l.parent, pub, l.key)
	if err != nil {
		return nil, fmt.Errorf("lint: build the certificate: %w", err)
	}
	zc, err := zx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("lint: parse the certificate: %w", err)
	}
	res := zlint.LintCertificateEx(zc, l.registry)
	var failed []string
	for name, r := range res.Results {
		if r.Status == lint.Error || r.Status == lint.Fatal {
			failed = append(failed, name)
		}
	}
	sort.Strings(failed)
	return failed, nil
}

// addProvisionerLint compiles the lint options of a provisioner entry.
func (a *Authority) addProvisionerLint(info provisioner.Info, b *provisioner.Base) error {
	l, err := newLinter(b.Lint, a.issuer.Certificate(), a.issuer.Signer())
	if err != nil {
		return fmt.Errorf("%s provisioner %q: lint.%w", info.Type, info.Name, err)
	}
	if l != nil {
		if a.provLint == nil {
			a.provLint = map[string]*linter{}
		}
		a.provLint[info.Name] = l
	}
	return nil
}

// checkLint runs the authority's and the provisioner's lints on tmpl.
func (a *Authority) checkLint(prov string, tmpl *x509.Certificate, pub any) error {
	for _, x := range []struct {
		which string
		l     *linter
	}{{"authority.lint", a.lint}, {fmt.Sprintf("provisioner %q lint", prov), a.provLint[prov]}} {
		if x.l == nil {
			continue
		}
		failed, err := x.l.check(x.which, tmpl, pub)
		if err != nil {
			return errs.E(errs.Internal, "error linting certificate", err)
		}
		if len(failed) > 0 {
			a.log.WithFields(logrus.Fields{"lint": x.which, "lints": strings.Join(failed, ","), "subject": tmpl.Subject.CommonName}).
				Warn("certificate refused by lint")
			return errs.Exact(errs.Forbidden, "The request was forbidden by the certificate authority: certificate failed lint "+strings.Join(failed, ", "),
				errors.New("lint: "+strings.Join(failed, ", ")))
		}
	}
	return nil
}
