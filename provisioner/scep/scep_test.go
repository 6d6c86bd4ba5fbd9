package scep

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
)

func newProv(t *testing.T, entry string) *Provisioner {
	t.Helper()
	p, err := New(json.RawMessage(entry), provisioner.Config{Claims: provisioner.DefaultClaims})
	if err != nil {
		t.Fatalf("New(%s): %v", entry, err)
	}
	return p.(*Provisioner)
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	for entry, want := range map[string]string{
		`{"type":"SCEP"}`: "provisioner name cannot be empty",
		`{"type":"SCEP","name":"s","encryptionAlgorithmIdentifier":5}`:      "only encryption algorithm identifiers from 0 to 4 are valid",
		`{"type":"SCEP","name":"s","minimumPublicKeyLength":1001}`:          "not exactly divisible by 8",
		`{"type":"SCEP","name":"s","decrypterKey":"softkms:path=/x"}`:       "key URIs",
		`{"type":"SCEP","name":"s","decrypterKeyPEM":"AAAA"}`:               "decrypterCertificate is required",
		`{"type":"SCEP","name":"s","decrypterCertificate":"AAAA"}`:          "decrypterKeyPEM is required",
		`{"type":"SCEP","name":"s","claims":{"minTLSCertDuration":"-1h"}}`:  "claims",
		`{"type":"SCEP","name":"s","options":{"x509":{"template":"{{ x"}}}`: "",
	} {
		_, err := New(json.RawMessage(entry), provisioner.Config{Claims: provisioner.DefaultClaims})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%s) = %v, want %q", entry, err, want)
		}
	}
}

func TestJSONRedacted(t *testing.T) {
	t.Parallel()
	p := newProv(t, `{"type":"SCEP","name":"s","challenge":"topsecret","decrypterKeyPassword":"pw","minimumPublicKeyLength":2048}`)
	got := string(p.JSON())
	if strings.Contains(got, "topsecret") || strings.Contains(got, `"pw"`) || !strings.Contains(got, `"challenge":"*** REDACTED ***"`) {
		t.Fatalf("JSON = %s", got)
	}
	if p.TokenID() != "scep/s" || p.Info().Type != provisioner.TypeSCEP {
		t.Fatalf("TokenID = %s", p.TokenID())
	}
	if _, err := p.AuthorizeSign(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "token flow is not supported") {
		t.Fatalf("AuthorizeSign = %v", err)
	}
}

func csr(t *testing.T, key any, cn string, dns ...string) *x509.CertificateRequest {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAuthorizeSCEP(t *testing.T) {
	t.Parallel()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p := newProv(t, `{"type":"SCEP","name":"s","challenge":"right","forceCN":true}`)
	ctx := context.Background()
	if _, err := p.AuthorizeSCEP(ctx, csr(t, ec, "a"), "wrong", "tid"); !ChallengeError(err) || errs.KindOf(err) != errs.Forbidden {
		t.Fatalf("wrong challenge = %v", err)
	}
	plan, err := p.AuthorizeSCEP(ctx, csr(t, ec, "", "x.example.com"), "right", "tid")
	if err != nil {
		t.Fatal(err)
	}
	if plan.Subject != "x.example.com" || len(plan.SANs) != 1 || plan.Info.Type != provisioner.TypeSCEP || len(plan.Modifiers) != 1 {
		t.Fatalf("plan = %+v", plan)
	}
	plan, err = p.AuthorizeSCEP(ctx, csr(t, ec, "dev"), "right", "tid")
	if err != nil || plan.Subject != "dev" || len(plan.SANs) != 1 || plan.SANs[0] != "dev" {
		t.Fatalf("plan = %+v, %v", plan, err)
	}

	// minimumPublicKeyLength: a CSR validator.
	strict := newProv(t, `{"type":"SCEP","name":"s","challenge":"right","minimumPublicKeyLength":3072}`)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	plan, err = strict.AuthorizeSCEP(ctx, csr(t, rk, "dev"), "right", "tid")
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Validators[0].ValidateCSR(csr(t, rk, "dev")); err == nil {
		t.Fatal("a 2048-bit key passed minimumPublicKeyLength 3072")
	}

	// Without a decrypter of its own, an EC intermediate cannot decrypt.
	if _, _, err := p.Decrypter(&x509.Certificate{}, ec); err == nil || !strings.Contains(err.Error(), "does not have a decrypter certificate") {
		t.Fatalf("Decrypter = %v", err)
	}
	if c, k, err := p.Decrypter(&x509.Certificate{}, rk); err != nil || c == nil || k != rk {
		t.Fatalf("Decrypter with an RSA intermediate = %v", err)
	}
}
