// Package ssh builds OpenSSH certificates as step-ca does (wire-spec §3.4
// POST /ssh/sign): certificate types, the request options and how they must
// match what a credential allows, the validity window from the SSH claims,
// the key policy and step-ca's default extensions. It signs with
// golang.org/x/crypto/ssh and holds no state.
package ssh

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/kms"
)

// Certificate types as the API and tokens name them.
const (
	UserCert = "user"
	HostCert = "host"
)

// MinRSABits is the smallest RSA key step-ca signs (sshDefaultPublicKeyValidator).
const MinRSABits = 2048

// CertType converts "user"/"host" to the OpenSSH constant; "" is a user
// certificate, anything else a BadRequest naming the value.
func CertType(s string) (uint32, error) {
	switch strings.ToLower(s) {
	case "", UserCert:
		return gossh.UserCert, nil
	case HostCert:
		return gossh.HostCert, nil
	}
	return 0, errs.Errorf(errs.BadRequest, "invalid certType '%s'", s)
}

// CertTypeName is CertType's inverse.
func CertTypeName(t uint32) string {
	if t == gossh.HostCert {
		return HostCert
	}
	return UserCert
}

// Options are the certificate fields a request asks for, or a credential
// allows. Zero fields are unset.
type Options struct {
	CertType   string
	KeyID      string
	Principals []string
	// ValidAfter and ValidBefore are absolute, or relative to the time of
	// signing (ValidBefore to ValidAfter when that is set), as the wire's
	// TimeDuration; resolved once, by Window.
	ValidAfter  timeutil.TimeDuration
	ValidBefore timeutil.TimeDuration
}

// sameBound reports whether two bounds say the same thing.
func sameBound(a, b timeutil.TimeDuration) bool {
	base := time.Unix(0, 0)
	return a.RelativeTo(base).Equal(b.RelativeTo(base))
}

// Match checks that got (the request) is consistent with o (what the
// credential allows), as step-ca's SignSSHOptions.match: the same type,
// principals among o's, the same bounds when both set them. Refusals are
// Forbidden, naming the field.
func (o Options) Match(got Options) error {
	if o.CertType != "" && got.CertType != "" && !strings.EqualFold(o.CertType, got.CertType) {
		return errs.Errorf(errs.Forbidden, "ssh certificate type does not match - got %s, want %s", got.CertType, o.CertType)
	}
	if len(o.Principals) > 0 {
		for _, p := range got.Principals {
			if !slices.Contains(o.Principals, p) {
				return errs.Errorf(errs.Forbidden, "ssh certificate principals does not match - got %v, want %v", got.Principals, o.Principals)
			}
		}
	}
	if !o.ValidAfter.IsZero() && !got.ValidAfter.IsZero() && !sameBound(o.ValidAfter, got.ValidAfter) {
		return errs.Errorf(errs.Forbidden, "ssh certificate validAfter does not match - got %s, want %s", got.ValidAfter, o.ValidAfter)
	}
	if !o.ValidBefore.IsZero() && !got.ValidBefore.IsZero() && !sameBound(o.ValidBefore, got.ValidBefore) {
		return errs.Errorf(errs.Forbidden, "ssh certificate validBefore does not match - got %s, want %s", got.ValidBefore, o.ValidBefore)
	}
	return nil
}

// Limits are the SSH claims of one certificate type.
type Limits struct {
	Min, Max, Default time.Duration
}

// Window fills the unset bounds as step-ca does (ValidAfter = now −
// backdate; ValidBefore = now + the default, or ValidAfter + the default
// when ValidAfter was asked for) and checks the result against lim
// (sshCertValidityValidator). Refusals are Forbidden and name the rule.
func Window(now time.Time, backdate time.Duration, after, before timeutil.TimeDuration, lim Limits) (time.Time, time.Time, error) {
	va := after.RelativeTo(now)
	base := now
	if !va.IsZero() {
		base = va
	}
	vb := before.RelativeTo(base)
	backdated := va.IsZero()
	switch {
	case va.IsZero() && vb.IsZero():
		va, vb = now.Add(-backdate), now.Add(lim.Default)
	case va.IsZero():
		va = now.Add(-backdate)
	case vb.IsZero():
		vb = va.Add(lim.Default)
	}
	if vb.Before(now) {
		return va, vb, errs.Errorf(errs.Forbidden, "ssh certificate validBefore cannot be in the past")
	}
	if vb.Before(va) {
		return va, vb, errs.Errorf(errs.Forbidden, "ssh certificate validBefore cannot be before validAfter")
	}
	// The backdate is not part of the duration asked for.
	d := vb.Sub(va)
	if backdated {
		d -= backdate
	}
	switch {
	case d < lim.Min:
		return va, vb, errs.Errorf(errs.Forbidden, "requested duration of %s is less than minimum accepted duration for selected cert type of %s", d, lim.Min)
	case d > lim.Max:
		return va, vb, errs.Errorf(errs.Forbidden, "requested duration of %s is more than the authorized maximum certificate duration of %s", d, lim.Max)
	}
	return va, vb, nil
}

// CheckKey applies step-ca's key policy: RSA keys of at least MinRSABits,
// no DSA. Refusals are Forbidden.
func CheckKey(pub gossh.PublicKey) error {
	switch pub.Type() {
	case gossh.KeyAlgoDSA:
		return errs.Errorf(errs.Forbidden, "ssh certificate key algorithm (DSA) is not supported")
	case gossh.KeyAlgoRSA:
		cp, ok := pub.(gossh.CryptoPublicKey)
		if !ok {
			return errs.Errorf(errs.BadRequest, "unsupported RSA public key")
		}
		k, ok := cp.CryptoPublicKey().(*rsa.PublicKey)
		if !ok {
			return errs.Errorf(errs.BadRequest, "unsupported RSA public key")
		}
		if k.N.BitLen() < MinRSABits {
			return errs.Errorf(errs.Forbidden, "ssh certificate key must be at least %d bits (%d bytes)", MinRSABits, MinRSABits/8)
		}
	}
	return nil
}

// UserExtensions returns step-ca's default extensions of user certificates
// (a new map each call).
func UserExtensions() map[string]string {
	return map[string]string{
		"permit-X11-forwarding":   "",
		"permit-agent-forwarding": "",
		"permit-port-forwarding":  "",
		"permit-pty":              "",
		"permit-user-rc":          "",
	}
}

// NewCertificate returns an unsigned certificate of key: a random non-zero
// 64-bit serial, a 32-byte nonce, the given type, key ID, principals and
// window; user certificates get UserExtensions.
func NewCertificate(key gossh.PublicKey, certType uint32, keyID string, principals []string, va, vb time.Time) (*gossh.Certificate, error) {
	var b [40]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("ssh certificate: random serial: %w", err)
	}
	serial := binary.BigEndian.Uint64(b[:8])
	if serial == 0 {
		serial = 1
	}
	c := &gossh.Certificate{
		Nonce: b[8:], Key: key, Serial: serial, CertType: certType, KeyId: keyID,
		ValidPrincipals: slices.Clone(principals),
		ValidAfter:      unix(va), ValidBefore: unix(vb),
	}
	if certType == gossh.UserCert {
		c.Permissions.Extensions = UserExtensions()
	}
	return c, nil
}

func unix(t time.Time) uint64 {
	if t.Unix() < 0 {
		return 0
	}
	return uint64(t.Unix())
}

// maxTime is the end of year 9999, the last time RFC 3339 (and so the
// JSON of the records) can write.
const maxTime = 253402300799

// Time converts a certificate bound to a time; bounds after the year 9999
// (CertTimeInfinity) are the end of 9999.
func Time(v uint64) time.Time {
	if v > maxTime {
		return time.Unix(maxTime, 0)
	}
	return time.Unix(int64(v), 0)
}

// NewSigner wraps a CA key; RSA keys sign with rsa-sha2-512 (OpenSSH
// refuses ssh-rsa SHA-1 signatures by default).
func NewSigner(key crypto.Signer) (gossh.Signer, error) {
	s, err := gossh.NewSignerFromSigner(key)
	if err != nil {
		return nil, err
	}
	if s.PublicKey().Type() == gossh.KeyAlgoRSA {
		as, ok := s.(gossh.AlgorithmSigner)
		if !ok {
			return nil, errors.New("ssh: RSA signer without algorithm support")
		}
		ms, err := gossh.NewSignerWithAlgorithms(as, []string{gossh.KeyAlgoRSASHA512})
		if err != nil {
			return nil, err
		}
		s = ms
	}
	if ext, ok := key.(kms.External); ok {
		return newVerifyingSigner(s, ext.KeyManager())
	}
	return s, nil
}

// Sign signs c with the CA signer.
func Sign(c *gossh.Certificate, ca gossh.Signer) error {
	if err := c.SignCert(rand.Reader, ca); err != nil {
		return errs.E(errs.Internal, "error signing ssh certificate", err)
	}
	return nil
}

// MaxKeySize bounds a public key or certificate in a request before it is
// parsed (an 16384-bit RSA key is about 2 KB).
const MaxKeySize = 16 << 10

// ParsePublicKey parses the SSH wire format of a key, bounded.
func ParsePublicKey(b []byte) (gossh.PublicKey, error) {
	if len(b) > MaxKeySize {
		return nil, errs.Errorf(errs.BadRequest, "error parsing publicKey: %d bytes, at most %d", len(b), MaxKeySize)
	}
	k, err := gossh.ParsePublicKey(b)
	if err != nil {
		return nil, errs.E(errs.BadRequest, "error parsing publicKey", err)
	}
	if _, ok := k.(*gossh.Certificate); ok {
		return nil, errs.E(errs.BadRequest, "error parsing publicKey", errors.New("a certificate is not a public key"))
	}
	return k, nil
}

// ParseCertificate parses the SSH wire format of a certificate, bounded.
func ParseCertificate(b []byte) (*gossh.Certificate, error) {
	if len(b) > MaxKeySize {
		return nil, fmt.Errorf("ssh certificate is %d bytes, at most %d", len(b), MaxKeySize)
	}
	k, err := gossh.ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("error parsing ssh certificate: %w", err)
	}
	c, ok := k.(*gossh.Certificate)
	if !ok {
		return nil, fmt.Errorf("error parsing ssh certificate: a %s key is not a certificate", k.Type())
	}
	return c, nil
}
