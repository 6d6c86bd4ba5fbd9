package ssh

import (
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
)

func TestWindowDefaultsAndLimits(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	user := Limits{Min: 5 * time.Minute, Max: 24 * time.Hour, Default: 16 * time.Hour}
	va, vb, err := Window(now, time.Minute, timeutil.TimeDuration{}, timeutil.TimeDuration{}, user)
	if err != nil || !va.Equal(now.Add(-time.Minute)) || !vb.Equal(now.Add(16*time.Hour)) {
		t.Fatalf("defaults: %s %s %v, want now-1m and now+16h (step-ca's 16h+1m)", va, vb, err)
	}
	// A duration asked for is relative to now, not counting the backdate.
	if _, vb, err := Window(now, time.Minute, timeutil.TimeDuration{}, timeutil.NewDuration(24*time.Hour), user); err != nil || !vb.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("24h: %s %v", vb, err)
	}
	// validBefore relative to an explicit validAfter.
	start := timeutil.NewTimeDuration(now.Add(time.Hour))
	if va, vb, err := Window(now, time.Minute, start, timeutil.NewDuration(time.Hour), user); err != nil || !va.Equal(now.Add(time.Hour)) || !vb.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("relative to validAfter: %s %s %v", va, vb, err)
	}
	for name, tc := range map[string]struct {
		after, before timeutil.TimeDuration
		want          string
	}{
		"too long":  {before: timeutil.NewDuration(25 * time.Hour), want: "more than the authorized maximum certificate duration of 24h0m0s"},
		"too short": {before: timeutil.NewDuration(time.Minute), want: "less than minimum accepted duration for selected cert type of 5m0s"},
		"past":      {before: timeutil.NewTimeDuration(now.Add(-time.Second)), want: "validBefore cannot be in the past"},
		"reversed":  {after: timeutil.NewTimeDuration(now.Add(2 * time.Hour)), before: timeutil.NewTimeDuration(now.Add(time.Hour)), want: "cannot be before validAfter"},
	} {
		_, _, err := Window(now, time.Minute, tc.after, tc.before, user)
		if !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want Forbidden %q", name, err, tc.want)
		}
	}
}

func TestMatch(t *testing.T) {
	allowed := Options{CertType: "user", Principals: []string{"alice", "alice@example.com"}, ValidBefore: timeutil.NewDuration(time.Hour)}
	ok := []Options{
		{}, {CertType: "user", Principals: []string{"alice"}}, {ValidBefore: timeutil.NewDuration(time.Hour)},
	}
	for _, o := range ok {
		if err := allowed.Match(o); err != nil {
			t.Errorf("Match(%+v): %v", o, err)
		}
	}
	bad := map[string]Options{
		"type":        {CertType: "host"},
		"principals":  {Principals: []string{"alice", "root"}},
		"validBefore": {ValidBefore: timeutil.NewDuration(2 * time.Hour)},
	}
	for want, o := range bad {
		if err := allowed.Match(o); !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), want) {
			t.Errorf("Match(%+v) = %v, want Forbidden naming %s", o, err, want)
		}
	}
}

func TestCheckKeyAndCertificate(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := gossh.NewPublicKey(&small.PublicKey)
	if err := CheckKey(pub); !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "at least 2048 bits") {
		t.Fatalf("RSA 1024: %v", err)
	}
	big, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := NewSigner(big)
	if err != nil {
		t.Fatal(err)
	}
	bigPub, _ := gossh.NewPublicKey(&big.PublicKey)
	if err := CheckKey(bigPub); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c, err := NewCertificate(bigPub, gossh.UserCert, "k", []string{"p"}, now, now.Add(time.Hour))
	if err != nil || c.Serial == 0 || len(c.Nonce) != 32 || len(c.Extensions) != 5 {
		t.Fatalf("NewCertificate: %+v %v", c, err)
	}
	if err := Sign(c, ca); err != nil {
		t.Fatal(err)
	}
	// OpenSSH refuses ssh-rsa (SHA-1) signatures by default.
	if c.Signature.Format != gossh.KeyAlgoRSASHA512 {
		t.Fatalf("RSA CA signature %s, want rsa-sha2-512", c.Signature.Format)
	}
	back, err := ParseCertificate(c.Marshal())
	if err != nil || back.Serial != c.Serial {
		t.Fatalf("ParseCertificate: %v", err)
	}
	if _, err := ParsePublicKey(c.Marshal()); err == nil {
		t.Fatal("ParsePublicKey accepted a certificate as a public key")
	}
	if _, err := CertType("robot"); !errs.Is(err, errs.BadRequest) {
		t.Fatalf("CertType(robot): %v", err)
	}
}

func FuzzParsePublicKey(f *testing.F) {
	k, _ := rsa.GenerateKey(rand.Reader, 2048)
	pub, _ := gossh.NewPublicKey(&k.PublicKey)
	f.Add(pub.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePublicKey(b)
		if err != nil {
			return
		}
		_ = CheckKey(k)
	})
}
