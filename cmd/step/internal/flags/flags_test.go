package flags

import (
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

// Tests that run a cli.App are not parallel: urfave/cli's global HelpFlag is
// mutated by every run.

func TestKeyParams(t *testing.T) {
	tests := []struct {
		args          string
		kty, crv      string
		size          int
		errContaining string
	}{
		{"", "EC", "P-256", 0, ""},
		{"--kty EC --curve P-384", "EC", "P-384", 0, ""},
		{"--kty ec --crv p-521", "EC", "P-521", 0, ""},
		{"--kty RSA", "RSA", "", 2048, ""},
		{"--kty RSA --size 4096", "RSA", "", 4096, ""},
		{"--kty OKP", "OKP", "Ed25519", 0, ""},
		{"--kty OKP --curve Ed25519", "OKP", "Ed25519", 0, ""},
		{"--kty RSA --size 1024", "", "", 0, "--size"},
		{"--kty RSA --curve P-256", "", "", 0, "--curve"},
		{"--kty EC --curve Ed25519", "", "", 0, "--curve"},
		{"--kty OKP --curve P-256", "", "", 0, "--curve"},
		{"--kty DSA", "", "", 0, "--kty"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			var kty, crv string
			var size int
			var err error
			app := &cli.App{Flags: KeyFlags(), Action: func(c *cli.Context) error {
				kty, crv, size, err = KeyParams(c)
				return nil
			}}
			if runErr := app.Run(append([]string{"x"}, strings.Fields(tt.args)...)); runErr != nil {
				t.Fatal(runErr)
			}
			if tt.errContaining != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errContaining) {
					t.Fatalf("err = %v, want one containing %q", err, tt.errContaining)
				}
				return
			}
			if err != nil || kty != tt.kty || crv != tt.crv || size != tt.size {
				t.Fatalf("got %q %q %d %v, want %q %q %d", kty, crv, size, err, tt.kty, tt.crv, tt.size)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"", time.Time{}, false},
		{"1h", now.Add(time.Hour), false},
		{"-5m", now.Add(-5 * time.Minute), false},
		{"2030-01-01T00:00:00Z", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"tomorrow", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := ParseTime("not-after", tt.in, now)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q) = %v, %v", tt.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "--not-after") {
			t.Errorf("error %q does not name the flag", err)
		}
	}
}

func TestCheckNoPassword(t *testing.T) {
	tests := []struct {
		args    string
		wantErr bool
	}{
		{"", false},
		{"--no-password --insecure", false},
		{"--no-password", true},
		{"--no-password --insecure --password-file f", true},
	}
	for _, tt := range tests {
		var err error
		app := &cli.App{Flags: []cli.Flag{NoPassword(), Insecure(), PasswordFile("")}, Action: func(c *cli.Context) error {
			err = CheckNoPassword(c)
			return nil
		}}
		if runErr := app.Run(append([]string{"x"}, strings.Fields(tt.args)...)); runErr != nil {
			t.Fatal(runErr)
		}
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v", tt.args, err)
		}
	}
}
