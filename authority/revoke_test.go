package authority_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

func TestRevokeByToken(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{Store: at.OpenBadger(t)})
	cert, _ := env.Issue(t, "v.example.com", time.Hour)
	serial := cert.SerialNumber.String()
	env.Clock.Add(time.Minute)

	c := env.Admin.Claims(t, at.CAURL+"/1.0/revoke", serial, env.Clock.Now())
	res, err := env.Authority.Revoke(ctx, &authority.RevokeRequest{
		Serial: fmt.Sprintf("0x%x", cert.SerialNumber), ReasonCode: 1, Reason: "key compromised", OTT: env.Admin.Sign(t, c),
	})
	if err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if res.Serial != serial || res.MTLS || res.Provisioner.Name != "admin" {
		t.Fatalf("Revoked = %+v", res)
	}
	rec, err := env.Store.GetRevocation(ctx, serial)
	if err != nil {
		t.Fatalf("GetRevocation: %v", err)
	}
	if rec.Serial != serial || rec.ProvisionerID != "admin:"+env.Admin.Key.KeyID || rec.ReasonCode != 1 || rec.Reason != "key compromised" ||
		!rec.RevokedAt.Equal(env.Clock.Now()) || rec.TokenID != c.ID || rec.MTLS || !rec.ExpiresAt.Equal(cert.NotAfter) {
		t.Fatalf("revocation record = %+v", rec)
	}

	// Revoked certificates can no longer renew or rekey.
	_, err = env.Authority.Renew(ctx, cert)
	wantErr(t, err, errs.Unauthorized, "")
	if !strings.Contains(err.Error(), "has been revoked") {
		t.Fatalf("renew of a revoked certificate: %v", err)
	}
	_, err = env.Authority.Rekey(ctx, cert, at.NewCSR(t, at.CSR{}))
	wantErr(t, err, errs.Unauthorized, "")

	// Again, with a fresh token: already revoked.
	_, err = env.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: serial, OTT: env.RevokeToken(t, serial)})
	wantErr(t, err, errs.BadRequest, fmt.Sprintf("The request could not be completed: certificate with serial number '%s' is already revoked.", serial))
}

func TestRevokeByTokenErrors(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{Store: at.OpenBadger(t)})
	now := env.Clock.Now()
	signAud := env.Admin.Sign(t, env.Admin.Claims(t, at.CAURL+"/1.0/sign", "77", now))
	tests := []struct {
		name   string
		serial string
		ott    string
		kind   errs.Kind
		msg    string
	}{
		{"subject mismatch", "99", env.RevokeToken(t, "12346"), errs.Forbidden,
			`The request was forbidden by the certificate authority: request serial number "99" and token subject "12346" do not match.`},
		{"hex normalized before comparing", "0x63", env.RevokeToken(t, "0x63"), errs.Forbidden, ""},
		{"invalid serial", "zz", env.RevokeToken(t, "zz"), errs.BadRequest,
			"The request could not be completed: 'zz' is not a valid serial number - use a base 10 representation or a base 16 representation with '0x' prefix."},
		{"sign audience", "77", signAud, errs.Unauthorized, ""},
		{"garbage token", "77", "garbage", errs.Unauthorized, ""},
		{"neither token nor certificate", "77", "", errs.BadRequest, "The request could not be completed: missing ott or client certificate."},
	}
	for _, tc := range tests {
		_, err := env.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: tc.serial, OTT: tc.ott})
		if err == nil {
			t.Fatalf("%s: Revoke succeeded", tc.name)
		}
		wantErr(t, err, tc.kind, tc.msg)
	}

	// An unknown serial can be revoked; the token cannot be replayed.
	ott := env.RevokeToken(t, "123456789")
	if _, err := env.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: "123456789", OTT: ott}); err != nil {
		t.Fatalf("revoke of an unknown serial: %v", err)
	}
	rec, err := env.Store.GetRevocation(ctx, "123456789")
	if err != nil || !rec.ExpiresAt.IsZero() {
		t.Fatalf("revocation of an unknown serial: %+v, %v", rec, err)
	}
	_, err = env.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: "123456789", OTT: ott})
	wantErr(t, err, errs.Unauthorized, "")
}

func TestRevokeMTLS(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{Store: at.OpenBadger(t)})
	cert, _ := env.Issue(t, "m.example.com", time.Hour)
	serial := cert.SerialNumber.String()

	_, err := env.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: "99", Cert: cert})
	wantErr(t, err, errs.Forbidden, fmt.Sprintf(`The request was forbidden by the certificate authority: request serial number "99" and certificate serial number "%s" do not match.`, serial))

	res, err := env.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: serial, ReasonCode: 4, Cert: cert})
	if err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if !res.MTLS || res.Serial != serial || res.Provisioner.Name != "admin" {
		t.Fatalf("Revoked = %+v", res)
	}
	rec, err := env.Store.GetRevocation(ctx, serial)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.MTLS || rec.TokenID != "" || rec.ReasonCode != 4 || !rec.ExpiresAt.Equal(cert.NotAfter) || rec.ProvisionerID != "admin:"+env.Admin.Key.KeyID {
		t.Fatalf("record = %+v", rec)
	}
	// A revoked certificate cannot authenticate another revocation.
	_, err = env.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: serial, Cert: cert})
	if err == nil {
		t.Fatal("second mTLS revocation succeeded")
	}
}

func TestRevokeWithoutDatabase(t *testing.T) {
	t.Parallel()
	env := at.New(t, at.Options{})
	cert, _ := env.Issue(t, "d.example.com", time.Hour)
	serial := cert.SerialNumber.String()
	_, err := env.Authority.Revoke(ctx, &authority.RevokeRequest{Serial: serial, OTT: env.RevokeToken(t, serial)})
	wantErr(t, err, errs.NotImplemented, "The requested method is not implemented by the certificate authority. Please see the certificate authority logs for more info.")
	// Without revocation support, renewal is not blocked.
	if _, err := env.Authority.Renew(ctx, cert); err != nil {
		t.Fatalf("Renew without a database: %v", err)
	}
}

func TestNormalizeSerial(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"123", "123"}, {"0x1f", "31"}, {"0X1F", "31"}, {"017", "15"}, {"0", "0"},
		{"0x00000000000000000000000000000001", "1"},
		{"340282366920938463463374607431768211455", "340282366920938463463374607431768211455"},
		{"zz", ""}, {"", ""}, {"-1", ""}, {"0x", ""}, {"12a", ""}, {" 12", ""},
	}
	for _, tc := range tests {
		got, err := authority.NormalizeSerial(tc.in)
		if tc.want == "" {
			if !errs.Is(err, errs.BadRequest) {
				t.Fatalf("NormalizeSerial(%q) = %q, %v; want a bad request", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Fatalf("NormalizeSerial(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseReasonCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"", 0, true}, {"0", 0, true}, {"1", 1, true}, {"10", 10, true}, {"8", 8, true},
		{"KeyCompromise", 1, true}, {"keycompromise", 1, true}, {"key-compromise", 1, true},
		{"CACompromise", 2, true}, {"RemoveFromCRL", 8, true}, {"AACompromise", 10, true},
		{"7", 0, false}, {"11", 0, false}, {"-1", 0, false}, {"compromised", 0, false},
	}
	for _, tc := range tests {
		got, err := authority.ParseReasonCode(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Fatalf("ParseReasonCode(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
