package acme_test

import (
	"context"
	"encoding/json"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// eabJWS is the externalAccountBinding of cl's key, MACed with hmacKey.
func (cl *client) eabJWS(keyID string, hmacKey []byte) json.RawMessage {
	cl.t.Helper()
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: cl.key.Public()})
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: hmacKey},
		&jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{"kid": keyID, "url": cl.url("new-account")}})
	if err != nil {
		cl.t.Fatal(err)
	}
	jws, err := s.Sign(jwk)
	if err != nil {
		cl.t.Fatal(err)
	}
	return json.RawMessage(jws.FullSerialize())
}

// TestEAB: on a requireEAB provisioner, an account binds an EAB key once;
// a second account with the same key, a wrong MAC, a key of another
// provisioner and an unknown key are unauthorized. Keys are listed (with
// their binding, without the secret) and removed.
func TestEAB(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	ctx := context.Background()
	k, err := ca.svc.AddEABKey(ctx, "acme/eab", "ref-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.svc.AddEABKey(ctx, "acme/eab", "ref-1"); err == nil {
		t.Fatal("a second key with reference ref-1 was created")
	}
	other, err := ca.svc.AddEABKey(ctx, "acme/acme", "")
	if err != nil {
		t.Fatal(err)
	}
	newAccount := func(cl *client, eab json.RawMessage) response {
		return cl.post("new-account", map[string]any{"termsOfServiceAgreed": true, "externalAccountBinding": eab})
	}
	bad := make([]byte, 32)
	for name, eab := range map[string]func(cl *client) json.RawMessage{
		"wrong MAC":             func(cl *client) json.RawMessage { return cl.eabJWS(k.ID, bad) },
		"unknown key":           func(cl *client) json.RawMessage { return cl.eabJWS("nope", k.HmacKey) },
		"another provisioner's": func(cl *client) json.RawMessage { return cl.eabJWS(other.ID, other.HmacKey) },
	} {
		cl := ca.client(t, "eab")
		if r := newAccount(cl, eab(cl)); r.status != 401 || r.problem() != "unauthorized" {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
	}
	cl := ca.client(t, "eab")
	if r := newAccount(cl, cl.eabJWS(k.ID, k.HmacKey)); r.status != 201 {
		t.Fatalf("EAB account: %d %s", r.status, r.body)
	}
	cl2 := ca.client(t, "eab")
	if r := newAccount(cl2, cl2.eabJWS(k.ID, k.HmacKey)); r.status != 401 || r.problem() != "unauthorized" {
		t.Fatalf("second account with a bound key: %d %s", r.status, r.body)
	}
	keys, err := ca.svc.EABKeys(ctx, "acme/eab", "")
	if err != nil || len(keys) != 1 || keys[0].AccountID == "" || keys[0].BoundAt.IsZero() || keys[0].HmacKey != nil {
		t.Fatalf("EABKeys = %+v, %v", keys, err)
	}
	if err := ca.svc.RemoveEABKey(ctx, "acme/eab", k.ID); err != nil {
		t.Fatal(err)
	}
	if keys, err := ca.svc.EABKeys(ctx, "acme/eab", ""); err != nil || len(keys) != 0 {
		t.Fatalf("after remove: %+v, %v", keys, err)
	}
}
