package provisioner

import (
	"net"
	"net/url"
	"strings"
)

// Purpose names a kind of token audience.
type Purpose int

// Audience purposes (wire-spec §4.7).
const (
	PurposeSign Purpose = iota
	PurposeRenew
	PurposeRevoke
	PurposeSSHSign
	PurposeSSHRenew
	PurposeSSHRekey
	PurposeSSHRevoke
	// PurposeAdmin is Mayfly's admin API (GET /admin/certificates); it is
	// not a step-ca audience.
	PurposeAdmin
	numPurposes
)

// AdminCertificatesPath is the path of the certificate inventory endpoint;
// admin tokens carry https://<dnsName>AdminCertificatesPath as audience.
const AdminCertificatesPath = "/admin/certificates"

// LegacyAudience is the audience older clients use for sign and revoke.
const LegacyAudience = "step-certificate-authority"

// Audiences holds, per purpose, the accepted audiences with ports stripped.
type Audiences struct {
	sets [numPurposes]map[string]struct{}
}

// NewAudiences builds the audiences of a CA serving dnsNames (wire-spec §4.7).
func NewAudiences(dnsNames []string) Audiences {
	paths := [numPurposes][]string{
		PurposeSign:      {"/1.0/sign", "/sign", "/1.0/ssh/sign", "/ssh/sign"},
		PurposeRenew:     {"/1.0/renew", "/renew"},
		PurposeRevoke:    {"/1.0/revoke", "/revoke"},
		PurposeSSHSign:   {"/1.0/ssh/sign", "/ssh/sign", "/1.0/sign", "/sign"},
		PurposeSSHRenew:  {"/1.0/ssh/renew", "/ssh/renew"},
		PurposeSSHRekey:  {"/1.0/ssh/rekey", "/ssh/rekey"},
		PurposeSSHRevoke: {"/1.0/ssh/revoke", "/ssh/revoke"},
		PurposeAdmin:     {AdminCertificatesPath},
	}
	var a Audiences
	for p := range a.sets {
		a.sets[p] = map[string]struct{}{}
		for _, d := range dnsNames {
			host := d
			if strings.Contains(d, ":") && !strings.HasPrefix(d, "[") {
				host = "[" + d + "]"
			}
			for _, path := range paths[p] {
				a.sets[p]["https://"+host+path] = struct{}{}
			}
		}
	}
	a.sets[PurposeSign][LegacyAudience] = struct{}{}
	a.sets[PurposeRevoke][LegacyAudience] = struct{}{}
	return a
}

// Match reports whether any of auds is accepted for purpose. A fragment
// ("#x5c/name") must equal fragment; ports are ignored.
func (a Audiences) Match(p Purpose, auds []string, fragment string) bool {
	for _, aud := range auds {
		base, frag := aud, ""
		if i := strings.IndexByte(aud, '#'); i >= 0 {
			base, frag = aud[:i], aud[i+1:]
		}
		if frag != fragment {
			continue
		}
		if _, ok := a.sets[p][stripPort(base)]; ok {
			return true
		}
	}
	return false
}

// MatchAny reports whether aud is one of the CA's audiences for any purpose,
// and returns its fragment.
func (a Audiences) MatchAny(auds []string) (fragment string, ok bool) {
	for _, aud := range auds {
		base, frag := aud, ""
		if i := strings.IndexByte(aud, '#'); i >= 0 {
			base, frag = aud[:i], aud[i+1:]
		}
		base = stripPort(base)
		for p := range a.sets {
			if _, ok := a.sets[p][base]; ok {
				return frag, true
			}
		}
	}
	return "", false
}

// stripPort removes the port of a URL's host; other strings are unchanged.
func stripPort(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	host := u.Host
	if h, _, err := net.SplitHostPort(u.Host); err == nil {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	u.Host = host
	return u.String()
}
