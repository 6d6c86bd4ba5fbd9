package issuer_test

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/authority/issuer"
)

// hsmSigner stands for a signer outside the process: it wraps the real key
// and, once corrupt is set, flips a bit of every signature it returns.
type hsmSigner struct {
	crypto.Signer
	corrupt atomic.Bool
	calls   atomic.Int32
}

func (h *hsmSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	h.calls.Add(1)
	sig, err := h.Signer.Sign(r, d, o)
	if err == nil && h.corrupt.Load() {
		sig[len(sig)/2] ^= 0x01
	}
	return sig, err
}

func TestExternalSignerIsVerified(t *testing.T) {
	t.Parallel()
	now := authoritytest.Epoch
	pki := authoritytest.NewPKI(t, now, 24*time.Hour)
	h := &hsmSigner{Signer: pki.IntermediateKey}
	iss, err := issuer.New([]*x509.Certificate{pki.Intermediate}, h)
	if err != nil {
		t.Fatal(err)
	}
	key := authoritytest.NewKey(t)
	tmpl := func() *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: "leaf"}, NotBefore: now, NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	}
	der, err := iss.Sign(tmpl(), key.Public())
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckSignatureFrom(pki.Intermediate); err != nil {
		t.Fatal(err)
	}
	h.corrupt.Store(true)
	before := h.calls.Load()
	if _, err := iss.Sign(tmpl(), key.Public()); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("a corrupted signature was accepted: %v", err)
	}
	if h.calls.Load() != before+1 {
		t.Fatalf("signer called %d times", h.calls.Load()-before)
	}
	// The template path (x509.CreateCertificate) verifies too.
	if _, err := iss.SignTemplate(tmpl(), key.Public()); err == nil {
		t.Fatal("SignTemplate accepted a corrupted signature")
	}
}
