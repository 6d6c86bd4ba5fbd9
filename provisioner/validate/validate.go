// Package validate holds the sign options every provisioner type composes
// (PROVISIONERS.md): the key policy, names that must match the credential,
// the CSR fingerprint a token binds, the provisioner extension and the
// validity cap of an authenticating certificate. A type builds its
// provisioner.X509Plan from these; it does not re-implement them.
//
// Every value here is immutable once built and safe for concurrent use, so a
// provisioner may build one once per configuration and put it in every plan.
package validate

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
)

var (
	_ provisioner.CSRValidator = (*Names)(nil)
	_ provisioner.CSRValidator = CSRFingerprint("")
	_ provisioner.CSRValidator = CommonName("")
	_ provisioner.CSRValidator = SANs(nil)
	_ provisioner.CertModifier = (*Extension)(nil)
	_ provisioner.CertCap      = (*CredentialWindow)(nil)
)

// Key is the key policy of every path that certifies a key (sign, renew,
// rekey), step-ca's default public key validator (wire-spec §5.1): RSA of at
// least 2048 bits, ECDSA or Ed25519. what names where the key comes from in
// the message: "certificate request", or "certificate" for a renewal's.
func Key(pub any, what string) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return errs.Errorf(errs.Forbidden, "%s RSA key must be at least 2048 bits (2048)", what)
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return errs.Errorf(errs.BadRequest, "unsupported public key type %T in %s", k, what)
	}
	return nil
}

// Names requires the CSR's names to be those a credential vouches for, as
// step-ca's JWK, X5C, ... CSR validators do (wire-spec §5.1): the common
// name empty, the subject or one of the SANs; each kind of SAN the CSR has
// (DNS names case-insensitively, IPs, emails, URIs) equal as a set to the
// credential's names of that kind.
type Names struct {
	Subject string
	SANs    []string
}

// ValidateCSR implements provisioner.CSRValidator.
func (n *Names) ValidateCSR(csr *x509.CertificateRequest) error {
	if cn := csr.Subject.CommonName; cn != "" && cn != n.Subject && !slices.Contains(n.SANs, cn) {
		want := append([]string{n.Subject}, n.SANs...)
		return errs.Errorf(errs.Forbidden, "certificate request does not contain the valid common name - got %s, want %v", cn, want)
	}
	return SANs(n.SANs).ValidateCSR(csr)
}

// CommonName requires the CSR's common name to be exactly the token's
// subject, as step-ca's X5C, SSHPOP, ... common name validator does.
type CommonName string

// ValidateCSR implements provisioner.CSRValidator.
func (v CommonName) ValidateCSR(csr *x509.CertificateRequest) error {
	switch cn := csr.Subject.CommonName; {
	case cn == "":
		return errs.Errorf(errs.Forbidden, "certificate request cannot contain an empty common name")
	case cn != string(v):
		return errs.Errorf(errs.Forbidden, "certificate request does not contain the valid common name; requested common name = %s, token subject = %s", cn, string(v))
	}
	return nil
}

// SANs requires each kind of SAN the CSR has (DNS names case-insensitively,
// IPs, emails, URIs) to equal as a set the credential's names of that kind,
// as step-ca's default SANs validator does.
type SANs []string

// ValidateCSR implements provisioner.CSRValidator.
func (sans SANs) ValidateCSR(csr *x509.CertificateRequest) error {
	if len(csr.DNSNames) == 0 && len(csr.IPAddresses) == 0 && len(csr.EmailAddresses) == 0 && len(csr.URIs) == 0 {
		return nil
	}
	var want x509.Certificate
	SplitSANs(&want, sans)
	if len(csr.DNSNames) > 0 && !sameSet(csr.DNSNames, want.DNSNames, strings.ToLower) {
		return errs.Errorf(errs.Forbidden, "certificate request does not contain the valid DNS names - got %v, want %v", csr.DNSNames, want.DNSNames)
	}
	if len(csr.IPAddresses) > 0 && !sameSet(ipStrings(csr.IPAddresses), ipStrings(want.IPAddresses), nil) {
		return errs.Errorf(errs.Forbidden, "certificate request does not contain the valid IP addresses - got %v, want %v", csr.IPAddresses, want.IPAddresses)
	}
	if len(csr.EmailAddresses) > 0 && !sameSet(csr.EmailAddresses, want.EmailAddresses, nil) {
		return errs.Errorf(errs.Forbidden, "certificate request does not contain the valid email addresses - got %v, want %v", csr.EmailAddresses, want.EmailAddresses)
	}
	if len(csr.URIs) > 0 && !sameSet(uriStrings(csr.URIs), uriStrings(want.URIs), nil) {
		return errs.Errorf(errs.Forbidden, "certificate request does not contain the valid URIs - got %v, want %v", uriStrings(csr.URIs), uriStrings(want.URIs))
	}
	return nil
}

// CSRFingerprint requires the CSR's DER to have this base64url SHA-256: the
// token's cnf x5rt#S256 (wire-spec §4.1).
type CSRFingerprint string

// ValidateCSR implements provisioner.CSRValidator.
func (f CSRFingerprint) ValidateCSR(csr *x509.CertificateRequest) error {
	sum := sha256.Sum256(csr.Raw)
	if base64.RawURLEncoding.EncodeToString(sum[:]) != string(f) {
		return errs.Errorf(errs.Forbidden, "certificate request fingerprint does not match %q", string(f))
	}
	return nil
}

// Extension sets the provisioner extension (wire-spec §5.1), built once.
type Extension struct {
	ext pkix.Extension
}

// NewExtension encodes info's provisioner extension.
func NewExtension(info provisioner.Info, keyValuePairs ...string) (*Extension, error) {
	ext, err := provisioner.NewExtension(info, keyValuePairs...)
	if err != nil {
		return nil, err
	}
	return &Extension{ext: ext}, nil
}

// ModifyCert implements provisioner.CertModifier: it replaces the first
// provisioner extension of the certificate (a template, or a request copied
// by one, cannot name another provisioner), or appends it, as step-ca
// does. Further copies are dropped, since a certificate may not repeat an
// extension (RFC 5280 §4.2).
func (e *Extension) ModifyCert(cert *x509.Certificate) error {
	exts := cert.ExtraExtensions
	out := exts[:0]
	done := false
	for _, x := range exts {
		if x.Id.Equal(provisioner.ExtensionOID) {
			if done {
				continue
			}
			x, done = e.ext, true
		}
		out = append(out, x)
	}
	if !done {
		out = append(out, e.ext)
	}
	cert.ExtraExtensions = out
	return nil
}

// CredentialWindow keeps a certificate within the validity of the
// credential that authorized it, as step-ca's profileLimitDuration does for
// X5C (wire-spec §4.4): a default notAfter is cut to the credential's
// expiry; a requested notBefore before the credential's start, or a
// requested notAfter after its expiry, is refused.
type CredentialWindow struct {
	NotBefore, NotAfter time.Time
}

// CapCert implements provisioner.CertCap.
func (c *CredentialWindow) CapCert(cert *x509.Certificate, req provisioner.Requested) error {
	if req.NotBefore && cert.NotBefore.Before(c.NotBefore) {
		return errs.Errorf(errs.Forbidden, "requested certificate notBefore (%s) is before the active validity window of the provisioning credential (%s)",
			rfc3339(cert.NotBefore), rfc3339(c.NotBefore))
	}
	if cert.NotAfter.After(c.NotAfter) {
		if req.NotAfter {
			return errs.Errorf(errs.Forbidden, "requested certificate notAfter (%s) is after the expiration of the provisioning credential (%s)",
				rfc3339(cert.NotAfter), rfc3339(c.NotAfter))
		}
		cert.NotAfter = c.NotAfter
	}
	return nil
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// SplitSANs sorts names into IP, URI, email and DNS SANs in that order of
// precedence, as step's x509util.SplitSANs does: anything with a URL scheme
// ("mailto:a@b", "spiffe://...") is a URI before an "@" makes it an email.
func SplitSANs(cert *x509.Certificate, sans []string) {
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			cert.IPAddresses = append(cert.IPAddresses, ip)
		} else if u, err := url.Parse(s); err == nil && u.Scheme != "" {
			cert.URIs = append(cert.URIs, u)
		} else if strings.Contains(s, "@") {
			cert.EmailAddresses = append(cert.EmailAddresses, s)
		} else {
			cert.DNSNames = append(cert.DNSNames, s)
		}
	}
}

func sameSet(a, b []string, norm func(string) string) bool {
	set := map[string]bool{}
	for _, s := range b {
		if norm != nil {
			s = norm(s)
		}
		set[s] = true
	}
	seen := map[string]bool{}
	for _, s := range a {
		if norm != nil {
			s = norm(s)
		}
		if !set[s] {
			return false
		}
		seen[s] = true
	}
	return len(seen) == len(set)
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}

func uriStrings(us []*url.URL) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.String()
	}
	return out
}
