package provisioner_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/jwk"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

const caURL = "https://ca.example.com:9443"

func testAudiences() provisioner.Audiences {
	return provisioner.NewAudiences([]string{"ca.example.com"})
}

// newJWK returns a JWK provisioner called name and its private key; the
// ca.json entry has encryptedKey when enc is set.
func newJWK(t *testing.T, name, enc string) (provisioner.Interface, *jose.JSONWebKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := mjose.NewSigningJWK(k)
	if err != nil {
		t.Fatal(err)
	}
	entry := map[string]any{"type": "JWK", "name": name, "key": key.Public()}
	if enc != "" {
		entry["encryptedKey"] = enc
	}
	raw, err := json.Marshal(entry)
	if err != nil {
		t.Fatal(err)
	}
	p, err := jwk.New(raw, provisioner.Config{Audiences: testAudiences(), Claims: provisioner.DefaultClaims})
	if err != nil {
		t.Fatalf("jwk.New: %v", err)
	}
	return p, key
}

func uninit(name string, i int) provisioner.Interface {
	return provisioner.NewUninitialized(json.RawMessage(fmt.Sprintf(`{"type":"OIDC","name":%q}`, name)), i, errors.New("boom"))
}

// parsedToken signs claims (with header kid) and parses the result.
func parsedToken(t *testing.T, key *jose.JSONWebKey, iss string, aud ...string) *token.Token {
	t.Helper()
	raw, err := token.Sign(key, &token.Claims{Issuer: iss, Audience: aud, Subject: "s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := token.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestCollectionLookups(t *testing.T) {
	t.Parallel()
	admin, adminKey := newJWK(t, "admin", "eyJhbGciOi.enc")
	dev, devKey := newJWK(t, "dev", "")
	broken := uninit("broken", 2)
	c, err := provisioner.NewCollection([]provisioner.Interface{admin, dev, broken}, testAudiences())
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 3 || c.All()[0] != admin || c.All()[2] != broken {
		t.Fatalf("All = %v", c.All())
	}
	if p, ok := c.ByName("dev"); !ok || p != dev {
		t.Fatal("ByName(dev)")
	}
	if _, ok := c.ByName("nobody"); ok {
		t.Fatal("ByName(nobody) found something")
	}
	if p, ok := c.ByKID(adminKey.KeyID); !ok || p != admin {
		t.Fatal("ByKID(admin kid)")
	}
	if _, ok := c.ByKID(devKey.KeyID); ok {
		t.Fatal("ByKID found a provisioner without an encrypted key")
	}

	tests := []struct {
		name string
		tok  *token.Token
		want provisioner.Interface
	}{
		{"iss:kid", parsedToken(t, adminKey, "admin", caURL+"/1.0/sign"), admin},
		{"iss:kid other", parsedToken(t, devKey, "dev", caURL+"/1.0/revoke"), dev},
		{"legacy audience", parsedToken(t, devKey, "dev", provisioner.LegacyAudience), dev},
		{"wrong iss for kid", parsedToken(t, adminKey, "dev", caURL+"/1.0/sign"), nil},
		{"foreign audience", parsedToken(t, adminKey, "admin", "https://other.example.com/1.0/sign"), nil},
		{"no audience", parsedToken(t, adminKey, "admin"), nil},
		{"fragment", parsedToken(t, adminKey, "whatever", caURL+"/1.0/sign#"+broken.TokenID()), broken},
		{"fragment wins over iss:kid", parsedToken(t, adminKey, "admin", caURL+"/1.0/sign#x5c/none"), nil},
	}
	for _, tc := range tests {
		p, ok := c.ByToken(tc.tok)
		if ok != (tc.want != nil) || p != tc.want {
			t.Fatalf("%s: ByToken = %v, %v; want %v", tc.name, p, ok, tc.want)
		}
	}

	info := admin.Info()
	certTests := []struct {
		name string
		ext  provisioner.Extension
		want provisioner.Interface
	}{
		{"jwk", provisioner.Extension{Type: provisioner.TypeJWK, Name: "admin", CredentialID: info.CredentialID}, admin},
		{"jwk other kid", provisioner.Extension{Type: provisioner.TypeJWK, Name: "admin", CredentialID: "old"}, nil},
		{"wrong type", provisioner.Extension{Type: provisioner.TypeX5C, Name: "admin", CredentialID: info.CredentialID}, nil},
		{"unknown name", provisioner.Extension{Type: provisioner.TypeJWK, Name: "ghost"}, nil},
		{"non-jwk by name", provisioner.Extension{Type: provisioner.TypeOIDC, Name: "broken"}, broken},
	}
	for _, tc := range certTests {
		ext := tc.ext
		p, ok := c.ByCertificate(&ext)
		if ok != (tc.want != nil) || p != tc.want {
			t.Fatalf("%s: ByCertificate = %v, %v; want %v", tc.name, p, ok, tc.want)
		}
	}
}

func TestCollectionDuplicates(t *testing.T) {
	t.Parallel()
	a, _ := newJWK(t, "admin", "")
	b, _ := newJWK(t, "admin", "")
	if _, err := provisioner.NewCollection([]provisioner.Interface{a, b}, testAudiences()); err == nil || !strings.Contains(err.Error(), `"admin"`) {
		t.Fatalf("duplicate names: err = %v", err)
	}
	if _, err := provisioner.NewCollection([]provisioner.Interface{a, a}, testAudiences()); err == nil {
		t.Fatal("the same provisioner twice was accepted")
	}
	if _, err := provisioner.NewCollection([]provisioner.Interface{uninit("x", 0), uninit("x", 1)}, testAudiences()); err == nil {
		t.Fatal("duplicate uninitialized names were accepted")
	}
	c, err := provisioner.NewCollection(nil, testAudiences())
	if err != nil || c.Len() != 0 {
		t.Fatalf("empty collection: %v", err)
	}
	if page, next := c.Page("", 0); len(page) != 0 || next != "" {
		t.Fatalf("empty Page = %d items, %q", len(page), next)
	}
}

// wantUID is step's uid, computed independently of the implementation.
func wantUID(index int, id string) string {
	sum := sha1.Sum([]byte(id))
	binary.BigEndian.PutUint32(sum[:4], uint32(index))
	return hex.EncodeToString(sum[:])
}

func TestCollectionPage(t *testing.T) {
	t.Parallel()
	var ps []provisioner.Interface
	for i := range 130 {
		ps = append(ps, uninit(fmt.Sprintf("p%03d", i), i))
	}
	c, err := provisioner.NewCollection(ps, testAudiences())
	if err != nil {
		t.Fatal(err)
	}
	trimmed := func(i int) string { return strings.TrimLeft(wantUID(i, ps[i].Info().ID), "0") }

	tests := []struct {
		name      string
		cursor    string
		limit     int
		wantFirst int // -1: empty page
		wantLen   int
		wantNext  string
	}{
		{"default limit", "", 0, 0, 20, trimmed(20)},
		{"negative limit", "", -5, 0, 20, trimmed(20)},
		{"limit 1", "", 1, 0, 1, trimmed(1)},
		{"max limit", "", 100, 0, 100, trimmed(100)},
		{"limit capped", "", 1000, 0, 100, trimmed(100)},
		{"trimmed cursor", trimmed(20), 20, 20, 20, trimmed(40)},
		{"full cursor", wantUID(20, ps[20].Info().ID), 20, 20, 20, trimmed(40)},
		{"last page", trimmed(120), 100, 120, 10, ""},
		{"exact end", trimmed(110), 20, 110, 20, ""},
		{"cursor between uids", wantUID(5, ps[5].Info().ID) + "x", 2, 6, 2, trimmed(8)},
		{"cursor past the end", strings.Repeat("f", 40), 10, -1, 0, ""},
		{"short garbage cursor sorts first", "zz", 3, 0, 3, trimmed(3)},
		{"long garbage cursor sorts last", strings.Repeat("z", 41), 3, -1, 0, ""},
		{"index-only cursor", "1" + strings.Repeat("0", 32), 3, 1, 3, trimmed(4)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			page, next := c.Page(tc.cursor, tc.limit)
			if len(page) != tc.wantLen {
				t.Fatalf("Page(%q, %d) has %d items, want %d", tc.cursor, tc.limit, len(page), tc.wantLen)
			}
			if tc.wantLen > 0 && page[0] != ps[tc.wantFirst] {
				t.Fatalf("Page(%q, %d) starts at %s, want %s", tc.cursor, tc.limit, page[0].Info().Name, ps[tc.wantFirst].Info().Name)
			}
			if next != tc.wantNext {
				t.Fatalf("Page(%q, %d) next = %q, want %q", tc.cursor, tc.limit, next, tc.wantNext)
			}
		})
	}

	// Following cursors with the CLI's limit visits everything once, in order.
	var got []string
	cursor := ""
	for range 10 {
		page, next := c.Page(cursor, 100)
		for _, p := range page {
			got = append(got, p.Info().Name)
		}
		if next == "" {
			break
		}
		if strings.HasPrefix(next, "0") {
			t.Fatalf("nextCursor %q has a leading zero", next)
		}
		cursor = next
	}
	if len(got) != len(ps) || got[0] != "p000" || got[129] != "p129" {
		t.Fatalf("walked %d provisioners (%v...)", len(got), got[:3])
	}
	// The observed shape: index 2 gives a 33-character cursor.
	if _, next := c.Page("", 2); len(next) != 33 || next[0] != '2' {
		t.Fatalf("cursor of index 2 = %q, want 33 characters starting with 2", next)
	}
}

// The collection knows its JWK provisioners' token headers from their keys:
// their tokens are checked directly, and unsigned tokens with any number of
// distinct kids change nothing (issue 14, item 4).
func TestCollectionParseToken(t *testing.T) {
	t.Parallel()
	admin, adminKey := newJWK(t, "admin", "")
	dev, devKey := newJWK(t, "dev", "")
	c, err := provisioner.NewCollection([]provisioner.Interface{admin, dev, uninit("broken", 2)}, testAudiences())
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	for i := 0; i < 1000; i++ {
		raw := b64([]byte(`{"alg":"ES256","kid":"stranger-`+strconv.Itoa(i)+`","typ":"JWT"}`)) + "." + b64([]byte(`{"sub":"x"}`)) + ".AAAA"
		if _, err := c.ParseToken(raw); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []*jose.JSONWebKey{adminKey, devKey} {
		raw, err := token.Sign(k, &token.Claims{Subject: "s"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := c.ParseToken(raw)
		if err != nil {
			t.Fatal(err)
		}
		pub := k.Public()
		if err := tok.Verify(&pub); err != nil || !tok.Direct() {
			t.Fatalf("kid %s: Verify = %v, direct %v; want the direct check", k.KeyID, err, tok.Direct())
		}
	}
	// A key no provisioner has: go-jose.
	_, stranger := newJWK(t, "stranger", "")
	raw, err := token.Sign(stranger, &token.Claims{Subject: "s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := c.ParseToken(raw); err != nil || tok.Direct() {
		t.Fatalf("stranger's token: %v, direct %v", err, tok != nil && tok.Direct())
	}
}
