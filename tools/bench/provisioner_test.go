package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority/config"
	mjose "github.com/mayfly-pki/mayfly/internal/jose"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// adminPublicKey returns the public JWK of the first provisioner in ca.json.
func adminPublicKey(t *testing.T, cfgPath string) jose.JSONWebKey {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var e provisionerEntry
	if err := json.Unmarshal(cfg.Authority.Provisioners[0], &e); err != nil {
		t.Fatal(err)
	}
	return e.Key
}

func TestLoadTargetAndMint(t *testing.T) {
	t.Parallel()
	p := newTestPKI(t)
	tg, err := loadTarget(p.cfgPath, "", "", "", p.pwFile)
	if err != nil {
		t.Fatalf("loadTarget: %v", err)
	}
	if tg.url != "https://localhost:9000" {
		t.Fatalf("url = %q, want https://<dnsNames[0]>:<port of address>", tg.url)
	}
	roots, err := pemutil.ReadCertificates(filepath.Join(p.dir, "steppath", "certs", "root_ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if want := pemutil.Fingerprint(roots[0]); !strings.EqualFold(tg.rootSHA, want) {
		t.Fatalf("rootSHA = %s, want %s", tg.rootSHA, want)
	}
	pub := adminPublicKey(t, p.cfgPath)
	now := time.Unix(1795370226, 0)
	raw, err := tg.minter.signToken(tg.url+"/1.0/sign", tg.rootSHA, "a.example", []string{"a.example"}, now)
	if err != nil {
		t.Fatalf("signToken: %v", err)
	}
	tok, err := token.Parse(raw)
	if err != nil {
		t.Fatalf("token.Parse: %v", err)
	}
	if err := tok.Verify(&pub); err != nil {
		t.Fatalf("token does not verify with the provisioner's public key: %v", err)
	}
	c := tok.Claims
	switch {
	case tok.Header.KeyID != pub.KeyID || tok.Header.Algorithm != "ES256":
		t.Fatalf("header kid %q alg %q, want %q ES256", tok.Header.KeyID, tok.Header.Algorithm, pub.KeyID)
	case c.Issuer != "admin" || c.Subject != "a.example" || len(c.Audience) != 1 || c.Audience[0] != "https://localhost:9000/1.0/sign":
		t.Fatalf("iss %q sub %q aud %q", c.Issuer, c.Subject, c.Audience)
	case len(c.SANs) != 1 || c.SANs[0] != "a.example" || c.SHA != tg.rootSHA:
		t.Fatalf("sans %q sha %q", c.SANs, c.SHA)
	case len(c.ID) != 64:
		t.Fatalf("jti %q, want 64 hex characters", c.ID)
	case !c.IssuedAt.Time().Equal(now) || !c.NotBefore.Time().Equal(now) || !c.Expiry.Time().Equal(now.Add(5*time.Minute)):
		t.Fatalf("iat %v nbf %v exp %v", c.IssuedAt.Time(), c.NotBefore.Time(), c.Expiry.Time())
	}
	again, err := tg.minter.signToken(tg.url+"/1.0/sign", tg.rootSHA, "a.example", nil, now)
	if err != nil {
		t.Fatal(err)
	}
	tok2, err := token.Parse(again)
	if err != nil {
		t.Fatal(err)
	}
	if tok2.Claims.ID == c.ID {
		t.Fatal("two tokens share a jti")
	}
}

func TestLoadTargetOverridesAndErrors(t *testing.T) {
	t.Parallel()
	p := newTestPKI(t)
	root := filepath.Join(p.dir, "steppath", "certs", "root_ca.crt")
	wrongPW := filepath.Join(p.dir, "wrong")
	if err := os.WriteFile(wrongPW, []byte("nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noDNS := filepath.Join(p.dir, "nodns.json")
	cfg, err := config.Load(p.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.AsLoaded()
	cfg.DNSNames = []string{}
	if err := config.Save(noDNS, cfg, false); err != nil {
		t.Fatal(err)
	}
	tg, err := loadTarget(p.cfgPath, "https://127.0.0.1:1234/", root, "admin", p.pwFile)
	if err != nil || tg.url != "https://127.0.0.1:1234" {
		t.Fatalf("with --ca-url and --root: url %v, err %v", tg, err)
	}
	tests := []struct {
		name                              string
		cfg, url, root, prov, pw, wantErr string
		is                                error
	}{
		{name: "wrong password", cfg: p.cfgPath, pw: wrongPW, wantErr: "authority.provisioners[0] (admin)", is: mjose.ErrBadPassword},
		{name: "unknown provisioner", cfg: p.cfgPath, prov: "nobody", pw: p.pwFile, wantErr: `no JWK provisioner named "nobody"`},
		{name: "http URL", cfg: p.cfgPath, url: "http://localhost:1", pw: p.pwFile, wantErr: "want https"},
		{name: "no dnsNames", cfg: noDNS, pw: p.pwFile, wantErr: "dnsNames is empty"},
		{name: "missing config", cfg: filepath.Join(p.dir, "none.json"), pw: p.pwFile, wantErr: "read CA configuration"},
		{name: "missing root", cfg: p.cfgPath, root: filepath.Join(p.dir, "none.crt"), pw: p.pwFile, wantErr: "root"},
		{name: "missing password file", cfg: p.cfgPath, pw: filepath.Join(p.dir, "none"), wantErr: "password file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadTarget(tc.cfg, tc.url, tc.root, tc.prov, tc.pw)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want it to wrap %v", err, tc.is)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Fatalf("err %q contains the password", err)
			}
		})
	}
}
