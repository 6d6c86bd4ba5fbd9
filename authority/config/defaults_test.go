package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    *Config
		check func(*Config) string
	}{
		{"empty config", &Config{}, func(c *Config) string {
			switch {
			case !reflect.DeepEqual(c.DNSNames, []string{"localhost", "127.0.0.1", "::1"}):
				return "dnsNames"
			case !reflect.DeepEqual(c.TLS, DefaultTLSOptions()):
				return "tls"
			case c.Authority == nil || c.Authority.Template == nil || *c.Authority.Template != (ASN1DN{}):
				return "authority.template"
			case c.Authority.Backdate == nil || c.Authority.Backdate.Duration != time.Minute:
				return "authority.backdate"
			case c.CommonName != "Step Online CA":
				return "commonName"
			case c.Logger != nil || c.CRL != nil || c.DB != nil:
				return "blocks step-ca does not create were created"
			}
			return ""
		}},
		{"explicit values kept", &Config{
			DNSNames:   []string{},
			TLS:        &TLSOptions{CipherSuites: []string{"TLS_AES_128_GCM_SHA256"}, MinVersion: 1.3},
			Authority:  &Authority{Backdate: dur(0), Template: &ASN1DN{Country: "US"}},
			CommonName: "Mine",
		}, func(c *Config) string {
			switch {
			case c.DNSNames == nil || len(c.DNSNames) != 0:
				return "explicit empty dnsNames replaced"
			case !reflect.DeepEqual(c.TLS, &TLSOptions{CipherSuites: []string{"TLS_AES_128_GCM_SHA256"}, MinVersion: 1.3, MaxVersion: 1.3}):
				return "tls partially filled wrongly"
			case c.Authority.Backdate.Duration != 0 || c.Authority.Template.Country != "US" || c.CommonName != "Mine":
				return "explicit values replaced"
			}
			return ""
		}},
		{"crl cache only when enabled", &Config{CRL: &CRL{}}, func(c *Config) string {
			if c.CRL.CacheDuration != nil || c.CRL.RenewInterval() != 0 {
				return "disabled CRL got a cache duration"
			}
			return ""
		}},
		{"crl enabled", &Config{CRL: &CRL{Enabled: true}}, func(c *Config) string {
			if c.CRL.CacheDuration == nil || c.CRL.CacheDuration.Duration != 24*time.Hour {
				return "cacheDuration not defaulted"
			}
			if c.CRL.RenewPeriod != nil || c.CRL.RenewInterval() != 16*time.Hour {
				return "renew period must be computed (2/3 of 24h), not stored"
			}
			return ""
		}},
		{"crl explicit renew", &Config{CRL: &CRL{Enabled: true, CacheDuration: dur(3 * time.Hour), RenewPeriod: dur(time.Hour)}}, func(c *Config) string {
			if c.CRL.RenewInterval() != time.Hour {
				return "renewPeriod ignored"
			}
			return ""
		}},
		{"logger defaults are computed", &Config{Logger: &Logger{}}, func(c *Config) string {
			if c.Logger.Format != "" || c.LoggerFormat() != "text" || c.TraceHeader() != "X-Smallstep-Id" {
				return "logger defaults stored or wrong"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.in.Defaults()
			if msg := tt.check(tt.in); msg != "" {
				t.Fatal(msg)
			}
			before, _ := json.Marshal(tt.in)
			tt.in.Defaults()
			after, _ := json.Marshal(tt.in)
			if !bytes.Equal(before, after) {
				t.Fatalf("Defaults is not idempotent")
			}
		})
	}
	// Defaults returns fresh slices: mutating one config does not leak.
	a, b := &Config{}, &Config{}
	a.Defaults()
	b.Defaults()
	a.DNSNames[0] = "changed"
	a.TLS.CipherSuites[0] = "changed"
	if b.DNSNames[0] != "localhost" || b.TLS.CipherSuites[0] == "changed" {
		t.Fatalf("default values are shared between configs")
	}
}

func TestSaveDefaults(t *testing.T) {
	t.Parallel()
	d := &Defaults{
		CAURL:       "https://localhost:19443",
		CAConfig:    "/home/alice/.step/config/ca.json",
		Fingerprint: "d6b3b9ef79a42aeeabcd5580b2b516458ddb25d1af4ea7ff0845e624ec1bb609",
		Root:        "/home/alice/.step/certs/root_ca.crt",
	}
	boot := &Defaults{CAURL: "https://ca.example.com", Fingerprint: "abc", Root: "/r/root_ca.crt"}
	tests := []struct {
		name   string
		d      *Defaults
		indent string
		want   string
	}{
		{"ca init", d, "\t", "{\n\t\"ca-url\": \"https://localhost:19443\",\n\t\"ca-config\": \"/home/alice/.step/config/ca.json\",\n\t\"fingerprint\": \"d6b3b9ef79a42aeeabcd5580b2b516458ddb25d1af4ea7ff0845e624ec1bb609\",\n\t\"root\": \"/home/alice/.step/certs/root_ca.crt\"\n}"},
		{"bootstrap", boot, "  ", "{\n  \"ca-url\": \"https://ca.example.com\",\n  \"fingerprint\": \"abc\",\n  \"root\": \"/r/root_ca.crt\"\n}"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		path := filepath.Join(dir, tt.name+".json")
		if err := SaveDefaults(path, tt.d, tt.indent); err != nil {
			t.Fatalf("%s: SaveDefaults: %v", tt.name, err)
		}
		if got := string(readFile(t, path)); got != tt.want {
			t.Fatalf("%s: wrote\n%s\nwant\n%s", tt.name, got, tt.want)
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
			t.Fatalf("%s: mode %v, want 0644", tt.name, st.Mode().Perm())
		}
		back, err := LoadDefaults(path)
		if err != nil {
			t.Fatalf("%s: LoadDefaults: %v", tt.name, err)
		}
		if *back != *tt.d {
			t.Fatalf("%s: LoadDefaults = %+v, want %+v", tt.name, back, tt.d)
		}
	}
	if err := SaveDefaults(filepath.Join(dir, "nil.json"), nil, "\t"); err == nil {
		t.Fatalf("SaveDefaults(nil) succeeded")
	}
}

func TestLoadDefaultsMap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := write("ok.json", `{"ca-url": "https://ca:443", "provisioner": "admin", "not-after": "1h", "insecure": true, "kty": 1234567890123}`)
	m, err := LoadDefaultsMap(p)
	if err != nil {
		t.Fatalf("LoadDefaultsMap: %v", err)
	}
	if m["provisioner"] != "admin" || m["insecure"] != true || m["kty"] != json.Number("1234567890123") {
		t.Fatalf("map = %#v", m)
	}
	d, err := LoadDefaults(p)
	if err != nil || d.CAURL != "https://ca:443" {
		t.Fatalf("LoadDefaults with extra keys = %+v, %v", d, err)
	}

	bad := write("bad.json", "{\n  \"ca-url\": \"x\"\n  \"root\": \"y\"\n}")
	_, err = LoadDefaultsMap(bad)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 3 {
		t.Fatalf("LoadDefaultsMap(syntax error) = %v", err)
	}
	if _, err := LoadDefaults(bad); !errors.As(err, &se) {
		t.Fatalf("LoadDefaults(syntax error) = %v", err)
	}
	for _, content := range []string{`[]`, `null`, `"x"`} {
		if _, err := LoadDefaultsMap(write("notobj.json", content)); err == nil {
			t.Fatalf("LoadDefaultsMap(%s) succeeded", content)
		}
	}
	if _, err := LoadDefaults(write("wrongtype.json", `{"ca-url": 5}`)); err == nil {
		t.Fatalf("LoadDefaults with a number ca-url succeeded")
	}
	if _, err := LoadDefaultsMap(filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LoadDefaultsMap(missing) = %v", err)
	}
}
