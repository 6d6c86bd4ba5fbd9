package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/api/wire"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
)

// testTarget starts an in-process CA and returns the generator's view of it.
func testTarget(t *testing.T) *target {
	t.Helper()
	p := newTestPKI(t)
	url := startTestCA(t, p)
	tg, err := loadTarget(p.cfgPath, url, "", "", p.pwFile)
	if err != nil {
		t.Fatalf("loadTarget: %v", err)
	}
	return tg
}

func testKeys(t *testing.T, n int) []*clientKey {
	t.Helper()
	keys, err := genKeys(n)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestRunLoadModes(t *testing.T) {
	t.Parallel()
	tg := testTarget(t)
	keys := testKeys(t, 12)
	tests := []struct {
		mode      string
		c, n      int
		wantSign  int
		wantRenew int
	}{
		{mode: modeSign, c: 4, n: 30, wantSign: 30},
		{mode: modeRenew, c: 3, n: 30, wantRenew: 30},
		{mode: modeMixed, c: 4, n: 31, wantSign: 16, wantRenew: 15},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			res, err := runLoad(context.Background(), tg, loadOptions{
				Mode: tc.mode, N: tc.n, C: tc.c, Keys: keys, ServerPID: os.Getpid(),
			})
			if err != nil {
				t.Fatalf("runLoad: %v", err)
			}
			if res.Total.OK != tc.n || res.Total.Failed != 0 || res.Total.Requests != tc.n {
				t.Fatalf("total = %+v, want %d OK and no failure", res.Total, tc.n)
			}
			if res.Name != tc.mode || res.Concurrency != tc.c {
				t.Fatalf("name %q c %d, want %q %d", res.Name, res.Concurrency, tc.mode, tc.c)
			}
			l := res.Total.LatencyMs
			if !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
				t.Fatalf("latencies %+v are not positive and ordered", l)
			}
			if res.WallSec <= 0 || res.Total.OKPerSec <= 0 {
				t.Fatalf("wall %v ok/s %v, want positive", res.WallSec, res.Total.OKPerSec)
			}
			if res.CACPU == nil || res.CAMsPerCert == nil || res.CACores == nil {
				t.Fatalf("CA CPU figures missing with a server PID: %+v", res)
			}
			if tc.mode == modeMixed {
				if res.Ops[modeSign].OK != tc.wantSign || res.Ops[modeRenew].OK != tc.wantRenew {
					t.Fatalf("ops = %+v, want %d sign and %d renew", res.Ops, tc.wantSign, tc.wantRenew)
				}
			} else if res.Ops != nil {
				t.Fatalf("ops = %+v, want none outside mixed mode", res.Ops)
			}
		})
	}
}

func TestRunLoadDurationBound(t *testing.T) {
	t.Parallel()
	tg := testTarget(t)
	res, err := runLoad(context.Background(), tg, loadOptions{
		Mode: modeSign, Duration: time.Nanosecond, C: 2, Keys: testKeys(t, 2),
	})
	if err != nil {
		t.Fatalf("runLoad: %v", err)
	}
	// Each worker checks the deadline before each request; at most the
	// requests started before it passed can run.
	if res.Total.Requests > 2 || res.Total.Failed != 0 {
		t.Fatalf("total = %+v, want at most 2 requests and no failure", res.Total)
	}
	if res.CACPU != nil {
		t.Fatalf("CA CPU = %v without a server PID", *res.CACPU)
	}
}

// A token signed with a key the CA does not know is refused: every request
// is counted as a failure with the CA's status and message.
func TestRunLoadCountsRefusals(t *testing.T) {
	t.Parallel()
	tg := testTarget(t)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := mjose.NewSigningJWK(k)
	if err != nil {
		t.Fatal(err)
	}
	other.KeyID = tg.minter.key.KeyID // same kid, wrong key
	bad := *tg
	bad.minter = &minter{name: tg.minter.name, key: other}
	res, err := runLoad(context.Background(), &bad, loadOptions{Mode: modeSign, N: 5, C: 2, Keys: testKeys(t, 3)})
	if err != nil {
		t.Fatalf("runLoad: %v", err)
	}
	f := res.Total.Failures["HTTP 401"]
	if res.Total.OK != 0 || res.Total.Failed != 5 || f == nil || f.Count != 5 {
		t.Fatalf("total = %+v, want 5 failures of kind HTTP 401", res.Total)
	}
	if !strings.Contains(f.First, "authorization") {
		t.Fatalf("first error %q, want the CA's 401 message", f.First)
	}
	if res.Total.LatencyMs.Max != 0 {
		t.Fatalf("latency %+v, want none (only OK requests count)", res.Total.LatencyMs)
	}
}

func TestRunLoadOptionErrors(t *testing.T) {
	t.Parallel()
	keys := []*clientKey{{name: "x"}}
	tests := []struct {
		name string
		o    loadOptions
		want string
	}{
		{"mode", loadOptions{Mode: "revoke", N: 1, C: 1, Keys: keys}, "unknown mode"},
		{"no bound", loadOptions{Mode: modeSign, C: 1, Keys: keys}, "bound"},
		{"no workers", loadOptions{Mode: modeSign, N: 1, Keys: keys}, "concurrency"},
		{"keys for renew", loadOptions{Mode: modeRenew, N: 1, C: 2, Keys: keys}, "1 client keys for 2 workers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := runLoad(context.Background(), &target{}, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// signOnce gets one sign response body for k from the CA.
func signOnce(t *testing.T, tg *target, k *clientKey) []byte {
	t.Helper()
	r := &runner{t: tg, o: loadOptions{Keys: []*clientKey{k}}, signURL: tg.url + "/1.0/sign"}
	w := &worker{}
	w.tr = r.newTransport(w)
	defer w.tr.CloseIdleConnections()
	body, err := r.signBody(k, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	status, resp, _, err := post(context.Background(), &http.Client{Transport: w.tr}, r.signURL, body)
	if err != nil || status != http.StatusCreated {
		t.Fatalf("sign: status %d err %v: %s", status, err, resp)
	}
	return resp
}

func TestVerifyResponse(t *testing.T) {
	t.Parallel()
	tg := testTarget(t)
	keys := testKeys(t, 2)
	good := signOnce(t, tg, keys[0])
	var sr wire.SignResponse
	if err := json.Unmarshal(good, &sr); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(*wire.SignResponse)) []byte {
		c := sr
		c.CertChain = append([]string(nil), sr.CertChain...)
		f(&c)
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name  string
		body  []byte
		key   *clientKey
		roots *x509.CertPool
		want  string // "" = valid
	}{
		{"valid", good, keys[0], tg.roots, ""},
		{"only ca, no certChain", edit(func(r *wire.SignResponse) { r.CertChain = nil }), keys[0], tg.roots, ""},
		{"other key", good, keys[1], tg.roots, "common name"},
		{"other roots", good, keys[0], x509.NewCertPool(), "chain"},
		{"no intermediate", edit(func(r *wire.SignResponse) { r.CertChain = r.CertChain[:1]; r.CA = nil }), keys[0], tg.roots, "chain"},
		{"chain differs", edit(func(r *wire.SignResponse) { r.CertChain[0] = r.CertChain[1] }), keys[0], tg.roots, "differs"},
		{"no crt", edit(func(r *wire.SignResponse) { r.Certificate = "" }), keys[0], tg.roots, `no "crt"`},
		{"not PEM", edit(func(r *wire.SignResponse) { r.Certificate, r.CertChain = "junk", nil }), keys[0], tg.roots, "PEM"},
		{"not JSON", []byte("<html>"), keys[0], tg.roots, "not a sign response"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			leaf, ders, err := verifyResponse(tc.body, tc.key, tc.roots)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("verifyResponse: %v", err)
				}
				if leaf.Subject.CommonName != tc.key.name || len(ders) != 2 || string(ders[0]) != string(leaf.Raw) {
					t.Fatalf("leaf %q with %d DER certificates", leaf.Subject.CommonName, len(ders))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	// A leaf whose name matches but whose key is not the client's.
	impostor := &clientKey{key: keys[1].key, name: keys[0].name}
	if _, _, err := verifyResponse(good, impostor, tg.roots); err == nil || !strings.Contains(err.Error(), "public key") {
		t.Fatalf("err = %v, want a public key mismatch", err)
	}
}

// The certificate presented at the next handshake is the newest one issued,
// decoded lazily; a body that does not decode keeps the previous one.
func TestClientCertificateUsesNewest(t *testing.T) {
	t.Parallel()
	tg := testTarget(t)
	k := testKeys(t, 1)[0]
	w := &worker{renewKey: k}
	if c := w.clientCertificate(); len(c.Certificate) != 0 {
		t.Fatalf("before any certificate: %d certificates, want none", len(c.Certificate))
	}
	first, second := signOnce(t, tg, k), signOnce(t, tg, k)
	for i, step := range []struct {
		body []byte
		want []byte
	}{
		{first, first},
		{second, second},
		{[]byte("garbage"), second},
	} {
		b := step.body
		w.newest.Store(&b)
		got := w.clientCertificate()
		want, err := decodeResponse(step.want)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Certificate) != 2 || string(got.Certificate[0]) != string(want[0]) || got.PrivateKey != k.key {
			t.Fatalf("step %d: presented certificate is not the newest valid one", i)
		}
	}
}
