package main

// Benchmarks of the pieces of one /1.0/sign and one /1.0/renew, each on its
// own, so that a regression shows where it is:
//
//	go test -run '^$' -bench . -benchmem ./tools/bench
//
// They import the packages they measure; the store insert alone is measured
// in db/badger (BenchmarkStoreCertificate).

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/api"
	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/authority/issuer"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/logfmt"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

const benchName = "bench.example.com"

// BenchmarkTokenMint is the client side: one JWK token as step ca token
// writes it (the generator does this once per sign request).
func BenchmarkTokenMint(b *testing.B) {
	env := authoritytest.New(b, authoritytest.Options{})
	m := &minter{name: env.Admin.Name, key: env.Admin.Key}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.signToken(authoritytest.CAURL+"/1.0/sign", "sha", benchName, []string{benchName}, now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenParseVerify is what the CA does with a sign token before
// the provisioner's claim checks: parse the compact JWS (its header is the
// provisioner key's, known to the collection) and verify its ES256
// signature directly.
func BenchmarkTokenParseVerify(b *testing.B) {
	env := authoritytest.New(b, authoritytest.Options{})
	raw := env.SignToken(b, benchName, benchName)
	pub := env.Admin.Public()
	provs := env.Authority.Provisioners()
	b.ReportAllocs()
	for b.Loop() {
		tok, err := provs.ParseToken(raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := tok.Verify(&pub); err != nil {
			b.Fatal(err)
		}
		if !tok.Direct() {
			b.Fatal("the admin token is not checked directly")
		}
	}
}

// BenchmarkTokenParseVerifyGoJOSE is the same token through go-jose (a
// header no configured key has, e.g. another client's), for comparison.
func BenchmarkTokenParseVerifyGoJOSE(b *testing.B) {
	env := authoritytest.New(b, authoritytest.Options{})
	raw := env.SignToken(b, benchName, benchName)
	pub := env.Admin.Public()
	b.ReportAllocs()
	for b.Loop() {
		tok, err := token.Parse(raw)
		if err != nil {
			b.Fatal(err)
		}
		if err := tok.Verify(&pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCSRParseCheck is the API's CSR handling: PEM decode, DER parse
// and the signature check.
func BenchmarkCSRParseCheck(b *testing.B) {
	csrPEM := []byte(authoritytest.CSRPEM(authoritytest.NewCSR(b, authoritytest.CSR{CommonName: benchName, DNSNames: []string{benchName}})))
	b.ReportAllocs()
	for b.Loop() {
		block, _ := pem.Decode(csrPEM)
		if block == nil {
			b.Fatal("no PEM block")
		}
		csr, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil {
			b.Fatal(err)
		}
		if err := csr.CheckSignature(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssuerSign is the certificate itself: serial, template and the
// intermediate's P-256 signature.
func BenchmarkIssuerSign(b *testing.B) {
	env := authoritytest.New(b, authoritytest.Options{})
	iss := env.Authority.Issuer()
	key := authoritytest.NewKey(b)
	ski, err := issuer.KeyID(mustSPKI(b, key.Public()))
	if err != nil {
		b.Fatal(err)
	}
	now := env.Clock.Now()
	b.ReportAllocs()
	for b.Loop() {
		tmpl := &x509.Certificate{
			Subject: pkix.Name{CommonName: benchName}, DNSNames: []string{benchName},
			NotBefore: now.Add(-time.Minute), NotAfter: now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			SubjectKeyId: ski,
		}
		if _, err := iss.Sign(tmpl, key.Public()); err != nil {
			b.Fatal(err)
		}
	}
}

func mustSPKI(b *testing.B, pub any) []byte {
	b.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		b.Fatal(err)
	}
	return der
}

// BenchmarkSign is the whole authority.Sign pipeline for a parsed CSR: CSR
// signature, token parse and verify, claims, used-token insert, signing and
// the certificate insert. memory is the in-process store; badger writes
// durably (group commit), by one caller and by many concurrent ones.
func BenchmarkSign(b *testing.B) {
	stores := []struct {
		name     string
		open     func(b *testing.B) store.Store
		parallel bool
	}{
		{"memory", func(*testing.B) store.Store { return nil }, false},
		{"badger", func(b *testing.B) store.Store { return authoritytest.OpenBadger(b) }, false},
		{"badger-parallel", func(b *testing.B) store.Store { return authoritytest.OpenBadger(b) }, true},
	}
	for _, s := range stores {
		b.Run(s.name, func(b *testing.B) {
			env := authoritytest.New(b, authoritytest.Options{Store: s.open(b)})
			csr := authoritytest.NewCSR(b, authoritytest.CSR{CommonName: benchName, DNSNames: []string{benchName}})
			tokens := make([]string, b.N) // every request needs its own token
			for i := range tokens {
				tokens[i] = env.SignToken(b, benchName)
			}
			var next atomic.Int64
			// sign runs on RunParallel's goroutines too: Error, not Fatal.
			sign := func() bool {
				i := next.Add(1) - 1
				_, err := env.Authority.Sign(context.Background(), &authority.SignRequest{CSR: csr, OTT: tokens[i]})
				if err != nil {
					b.Error(err)
				}
				return err == nil
			}
			b.ReportAllocs()
			b.ResetTimer()
			defer reportCPU(b)()
			if s.parallel {
				b.SetParallelism(16)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() && sign() {
					}
				})
				return
			}
			for range b.N {
				if !sign() {
					return
				}
			}
		})
	}
}

// x5cBench is an authority with an X5C provisioner "x5cp" trusting the
// CA's root, and sign tokens authenticated by one client certificate (leaf
// and intermediate in x5c), as a fleet re-using its certificates sends.
func x5cBench(b *testing.B) (*authoritytest.Env, []string) {
	env := authoritytest.New(b, authoritytest.Options{MoreProvisionersFn: func(p *authoritytest.PKI) []json.RawMessage {
		return []json.RawMessage{authoritytest.X5CEntry(b, "x5cp", []*x509.Certificate{p.Root}, nil)}
	}})
	now := env.Clock.Now()
	leaf, key := env.PKI.IssueLeaf(b, authoritytest.Leaf{CommonName: "client", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour)})
	chain := []*x509.Certificate{leaf, env.PKI.Intermediate}
	tokens := make([]string, b.N)
	for i := range tokens {
		c := env.Admin.Claims(b, authoritytest.CAURL+"/1.0/sign#x5c/x5cp", benchName, now)
		c.Issuer = "x5cp"
		tokens[i] = authoritytest.X5CToken(b, c, chain, key, "client.key")
	}
	return env, tokens
}

// BenchmarkSignX5C is BenchmarkSign/memory with X5C tokens: the x5c chain
// verified to the CA's root (once: the provisioner caches verified chains)
// and the token by go-jose, then the same pipeline. Issue 15 wants an X5C
// sign's CPU within 1.3× of a JWK sign's.
func BenchmarkSignX5C(b *testing.B) {
	env, tokens := x5cBench(b)
	csr := authoritytest.NewCSR(b, authoritytest.CSR{CommonName: benchName, DNSNames: []string{benchName}})
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for i := range b.N {
		if _, err := env.Authority.Sign(context.Background(), &authority.SignRequest{CSR: csr, OTT: tokens[i]}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenew is authority.Renew of an authenticated certificate with
// the in-memory store: revocation check, provisioner lookup, signing and
// the certificate insert.
func BenchmarkRenew(b *testing.B) {
	env := authoritytest.New(b, authoritytest.Options{})
	cert, _ := env.Issue(b, benchName, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.Authority.Renew(context.Background(), cert); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignResponseJSON is the response body: leaf PEM and the
// SignResponse JSON with the chain.
func BenchmarkSignResponseJSON(b *testing.B) {
	env := authoritytest.New(b, authoritytest.Options{})
	cert, _ := env.Issue(b, benchName, 0)
	chain := env.Authority.Issuer().ChainPEM()
	b.ReportAllocs()
	for b.Loop() {
		leaf := authority.EncodePEM(cert.Raw)
		resp := wire.SignResponse{Certificate: leaf, CA: &chain[0], CertChain: append([]string{leaf}, chain...)}
		if _, err := json.Marshal(resp); err != nil {
			b.Fatal(err)
		}
	}
}

// newAPI returns the API handler over env's authority, logging as step-ca
// does by default (text lines), to io.Discard.
func newAPI(env *authoritytest.Env) http.Handler {
	log := logrus.New()
	log.Out = io.Discard
	log.Formatter = logfmt.Text{}
	return api.New(api.Deps{
		Authority: func() *authority.Authority { return env.Authority },
		Logger:    log, Version: "bench",
	})
}

// BenchmarkAPISign is POST /1.0/sign through the API handler without the
// network or TLS: body decoding, CSR parsing, the sign pipeline (in-memory
// store), the response JSON and the request log line.
func BenchmarkAPISign(b *testing.B) {
	env := authoritytest.New(b, authoritytest.Options{})
	tokens := make([]string, b.N)
	for i := range tokens {
		tokens[i] = env.SignToken(b, benchName)
	}
	benchAPISign(b, env, tokens)
}

// BenchmarkAPISignX5C is BenchmarkAPISign with X5C tokens (see
// BenchmarkSignX5C).
func BenchmarkAPISignX5C(b *testing.B) {
	env, tokens := x5cBench(b)
	benchAPISign(b, env, tokens)
}

// benchAPISign posts one sign request per token to env's API handler.
func benchAPISign(b *testing.B, env *authoritytest.Env, tokens []string) {
	h := newAPI(env)
	csr := authoritytest.CSRPEM(authoritytest.NewCSR(b, authoritytest.CSR{CommonName: benchName, DNSNames: []string{benchName}}))
	bodies := make([][]byte, b.N)
	for i := range bodies {
		body, err := json.Marshal(wire.SignRequest{CSR: csr, OTT: tokens[i]})
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = body
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for i := range b.N {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/1.0/sign", bytes.NewReader(bodies[i])))
		if rec.Code != http.StatusCreated {
			b.Fatalf("HTTP %d: %s", rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkAPIRenew is POST /1.0/renew through the API handler with an
// already verified client certificate (as on a kept-alive mTLS connection).
func BenchmarkAPIRenew(b *testing.B) {
	env := authoritytest.New(b, authoritytest.Options{})
	h := newAPI(env)
	cert, _ := env.Issue(b, benchName, 0)
	state := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/1.0/renew", http.NoBody)
		req.TLS = state
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("HTTP %d: %s", rec.Code, rec.Body.String())
		}
	}
}
