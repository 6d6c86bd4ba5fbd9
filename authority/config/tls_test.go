package config

import (
	"crypto/tls"
	"encoding/json"
	"strings"
	"testing"
)

func TestCipherSuiteID(t *testing.T) {
	t.Parallel()
	// Every name step-ca accepts (wire-spec §7.1).
	accepted := map[string]uint16{
		"TLS_RSA_WITH_RC4_128_SHA":                      tls.TLS_RSA_WITH_RC4_128_SHA,
		"TLS_RSA_WITH_3DES_EDE_CBC_SHA":                 tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
		"TLS_RSA_WITH_AES_128_CBC_SHA":                  tls.TLS_RSA_WITH_AES_128_CBC_SHA,
		"TLS_RSA_WITH_AES_256_CBC_SHA":                  tls.TLS_RSA_WITH_AES_256_CBC_SHA,
		"TLS_RSA_WITH_AES_128_CBC_SHA256":               tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
		"TLS_RSA_WITH_AES_128_GCM_SHA256":               tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
		"TLS_RSA_WITH_AES_256_GCM_SHA384":               tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
		"TLS_ECDHE_ECDSA_WITH_RC4_128_SHA":              tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA,
		"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA":          tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA":          tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		"TLS_ECDHE_RSA_WITH_RC4_128_SHA":                tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA,
		"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA":           tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
		"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA":            tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA":            tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
		"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256":       tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
		"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256":         tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
		"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256":         tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256":       tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384":         tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384":       tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		"TLS_AES_128_GCM_SHA256":                        tls.TLS_AES_128_GCM_SHA256,
		"TLS_AES_256_GCM_SHA384":                        tls.TLS_AES_256_GCM_SHA384,
		"TLS_CHACHA20_POLY1305_SHA256":                  tls.TLS_CHACHA20_POLY1305_SHA256,
		"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305":          tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305":        tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	}
	for name, want := range accepted {
		if got, ok := CipherSuiteID(name); !ok || got != want {
			t.Errorf("CipherSuiteID(%s) = %#x, %v; want %#x", name, got, ok, want)
		}
	}
	for _, name := range []string{"", "TLS_FAKE", "tls_aes_128_gcm_sha256", "TLS_FALLBACK_SCSV", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 "} {
		if id, ok := CipherSuiteID(name); ok {
			t.Errorf("CipherSuiteID(%q) = %#x, accepted", name, id)
		}
	}
}

func TestResolveTLS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		tls      *TLSOptions
		wantJSON string
		min, max uint16
		ids      []uint16
		err      string
	}{
		{
			name:     "absent means step defaults",
			wantJSON: `{"cipherSuites":["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256","TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],"minVersion":1.2,"maxVersion":1.3,"renegotiation":false}`,
			min:      tls.VersionTLS12, max: tls.VersionTLS13,
			ids: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		},
		{
			name:     "partial block filled",
			tls:      &TLSOptions{MinVersion: 1.3},
			wantJSON: `{"cipherSuites":["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256","TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],"minVersion":1.3,"maxVersion":1.3,"renegotiation":false}`,
			min:      tls.VersionTLS13, max: tls.VersionTLS13,
			ids: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		},
		{
			name:     "as written",
			tls:      &TLSOptions{CipherSuites: []string{"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"}, MinVersion: 1.0, MaxVersion: 1.2, Renegotiation: true},
			wantJSON: `{"cipherSuites":["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"],"minVersion":1,"maxVersion":1.2,"renegotiation":true}`,
			min:      tls.VersionTLS10, max: tls.VersionTLS12,
			ids: []uint16{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
		},
		{name: "unknown suite", tls: &TLSOptions{CipherSuites: []string{"X"}}, err: "tls.cipherSuites[0]"},
		{name: "bad version", tls: &TLSOptions{MaxVersion: 1.25}, err: "tls.maxVersion: unsupported TLS version 1.25"},
		{name: "min above max", tls: &TLSOptions{MinVersion: 1.3, MaxVersion: 1.1}, err: "tls.minVersion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &Config{TLS: tt.tls}
			r, err := c.ResolveTLS()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ResolveTLS() error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ResolveTLS: %v", err)
			}
			b, err := json.Marshal(r.Options)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.wantJSON {
				t.Fatalf("tlsOptions JSON = %s, want %s", b, tt.wantJSON)
			}
			if r.MinVersion != tt.min || r.MaxVersion != tt.max {
				t.Fatalf("versions %#x-%#x, want %#x-%#x", r.MinVersion, r.MaxVersion, tt.min, tt.max)
			}
			if len(r.CipherSuites) != len(tt.ids) {
				t.Fatalf("ids %#x, want %#x", r.CipherSuites, tt.ids)
			}
			for i := range tt.ids {
				if r.CipherSuites[i] != tt.ids[i] {
					t.Fatalf("ids %#x, want %#x", r.CipherSuites, tt.ids)
				}
			}
			var cfg tls.Config
			r.Apply(&cfg)
			if cfg.MinVersion != tt.min || cfg.MaxVersion != tt.max || len(cfg.CipherSuites) != len(tt.ids) {
				t.Fatalf("Apply: min %#x max %#x suites %#x", cfg.MinVersion, cfg.MaxVersion, cfg.CipherSuites)
			}
			if tt.tls != nil && tt.tls.CipherSuites == nil && c.TLS.CipherSuites != nil {
				t.Fatalf("ResolveTLS modified the config")
			}
		})
	}
}

func TestTLSVersionString(t *testing.T) {
	t.Parallel()
	for v, want := range map[TLSVersion]string{1.0: "1", 1.2: "1.2", 1.3: "1.3", 0: "0"} {
		if got := v.String(); got != want {
			t.Errorf("TLSVersion(%v).String() = %q, want %q", float64(v), got, want)
		}
	}
}
