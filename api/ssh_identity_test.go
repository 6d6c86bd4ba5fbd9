package api

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http/httptest"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
)

// TestRenewIdentity: /ssh/renew and /ssh/rekey renew the connection's TLS
// client certificate into identityCrt with the SSH certificate's validity
// length (a new serial, the chain after it); without one, nothing.
func TestRenewIdentity(t *testing.T) {
	env := at.New(t, at.Options{Store: at.OpenBadger(t)})
	csr := at.NewCSR(t, at.CSR{CommonName: "host.example.com", DNSNames: []string{"host.example.com"}})
	iss, err := env.Authority.Sign(context.Background(), &authority.SignRequest{CSR: csr, OTT: env.SignToken(t, "host.example.com")})
	if err != nil {
		t.Fatal(err)
	}
	peer, err := x509.ParseCertificate(iss.DER)
	if err != nil {
		t.Fatal(err)
	}
	now := env.Clock.Now()
	sshCert := &gossh.Certificate{ValidAfter: uint64(now.Add(-time.Minute).Unix()), ValidBefore: uint64(now.Add(2 * time.Hour).Unix())}

	r := httptest.NewRequest("POST", "/ssh/renew", nil)
	if chain, err := renewIdentity(r, env.Authority, sshCert); err != nil || chain != nil {
		t.Fatalf("without a client certificate: %v, %v", chain, err)
	}
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{peer}}
	chain, err := renewIdentity(r, env.Authority, sshCert)
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) < 2 {
		t.Fatalf("identity chain of %d certificates, want the leaf and its issuer", len(chain))
	}
	block, _ := pem.Decode([]byte(chain[0]))
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if got := leaf.NotAfter.Sub(leaf.NotBefore); got != 2*time.Hour+time.Minute {
		t.Fatalf("identity validity %s, want the ssh certificate's 2h1m", got)
	}
	if leaf.SerialNumber.Cmp(peer.SerialNumber) == 0 || leaf.Subject.CommonName != "host.example.com" {
		t.Fatalf("identity: serial %s (was %s), subject %q", leaf.SerialNumber, peer.SerialNumber, leaf.Subject.CommonName)
	}
}
