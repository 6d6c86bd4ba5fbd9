package crl_test

import (
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/authority/crl"
)

// BenchmarkSign1M builds and signs a CRL of 1,000,000 revoked certificates
// (20-octet serials, a reason code on every other one) from the entries in
// memory: the cost of a regeneration apart from reading the database.
//
//	go test ./authority/crl -run - -bench Sign1M -benchtime 3x
func BenchmarkSign1M(b *testing.B) {
	now := time.Now().UTC()
	pki := at.NewPKI(b, now, 24*time.Hour)
	entries := make([]x509.RevocationListEntry, 1_000_000)
	base := new(big.Int).Lsh(big.NewInt(1), 158)
	for i := range entries {
		entries[i] = x509.RevocationListEntry{
			SerialNumber:   new(big.Int).Add(base, big.NewInt(int64(i)*7919)),
			RevocationTime: now.Add(-time.Duration(i) * time.Second),
			ReasonCode:     i % 2,
		}
	}
	idp, err := crl.IDPExtension("https://ca.example.com/1.0/crl")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		c, err := crl.Sign(entries, 1, now, 24*time.Hour, idp, pki.Intermediate, pki.IntermediateKey)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(c.DER))/1e6, "MB")
	}
}
