package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

// clientKey is a pre-generated P-256 key with its CSR: CN and the only DNS
// SAN are name.
type clientKey struct {
	key    *ecdsa.PrivateKey
	name   string
	csrPEM string
}

// genKeys generates n distinct client keys and CSRs, in parallel on every
// CPU. Names are "b-<random>-<i>.bench.test", unique per call.
func genKeys(n int) ([]*clientKey, error) {
	if n < 1 {
		return nil, fmt.Errorf("generate keys: want at least one key, got %d", n)
	}
	var salt [4]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return nil, fmt.Errorf("generate keys: %w", err)
	}
	prefix := "b-" + hex.EncodeToString(salt[:])
	keys := make([]*clientKey, n)
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				keys[i], errs[i] = newClientKey(fmt.Sprintf("%s-%d.bench.test", prefix, i))
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("generate keys: %w", err)
	}
	return keys, nil
}

func newClientKey(name string) (*clientKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: name},
		DNSNames: []string{name},
	}, key)
	if err != nil {
		return nil, err
	}
	return &clientKey{key: key, name: name, csrPEM: string(pemutil.EncodeCSR(der))}, nil
}
