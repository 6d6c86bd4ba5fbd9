package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/ca"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/kms"
	"github.com/mayfly-pki/mayfly/policy"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/acme"
	"github.com/mayfly-pki/mayfly/provisioner/aws"
	"github.com/mayfly-pki/mayfly/provisioner/azure"
	"github.com/mayfly-pki/mayfly/provisioner/gcp"
	"github.com/mayfly-pki/mayfly/provisioner/jwk"
	"github.com/mayfly-pki/mayfly/provisioner/k8ssa"
	"github.com/mayfly-pki/mayfly/provisioner/nebula"
	"github.com/mayfly-pki/mayfly/provisioner/oidc"
	"github.com/mayfly-pki/mayfly/provisioner/scep"
	"github.com/mayfly-pki/mayfly/provisioner/sshpop"
	"github.com/mayfly-pki/mayfly/provisioner/x5c"
)

// registry lists the provisioner types this build serves.
func registry() provisioner.Registry {
	return provisioner.Registry{
		provisioner.TypeJWK:    jwk.New,
		provisioner.TypeX5C:    x5c.New,
		provisioner.TypeK8sSA:  k8ssa.New,
		provisioner.TypeGCP:    gcp.New,
		provisioner.TypeAzure:  azure.New,
		provisioner.TypeAWS:    aws.New,
		provisioner.TypeOIDC:   oidc.New,
		provisioner.TypeSCEP:   scep.New,
		provisioner.TypeNebula: nebula.New,
		provisioner.TypeSSHPOP: sshpop.New,
		provisioner.TypeACME:   acme.New,
	}
}

// newHTTPClient is the client provisioners use for their background network
// work (JWKS, discovery, cloud keys): every phase has a timeout, so a stuck
// identity provider delays a refresh, never the CA.
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 15 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   2,
		},
	}
}

// buildDeps are what a snapshot is built from besides the config.
type buildDeps struct {
	password  []byte
	store     store.Store
	storeName string // ca.json db.type, or "in-memory"
	startTime time.Time
	logger    logrus.FieldLogger
	obs       *observability // nil: no metrics, no audit log (validation)
	keys      *kms.Loader    // resolves key paths and KMS URIs
	admin     *admin.Records // the admin tables; nil unless authority.enableAdmin
}

// buildSnapshot turns a loaded, validated config into a server snapshot.
func buildSnapshot(cfg *config.Config, d buildDeps) (*ca.Snapshot, error) {
	if err := checkCASType(cfg); err != nil {
		return nil, err
	}
	roots, chain, signer, upstream, err := issuingKeys(cfg, d)
	if err != nil {
		return nil, err
	}
	var federated []*x509.Certificate
	for _, path := range cfg.FederatedRoots {
		cs, err := pemutil.ReadCertificates(path)
		if err != nil {
			return nil, fmt.Errorf("federatedRoots: %w", err)
		}
		federated = append(federated, cs...)
	}
	sshCfg, err := loadSSH(cfg, func(key string) (crypto.Signer, error) {
		return d.keys.SignerWith(context.Background(), kmsOptions(cfg.KMS), key, d.password)
	})
	if err != nil {
		return nil, err
	}
	tlsOpts, err := cfg.ResolveTLS()
	if err != nil {
		return nil, err
	}
	var claims *provisioner.Claims
	var provs []json.RawMessage
	backdate := time.Minute
	disableIAT := false
	var x509Policy *policy.X509Options
	var lintOpts *authority.LintOptions
	if a := cfg.Authority; a != nil {
		lintOpts = a.Lint
		claims, provs, disableIAT = a.Claims, a.Provisioners, a.DisableIssuedAtCheck
		x509Policy = a.Policy.X509Options()
		if a.Backdate != nil {
			backdate = a.Backdate.Duration
		}
		if d.admin != nil && d.admin.Policy != nil {
			// The policy of the admin API replaces ca.json's.
			var p config.Policy
			if err := json.Unmarshal(d.admin.Policy, &p); err != nil {
				return nil, fmt.Errorf("authority policy in the admin tables: %w", err)
			}
			x509Policy = p.X509Options()
		}
	}
	auth, err := authority.New(authority.Options{
		Roots: roots, FederatedRoots: federated, Intermediates: chain, Signer: signer,
		DNSNames: cfg.DNSNames, Provisioners: provs, Registry: registry(), Claims: claims,
		Backdate: backdate, DisableIssuedAtCheck: disableIAT, StartTime: d.startTime,
		Store: d.store, StoreName: d.storeName, Logger: d.logger, HTTPClient: newHTTPClient(),
		X509Policy: x509Policy, CRL: crlOptions(cfg), OCSP: ocspOptions(cfg), Lint: lintOpts, SSH: sshCfg, KeyHealth: d.keys.Health,
		AdminRecords: d.admin, Upstream: upstream,
		Meter: d.obs.certificates(), Audit: d.obs.sink(),
	})
	if err != nil {
		return nil, err
	}
	cn := cfg.CommonName
	if cn == "" {
		cn = "Step Online CA"
	}
	return &ca.Snapshot{
		Authority: auth, CommonName: cn, DNSNames: cfg.DNSNames,
		TLS: ca.TLSOptions{MinVersion: tlsOpts.MinVersion, MaxVersion: tlsOpts.MaxVersion, CipherSuites: tlsOpts.CipherSuites},
	}, nil
}

// issuingKeys returns the roots, the issuing chain and its key from ca.json's
// files or key manager; for a registration authority (stepcas) the roots and
// chain of the upstream CA, which signs, and no key.
func issuingKeys(cfg *config.Config, d buildDeps) ([]*x509.Certificate, []*x509.Certificate, crypto.Signer, authority.Upstream, error) {
	if isRA(cfg) {
		up, roots, chain, err := raUpstream(cfg)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		return roots, chain, nil, up, nil
	}
	var roots []*x509.Certificate
	for _, path := range cfg.Roots() {
		cs, err := pemutil.ReadCertificates(path)
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("root: %w", err)
		}
		roots = append(roots, cs...)
	}
	chain, err := pemutil.ReadCertificates(cfg.IntermediateCert)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("crt: %w", err)
	}
	signer, err := d.keys.SignerWith(context.Background(), kmsOptions(cfg.KMS), cfg.IntermediateKey, d.password)
	if err != nil {
		if kms.InKeyManager(kmsOptions(cfg.KMS), cfg.IntermediateKey) {
			return nil, nil, nil, nil, fmt.Errorf("key: %w", err)
		}
		return nil, nil, nil, nil, err
	}
	return roots, chain, signer, nil, nil
}

// readKey decrypts the intermediate key; errors name the file and never the password.
func readKey(path string, password []byte) (crypto.Signer, error) {
	if path == "" {
		return nil, errors.New("key: the intermediate key path is empty")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	k, err := pemutil.ParsePrivateKey(data, password)
	switch {
	case errors.Is(err, pemutil.ErrBadPassword):
		return nil, fmt.Errorf("error decrypting %s: the password is incorrect", path)
	case errors.Is(err, pemutil.ErrPasswordRequired):
		return nil, fmt.Errorf("error decrypting %s: a password is required: use --password-file", path)
	case err != nil:
		return nil, fmt.Errorf("error reading %s: %w", path, err)
	}
	return k, nil
}
