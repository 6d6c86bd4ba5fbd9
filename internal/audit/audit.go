// Package audit writes the CA's audit log: one JSON line per decision (a
// certificate issued, renewed, rekeyed or revoked, a request refused, an
// administrative change), optionally hash-chained so that an edited,
// removed or reordered line is detected by Verify (`step-ca audit verify`).
//
// A record never holds a token, a key or a password: the authority fills it
// from what it decided (serial, subject, SANs, validity, provisioner) and
// the error's text, which never carries secrets (internal/errs).
package audit

import (
	"context"
	"time"
)

// Decisions of a Record.
const (
	Issue   = "issue"
	Renew   = "renew"
	Rekey   = "rekey"
	Revoke  = "revoke"
	Refuse  = "refuse"
	Admin   = "admin"
	Outcome = "ok" // Record.Outcome of a decision that was carried out
)

// Record is one audit line. Field order is the order written.
type Record struct {
	Time time.Time `json:"time"`
	// Decision is Issue, Renew, Rekey, Revoke, Admin, or Refuse for a
	// request that was not carried out (Operation says which).
	Decision string `json:"decision"`
	// Operation is what was asked: sign, renew, rekey, revoke, or an admin
	// operation's name.
	Operation     string     `json:"operation"`
	RequestID     string     `json:"requestId,omitempty"`
	ClientAddress string     `json:"clientAddress,omitempty"`
	Provisioner   string     `json:"provisioner,omitempty"`
	Subject       string     `json:"subject,omitempty"`
	SANs          []string   `json:"sans,omitempty"`
	Serial        string     `json:"serial,omitempty"`
	NotBefore     *time.Time `json:"notBefore,omitempty"`
	NotAfter      *time.Time `json:"notAfter,omitempty"`
	// Outcome is "ok", or the refusal's error kind ("unauthorized", ...).
	Outcome string `json:"outcome"`
	// Reason is the refusal's or revocation's reason.
	Reason string `json:"reason,omitempty"`
	// Prev is the hash of the previous line (chained logs only; "" on the
	// first line of a chain).
	Prev string `json:"prev,omitempty"`
}

// Sink receives records. Implementations are safe for concurrent use and
// do not block the caller for long (Log writes one line under a mutex).
type Sink interface {
	Record(ctx context.Context, r *Record)
}

// Request is what the API knows of the request a decision is made for.
type Request struct {
	ID            string
	ClientAddress string
}

type requestKey struct{}

// WithRequest returns ctx carrying r, for the records written while it is
// served. It is request-scoped data, not a service.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the request ctx carries, or nil.
func RequestFrom(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}
