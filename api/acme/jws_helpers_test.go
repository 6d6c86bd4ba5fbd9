package acme

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// testKeyRSA2048 is a fixed RSA key for the tests (fuzz workers are
// separate processes, so every key the seeds are signed with is fixed).
// It signs nothing outside these tests.
const testKeyRSA2048 = `
-----BEGIN PRIVATE KEY-----
MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQCtFvE4sCPoe4Ab
/rvaSw7u1594j42vILD6m+oOqgizo20TY6tBv4NOr384Zjk/GWGdfMuUbBMDFzN2
RXAQejhzX4usbcV9o9SZ2xl6HQwrwZ2Kl8lX37P6vNFyMKfTHtpIXA0CQ9mWmOit
K5goXXccYOEpU4ci1aeJjZpmX2KhiLLk0pUSBDQXdXN10RWiKP2nn1Plwbx521z3
qHjgRWWUmsgv5lSqUkdiZE71EU8rMz5LyAUDFG3lfrmt1cht5rt4B8gODwwOwzds
dNzY4ReJqG4rCOnHxf7ZxIBV1lvqx/rR5pPdwudg96eUE70wNjXkT/jC4r0LWhFz
6jLhXA15AgMBAAECggEABaSIU6FGYmdYS1FYHWsx/u5PmBYR9+IYcusPS9AWPYj3
3thydk/Af5mwC44lkp2ItaIiXuHREto4RsRHvXnGilhUjNf9RrXHEgb3AyicQ3bp
5GFDYpZ73xI1v8O/TN4mHpLFp8u/da3hc/fGW5aEcgvkezzqXGPbtNvFa03zwLFO
x6t2wFFOZ0n8C91+mbvdaX7WG53O2FkoyesoEm2LfJ6YhIgrtQtEBVNDFncA5bUg
aAk/Mk84kXDuoONohNn1L9ImtDRsnEbOCiPiokIDPbw7zKHcdLbVg7c3DeA37ru8
zWIgFyosS8PsiL8FtO+2bSqAqpweugXSILz/AdSHMwKBgQD0CBmKtss38wARj4vw
qNF0MinrwHbxvpjBOM9kWG9U18ho5+ZGRm7ZAXUelgP9lOP5lBRalCJdIAZ5Umwj
wf9MBcv3GcL1GfvFiYgpexAnnd1/01Jlc40uRx7iRTqfruphn6W9W3KrBC59LOQC
sHwcb7g6e1ZDy3nZobJDQ0m8MwKBgQC1lCQrwMPVEajs+JkVfVSGHtt7n1dRZJF+
reZSWUVzRYdoMVTNPbpxuQeVS1SRyVnb6eORFZFxkXeGLMwl7bBusaOUSBjyoEE0
yKH1bmTblN1hJfewiMoDAxKQNuszSG0zc+yqf+KpxHcr4WX0I2nlG5LKbY7UasQ4
tnb+MljjowKBgQDxUiU4CKYUMQjLVOH1Xmyq9ISCL3UwgOP8iBqHR/DovO7h1xng
OvyZOpjAY2eU2C1N/QLXxA/reaUNStXH0quNWVonhOFHkqdo5CWzp5AFLVcCdk7Q
JqHhttEyv3VGvinn2oGDLTDLL7ptbPwaML67PDu6EYfwSQK5le58F8mOAwKBgQCL
jy/53O/nXOpsMGpgpPKJH0BslLylF1nodrpWwrxpa6A2Sew2z2H0tFUKv1phrtN8
/hhlU6F1G2w1WUsTP8viWHA0sPFT0i4r5qTsoYutZY59c5QbQBecFwl2hG9j/B/K
cygMp7xL5W/+7v/QlEN4zyeUpH4p72GfgUaV+5ZsZwKBgQDFNwTWpgwFlw8T/YtM
85LVKvg6toLvQznysXxZ7Lc+IGIRdoIRlv73d3NcZtN8SE1KQtAszNhlnge7BRoB
hECKU42ZDJdb+guZBUj5h2ojy4H3y08ELuroqJBd6hrek71yCwvu/EBRA/wXZfZH
yOED9g9NlWrqh+pu4fxBoC4Q1Q==
-----END PRIVATE KEY-----
`

// testKey is one account key of the tests, by the algorithm it signs with.
type testKey struct {
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func (k testKey) pub() crypto.PublicKey { return k.priv.Public() }

// testKeys are fixed keys: ES256 (P-256), ES384 (P-384), RS256, EdDSA.
var testKeys = sync.OnceValue(func() []testKey {
	ec := func(c elliptic.Curve, d []byte) crypto.Signer {
		k, err := ecdsa.ParseRawPrivateKey(c, d)
		if err != nil {
			panic(err)
		}
		return k
	}
	d256 := sha256.Sum256([]byte("mayfly api/acme jws test P-256"))
	d384 := sha512.Sum384([]byte("mayfly api/acme jws test P-384"))
	blk, _ := pem.Decode([]byte(testKeyRSA2048))
	rk, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		panic(err)
	}
	seed := sha256.Sum256([]byte("mayfly api/acme jws test Ed25519"))
	return []testKey{
		{jose.ES256, ec(elliptic.P256(), d256[:])},
		{jose.ES384, ec(elliptic.P384(), d384[:])},
		{jose.RS256, rk.(*rsa.PrivateKey)},
		{jose.EdDSA, ed25519.NewKeyFromSeed(seed[:])},
	}
})

var enc = base64.RawURLEncoding

// rawSign signs input with k in k's own scheme (whatever alg a header
// names): r‖s over SHA-256/384 for P-256/P-384, PKCS #1 v1.5 over SHA-256
// for RSA, Ed25519.
func rawSign(tb testing.TB, k crypto.Signer, input string) []byte {
	tb.Helper()
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		var digest []byte
		size := (k.Curve.Params().BitSize + 7) / 8
		if size == 32 {
			h := sha256.Sum256([]byte(input))
			digest = h[:]
		} else {
			h := sha512.Sum384([]byte(input))
			digest = h[:]
		}
		r, s, err := ecdsa.Sign(rand.Reader, k, digest)
		if err != nil {
			tb.Fatal(err)
		}
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out
	case *rsa.PrivateKey:
		h := sha256.Sum256([]byte(input))
		sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
		if err != nil {
			tb.Fatal(err)
		}
		return sig
	case ed25519.PrivateKey:
		return ed25519.Sign(k, []byte(input))
	}
	tb.Fatalf("no signer for %T", k)
	return nil
}

// flat returns the flattened JWS of payload under the protected header hdr
// (JSON text) signed by k; sig, when not nil, replaces the signature.
func flat(tb testing.TB, k crypto.Signer, hdr string, payload string, sig func([]byte) []byte) []byte {
	tb.Helper()
	p, pl := enc.EncodeToString([]byte(hdr)), enc.EncodeToString([]byte(payload))
	s := rawSign(tb, k, p+"."+pl)
	if sig != nil {
		s = sig(s)
	}
	return []byte(`{"protected":"` + p + `","payload":"` + pl + `","signature":"` + enc.EncodeToString(s) + `"}`)
}

const testURL = "https://ca.example/acme/acme/new-order"

// header returns a protected header for alg with a nonce, the test URL,
// and either the jwk of pub (pub not nil) or a kid; extra members are
// appended as they are.
func header(tb testing.TB, alg jose.SignatureAlgorithm, pub crypto.PublicKey, extra ...string) string {
	tb.Helper()
	m := []string{fmt.Sprintf(`"alg":%q`, alg), `"nonce":"bm9uY2U"`, `"url":"` + testURL + `"`}
	if pub != nil {
		jwk, err := json.Marshal(jose.JSONWebKey{Key: pub})
		if err != nil {
			tb.Fatal(err)
		}
		m = append(m, `"jwk":`+string(jwk))
	} else {
		m = append(m, `"kid":"https://ca.example/acme/acme/account/a1"`)
	}
	return "{" + strings.Join(append(m, extra...), ",") + "}"
}
