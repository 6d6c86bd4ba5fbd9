package ocsp_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/authority/ocsp"
	"github.com/mayfly-pki/mayfly/authority/store"
)

type fixture struct {
	env  *at.Env
	r    *ocsp.Responder
	good *x509.Certificate
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := at.New(t, at.Options{Store: at.OpenBadger(t)})
	r, err := ocsp.New(ocsp.Deps{Store: env.Store, Issuer: env.PKI.Intermediate, Signer: env.PKI.IntermediateKey, Now: env.Clock.Now},
		ocsp.Options{URL: "https://ca.example.com/1.0/ocsp"})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := env.Issue(t, "good.example.com", 0)
	return &fixture{env: env, r: r, good: good}
}

func (f *fixture) ask(t *testing.T, cert *x509.Certificate, opts *xocsp.RequestOptions) (*xocsp.Response, *ocsp.Response) {
	t.Helper()
	req, err := xocsp.CreateRequest(cert, f.env.PKI.Intermediate, opts)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := f.r.Respond(context.Background(), req)
	if err != nil {
		t.Fatalf("Respond: %v", err)
	}
	resp, err := xocsp.ParseResponseForCert(ans.DER, cert, f.env.PKI.Intermediate)
	if err != nil {
		t.Fatalf("ParseResponse: %v", err)
	}
	return resp, ans
}

func TestRespond(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	resp, ans := f.ask(t, f.good, nil)
	if resp.Status != xocsp.Good || ans.Status != "good" || !ans.Cacheable {
		t.Fatalf("status %d (%s), cacheable %v; want good, cacheable", resp.Status, ans.Status, ans.Cacheable)
	}
	// Signed by the delegated responder: OCSPSigning and ocsp-nocheck.
	rc := resp.Certificate
	if rc == nil || rc.CheckSignatureFrom(f.env.PKI.Intermediate) != nil || len(rc.ExtKeyUsage) != 1 || rc.ExtKeyUsage[0] != x509.ExtKeyUsageOCSPSigning {
		t.Fatalf("responder certificate %+v", rc)
	}
	var nocheck bool
	for _, e := range rc.Extensions {
		nocheck = nocheck || e.Id.Equal(ocsp.OIDNoCheck)
	}
	if !nocheck {
		t.Fatal("responder certificate without ocsp-nocheck")
	}
	if !resp.NextUpdate.Equal(resp.ThisUpdate.Add(time.Hour)) {
		t.Fatalf("thisUpdate %v nextUpdate %v", resp.ThisUpdate, resp.NextUpdate)
	}
	// Cached: the same bytes again.
	if _, again := f.ask(t, f.good, nil); !bytes.Equal(again.DER, ans.DER) {
		t.Fatal("a second request was signed again")
	}
	// Revoked, with the reason, once refreshed.
	rev := &store.Revocation{Serial: f.good.SerialNumber.String(), ReasonCode: xocsp.KeyCompromise, RevokedAt: f.env.Clock.Now()}
	if err := f.env.Store.Revoke(context.Background(), rev); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Refresh(context.Background(), rev.Serial); err != nil {
		t.Fatal(err)
	}
	resp, _ = f.ask(t, f.good, nil)
	if resp.Status != xocsp.Revoked || resp.RevocationReason != xocsp.KeyCompromise || !resp.RevokedAt.Equal(f.env.Clock.Now().Truncate(time.Second)) {
		t.Fatalf("after revoke: status %d reason %d at %v", resp.Status, resp.RevocationReason, resp.RevokedAt)
	}
	// A serial the CA never issued is unknown.
	other := *f.good
	other.SerialNumber = big.NewInt(12345)
	if resp, _ := f.ask(t, &other, nil); resp.Status != xocsp.Unknown {
		t.Fatalf("unknown serial: status %d", resp.Status)
	}
	// SHA-256 CertIDs are answered too.
	if resp, _ := f.ask(t, f.good, &xocsp.RequestOptions{Hash: crypto.SHA256}); resp.Status != xocsp.Revoked {
		t.Fatalf("SHA-256 request: status %d", resp.Status)
	}
}

func TestRespondErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for name, req := range map[string][]byte{"empty": nil, "garbage": []byte("not DER"), "trailing": append(mustReq(t, f), 0)} {
		ans, err := f.r.Respond(context.Background(), req)
		if err != nil || !bytes.Equal(ans.DER, xocsp.MalformedRequestErrorResponse) {
			t.Fatalf("%s: %v, %x", name, err, ans.DER)
		}
	}
	// A certificate of another issuer: unauthorized.
	otherPKI := at.NewPKI(t, f.env.Clock.Now(), time.Hour)
	req, _ := xocsp.CreateRequest(f.good, otherPKI.Intermediate, nil)
	if ans, err := f.r.Respond(context.Background(), req); err != nil || !bytes.Equal(ans.DER, xocsp.UnauthorizedErrorResponse) {
		t.Fatalf("other issuer: %v %x", err, ans.DER)
	}
}

func mustReq(t *testing.T, f *fixture) []byte {
	req, err := xocsp.CreateRequest(f.good, f.env.PKI.Intermediate, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// A request with a nonce gets it back, in a response signed for it.
func TestNonce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	base := mustReq(t, f)
	nonce, _ := asn1.Marshal([]byte("0123456789abcdef"))
	req := withNonce(t, base, nonce)
	parsed, err := ocsp.ParseRequest(req)
	if err != nil || !bytes.Equal(parsed.Nonce, nonce) {
		t.Fatalf("ParseRequest: %v, nonce %x", err, parsed.Nonce)
	}
	ans, err := f.r.Respond(context.Background(), req)
	if err != nil || ans.Cacheable {
		t.Fatalf("Respond: %v, cacheable %v", err, ans.Cacheable)
	}
	// The signature over the re-encoded response data verifies.
	if _, err := xocsp.ParseResponseForCert(ans.DER, f.good, f.env.PKI.Intermediate); err != nil {
		t.Fatal(err)
	}
	// In responseExtensions (RFC 6960 §4.4.1), where openssl looks.
	var ext []byte
	ext = append(ext, 0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02)
	if !bytes.Contains(ans.DER, append(ext, append([]byte{0x04, byte(len(nonce))}, nonce...)...)) {
		t.Fatalf("nonce not echoed: %x", ans.DER)
	}
}

// withNonce re-encodes an x/crypto request with a requestExtensions nonce.
func withNonce(t *testing.T, req, nonce []byte) []byte {
	t.Helper()
	var outer struct{ TBS asn1.RawValue }
	if _, err := asn1.Unmarshal(req, &outer); err != nil {
		t.Fatal(err)
	}
	var tbs struct{ List asn1.RawValue }
	if _, err := asn1.Unmarshal(outer.TBS.FullBytes, &tbs); err != nil {
		t.Fatal(err)
	}
	type ext struct {
		ID    asn1.ObjectIdentifier
		Value []byte
	}
	exts, _ := asn1.Marshal([]ext{{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}, nonce}})
	wrapped, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, IsCompound: true, Bytes: exts})
	newTBS, _ := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: append(append([]byte{}, tbs.List.FullBytes...), wrapped...)})
	out, _ := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: newTBS})
	return out
}

// ParseRequest agrees with x/crypto's parser on every request it accepts.
func FuzzParseRequest(f *testing.F) {
	env := at.New(f, at.Options{})
	cert, _ := env.Issue(f, "fuzz.example.com", 0)
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		req, _ := xocsp.CreateRequest(cert, env.PKI.Intermediate, &xocsp.RequestOptions{Hash: h})
		f.Add(req)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		mine, err := ocsp.ParseRequest(der)
		theirs, err2 := xocsp.ParseRequest(der)
		if err != nil || err2 != nil {
			return // x/crypto is laxer (trailing data) and stricter (hashes) in places
		}
		if mine.HashAlgorithm != theirs.HashAlgorithm || !bytes.Equal(mine.IssuerKeyHash, theirs.IssuerKeyHash) ||
			!bytes.Equal(mine.IssuerNameHash, theirs.IssuerNameHash) || mine.SerialNumber.Cmp(theirs.SerialNumber) != 0 {
			t.Fatalf("mine %+v, x/crypto %+v", mine, theirs)
		}
	})
}

// BenchmarkRespondCached is the cost of one answer from memory: parse,
// issuer check, cache lookup.
func BenchmarkRespondCached(b *testing.B) {
	env := at.New(b, at.Options{Store: at.OpenBadger(b)})
	r, err := ocsp.New(ocsp.Deps{Store: env.Store, Issuer: env.PKI.Intermediate, Signer: env.PKI.IntermediateKey, Now: env.Clock.Now}, ocsp.Options{})
	if err != nil {
		b.Fatal(err)
	}
	cert, _ := env.Issue(b, "bench.example.com", 0)
	req, _ := xocsp.CreateRequest(cert, env.PKI.Intermediate, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Respond(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
