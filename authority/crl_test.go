package authority_test

import (
	"bytes"
	"crypto/x509"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/authority/crl"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

const testIDP = "https://ca.example.com/1.0/crl"

func TestCRL(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{Store: at.OpenBadger(t), CRL: &authority.CRLOptions{GenerateOnRevoke: true, IDPURL: testIDP}})
	a := env.Authority
	first, err := a.CurrentCRL(ctx)
	if err != nil {
		t.Fatalf("CurrentCRL: %v", err)
	}
	c0 := parseCRL(t, first.DER, env)
	if c0.Number.Int64() != 0 || len(c0.RevokedCertificateEntries) != 0 {
		t.Fatalf("first CRL: number %v, %d entries; want 0 and none", c0.Number, len(c0.RevokedCertificateEntries))
	}
	// Issued certificates name the distribution point.
	cert, _ := env.Issue(t, "crl.example.com", 0)
	if len(cert.CRLDistributionPoints) != 1 || cert.CRLDistributionPoints[0] != testIDP {
		t.Fatalf("CRLDistributionPoints = %v, want [%s]", cert.CRLDistributionPoints, testIDP)
	}
	serial := cert.SerialNumber.String()
	if _, err := a.Revoke(ctx, &authority.RevokeRequest{Serial: serial, ReasonCode: 1, Reason: "key compromised", OTT: env.RevokeToken(t, serial)}); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	// generateOnRevoke: the CRL in memory lists it when Revoke returns.
	cur, _ := a.CurrentCRL(ctx)
	c1 := parseCRL(t, cur.DER, env)
	if c1.Number.Int64() != 1 || len(c1.RevokedCertificateEntries) != 1 {
		t.Fatalf("CRL after revoke: number %v, %d entries; want 1 and 1", c1.Number, len(c1.RevokedCertificateEntries))
	}
	e := c1.RevokedCertificateEntries[0]
	if e.SerialNumber.Cmp(cert.SerialNumber) != 0 || e.ReasonCode != 1 || !e.RevocationTime.Equal(env.Clock.Now().Truncate(time.Second)) {
		t.Fatalf("entry = %v %d %v", e.SerialNumber, e.ReasonCode, e.RevocationTime)
	}
	if !bytes.Equal(c1.AuthorityKeyId, env.PKI.Intermediate.SubjectKeyId) {
		t.Fatalf("AKI = %x, want the intermediate's SKI %x", c1.AuthorityKeyId, env.PKI.Intermediate.SubjectKeyId)
	}
	var idp bool
	for _, x := range c1.Extensions {
		if x.Id.Equal(crl.OIDIssuingDistributionPoint) && x.Critical && bytes.Contains(x.Value, []byte(testIDP)) {
			idp = true
		}
	}
	if !idp {
		t.Fatal("no critical issuing distribution point naming the URL")
	}
	if !c1.NextUpdate.Equal(c1.ThisUpdate.Add(24 * time.Hour)) {
		t.Fatalf("NextUpdate %v, ThisUpdate %v: want 24h apart", c1.NextUpdate, c1.ThisUpdate)
	}
	// A renewed certificate keeps one distribution point.
	renewed, err := a.Renew(ctx, cert2(t, env))
	if err != nil {
		t.Fatalf("Renew: %v", err)
	}
	if c := parse(t, renewed.DER); len(c.CRLDistributionPoints) != 1 {
		t.Fatalf("renewed CRLDistributionPoints = %v", c.CRLDistributionPoints)
	}
}

func cert2(t *testing.T, env *at.Env) *x509.Certificate {
	c, _ := env.Issue(t, "renew.example.com", 0)
	return c
}

func parseCRL(t *testing.T, der []byte, env *at.Env) *x509.RevocationList {
	t.Helper()
	c, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("ParseRevocationList: %v", err)
	}
	if err := c.CheckSignatureFrom(env.PKI.Intermediate); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	return c
}

// Without a database that keeps revocations, the CRL is disabled (404).
func TestCRLDisabled(t *testing.T) {
	t.Parallel()
	for _, o := range []*authority.CRLOptions{nil, {IDPURL: testIDP}} {
		env := at.New(t, at.Options{CRL: o})
		_, err := env.Authority.CurrentCRL(ctx)
		wantErr(t, err, errs.NotFound, "")
		if c, _ := env.Issue(t, "x.example.com", 0); len(c.CRLDistributionPoints) != 0 {
			t.Fatal("distribution point added while the CRL is disabled")
		}
	}
}
