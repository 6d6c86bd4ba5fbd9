package jwk_test

import (
	"context"
	"crypto/x509"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner/provtest"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// TestConformance runs the provisioner conformance suite on JWK.
func TestConformance(t *testing.T) {
	env := at.New(t, at.Options{Store: at.OpenBadger(t)})
	foreign := at.NewJWK(t, "admin")
	foreign.Key.KeyID = env.Admin.Key.KeyID // the admin's kid, another key
	provtest.Run(t, provtest.Harness{
		Name: "admin", Audience: at.CAURL + "/1.0/sign", Now: env.Clock.Now, Backdate: time.Minute,
		Claims:      env.Authority.Claims(),
		Mint:        func(t testing.TB, c *token.Claims) string { return env.Admin.Sign(t, c) },
		MintForeign: func(t testing.TB, c *token.Claims) string { return foreign.Sign(t, c) },
		Sign: func(ctx context.Context, csr *x509.CertificateRequest, ott string, notAfter time.Duration) (*x509.Certificate, error) {
			req := &authority.SignRequest{CSR: csr, OTT: ott}
			if notAfter != 0 {
				req.NotAfter = timeutil.NewDuration(notAfter)
			}
			iss, err := env.Authority.Sign(ctx, req)
			if err != nil {
				return nil, err
			}
			return x509.ParseCertificate(iss.DER)
		},
	})
}
