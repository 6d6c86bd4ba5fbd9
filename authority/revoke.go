package authority

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// RevokeRequest is one X.509 revocation, by token or by mTLS.
type RevokeRequest struct {
	Serial     string // as given; normalized with NormalizeSerial
	ReasonCode int
	Reason     string
	OTT        string
	// Cert is the authenticated client certificate for an mTLS revocation.
	Cert *x509.Certificate
}

// Revoked is what a revocation recorded (for the request log).
type Revoked struct {
	Serial      string
	Provisioner provisioner.Info
	MTLS        bool
}

// Bounds of a serial number. RFC 5280 §4.1.2.2 caps serials at 20 octets;
// the magnitude is allowed all 160 bits (so 49 decimal digits, or 0x and 40
// hex digits), which admits the 21-octet DER integers some CAs produce.
// MaxSerialLength is the longest spelling of such a value big.Int accepts
// without leading zeros or underscores: 0b and 160 binary digits.
const (
	MaxSerialBits   = 160
	MaxSerialLength = 2 + MaxSerialBits
	serialRule      = "a serial number has at most 20 octets (49 decimal digits, or 0x and 40 hexadecimal digits)"
)

// NormalizeSerial parses a serial with base-prefix detection (0x hex, 0
// octal, else decimal) and returns it in decimal (wire-spec §3.4).
//
// The length is checked before parsing: decimal parsing of big numbers is
// quadratic, and this runs before any authorization (a 250,000-digit serial
// cost 260 ms of CPU).
func NormalizeSerial(s string) (string, error) {
	if len(s) > MaxSerialLength {
		return "", errs.Errorf(errs.BadRequest, "serial number is too long: %d characters, at most %d; %s", len(s), MaxSerialLength, serialRule)
	}
	n, ok := new(big.Int).SetString(s, 0)
	if !ok || n.Sign() < 0 {
		return "", errs.Errorf(errs.BadRequest, "'%s' is not a valid serial number - use a base 10 representation or a base 16 representation with '0x' prefix", s)
	}
	if n.BitLen() > MaxSerialBits {
		return "", errs.Errorf(errs.BadRequest, "serial number '%s' is too large: %s", s, serialRule)
	}
	return n.String(), nil
}

// Revoke records a passive revocation (wire-spec §3.4 POST /revoke).
func (a *Authority) Revoke(ctx context.Context, req *RevokeRequest) (*Revoked, error) {
	rv, err := a.revoke(ctx, req)
	a.revokeDecided(ctx, req, rv, err)
	return rv, err
}

func (a *Authority) revoke(ctx context.Context, req *RevokeRequest) (*Revoked, error) {
	serial, err := NormalizeSerial(req.Serial)
	if err != nil {
		return nil, err
	}
	rec := &store.Revocation{
		Serial: serial, ReasonCode: req.ReasonCode, Reason: req.Reason, RevokedAt: a.now().UTC(),
	}
	var info provisioner.Info
	switch {
	case req.Cert != nil:
		if got := req.Cert.SerialNumber.String(); got != serial {
			return nil, errs.Errorf(errs.Forbidden, "request serial number %q and certificate serial number %q do not match", serial, got)
		}
		if err := a.checkNotRevoked(ctx, serial); err != nil {
			return nil, err
		}
		if ext, ok := provisioner.FindExtension(req.Cert); ok {
			if p, ok := a.provisioners.ByCertificate(ext); ok {
				info = p.Info()
			}
		}
		rec.MTLS, rec.ExpiresAt = true, req.Cert.NotAfter.UTC()
	case req.OTT != "":
		p, tok, err := a.authorizeToken(ctx, req.OTT, func(p provisioner.Interface, tok *token.Token) error {
			if err := p.AuthorizeRevoke(ctx, tok); err != nil {
				return err
			}
			if _, anySerial := p.(provisioner.AnySerialRevoker); !anySerial && tok.Claims.Subject != serial {
				return errs.Errorf(errs.Forbidden, "request serial number %q and token subject %q do not match", serial, tok.Claims.Subject)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		info, rec.TokenID = p.Info(), tok.Claims.ID
		if c, err := a.store.GetCertificate(ctx, serial); err == nil {
			if cert, err := x509.ParseCertificate(c.DER); err == nil {
				rec.ExpiresAt = cert.NotAfter.UTC()
			}
		}
	default:
		return nil, errs.E(errs.BadRequest, "missing ott or client certificate", nil)
	}
	rec.ProvisionerID = info.ID
	// Authorized: from here the request writes (store.WriteHinter).
	defer a.expectWrite()()
	if a.upstream != nil {
		// Forwarded first: a revocation the upstream refused is not
		// recorded here, and the client can retry it.
		if err := a.upstream.Revoke(ctx, serial, req.ReasonCode, req.Reason); err != nil {
			return nil, err
		}
	}
	if err := a.store.Revoke(ctx, rec); err != nil {
		if errors.Is(err, store.ErrAlreadyRevoked) {
			return nil, errs.Errorf(errs.BadRequest, "certificate with serial number '%s' is already revoked", serial)
		}
		return nil, storeError("error revoking certificate", err)
	}
	if err := a.afterRevoke(ctx, serial); err != nil {
		return nil, err
	}
	return &Revoked{Serial: serial, Provisioner: info, MTLS: rec.MTLS}, nil
}

// ReasonCodes maps step's reason names (case-insensitive, as `step ca revoke
// --reasonCode` accepts them) to RFC 5280 codes.
var ReasonCodes = map[string]int{
	"unspecified": 0, "keycompromise": 1, "cacompromise": 2, "affiliationchanged": 3,
	"superseded": 4, "cessationofoperation": 5, "certificatehold": 6, "removefromcrl": 8,
	"privilegewithdrawn": 9, "aacompromise": 10,
}

// ParseReasonCode reads a number 0..10 (7 is unused) or a reason name.
func ParseReasonCode(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	if c, ok := ReasonCodes[strings.ToLower(strings.ReplaceAll(s, "-", ""))]; ok {
		return c, nil
	}
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil || n < 0 || n > 10 || n == 7 {
		return 0, fmt.Errorf("invalid reason code %q: use a number from 0 to 10 (not 7) or a name such as KeyCompromise", s)
	}
	return n, nil
}
