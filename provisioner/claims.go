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

// ClaimProblem is one inconsistency of resolved claims: Claim is the JSON
// name of the claim at fault (wire-spec §5.2).
type ClaimProblem struct {
	Claim string
	Msg   string
}

func (p ClaimProblem) Error() string { return p.Msg }

// Problems lists every inconsistency: a negative duration, or min >
// default > max for TLS, user SSH or host SSH certificates. Messages name
// the claims.
func (r Resolved) Problems() []ClaimProblem {
	var ps []ClaimProblem
	check := func(kind string, min, def, max time.Duration) {
		names := [3]string{"min" + kind + "Duration", "default" + kind + "Duration", "max" + kind + "Duration"}
		bad := false
		for i, d := range [3]time.Duration{min, def, max} {
			if d < 0 {
				ps = append(ps, ClaimProblem{names[i], fmt.Sprintf("%s must not be negative, got %s", names[i], d)})
				bad = true
			}
		}
		if bad {
			return
		}
		switch {
		case min > max:
			ps = append(ps, ClaimProblem{names[0], fmt.Sprintf("%s %s is greater than %s %s", names[0], min, names[2], max)})
		case def < min:
			ps = append(ps, ClaimProblem{names[1], fmt.Sprintf("%s %s is less than %s %s", names[1], def, names[0], min)})
		case def > max:
			ps = append(ps, ClaimProblem{names[1], fmt.Sprintf("%s %s is greater than %s %s", names[1], def, names[2], max)})
		}
	}
	check("TLSCert", r.MinTLSDur, r.DefaultTLSDur, r.MaxTLSDur)
	check("UserSSHCert", r.MinUserSSHDur, r.DefaultUserSSHDur, r.MaxUserSSHDur)
	check("HostSSHCert", r.MinHostSSHDur, r.DefaultHostSSHDur, r.MaxHostSSHDur)
	return ps
}

// Validate reports the first of Problems, or nil.
func (r Resolved) Validate() error {
	if ps := r.Problems(); len(ps) > 0 {
		return ps[0]
	}
	return nil
}

// UserSSH returns the user SSH certificate durations: min, default, max.
func (r Resolved) UserSSH() (min, def, max time.Duration) {
	return r.MinUserSSHDur, r.DefaultUserSSHDur, r.MaxUserSSHDur
}

// HostSSH returns the host SSH certificate durations: min, default, max.
func (r Resolved) HostSSH() (min, def, max time.Duration) {
	return r.MinHostSSHDur, r.DefaultHostSSHDur, r.MaxHostSSHDur
}
