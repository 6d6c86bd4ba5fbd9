package keyset

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestRefreshAndStale(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fail := false
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=120")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256"}}})
	}))
	defer srv.Close()
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := New("test", URL(srv.URL), srv.Client(), c.now, nil)
	if _, err := s.Get("k1"); err == nil || !strings.Contains(err.Error(), "not available yet") {
		t.Fatalf("Get before a fetch = %v", err)
	}
	next, err := s.Refresh(context.Background())
	if err != nil || next != 2*time.Minute {
		t.Fatalf("Refresh = %s, %v", next, err)
	}
	if ks, err := s.Get("k1"); err != nil || len(ks) != 1 {
		t.Fatalf("Get = %v, %v", ks, err)
	}
	if ks, _ := s.Get("other"); len(ks) != 0 {
		t.Fatalf("Get(other) = %v", ks)
	}
	mu.Lock()
	fail = true
	mu.Unlock()
	if _, err := s.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh of a failing server succeeded")
	}
	if _, err := s.Get("k1"); err != nil {
		t.Fatalf("Get after one failed refresh = %v", err)
	}
	c.add(MaxStale + time.Second)
	if _, err := s.Get("k1"); err == nil || !strings.Contains(err.Error(), "stale") || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Get of a stale set = %v", err)
	}
}

func TestMaxAge(t *testing.T) {
	for cc, want := range map[string]time.Duration{
		"": 0, "public, max-age=19845, must-revalidate, no-transform": 19845 * time.Second,
		"max-age=-1": 0, "MAX-AGE=\"60\"": time.Minute, "max-age=99999999999": 0,
	} {
		if got := MaxAge(cc); got != want {
			t.Errorf("MaxAge(%q) = %s, want %s", cc, got, want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	priv, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key, KeyID: "k"}}})
	for _, doc := range []string{`{}`, `{"keys":[]}`, `[]`, string(priv)} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("Parse(%s) accepted", doc)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := Parse(b)
		if err == nil && len(keys) == 0 {
			t.Fatal("no keys and no error")
		}
	})
}
