package acme

import (
	"errors"
	"fmt"

	"github.com/mayfly-pki/mayfly/internal/errs"
)

// ProblemType is an RFC 8555 §6.7 error type, without the
// "urn:ietf:params:acme:error:" prefix.
type ProblemType string

// The problem types this server returns.
const (
	AccountDoesNotExist     ProblemType = "accountDoesNotExist"
	AlreadyRevoked          ProblemType = "alreadyRevoked"
	BadCSR                  ProblemType = "badCSR"
	BadNonce                ProblemType = "badNonce"
	BadPublicKey            ProblemType = "badPublicKey"
	BadRevocationReason     ProblemType = "badRevocationReason"
	BadSignatureAlgorithm   ProblemType = "badSignatureAlgorithm"
	CAA                     ProblemType = "caa"
	Compound                ProblemType = "compound"
	Connection              ProblemType = "connection"
	DNS                     ProblemType = "dns"
	ExternalAccountRequired ProblemType = "externalAccountRequired"
	IncorrectResponse       ProblemType = "incorrectResponse"
	InvalidContact          ProblemType = "invalidContact"
	Malformed               ProblemType = "malformed"
	OrderNotReady           ProblemType = "orderNotReady"
	RateLimited             ProblemType = "rateLimited"
	RejectedIdentifier      ProblemType = "rejectedIdentifier"
	ServerInternal          ProblemType = "serverInternal"
	TLS                     ProblemType = "tls"
	Unauthorized            ProblemType = "unauthorized"
	UnsupportedContact      ProblemType = "unsupportedContact"
	UnsupportedIdentifier   ProblemType = "unsupportedIdentifier"
	UserActionRequired      ProblemType = "userActionRequired"
	// NotFound is not an RFC type: step-ca answers unknown resources with
	// 404 and {"type":"...:malformed"}; api/acme renders it so.
	NotFound ProblemType = "notFound"
)

// ProblemPrefix is the namespace of RFC 8555 error types.
const ProblemPrefix = "urn:ietf:params:acme:error:"

// Subproblem is one identifier's problem (RFC 8555 §6.7.1).
type Subproblem struct {
	Type       string      `json:"type"`
	Detail     string      `json:"detail,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
}

// Error is an ACME problem: its type says what the client did wrong, Detail
// is safe to send, Cause is logged only. api/acme maps the type to an HTTP
// status.
type Error struct {
	Type        ProblemType
	Detail      string
	Subproblems []Subproblem
	Cause       error
}

// Problemf returns an *Error with a formatted detail.
func Problemf(t ProblemType, format string, args ...any) *Error {
	return &Error{Type: t, Detail: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	s := string(e.Type) + ": " + e.Detail
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Cause }

// ProblemOf converts any error into an *Error: an *Error as is, a
// classified errs.Error by its kind, anything else serverInternal.
func ProblemOf(err error) *Error {
	var p *Error
	if errors.As(err, &p) {
		return p
	}
	e := errs.As(err)
	if e == nil {
		return &Error{Type: ServerInternal, Detail: "The server experienced an internal error", Cause: err}
	}
	t := ServerInternal
	switch e.Kind {
	case errs.BadRequest:
		t = Malformed
	case errs.Unauthorized:
		t = Unauthorized
	case errs.Forbidden:
		t = RejectedIdentifier
	case errs.NotFound:
		t = NotFound
	case errs.RateLimited:
		t = RateLimited
	case errs.Conflict:
		t = Malformed
	}
	detail := e.Detail
	if t == ServerInternal {
		detail = "The server experienced an internal error"
	}
	return &Error{Type: t, Detail: detail, Cause: err}
}

// FailureTyper is implemented by a validator's errors: the problem type the
// challenge's error carries (connection, dns, tls, incorrectResponse, ...).
type FailureTyper interface {
	ProblemType() string
}
