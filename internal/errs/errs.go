// Package errs defines the error kinds domain code returns. Nothing below api/
// knows HTTP status codes: api/render owns the one kind→status table.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the edge that renders it.
type Kind int

// The error kinds. Internal is the zero value: an unclassified error is internal.
const (
	Internal Kind = iota
	BadRequest
	Unauthorized
	Forbidden
	NotFound
	Conflict
	RateLimited
	Unavailable
	NotImplemented
)

var kindNames = [...]string{"internal", "bad request", "unauthorized", "forbidden", "not found", "conflict", "rate limited", "unavailable", "not implemented"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is a classified error. Detail is safe to show a client (it names the
// provisioner or claim at fault, never a secret); Cause is logged, never sent.
type Error struct {
	Kind   Kind
	Detail string
	Cause  error
	// Exact, when set, makes Detail the whole client-facing message instead of
	// the kind's boilerplate (step-ca overrides a few messages this way).
	Exact bool
}

// E returns a classified error.
func E(kind Kind, detail string, cause error) *Error {
	return &Error{Kind: kind, Detail: detail, Cause: cause}
}

// Exact returns a classified error whose detail is the complete client message.
func Exact(kind Kind, message string, cause error) *Error {
	return &Error{Kind: kind, Detail: message, Cause: cause, Exact: true}
}

// Errorf is E with a formatted detail and no cause.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	switch {
	case e.Cause == nil:
		return e.Detail
	case e.Detail == "":
		return e.Cause.Error()
	default:
		return e.Detail + ": " + e.Cause.Error()
	}
}

func (e *Error) Unwrap() error { return e.Cause }

// As returns the outermost *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// KindOf returns the kind of the outermost classified error in err's chain,
// Internal when there is none.
func KindOf(err error) Kind {
	if e := As(err); e != nil {
		return e.Kind
	}
	return Internal
}

// Is reports whether err carries the given kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }
