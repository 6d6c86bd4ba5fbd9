package config

import (
	"time"

	"github.com/mayfly-pki/mayfly/provisioner"
)

// Defaults step-ca applies when loading ca.json.
const (
	DefaultCommonName       = "Step Online CA"
	DefaultBackdate         = time.Minute
	defaultCRLCacheDuration = 24 * time.Hour
)

// DefaultDNSNames returns the dnsNames used when ca.json has none.
func DefaultDNSNames() []string { return []string{"localhost", "127.0.0.1", "::1"} }

// Defaults fills, only where empty, the fields step-ca fills when it loads
// ca.json, and which `step ca provisioner add` therefore writes back:
//   - dnsNames ["localhost","127.0.0.1","::1"] when absent (an explicit [] is
//     kept, and rejected by Validate);
//   - tls: the whole default block when absent, else the empty cipher suite
//     list and zero versions (1.2 / 1.3);
//   - authority: created when absent; template {} and backdate 1m0s;
//   - commonName "Step Online CA";
//   - crl.cacheDuration 24h when crl.enabled.
//
// Defaults step-ca computes without writing them (logger format "text", trace
// header, CRL renew period = 2/3 of cacheDuration, template comment "#") are
// not stored: see LoggerFormat, TraceHeader and CRL.RenewInterval.
// Defaults is idempotent.
func (c *Config) Defaults() {
	if c.DNSNames == nil {
		c.DNSNames = DefaultDNSNames()
	}
	if c.TLS == nil {
		c.TLS = DefaultTLSOptions()
	} else {
		fillTLSDefaults(c.TLS)
	}
	if c.Authority == nil {
		c.Authority = &Authority{}
	}
	if c.Authority.Template == nil {
		c.Authority.Template = &ASN1DN{}
	}
	if c.Authority.Backdate == nil {
		c.Authority.Backdate = &provisioner.Duration{Duration: DefaultBackdate}
	}
	if c.CommonName == "" {
		c.CommonName = DefaultCommonName
	}
	if c.CRL != nil && c.CRL.Enabled && c.CRL.CacheDuration == nil {
		c.CRL.CacheDuration = &provisioner.Duration{Duration: defaultCRLCacheDuration}
	}
}
