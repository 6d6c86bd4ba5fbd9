package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/jwk"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

type fillOptions struct {
	ConfigPath, PasswordFile, Provisioner string
	N, C, Keys                            int
}

// filler signs certificates through an authority built from ca.json.
type filler struct {
	auth    *authority.Authority
	st      store.Store
	aud     string // the sign audience, https://<dnsNames[0]>:<port>/1.0/sign
	rootSHA string
	prov    string           // provisioner name, the token "iss"
	key     *jose.JSONWebKey // its private key
	csrs    []*x509.CertificateRequest
}

// newFiller reads ca.json, opens its database and builds the authority.
func newFiller(ctx context.Context, o fillOptions) (*filler, error) {
	data, err := os.ReadFile(o.ConfigPath)
	if err != nil {
		return nil, fmt.Errorf("read CA configuration: %w", err)
	}
	cfg, err := config.Decode(data, o.ConfigPath)
	if err != nil {
		return nil, err
	}
	if cfg.DB == nil {
		return nil, fmt.Errorf("%s has no db block: nothing to fill", o.ConfigPath)
	}
	password, err := fileutil.ReadPasswordFile(o.PasswordFile)
	if err != nil {
		return nil, err
	}
	var roots []*x509.Certificate
	for _, p := range cfg.Roots() {
		cs, err := pemutil.ReadCertificates(p)
		if err != nil {
			return nil, fmt.Errorf("root: %w", err)
		}
		roots = append(roots, cs...)
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("%s: no root certificate", o.ConfigPath)
	}
	chain, err := pemutil.ReadCertificates(cfg.IntermediateCert)
	if err != nil {
		return nil, fmt.Errorf("crt: %w", err)
	}
	keyPEM, err := os.ReadFile(cfg.IntermediateKey)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	signer, err := pemutil.ParsePrivateKey(keyPEM, password)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", cfg.IntermediateKey, err)
	}
	f := &filler{}
	sum := sha256.Sum256(roots[0].Raw)
	f.rootSHA = hex.EncodeToString(sum[:])
	if f.aud, err = signAudience(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", o.ConfigPath, err)
	}
	var jwks []json.RawMessage
	if cfg.Authority != nil {
		for _, raw := range cfg.Authority.Provisioners {
			if typ, _, err := config.ProvisionerHeader(raw); err == nil && strings.EqualFold(typ, "JWK") {
				jwks = append(jwks, raw)
			}
		}
	}
	if f.prov, f.key, err = provisionerKey(jwks, o.Provisioner, password); err != nil {
		return nil, fmt.Errorf("%s: %w", o.ConfigPath, err)
	}
	if f.csrs, err = genCSRs(o.Keys); err != nil {
		return nil, err
	}
	log := logrus.New()
	log.SetOutput(os.Stderr)
	log.SetLevel(logrus.WarnLevel)
	f.st, err = db.Open(ctx, &db.Options{
		Type: cfg.DB.Type, DataSource: cfg.DB.DataSource, ValueDir: cfg.DB.ValueDir,
		Database: cfg.DB.Database, BadgerFileLoadingMode: cfg.DB.BadgerFileLoadingMode,
	}, log)
	if err != nil {
		return nil, err
	}
	var claims *provisioner.Claims
	if cfg.Authority != nil {
		claims = cfg.Authority.Claims
	}
	f.auth, err = authority.New(authority.Options{
		Roots: roots, Intermediates: chain, Signer: signer, DNSNames: cfg.DNSNames,
		Provisioners: jwks, Registry: provisioner.Registry{provisioner.TypeJWK: jwk.New},
		Claims: claims, Backdate: time.Minute, StartTime: time.Now().Add(-time.Second),
		Store: f.st, StoreName: cfg.DB.Type, Logger: log,
	})
	if err != nil {
		_ = f.st.Close()
		return nil, err
	}
	return f, nil
}

func (f *filler) close() error { return f.st.Close() }

// signOne issues certificate i: a fresh token for the i-th CSR (round-robin).
func (f *filler) signOne(ctx context.Context, i int) error {
	csr := f.csrs[i%len(f.csrs)]
	name := csr.Subject.CommonName
	now := time.Now()
	id, err := token.NewID()
	if err != nil {
		return err
	}
	ott, err := token.Sign(f.key, &token.Claims{
		Audience: token.Audience{f.aud}, Issuer: f.prov, Subject: name, ID: id,
		IssuedAt: token.NewNumericDate(now), NotBefore: token.NewNumericDate(now),
		Expiry: token.NewNumericDate(now.Add(token.DefaultValidity)),
		SANs:   []string{name}, SHA: f.rootSHA,
	}, nil)
	if err != nil {
		return fmt.Errorf("mint token: %w", err)
	}
	_, err = f.auth.Sign(ctx, &authority.SignRequest{CSR: csr, OTT: ott})
	return err
}

// signAudience is https://<dnsNames[0]>:<port of address>/1.0/sign, the
// audience `step ca token` writes for the URL step ca init configures.
func signAudience(cfg *config.Config) (string, error) {
	if len(cfg.DNSNames) == 0 {
		return "", errors.New("dnsNames is empty")
	}
	_, port, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", cfg.Address, err)
	}
	return "https://" + net.JoinHostPort(cfg.DNSNames[0], port) + "/1.0/sign", nil
}

// provisionerKey decrypts the encryptedKey of the JWK provisioner called
// name (the first when name is empty).
func provisionerKey(entries []json.RawMessage, name string, password []byte) (string, *jose.JSONWebKey, error) {
	for i, raw := range entries {
		_, pname, err := config.ProvisionerHeader(raw)
		if err != nil || (name != "" && pname != name) {
			continue
		}
		var e struct {
			Key          jose.JSONWebKey `json:"key"`
			EncryptedKey string          `json:"encryptedKey"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return "", nil, fmt.Errorf("JWK provisioner %d (%s): %w", i, pname, err)
		}
		if e.EncryptedKey == "" {
			return "", nil, fmt.Errorf("JWK provisioner %s has no encryptedKey", pname)
		}
		key, err := mjose.DecryptJWK(e.EncryptedKey, password)
		if err != nil {
			return "", nil, fmt.Errorf("JWK provisioner %s: %w", pname, err)
		}
		if e.Key.KeyID != "" {
			key.KeyID = e.Key.KeyID
		}
		if key.Algorithm == "" {
			key.Algorithm = e.Key.Algorithm
		}
		if key.Algorithm == "" {
			alg, err := mjose.SigningAlgorithm(key.Key)
			if err != nil {
				return "", nil, fmt.Errorf("JWK provisioner %s: %w", pname, err)
			}
			key.Algorithm = string(alg)
		}
		return pname, key, nil
	}
	if name == "" {
		return "", nil, errors.New("no JWK provisioner")
	}
	return "", nil, fmt.Errorf("no JWK provisioner named %q", name)
}

// genCSRs makes n P-256 CSRs whose CN and only DNS SAN are
// p-<random>-<i>.bench.test, as the load generator's.
func genCSRs(n int) ([]*x509.CertificateRequest, error) {
	var salt [4]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return nil, err
	}
	prefix := "p-" + hex.EncodeToString(salt[:])
	out := make([]*x509.CertificateRequest, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	per := (n + workers() - 1) / workers()
	for w := 0; w*per < n; w++ {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				out[i], errs[i] = newCSR(fmt.Sprintf("%s-%d.bench.test", prefix, i))
			}
		}(w*per, min(n, (w+1)*per))
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("generate keys: %w", err)
	}
	return out, nil
}

func newCSR(name string) (*x509.CertificateRequest, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
	}, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificateRequest(der)
}
