package provisioner

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a time.Duration that reads and writes Go duration strings
// ("24h0m0s"), as ca.json does.
type Duration struct {
	time.Duration
}

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Duration.String()) }

// UnmarshalJSON reads a Go duration string (a bare number of nanoseconds is
// accepted too, as Go's encoding of time.Duration).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return fmt.Errorf("expected a duration string such as \"24h\", got %s", b)
		}
		d.Duration = time.Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q", s)
	}
	d.Duration = v
	return nil
}

// Claims is the ca.json "claims" object (global in authority.claims and per
// provisioner). Unset fields inherit from the level above (wire-spec §5.2).
type Claims struct {
	MinTLSDur     *Duration `json:"minTLSCertDuration,omitempty"`
	MaxTLSDur     *Duration `json:"maxTLSCertDuration,omitempty"`
	DefaultTLSDur *Duration `json:"defaultTLSCertDuration,omitempty"`

	MinUserSSHDur     *Duration `json:"minUserSSHCertDuration,omitempty"`
	MaxUserSSHDur     *Duration `json:"maxUserSSHCertDuration,omitempty"`
	DefaultUserSSHDur *Duration `json:"defaultUserSSHCertDuration,omitempty"`
	MinHostSSHDur     *Duration `json:"minHostSSHCertDuration,omitempty"`
	MaxHostSSHDur     *Duration `json:"maxHostSSHCertDuration,omitempty"`
	DefaultHostSSHDur *Duration `json:"defaultHostSSHCertDuration,omitempty"`

	EnableSSHCA                *bool `json:"enableSSHCA,omitempty"`
	DisableRenewal             *bool `json:"disableRenewal,omitempty"`
	AllowRenewalAfterExpiry    *bool `json:"allowRenewalAfterExpiry,omitempty"`
	DisableSmallstepExtensions *bool `json:"disableSmallstepExtensions,omitempty"`
}

// Resolved is a fully merged set of claims with no unset fields.
type Resolved struct {
	MinTLSDur, MaxTLSDur, DefaultTLSDur                  time.Duration
	MinUserSSHDur, MaxUserSSHDur, DefaultUserSSHDur      time.Duration
	MinHostSSHDur, MaxHostSSHDur, DefaultHostSSHDur      time.Duration
	EnableSSHCA, DisableRenewal, AllowRenewalAfterExpiry bool
	DisableSmallstepExtensions                           bool
}

// DefaultClaims are step-ca's global defaults (wire-spec §5.2).
var DefaultClaims = Resolved{
	MinTLSDur: 5 * time.Minute, MaxTLSDur: 24 * time.Hour, DefaultTLSDur: 24 * time.Hour,
	MinUserSSHDur: 5 * time.Minute, MaxUserSSHDur: 24 * time.Hour, DefaultUserSSHDur: 16 * time.Hour,
	MinHostSSHDur: 5 * time.Minute, MaxHostSSHDur: 30 * 24 * time.Hour, DefaultHostSSHDur: 30 * 24 * time.Hour,
}

// Merge returns base overridden by every field set in c.
func (c *Claims) Merge(base Resolved) Resolved {
	if c == nil {
		return base
	}
	dur := func(dst *time.Duration, src *Duration) {
		if src != nil {
			*dst = src.Duration
		}
	}
	flag := func(dst *bool, src *bool) {
		if src != nil {
			*dst = *src
		}
	}
	r := base
	dur(&r.MinTLSDur, c.MinTLSDur)
	dur(&r.MaxTLSDur, c.MaxTLSDur)
	dur(&r.DefaultTLSDur, c.DefaultTLSDur)
	dur(&r.MinUserSSHDur, c.MinUserSSHDur)
	dur(&r.MaxUserSSHDur, c.MaxUserSSHDur)
	dur(&r.DefaultUserSSHDur, c.DefaultUserSSHDur)
	dur(&r.MinHostSSHDur, c.MinHostSSHDur)
	dur(&r.MaxHostSSHDur, c.MaxHostSSHDur)
	dur(&r.DefaultHostSSHDur, c.DefaultHostSSHDur)
	flag(&r.EnableSSHCA, c.EnableSSHCA)
	flag(&r.DisableRenewal, c.DisableRenewal)
	flag(&r.AllowRenewalAfterExpiry, c.AllowRenewalAfterExpiry)
	flag(&r.DisableSmallstepExtensions, c.DisableSmallstepExtensions)
	return r
}

// Validate reports the first inconsistency: negative durations, or
// min > default > max for TLS, user SSH or host SSH certificates.
func (r Resolved) Validate() error {
	check := func(kind string, min, def, max time.Duration) error {
		switch {
		case min < 0 || def < 0 || max < 0:
			return fmt.Errorf("%s durations cannot be negative", kind)
		case min > max:
			return fmt.Errorf("%s minimum duration %s is greater than the maximum %s", kind, min, max)
		case def < min || def > max:
			return fmt.Errorf("%s default duration %s is outside [%s, %s]", kind, def, min, max)
		}
		return nil
	}
	if err := check("TLS certificate", r.MinTLSDur, r.DefaultTLSDur, r.MaxTLSDur); err != nil {
		return err
	}
	if err := check("user SSH certificate", r.MinUserSSHDur, r.DefaultUserSSHDur, r.MaxUserSSHDur); err != nil {
		return err
	}
	return check("host SSH certificate", r.MinHostSSHDur, r.DefaultHostSSHDur, r.MaxHostSSHDur)
}
