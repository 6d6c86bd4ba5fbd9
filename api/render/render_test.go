package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

func TestStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{errs.E(errs.BadRequest, "x", nil), 400},
		{errs.E(errs.Unauthorized, "x", nil), 401},
		{errs.E(errs.Forbidden, "x", nil), 403},
		{errs.E(errs.NotFound, "x", nil), 404},
		{errs.E(errs.Conflict, "x", nil), 409},
		{errs.E(errs.RateLimited, "x", nil), 429},
		{errs.E(errs.Internal, "x", nil), 500},
		{errs.E(errs.NotImplemented, "x", nil), 501},
		{errs.E(errs.Unavailable, "x", nil), 503},
		{errors.New("plain"), 500},
		{fmt.Errorf("wrapped: %w", errs.E(errs.Forbidden, "x", nil)), 403},
		{&http.MaxBytesError{Limit: 1}, 413},
		{errs.E(errs.BadRequest, "reading", &http.MaxBytesError{Limit: 1}), 413},
	}
	for _, tc := range tests {
		if got := Status(tc.err); got != tc.want {
			t.Fatalf("Status(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	// Every declared kind has a status (a new kind without one would make
	// WriteHeader panic).
	for k := errs.Kind(0); !strings.HasPrefix(k.String(), "kind("); k++ {
		if s := Status(errs.E(k, "", nil)); s < 400 || s > 599 {
			t.Fatalf("kind %v has status %d", k, s)
		}
	}
}

func TestMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err    error
		status int
		want   string
	}{
		{errs.E(errs.BadRequest, "missing csr", nil), 400, "The request could not be completed: missing csr."},
		{errs.E(errs.BadRequest, "", errors.New("secret cause")), 400, "The request could not be completed: bad request."},
		{errors.New("plain"), 400, "The request could not be completed: bad request."},
		{errs.E(errs.Forbidden, "nope", errors.New("cause")), 403, "The request was forbidden by the certificate authority: nope."},
		{errs.E(errs.Unauthorized, "token already used", nil), 401,
			"The request lacked necessary authorization to be completed. Please see the certificate authority logs for more info."},
		{errs.E(errs.NotFound, "x", nil), 404,
			"The requested resource could not be found. Please see the certificate authority logs for more info."},
		{errs.E(errs.Internal, "x", nil), 500,
			"The certificate authority encountered an Internal Server Error. Please see the certificate authority logs for more info."},
		{errs.E(errs.NotImplemented, "x", nil), 501,
			"The requested method is not implemented by the certificate authority. Please see the certificate authority logs for more info."},
		{errs.E(errs.Unavailable, "x", nil), 503,
			"The certificate authority received an unexpected HTTP status code - '503'. Please see the certificate authority logs for more info."},
		{&http.MaxBytesError{Limit: 1}, 413, "The request could not be completed: the request body is too large."},
		{errs.Exact(errs.Unauthorized, "error validating renew token", errors.New("cause")), 401, "error validating renew token"},
		{errs.Exact(errs.NotFound, `root certificate with fingerprint "ab" was not found`, nil), 404, `root certificate with fingerprint "ab" was not found`},
	}
	for _, tc := range tests {
		if got := Message(tc.err, tc.status); got != tc.want {
			t.Fatalf("Message(%v, %d) = %q, want %q", tc.err, tc.status, got, tc.want)
		}
	}
}

func TestError(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	status := Error(w, errs.E(errs.Forbidden, "no", errors.New("private cause")))
	if status != 403 || w.Code != 403 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("Error: %d %d %v", status, w.Code, w.Header())
	}
	want := `{"status":403,"message":"The request was forbidden by the certificate authority: no."}` + "\n"
	if w.Body.String() != want {
		t.Fatalf("body %q, want %q", w.Body, want)
	}
	if strings.Contains(w.Body.String(), "private cause") {
		t.Fatal("the cause reached the client")
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	JSON(w, http.StatusCreated, wire.StatusResponse{Status: "ok"})
	if w.Code != 201 || w.Body.String() != "{\"status\":\"ok\"}\n" || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("JSON: %d %q %v", w.Code, w.Body, w.Header())
	}
	w = httptest.NewRecorder()
	JSON(w, 200, map[string]any{"f": func() {}})
	var e wire.Error
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Code != 500 || e.Status != 500 {
		t.Fatalf("unencodable value: %d %q", w.Code, w.Body)
	}
}
