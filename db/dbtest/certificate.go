package dbtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// Certificates makes real, self-consistent certificate records for tests:
// the DER is a genuine X.509 certificate whose serial, common name and
// NotAfter match the record's fields, and Data is step-ca's x509_certs_data
// JSON naming the provisioner. Safe for concurrent use.
type Certificates struct {
	key  *ecdsa.PrivateKey
	base time.Time
}

// NewCertificates returns a factory with a fresh P-256 signing key.
func NewCertificates(tb testing.TB) *Certificates {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("generate test key: %v", err)
	}
	// Whole seconds in UTC: what a DER UTCTime round-trips to.
	return &Certificates{key: key, base: time.Now().UTC().Truncate(time.Second)}
}

// New returns the record of a certificate with the given decimal serial,
// subject "leaf-<serial>" and provisioner "prov-<serial mod 7>".
func (f *Certificates) New(tb testing.TB, serial string) *store.Certificate {
	tb.Helper()
	return f.NewWithData(tb, serial, nil)
}

// NewWithData is New with pad appended to the data JSON as field "pad" (to
// make large records).
func (f *Certificates) NewWithData(tb testing.TB, serial string, pad []byte) *store.Certificate {
	tb.Helper()
	sn, ok := new(big.Int).SetString(serial, 10)
	if !ok || sn.Sign() <= 0 {
		tb.Fatalf("test serial %q is not a positive decimal number", serial)
	}
	cn := "leaf-" + serial
	prov := fmt.Sprintf("prov-%d", new(big.Int).Mod(sn, big.NewInt(7)).Int64())
	notAfter := f.base.Add(24 * time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    f.base.Add(-time.Minute),
		NotAfter:     notAfter,
		DNSNames:     []string{cn + ".example.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &f.key.PublicKey, f.key)
	if err != nil {
		tb.Fatalf("create test certificate %s: %v", serial, err)
	}
	data := fmt.Sprintf(`{"provisioner":{"id":"admin:kid-%s","name":%q,"type":"JWK"}`, serial, prov)
	if len(pad) > 0 {
		data += fmt.Sprintf(`,"pad":%q`, pad)
	}
	data += "}"
	return &store.Certificate{
		Serial:      serial,
		DER:         der,
		Data:        []byte(data),
		NotAfter:    notAfter,
		Subject:     cn,
		Provisioner: prov,
	}
}

// EqualCertificate reports the first difference between want and got, or "".
func EqualCertificate(want, got *store.Certificate) string {
	switch {
	case got == nil:
		return "got nil certificate"
	case got.Serial != want.Serial:
		return fmt.Sprintf("Serial = %q, want %q", got.Serial, want.Serial)
	case !bytes.Equal(got.DER, want.DER):
		return fmt.Sprintf("DER differs (%d bytes, want %d)", len(got.DER), len(want.DER))
	case !bytes.Equal(got.Data, want.Data):
		return fmt.Sprintf("Data = %s, want %s", got.Data, want.Data)
	case !got.NotAfter.Equal(want.NotAfter):
		return fmt.Sprintf("NotAfter = %v, want %v", got.NotAfter, want.NotAfter)
	case got.Subject != want.Subject:
		return fmt.Sprintf("Subject = %q, want %q", got.Subject, want.Subject)
	case got.Provisioner != want.Provisioner:
		return fmt.Sprintf("Provisioner = %q, want %q", got.Provisioner, want.Provisioner)
	}
	return ""
}

// EqualRevocation reports the first difference between want and got, or "".
func EqualRevocation(want, got *store.Revocation) string {
	switch {
	case got == nil:
		return "got nil revocation"
	case got.Serial != want.Serial, got.ProvisionerID != want.ProvisionerID,
		got.ReasonCode != want.ReasonCode, got.Reason != want.Reason,
		got.TokenID != want.TokenID, got.MTLS != want.MTLS, got.ACME != want.ACME:
		return fmt.Sprintf("got %+v, want %+v", *got, *want)
	case !got.RevokedAt.Equal(want.RevokedAt):
		return fmt.Sprintf("RevokedAt = %v, want %v", got.RevokedAt, want.RevokedAt)
	case !got.ExpiresAt.Equal(want.ExpiresAt):
		return fmt.Sprintf("ExpiresAt = %v, want %v", got.ExpiresAt, want.ExpiresAt)
	}
	return ""
}

// NewRevocation returns a revocation of serial with every field set
// (RevokedAt with nanoseconds, ExpiresAt zero when expires is false).
func NewRevocation(serial string, expires bool) *store.Revocation {
	r := &store.Revocation{
		Serial:        serial,
		ProvisionerID: "admin:kid-" + serial,
		ReasonCode:    1,
		Reason:        "key compromised",
		RevokedAt:     time.Date(2026, 11, 22, 17, 58, 48, 378133084, time.UTC),
		TokenID:       "jti-" + serial,
	}
	if expires {
		r.ExpiresAt = time.Date(2026, 11, 23, 17, 58, 36, 0, time.UTC)
	}
	return r
}
