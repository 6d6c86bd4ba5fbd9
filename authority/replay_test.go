package authority_test

import (
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// Re-encodings of one signed token that go-jose still verifies: a replay of
// any of them must be refused like the token itself (issue 14, item 3).

// otherSignature is raw with its ES256 signature (r, s) replaced by the
// other valid one, (r, n−s).
func otherSignature(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("not an ES256 signature: %v (%d bytes)", err, len(sig))
	}
	s := new(big.Int).SetBytes(sig[32:])
	s.Sub(elliptic.P256().Params().N, s)
	out := append(append([]byte{}, sig[:32]...), s.FillBytes(make([]byte, 32))...)
	return parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(out)
}

// nonCanonical sets an unused low bit of the signature's last base64url
// character: the lenient decoder go-jose uses reads the same bytes.
func nonCanonical(t *testing.T, raw string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, raw[len(raw)-1])
	return raw[:len(raw)-1] + string(alphabet[i^1])
}

// withNewline puts a line feed in the payload segment; base64 decoders skip it.
func withNewline(t *testing.T, raw string) string {
	t.Helper()
	i := strings.IndexByte(raw, '.')
	return raw[:i+1] + "\n" + raw[i+1:]
}

// jsonSerialization is raw in the flattened JWS JSON serialization.
func jsonSerialization(t *testing.T, raw string) string {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.FullSerialize()
}

func wantUsed(t *testing.T, err error, what string) {
	t.Helper()
	wantErr(t, err, errs.Unauthorized, "")
	if !strings.Contains(err.Error(), "token already used") {
		t.Fatalf("%s: error = %v, want token already used", what, err)
	}
}

func TestSignReplayOfReencodedToken(t *testing.T) {
	t.Parallel()
	variants := []struct {
		name string
		re   func(*testing.T, string) string
	}{
		{"as sent", func(_ *testing.T, raw string) string { return raw }},
		{"(r, n-s)", otherSignature},
		{"non-canonical base64", nonCanonical},
		{"line feed", withNewline},
		{"white space", func(_ *testing.T, raw string) string { return " " + strings.Replace(raw, ".", ".\t", 1) + " " }},
	}
	for _, jti := range []bool{true, false} {
		env := at.New(t, at.Options{})
		for _, v := range variants {
			t.Run(fmt.Sprintf("jti %v/%s", jti, v.name), func(t *testing.T) {
				// Without a jti, tokens of equal claims are one token.
				env.Clock.Add(time.Second)
				c := env.SignClaims(t, "r.example.com")
				if !jti {
					c.ID = ""
				}
				ott := env.Admin.Sign(t, c)
				if _, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: ott}); err != nil {
					t.Fatal(err)
				}
				_, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: v.re(t, ott)})
				wantUsed(t, err, v.name)
			})
		}
	}
}

func TestSignRefusesJSONSerialization(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	for _, jti := range []bool{true, false} {
		env.Clock.Add(time.Second)
		c := env.SignClaims(t, "j.example.com")
		if !jti {
			c.ID = ""
		}
		ott := env.Admin.Sign(t, c)
		_, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: jsonSerialization(t, ott)})
		wantErr(t, err, errs.Unauthorized, "")
		if !strings.Contains(err.Error(), "compact") {
			t.Fatalf("JSON serialization (jti %v): error = %v, want a compact serialization error", jti, err)
		}
		// The compact token is still unused.
		if _, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: ott}); err != nil {
			t.Fatalf("compact token after its JSON form was refused: %v", err)
		}
	}
}

// Two provisioners may mint the same jti: single use is per issuer.
func TestSignSameJTIFromTwoProvisioners(t *testing.T) {
	t.Parallel()
	dev := at.NewJWK(t, "dev")
	env := at.New(t, at.Options{MoreProvisioners: []json.RawMessage{dev.Entry(t, nil)}})
	ca := env.SignClaims(t, "s.example.com")
	cd := dev.Claims(t, at.CAURL+"/1.0/sign", "s.example.com", env.Clock.Now())
	cd.ID = ca.ID
	adminOTT, devOTT := env.Admin.Sign(t, ca), dev.Sign(t, cd)
	for _, ott := range []string{adminOTT, devOTT} {
		if _, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: ott}); err != nil {
			t.Fatal(err)
		}
	}
	for _, ott := range []string{adminOTT, devOTT} {
		_, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: ott})
		wantUsed(t, err, "replay")
	}
}

// Renew tokens have no jti (wire-spec §4.6).
func TestRenewTokenReplayOfReencodedToken(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	cert, key := env.Issue(t, "e.example.com", 0)
	for _, re := range []func(*testing.T, string) string{otherSignature, nonCanonical, withNewline} {
		raw := at.RenewToken(t, at.CAURL+"/renew", []*x509.Certificate{cert, env.PKI.Intermediate}, key, env.Clock.Now(), nil)
		if _, err := env.Authority.AuthorizeRenewToken(ctx, raw); err != nil {
			t.Fatal(err)
		}
		_, err := env.Authority.AuthorizeRenewToken(ctx, re(t, raw))
		wantUsed(t, err, "renew replay")
		env.Clock.Add(time.Second)
	}
}

// Two certificates with the same subject renewed in the same second have
// renew tokens with equal payloads; their headers (x5cInsecure, kid) differ,
// and neither is a replay of the other.
func TestRenewTokensWithEqualPayloads(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	for i := 0; i < 2; i++ {
		cert, key := env.Issue(t, "same.example.com", 0)
		raw := at.RenewToken(t, at.CAURL+"/renew", []*x509.Certificate{cert, env.PKI.Intermediate}, key, env.Clock.Now(), nil)
		if _, err := env.Authority.AuthorizeRenewToken(ctx, raw); err != nil {
			t.Fatalf("certificate %d: %v", i, err)
		}
	}
}

func TestRevokeReplayOfReencodedToken(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{Store: at.OpenBadger(t)})
	cert, _ := env.Issue(t, "v.example.com", 0)
	serial := cert.SerialNumber.String()
	c := env.Admin.Claims(t, at.CAURL+"/1.0/revoke", serial, env.Clock.Now())
	c.ID = ""
	ott := env.Admin.Sign(t, c)
	if _, err := env.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: serial, OTT: ott}); err != nil {
		t.Fatal(err)
	}
	_, err := env.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: serial, OTT: otherSignature(t, ott)})
	wantUsed(t, err, "revoke replay")
}

// A jti of any length gives a used_ott key of 68 bytes: backends limit keys
// to 255 bytes, and refused such tokens as bad requests.
func TestSignLongJTI(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{Store: at.OpenBadger(t)})
	c := env.SignClaims(t, "l.example.com")
	c.ID = strings.Repeat("j", 4096)
	ott := env.Admin.Sign(t, c)
	if _, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: ott}); err != nil {
		t.Fatal(err)
	}
	_, err := env.Authority.Sign(ctx, &authority.SignRequest{CSR: at.NewCSR(t, at.CSR{}), OTT: ott})
	wantUsed(t, err, "replay")
}
