package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/authority/cas/stepcas"
	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

// raBootstrapTimeout bounds the upstream's answers at start and reload.
const raBootstrapTimeout = 30 * time.Second

// casTypeOf is authority.type in lower case, "softcas" when unset.
func casTypeOf(cfg *config.Config) string {
	if cfg.Authority == nil || cfg.Authority.Type == "" {
		return "softcas"
	}
	return strings.ToLower(cfg.Authority.Type)
}

// isRA reports whether cfg is a registration authority (authority.type stepcas).
func isRA(cfg *config.Config) bool { return casTypeOf(cfg) == "stepcas" }

// checkCASType refuses the CAS types this build cannot serve, with the reason.
func checkCASType(cfg *config.Config) error {
	switch t := casTypeOf(cfg); t {
	case "softcas", "stepcas":
		return nil
	case "cloudcas", "vaultcas":
		return fmt.Errorf("authority.type: %q is not supported: it needs Google CAS or HashiCorp Vault, which this build has not been tested against; use softcas or stepcas", cfg.Authority.Type)
	default:
		return fmt.Errorf("authority.type: %q is not supported yet; only softcas and stepcas are", cfg.Authority.Type)
	}
}

// applyIssuerPassword puts --issuer-password-file's password in
// certificateIssuer.password (read once at start; a reload keeps it).
func applyIssuerPassword(cfg *config.Config, file string) error {
	if file == "" || !isRA(cfg) || cfg.Authority.CertificateIssuer == nil {
		return nil
	}
	pw, err := fileutil.ReadPasswordFile(file)
	if err != nil {
		return fmt.Errorf("--issuer-password-file: %w", err)
	}
	cfg.Authority.CertificateIssuer.Password = string(pw)
	return nil
}

// inheritIssuerPassword carries the issuer password read at start into a
// configuration reloaded from disk that does not hold one.
func inheritIssuerPassword(old, cfg *config.Config) {
	if old == nil || !isRA(old) || !isRA(cfg) || old.Authority.CertificateIssuer == nil || cfg.Authority.CertificateIssuer == nil {
		return
	}
	if cfg.Authority.CertificateIssuer.Password == "" {
		cfg.Authority.CertificateIssuer.Password = old.Authority.CertificateIssuer.Password
	}
}

// raUpstream bootstraps a registration authority's upstream CA and returns
// it with the roots to trust (ca.json's root files, if any, and the root
// the fingerprint pinned) and the upstream's issuing chain.
func raUpstream(cfg *config.Config) (*stepcas.CAS, []*x509.Certificate, []*x509.Certificate, error) {
	a := cfg.Authority
	ci := a.CertificateIssuer
	if ci == nil {
		return nil, nil, nil, fmt.Errorf("authority.certificateIssuer: required for stepcas")
	}
	ctx, cancel := context.WithTimeout(context.Background(), raBootstrapTimeout)
	defer cancel()
	up, err := stepcas.New(ctx, stepcas.Options{
		URL: a.CertificateAuthority, Fingerprint: a.CertificateAuthorityFingerprint,
		Issuer: stepcas.IssuerOptions{
			Type: ci.Type, Provisioner: ci.Provisioner, Certificate: ci.Certificate, Key: ci.Key,
			Password: []byte(ci.Password),
		},
	})
	if err != nil {
		return nil, nil, nil, err
	}
	var roots []*x509.Certificate
	for _, path := range cfg.Roots() {
		if path == "" {
			continue
		}
		cs, err := pemutil.ReadCertificates(path)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("root: %w", err)
		}
		roots = append(roots, cs...)
	}
	found := false
	for _, r := range roots {
		found = found || r.Equal(up.Root())
	}
	if !found {
		roots = append(roots, up.Root())
	}
	chain, err := up.Intermediates(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	return up, roots, chain, nil
}
