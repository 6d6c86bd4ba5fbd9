package provisioner

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/errs"
)

func TestDurationJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{`"24h"`, 24 * time.Hour, false},
		{`"5m0s"`, 5 * time.Minute, false},
		{`"1h30m"`, 90 * time.Minute, false},
		{`300000000000`, 5 * time.Minute, false},
		{`"-1m"`, -time.Minute, false},
		{`"1d"`, 0, true},
		{`""`, 0, true},
		{`true`, 0, true},
		{`1.5`, 0, true},
	}
	for _, tc := range tests {
		var d Duration
		err := json.Unmarshal([]byte(tc.in), &d)
		if (err != nil) != tc.err || (!tc.err && d.Duration != tc.want) {
			t.Fatalf("Unmarshal(%s) = %v, %v; want %v, error %v", tc.in, d.Duration, err, tc.want, tc.err)
		}
	}
	b, err := json.Marshal(Duration{24 * time.Hour})
	if err != nil || string(b) != `"24h0m0s"` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
}

func TestClaimsMerge(t *testing.T) {
	t.Parallel()
	var nilClaims *Claims
	if nilClaims.Merge(DefaultClaims) != DefaultClaims {
		t.Fatal("nil claims changed the base")
	}
	var c Claims
	if err := json.Unmarshal([]byte(`{"maxTLSCertDuration":"48h","defaultTLSCertDuration":"1h","disableRenewal":true,
		"allowRenewalAfterExpiry":false,"enableSSHCA":true,"minHostSSHCertDuration":"1m"}`), &c); err != nil {
		t.Fatal(err)
	}
	r := c.Merge(DefaultClaims)
	want := DefaultClaims
	want.MaxTLSDur, want.DefaultTLSDur, want.DisableRenewal, want.EnableSSHCA, want.MinHostSSHDur = 48*time.Hour, time.Hour, true, true, time.Minute
	if r != want {
		t.Fatalf("Merge = %+v\nwant %+v", r, want)
	}
	// An explicit false overrides an inherited true.
	base := DefaultClaims
	base.AllowRenewalAfterExpiry = true
	if c.Merge(base).AllowRenewalAfterExpiry {
		t.Fatal("explicit false did not override")
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(c)
	if err != nil || !strings.Contains(string(out), `"maxTLSCertDuration":"48h0m0s"`) || strings.Contains(string(out), "minTLSCertDuration") {
		t.Fatalf("Marshal = %s, %v", out, err)
	}
}

func TestResolvedValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultClaims.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		name string
		mod  func(*Resolved)
		want string
	}{
		{"negative", func(r *Resolved) { r.MinTLSDur = -1 }, "minTLSCertDuration must not be negative, got -1ns"},
		{"min > max", func(r *Resolved) { r.MinTLSDur = 25 * time.Hour }, "minTLSCertDuration 25h0m0s is greater than maxTLSCertDuration 24h0m0s"},
		{"default > max", func(r *Resolved) { r.DefaultTLSDur = 25 * time.Hour }, "defaultTLSCertDuration 25h0m0s is greater than maxTLSCertDuration 24h0m0s"},
		{"default < min", func(r *Resolved) { r.DefaultTLSDur = time.Minute }, "defaultTLSCertDuration 1m0s is less than minTLSCertDuration 5m0s"},
		{"user ssh", func(r *Resolved) { r.DefaultUserSSHDur = 48 * time.Hour }, "defaultUserSSHCertDuration 48h0m0s is greater than maxUserSSHCertDuration 24h0m0s"},
		{"host ssh", func(r *Resolved) { r.MaxHostSSHDur = time.Minute }, "minHostSSHCertDuration 5m0s is greater than maxHostSSHCertDuration 1m0s"},
	}
	for _, tc := range tests {
		r := DefaultClaims
		tc.mod(&r)
		if err := r.Validate(); err == nil || err.Error() != tc.want {
			t.Fatalf("%s: Validate = %v, want %q", tc.name, err, tc.want)
		}
	}
	// Every problem is listed, each with its claim.
	r := DefaultClaims
	r.MinTLSDur, r.MaxUserSSHDur, r.MinHostSSHDur = -1, time.Minute, -time.Second
	ps := r.Problems()
	var claims []string
	for _, p := range ps {
		claims = append(claims, p.Claim)
	}
	if got := strings.Join(claims, ","); got != "minTLSCertDuration,minUserSSHCertDuration,minHostSSHCertDuration" {
		t.Fatalf("Problems claims = %s (%v)", got, ps)
	}
}

func TestCheckRenewal(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cert := &x509.Certificate{NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
	allowExpired := DefaultClaims
	allowExpired.AllowRenewalAfterExpiry = true
	disabled := DefaultClaims
	disabled.DisableRenewal = true
	tests := []struct {
		name string
		c    Resolved
		at   time.Time
		want string
	}{
		{"valid", DefaultClaims, now, ""},
		{"at NotAfter", DefaultClaims, cert.NotAfter, ""},
		{"expired", DefaultClaims, now.Add(2 * time.Hour), "expired"},
		{"expired allowed", allowExpired, now.Add(2 * time.Hour), ""},
		{"not yet valid", allowExpired, now.Add(-2 * time.Hour), "not yet valid"},
		{"disabled", disabled, now, "disabled"},
	}
	for _, tc := range tests {
		err := CheckRenewal(tc.c, "admin", cert, tc.at)
		if tc.want == "" {
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: CheckRenewal = %v, want Unauthorized %q", tc.name, err, tc.want)
		}
	}
}

func TestUninitialized(t *testing.T) {
	t.Parallel()
	reason := errors.New("key cannot be empty")
	u := NewUninitialized(json.RawMessage(`{"type":"jwk","name":"bad","claims":{"x":1}}`), 3, reason)
	if info := u.Info(); info.Name != "bad" || info.Type != TypeJWK || info.ID != "uninitialized/3/bad" || u.TokenID() != info.ID {
		t.Fatalf("Info = %+v", info)
	}
	var m map[string]any
	if err := json.Unmarshal(u.JSON(), &m); err != nil {
		t.Fatal(err)
	}
	if m["state"] != "Uninitialized" || m["stateReason"] != reason.Error() || m["name"] != "bad" || m["claims"] == nil {
		t.Fatalf("JSON = %s", u.JSON())
	}
	if _, _, ok := u.EncryptedKey(); ok {
		t.Fatal("EncryptedKey ok")
	}
	if u.Claims() != DefaultClaims {
		t.Fatal("Claims are not the defaults")
	}
	ctx := context.Background()
	_, err1 := u.AuthorizeSign(ctx, nil)
	for i, err := range []error{err1, u.AuthorizeRevoke(ctx, nil), u.AuthorizeRenew(ctx, &x509.Certificate{})} {
		if !errs.Is(err, errs.Unauthorized) || !errors.Is(err, reason) {
			t.Fatalf("authorize %d = %v, want Unauthorized wrapping the reason", i, err)
		}
	}
	// Unparseable JSON still gives a listable entry.
	bad := NewUninitialized(json.RawMessage(`[1`), 0, reason)
	if err := json.Unmarshal(bad.JSON(), &m); err != nil {
		t.Fatalf("JSON of an unparseable entry: %v", err)
	}
}
