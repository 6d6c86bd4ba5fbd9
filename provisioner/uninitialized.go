package provisioner

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// Uninitialized is a provisioner that failed to initialize: it is listed with
// its reason and refuses every request (wire-spec §2.2).
type Uninitialized struct {
	info   Info
	raw    json.RawMessage
	reason error
}

var _ Interface = (*Uninitialized)(nil)

// NewUninitialized wraps a provisioner entry that failed with reason.
func NewUninitialized(raw json.RawMessage, index int, reason error) *Uninitialized {
	var b Base
	_ = json.Unmarshal(raw, &b)
	t, _ := ParseType(b.Type)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if m == nil {
		m = map[string]any{}
	}
	m["state"] = "Uninitialized"
	m["stateReason"] = reason.Error()
	out, _ := json.Marshal(m)
	return &Uninitialized{info: Info{ID: fmt.Sprintf("uninitialized/%d/%s", index, b.Name), Name: b.Name, Type: t}, raw: out, reason: reason}
}

func (u *Uninitialized) err() error {
	return errs.E(errs.Unauthorized, fmt.Sprintf("provisioner %q is disabled due to an initialization error", u.info.Name), u.reason)
}

// Info implements Interface.
func (u *Uninitialized) Info() Info { return u.info }

// TokenID implements Interface.
func (u *Uninitialized) TokenID() string { return u.info.ID }

// Claims implements Interface.
func (u *Uninitialized) Claims() Resolved { return DefaultClaims }

// EncryptedKey implements Interface.
func (u *Uninitialized) EncryptedKey() (string, string, bool) { return "", "", false }

// JSON implements Interface.
func (u *Uninitialized) JSON() json.RawMessage { return u.raw }

// AuthorizeSign implements Interface.
func (u *Uninitialized) AuthorizeSign(context.Context, *token.Token) (*X509Plan, error) {
	return nil, u.err()
}

// AuthorizeRevoke implements Interface.
func (u *Uninitialized) AuthorizeRevoke(context.Context, *token.Token) error { return u.err() }

// AuthorizeRenew implements Interface.
func (u *Uninitialized) AuthorizeRenew(context.Context, *x509.Certificate) error { return u.err() }

// Reason returns why the provisioner failed to initialize.
func (u *Uninitialized) Reason() error { return u.reason }
