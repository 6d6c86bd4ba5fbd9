// Package api serves the CA's JSON API (wire-spec §3) at "/" and "/1.0/",
// and the admin certificate inventory at /admin/certificates.
package api

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/sirupsen/logrus"

	acmeapi "github.com/mayfly-pki/mayfly/api/acme"
	"github.com/mayfly-pki/mayfly/api/render"
	scepapi "github.com/mayfly-pki/mayfly/api/scep"
	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
	acmesvc "github.com/mayfly-pki/mayfly/authority/acme"
	"github.com/mayfly-pki/mayfly/internal/audit"
	"github.com/mayfly-pki/mayfly/internal/csrparse"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/meter"
)

// MaxBodySize bounds request bodies; a CSR is a few kilobytes.
const MaxBodySize = 256 << 10

// Deps are the collaborators of the API.
type Deps struct {
	// Authority returns the current configuration snapshot; a request uses
	// the one it got first until it finishes.
	Authority func() *authority.Authority
	// TLSOptions returns the ca.json "tls" block echoed in SignResponse.
	TLSOptions func() json.RawMessage
	Version    string
	Logger     logrus.FieldLogger
	Now        func() time.Time
	// BodyBudget bounds the request body bytes held in memory at once by
	// all requests together; 0 means DefaultBodyBudget, and a smaller
	// value than MaxBodySize is raised to it.
	BodyBudget int64
	// BodyWait is how long a request waits for room in the body budget
	// before it is refused with a 503; 0 means DefaultBodyWait, a negative
	// value refuses at once.
	BodyWait time.Duration
	// Meter counts requests by route and status (nil: none).
	Meter meter.Requests
	// Audit gives the authority each request's ID and client address for
	// its audit records (audit.WithRequest).
	Audit bool
	// ACME serves /acme/{provisioner}/... when not nil (a database is
	// configured).
	ACME *acmesvc.Service
	// Admin, when set (authority.enableAdmin), mounts the admin API's
	// routes (api/admin) at /admin.
	Admin interface{ Mount(chi.Router) }
}

// Handler serves the CA API.
type Handler struct {
	deps   Deps
	mux    http.Handler
	budget *bodyBudget
	// tlsJSON caches the JSON encoding of the last TLSOptions value.
	tlsJSON atomic.Pointer[encodedRaw]
}

// encodedRaw is a json.RawMessage and its encoding as a struct field.
type encodedRaw struct {
	raw json.RawMessage
	enc []byte
}

// New returns the API handler with every route mounted at / and /1.0.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	switch {
	case d.BodyBudget == 0:
		d.BodyBudget = DefaultBodyBudget
	case d.BodyBudget < MaxBodySize:
		d.BodyBudget = MaxBodySize
	}
	if d.BodyWait == 0 {
		d.BodyWait = DefaultBodyWait
	}
	h := &Handler{deps: d, budget: newBodyBudget(d.BodyBudget, d.BodyWait)}
	r := chi.NewRouter()
	r.Use(withRequestID, middleware.GetHead)
	routes := func(r chi.Router) {
		r.Get("/health", h.wrap(h.health))
		r.Get("/ready", h.wrap(h.ready))
		r.Get("/version", h.wrap(h.version))
		r.Get("/root/{sha}", h.wrap(h.root))
		r.Get("/roots", h.wrap(h.roots))
		r.Get("/roots.pem", h.wrap(h.rootsPEM))
		r.Get("/intermediates", h.wrap(h.intermediates))
		r.Get("/intermediates.pem", h.wrap(h.intermediatesPEM))
		r.Get("/federation", h.wrap(h.federation))
		r.Get("/provisioners", h.wrap(h.provisioners))
		r.Get("/provisioners/{kid}/encrypted-key", h.wrap(h.encryptedKey))
		r.Post("/sign", h.wrap(h.sign))
		r.Post("/renew", h.wrap(h.renew))
		r.Post("/re-sign", h.wrap(h.renew))
		r.Post("/rekey", h.wrap(h.rekey))
		r.Post("/revoke", h.wrap(h.revoke))
		r.Get("/crl", h.wrap(h.crl))
		r.Get("/ocsp/*", h.wrap(h.ocspGet))
		r.Post("/ocsp", h.wrap(h.ocspPost))
		h.sshRoutes(r)
	}
	routes(r)
	r.Route("/1.0", routes)
	// Mayfly's admin API: at the root only, as step-ca's /admin is.
	r.Get("/admin/certificates", h.wrap(h.listCertificates))
	if d.Admin != nil {
		d.Admin.Mount(r)
	}
	// SCEP: at the root only, as step-ca's (wire-spec §3).
	scepapi.New(scepapi.Deps{Authority: d.Authority, Logger: d.Logger}).Mount(r)
	if d.ACME != nil {
		acmeapi.New(acmeapi.Deps{Authority: d.Authority, Service: d.ACME, Logger: d.Logger}).Mount(r)
	}
	h.mux = r
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// handlerFunc is an API handler: it writes a response or returns an error
// for wrap to render. fields collects what the request log line reports.
type handlerFunc func(w http.ResponseWriter, r *http.Request, a *authority.Authority, fields logrus.Fields) error

// wrap adapts a handlerFunc: one snapshot per request, request IDs, the body
// limits (MaxBodySize per request, the body budget across requests), error
// rendering and one log line.
func (h *Handler) wrap(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := h.deps.Now()
		id := w.Header().Get("X-Request-Id") // set by withRequestID
		if id == "" {
			id = requestID(r)
			w.Header().Set("X-Request-Id", id)
		}
		x := &exchange{rec: statusRecorder{ResponseWriter: w}}
		rec := &x.rec
		// Room for the access log's fields (logRequest's ten and the
		// handler's up to seven) without growing the map.
		fields := make(logrus.Fields, 20)
		if h.deps.Audit {
			r = r.WithContext(audit.WithRequest(r.Context(), &audit.Request{ID: id, ClientAddress: r.RemoteAddr}))
		}
		var err error
		if r.ContentLength > MaxBodySize {
			// Refused unread: receiving it would be for nothing.
			err = &http.MaxBytesError{Limit: MaxBodySize}
		} else {
			if r.Body != nil && r.Body != http.NoBody {
				x.body = budgetBody{body: http.MaxBytesReader(w, r.Body, MaxBodySize), budget: h.budget, ctx: r.Context()}
				r.Body = &x.body
				// The body's bytes go back to the budget when the handler
				// is done with them, whatever its outcome (a panic too).
				defer x.body.release()
			}
			err = fn(rec, r, h.deps.Authority(), fields)
		}
		if errors.Is(err, errNoRoom) {
			rec.Header().Set("Retry-After", "1")
		}
		if err != nil {
			rec.status = render.Error(rec, err)
		}
		h.logRequest(r, rec, id, start, fields, err)
		if h.deps.Meter != nil {
			h.deps.Meter.Request(routePattern(r), rec.status, h.deps.Now().Sub(start))
		}
	}
}

// exchange is wrap's state of one request, in one allocation.
type exchange struct {
	rec  statusRecorder
	body budgetBody
}

// statusRecorder remembers the status and size written.
type statusRecorder struct {
	http.ResponseWriter
	status int
	size   int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.size += n
	return n, err
}

// readJSON decodes the body into v leniently (unknown fields are ignored).
func readJSON(r *http.Request, v any) error {
	return decodeBody(r, func(b []byte) error { return json.Unmarshal(b, v) })
}

// readSignRequest is readJSON for the body of /sign, decoded without
// reflection when it has the usual shape (wire.DecodeSignRequest).
func readSignRequest(r *http.Request, v *wire.SignRequest) error {
	return decodeBody(r, func(b []byte) error { return wire.DecodeSignRequest(b, v) })
}

// decodeBody reads r's body and decodes it with decode, turning failures
// into the API's errors.
func decodeBody(r *http.Request, decode func([]byte) error) error {
	b, err := readBody(r)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) || errors.Is(err, errNoRoom) {
			return err
		}
		return errs.E(errs.BadRequest, "error reading request body", err)
	}
	if err := decode(b); err != nil {
		return errs.E(errs.BadRequest, "error decoding json", err)
	}
	return nil
}

// readBody reads the whole body into one buffer sized from Content-Length
// when it is announced (io.ReadAll grows its buffer from 512 bytes, four
// allocations and copies for a sign request). The body's own limit (a
// MaxBytesReader) still applies: the announced size is only a hint, bounded
// here too. The bound is small (a sign request is about 2 KB, one with an
// x5c token 4-6 KB) because the buffer is allocated before the bytes
// arrive, outside the body budget, which counts bytes received: a client
// that announces a body and sends nothing costs at most this much.
func readBody(r *http.Request) ([]byte, error) {
	const maxHint = 8 << 10
	n := r.ContentLength
	if n <= 0 || n > maxHint {
		return io.ReadAll(r.Body)
	}
	// One spare byte, so that reaching EOF needs no growth.
	b := make([]byte, 0, n+1)
	for {
		m, err := r.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		switch {
		case err == io.EOF:
			return b, nil
		case err != nil:
			return b, err
		case len(b) == cap(b): // longer than announced
			rest, err := io.ReadAll(r.Body)
			return append(b, rest...), err
		}
	}
}

// parseCSR decodes a PEM CSR field.
func parseCSR(s string) (*x509.CertificateRequest, error) {
	if s == "" {
		return nil, errs.E(errs.BadRequest, "missing csr", nil)
	}
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errs.E(errs.BadRequest, "invalid csr", errors.New("no PEM block"))
	}
	// What x509.ParseCertificateRequest returns, without encoding/asn1's
	// reflection for the usual shapes (internal/csrparse).
	csr, err := csrparse.Parse(block.Bytes)
	if err != nil {
		return nil, errs.E(errs.BadRequest, "invalid csr", err)
	}
	return csr, nil
}

// peerCertificate returns the verified TLS client certificate, if any.
func peerCertificate(r *http.Request) *x509.Certificate {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return r.TLS.PeerCertificates[0]
}

// NewInsecure returns the handler of the plain HTTP listener
// (insecureAddress, wire-spec §2.6): /scep/..., and what relying parties
// fetch over plain HTTP: the CRL (as step-ca) and the OCSP responder (RFC
// 5019); anything else is 404.
func NewInsecure(d Deps) http.Handler {
	r := chi.NewRouter()
	r.Use(withRequestID, middleware.GetHead)
	scepapi.New(scepapi.Deps{Authority: d.Authority, Logger: d.Logger}).Mount(r)
	h := New(d)
	for _, prefix := range []string{"", "/1.0"} {
		r.Get(prefix+"/crl", h.wrap(h.crl))
		r.Get(prefix+"/ocsp/*", h.wrap(h.ocspGet))
		r.Post(prefix+"/ocsp", h.wrap(h.ocspPost))
	}
	return r
}
