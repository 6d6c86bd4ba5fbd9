package authority_test

import (
	"testing"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
)

// Issued certificates name the responder; a revocation is answered at
// once, with its reason code.
func TestOCSPRevoke(t *testing.T) {
	t.Parallel()
	const url = "https://ca.example.com/1.0/ocsp"
	env := at.New(t, at.Options{Store: at.OpenBadger(t), OCSP: &authority.OCSPOptions{URL: url}})
	cert, _ := env.Issue(t, "ocsp.example.com", 0)
	if len(cert.OCSPServer) != 1 || cert.OCSPServer[0] != url {
		t.Fatalf("OCSPServer = %v", cert.OCSPServer)
	}
	ask := func() *xocsp.Response {
		req, _ := xocsp.CreateRequest(cert, env.PKI.Intermediate, nil)
		ans, err := env.Authority.OCSP().Respond(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := xocsp.ParseResponseForCert(ans.DER, cert, env.PKI.Intermediate)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if ask().Status != xocsp.Good {
		t.Fatal("not good before revocation")
	}
	serial := cert.SerialNumber.String()
	if _, err := env.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: serial, ReasonCode: 4, OTT: env.RevokeToken(t, serial)}); err != nil {
		t.Fatal(err)
	}
	if r := ask(); r.Status != xocsp.Revoked || r.RevocationReason != xocsp.Superseded {
		t.Fatalf("after revoke: status %d reason %d", r.Status, r.RevocationReason)
	}
}
