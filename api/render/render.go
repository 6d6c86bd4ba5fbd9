// Package render writes API responses: JSON bodies and the one mapping from
// error kinds to HTTP statuses and step-ca's error messages (wire-spec §3.2).
package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// JSON writes v as JSON followed by a newline, as json.Encoder does.
func JSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		Error(w, errs.E(errs.Internal, "error encoding response", err))
		return
	}
	RawJSON(w, status, b)
}

// RawJSON answers status with b, an encoded JSON value, and a newline (as
// JSON does); b's spare capacity is used for the newline.
//
// The length is announced: without it, a body larger than net/http's 2 KiB
// buffer (a certificate with its chain) is sent chunked.
func RawJSON(w http.ResponseWriter, status int, b []byte) {
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

var statuses = map[errs.Kind]int{
	errs.Internal:       http.StatusInternalServerError,
	errs.BadRequest:     http.StatusBadRequest,
	errs.Unauthorized:   http.StatusUnauthorized,
	errs.Forbidden:      http.StatusForbidden,
	errs.NotFound:       http.StatusNotFound,
	errs.Conflict:       http.StatusConflict,
	errs.RateLimited:    http.StatusTooManyRequests,
	errs.Unavailable:    http.StatusServiceUnavailable,
	errs.NotImplemented: http.StatusNotImplemented,
}

// Status returns the HTTP status for err.
func Status(err error) int {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return http.StatusRequestEntityTooLarge
	}
	return statuses[errs.KindOf(err)]
}

// Message returns the client-facing message for err with status.
func Message(err error, status int) string {
	e := errs.As(err)
	if e != nil && e.Exact {
		return e.Detail
	}
	switch status {
	case http.StatusBadRequest:
		return "The request could not be completed: " + detail(e) + "."
	case http.StatusForbidden:
		return "The request was forbidden by the certificate authority: " + detail(e) + "."
	case http.StatusUnauthorized:
		return "The request lacked necessary authorization to be completed. Please see the certificate authority logs for more info."
	case http.StatusNotFound:
		return "The requested resource could not be found. Please see the certificate authority logs for more info."
	case http.StatusInternalServerError:
		return "The certificate authority encountered an Internal Server Error. Please see the certificate authority logs for more info."
	case http.StatusNotImplemented:
		return "The requested method is not implemented by the certificate authority. Please see the certificate authority logs for more info."
	case http.StatusRequestEntityTooLarge:
		return "The request could not be completed: the request body is too large."
	}
	return fmt.Sprintf("The certificate authority received an unexpected HTTP status code - '%d'. Please see the certificate authority logs for more info.", status)
}

func detail(e *errs.Error) string {
	if e == nil || e.Detail == "" {
		return "bad request"
	}
	return e.Detail
}

// Error writes err as step-ca's JSON error body and returns the status.
func Error(w http.ResponseWriter, err error) int {
	status := Status(err)
	JSON(w, status, wire.Error{Status: status, Message: Message(err, status)})
	return status
}
