package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// target is what the generator needs to know about one CA: where it is,
// which roots it chains to, and the provisioner key that mints sign tokens.
type target struct {
	url     string // base URL without trailing slash, e.g. https://localhost:9000
	roots   *x509.CertPool
	rootSHA string // hex SHA-256 of the first root's DER: the token "sha" claim
	minter  *minter
}

// minter mints JWK provisioner one-time tokens. Safe for concurrent use: it
// holds only immutable values.
type minter struct {
	name string           // provisioner name, the token "iss"
	key  *jose.JSONWebKey // private key with KeyID and Algorithm set
}

// provisionerEntry is the part of a ca.json JWK provisioner entry the
// generator reads.
type provisionerEntry struct {
	Key          jose.JSONWebKey `json:"key"`
	EncryptedKey string          `json:"encryptedKey"`
}

// loadTarget reads ca.json at cfgPath and returns the target it describes.
// caURL and rootPath override what the file says (dnsNames[0] and the port of
// "address"; the first "root"). name selects the JWK provisioner ("" = the
// first one); its encryptedKey is decrypted with the password in
// passwordFile. Errors name the file and the provisioner, never the password.
func loadTarget(cfgPath, caURL, rootPath, name, passwordFile string) (*target, error) {
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("read CA configuration: %w", err)
	}
	cfg, err := config.Decode(data, cfgPath)
	if err != nil {
		return nil, err
	}
	if caURL == "" {
		if caURL, err = urlFromConfig(cfg); err != nil {
			return nil, fmt.Errorf("%s: %w; use --ca-url", cfgPath, err)
		}
	}
	if rootPath == "" {
		roots := cfg.Roots()
		if len(roots) == 0 {
			return nil, fmt.Errorf("%s: no root certificate; use --root", cfgPath)
		}
		rootPath = roots[0]
	}
	t := &target{url: strings.TrimRight(caURL, "/")}
	if !strings.HasPrefix(t.url, "https://") {
		return nil, fmt.Errorf("CA URL %q: want https://host:port", caURL)
	}
	if t.roots, t.rootSHA, err = loadRoots(rootPath); err != nil {
		return nil, err
	}
	password, err := fileutil.ReadPasswordFile(passwordFile)
	if err != nil {
		return nil, err
	}
	if t.minter, err = newMinter(cfg, cfgPath, name, password); err != nil {
		return nil, err
	}
	return t, nil
}

// urlFromConfig is https://<dnsNames[0]>:<port of address>, the URL step ca
// init writes into defaults.json.
func urlFromConfig(cfg *config.Config) (string, error) {
	if len(cfg.DNSNames) == 0 {
		return "", errors.New("dnsNames is empty")
	}
	_, port, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", cfg.Address, err)
	}
	return "https://" + net.JoinHostPort(cfg.DNSNames[0], port), nil
}

// loadRoots reads a PEM bundle: all certificates become trust anchors, the
// first one's fingerprint is the token "sha" claim.
func loadRoots(path string) (*x509.CertPool, string, error) {
	certs, err := pemutil.ReadCertificates(path)
	if err != nil {
		return nil, "", fmt.Errorf("root: %w", err)
	}
	if len(certs) == 0 {
		return nil, "", fmt.Errorf("root %s: no certificate", path)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	sum := sha256.Sum256(certs[0].Raw)
	return pool, hex.EncodeToString(sum[:]), nil
}

// newMinter finds the JWK provisioner called name (the first JWK one when
// name is empty) in cfg and decrypts its key.
func newMinter(cfg *config.Config, cfgPath, name string, password []byte) (*minter, error) {
	if cfg.Authority == nil {
		return nil, fmt.Errorf("%s: authority.provisioners is empty", cfgPath)
	}
	for i, raw := range cfg.Authority.Provisioners {
		typ, pname, err := config.ProvisionerHeader(raw)
		if err != nil || !strings.EqualFold(typ, "JWK") || (name != "" && pname != name) {
			continue
		}
		var e provisionerEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("%s: authority.provisioners[%d] (%s): %w", cfgPath, i, pname, err)
		}
		if e.EncryptedKey == "" {
			return nil, fmt.Errorf("%s: authority.provisioners[%d] (%s) has no encryptedKey", cfgPath, i, pname)
		}
		key, err := mjose.DecryptJWK(e.EncryptedKey, password)
		if err != nil {
			return nil, fmt.Errorf("%s: authority.provisioners[%d] (%s): %w", cfgPath, i, pname, err)
		}
		if err := completeKey(key, &e.Key); err != nil {
			return nil, fmt.Errorf("%s: authority.provisioners[%d] (%s): %w", cfgPath, i, pname, err)
		}
		return &minter{name: pname, key: key}, nil
	}
	if name == "" {
		return nil, fmt.Errorf("%s: no JWK provisioner", cfgPath)
	}
	return nil, fmt.Errorf("%s: no JWK provisioner named %q", cfgPath, name)
}

// completeKey gives the decrypted key the public entry's kid (the CA finds the
// provisioner by it) and an algorithm, deriving either when missing.
func completeKey(key, pub *jose.JSONWebKey) error {
	if pub.KeyID != "" {
		key.KeyID = pub.KeyID
	}
	if key.KeyID == "" {
		kid, err := mjose.Thumbprint(key)
		if err != nil {
			return err
		}
		key.KeyID = kid
	}
	if key.Algorithm == "" {
		key.Algorithm = pub.Algorithm
	}
	if key.Algorithm == "" {
		alg, err := mjose.SigningAlgorithm(key.Key)
		if err != nil {
			return err
		}
		key.Algorithm = string(alg)
	}
	return nil
}

// signToken mints a token for POST /1.0/sign as `step ca token` writes it:
// iss = provisioner, sub, sans, sha = root fingerprint, a fresh random jti,
// iat = nbf = now, exp = now + 5 minutes.
func (m *minter) signToken(aud, rootSHA, sub string, sans []string, now time.Time) (string, error) {
	id, err := token.NewID()
	if err != nil {
		return "", fmt.Errorf("token id: %w", err)
	}
	c := &token.Claims{
		Audience:  token.Audience{aud},
		Issuer:    m.name,
		Subject:   sub,
		ID:        id,
		IssuedAt:  token.NewNumericDate(now),
		NotBefore: token.NewNumericDate(now),
		Expiry:    token.NewNumericDate(now.Add(token.DefaultValidity)),
		SANs:      sans,
		SHA:       rootSHA,
	}
	return token.Sign(m.key, c, nil)
}
