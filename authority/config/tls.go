package config

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
)

// TLSOptions is the "tls" block. It is also what step-ca returns as
// "tlsOptions" in every SignResponse, e.g.
// {"cipherSuites":[...],"minVersion":1.2,"maxVersion":1.3,"renegotiation":false}.
type TLSOptions struct {
	CipherSuites  []string   `json:"cipherSuites"`
	MinVersion    TLSVersion `json:"minVersion"`
	MaxVersion    TLSVersion `json:"maxVersion"`
	Renegotiation bool       `json:"renegotiation"`
}

// TLSVersion is a TLS version written as a JSON number: 1.0, 1.1, 1.2 or 1.3.
// 0 means unset.
type TLSVersion float64

// Value returns the crypto/tls constant, or 0 when v is not a known version.
func (v TLSVersion) Value() uint16 {
	switch v {
	case 1.0:
		return tls.VersionTLS10
	case 1.1:
		return tls.VersionTLS11
	case 1.2:
		return tls.VersionTLS12
	case 1.3:
		return tls.VersionTLS13
	}
	return 0
}

// String formats the version as written in ca.json ("1.2").
func (v TLSVersion) String() string {
	return strconv.FormatFloat(float64(v), 'f', -1, 64)
}

// The tls defaults step-ca applies (wire-spec §7.1).
const (
	DefaultTLSMinVersion TLSVersion = 1.2
	DefaultTLSMaxVersion TLSVersion = 1.3
)

// DefaultCipherSuites returns step-ca's default cipher suite names.
func DefaultCipherSuites() []string {
	return []string{
		"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
		"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	}
}

// DefaultTLSOptions returns step-ca's default tls block.
func DefaultTLSOptions() *TLSOptions {
	return &TLSOptions{
		CipherSuites: DefaultCipherSuites(),
		MinVersion:   DefaultTLSMinVersion,
		MaxVersion:   DefaultTLSMaxVersion,
	}
}

// CipherSuiteID returns the crypto/tls id of a cipher suite name accepted in
// ca.json: the TLS_RSA_* and TLS_ECDHE_{ECDSA,RSA}_* Go constant names, the
// TLS 1.3 names, and the legacy aliases TLS_ECDHE_{RSA,ECDSA}_WITH_CHACHA20_POLY1305.
func CipherSuiteID(name string) (uint16, bool) {
	switch name {
	case "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305":
		return tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, true
	case "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305":
		return tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true
	}
	accepted := strings.HasPrefix(name, "TLS_RSA_") || strings.HasPrefix(name, "TLS_ECDHE_ECDSA_") ||
		strings.HasPrefix(name, "TLS_ECDHE_RSA_")
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, cs := range list {
			if cs.Name != name {
				continue
			}
			if accepted || isTLS13Only(cs) {
				return cs.ID, true
			}
			return 0, false
		}
	}
	return 0, false
}

func isTLS13Only(cs *tls.CipherSuite) bool {
	return len(cs.SupportedVersions) == 1 && cs.SupportedVersions[0] == tls.VersionTLS13
}

// ResolvedTLS is the tls block resolved to crypto/tls values.
type ResolvedTLS struct {
	// Options is the effective block (defaults filled in), ready to be
	// marshalled as a SignResponse's "tlsOptions".
	Options TLSOptions
	// CipherSuites are the crypto/tls ids, in configuration order. Go ignores
	// TLS 1.3 ids in tls.Config.CipherSuites; they are kept for completeness.
	CipherSuites []uint16
	// MinVersion and MaxVersion are tls.VersionTLS1x constants.
	MinVersion, MaxVersion uint16
}

// Apply sets the cipher suites and version bounds on cfg.
func (r *ResolvedTLS) Apply(cfg *tls.Config) {
	cfg.CipherSuites = append([]uint16(nil), r.CipherSuites...)
	cfg.MinVersion = r.MinVersion
	cfg.MaxVersion = r.MaxVersion
	if r.Options.Renegotiation {
		cfg.Renegotiation = tls.RenegotiateFreelyAsClient
	} else {
		cfg.Renegotiation = tls.RenegotiateNever
	}
}

// ResolveTLS returns the effective tls settings: the configured block with
// empty parts filled by step-ca's defaults (the whole default block when tls
// is absent), resolved to crypto/tls ids. It fails on an unknown cipher suite
// name or version, or when minVersion exceeds maxVersion; errors name the
// JSON path.
func (c *Config) ResolveTLS() (*ResolvedTLS, error) {
	opts := effectiveTLS(c.TLS)
	r := &ResolvedTLS{Options: opts}
	for i, name := range opts.CipherSuites {
		id, ok := CipherSuiteID(name)
		if !ok {
			return nil, fmt.Errorf("tls.cipherSuites[%d]: unknown cipher suite %q", i, name)
		}
		r.CipherSuites = append(r.CipherSuites, id)
	}
	if r.MinVersion = opts.MinVersion.Value(); r.MinVersion == 0 {
		return nil, fmt.Errorf("tls.minVersion: unsupported TLS version %s", opts.MinVersion)
	}
	if r.MaxVersion = opts.MaxVersion.Value(); r.MaxVersion == 0 {
		return nil, fmt.Errorf("tls.maxVersion: unsupported TLS version %s", opts.MaxVersion)
	}
	if r.MinVersion > r.MaxVersion {
		return nil, fmt.Errorf("tls.minVersion: %s is greater than maxVersion %s", opts.MinVersion, opts.MaxVersion)
	}
	return r, nil
}

// effectiveTLS returns a copy of t with empty parts filled by the defaults.
func effectiveTLS(t *TLSOptions) TLSOptions {
	if t == nil {
		return *DefaultTLSOptions()
	}
	out := *t
	out.CipherSuites = append([]string(nil), t.CipherSuites...)
	fillTLSDefaults(&out)
	return out
}

// fillTLSDefaults fills the empty parts of t, as step-ca does at start.
func fillTLSDefaults(t *TLSOptions) {
	if len(t.CipherSuites) == 0 {
		t.CipherSuites = DefaultCipherSuites()
	}
	if t.MaxVersion == 0 {
		t.MaxVersion = DefaultTLSMaxVersion
	}
	if t.MinVersion == 0 {
		t.MinVersion = DefaultTLSMinVersion
	}
}
