package main

import (
	"net"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/config"
)

// crlOptions resolves ca.json "crl" (nil when disabled): cacheDuration 24h
// by default, renewPeriod 2/3 of it, and the distribution point
// https://<dnsNames[0]>/1.0/crl (no port, as step-ca) unless idpURL is set.
func crlOptions(cfg *config.Config) *authority.CRLOptions {
	c := cfg.CRL
	if !c.IsEnabled() {
		return nil
	}
	o := &authority.CRLOptions{GenerateOnRevoke: c.GenerateOnRevoke, RenewPeriod: c.RenewInterval(), IDPURL: c.IDPURL}
	o.CacheDuration = 24 * time.Hour
	if c.CacheDuration != nil && c.CacheDuration.Duration > 0 {
		o.CacheDuration = c.CacheDuration.Duration
	}
	if o.IDPURL == "" {
		o.IDPURL = "https://" + caHost(cfg) + "/1.0/crl"
	}
	return o
}

// caHost is the CA's first DNS name, bracketed when it is an IPv6 address.
func caHost(cfg *config.Config) string {
	host := "localhost"
	if len(cfg.DNSNames) > 0 {
		host = cfg.DNSNames[0]
	}
	if ip := net.ParseIP(host); ip != nil && strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host
}

// ocspOptions resolves ca.json "ocsp" (nil when disabled).
func ocspOptions(cfg *config.Config) *authority.OCSPOptions {
	c := cfg.OCSP
	if c == nil || !c.Enabled {
		return nil
	}
	o := &authority.OCSPOptions{URL: c.URL}
	if c.CacheDuration != nil {
		o.Validity = c.CacheDuration.Duration
	}
	if c.ResponderDuration != nil {
		o.ResponderLife = c.ResponderDuration.Duration
	}
	if o.URL == "" {
		o.URL = "https://" + caHost(cfg) + "/1.0/ocsp"
	}
	return o
}
