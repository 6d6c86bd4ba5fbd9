// Package acme serves the ACME protocol (RFC 8555) at
// /acme/{provisioner}/... and /2.0/acme/{provisioner}/... (wire-spec §3):
// the directory, nonces, and the JWS-signed POSTs, checked here (RFC 8555
// §6: nonce, url, kid xor jwk, algorithms) before authority/acme acts.
// Errors are application/problem+json with the RFC's types; this package
// owns the problem type → HTTP status table.
package acme

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/acme"
	acmeprov "github.com/mayfly-pki/mayfly/provisioner/acme"
)

// MaxBodySize bounds a JWS request body (a CSR in a JWS is a few KiB).
const MaxBodySize = 64 << 10

// Deps are the handler's collaborators.
type Deps struct {
	// Authority returns the current configuration snapshot.
	Authority func() *authority.Authority
	Service   *acme.Service
	Logger    logrus.FieldLogger
}

// Handler serves the ACME routes.
type Handler struct {
	d Deps
}

// New returns the handler.
func New(d Deps) *Handler { return &Handler{d: d} }

// Mount adds the routes under /acme and /2.0/acme.
func (h *Handler) Mount(r chi.Router) {
	for _, prefix := range []string{"/acme/{provisionerID}", "/2.0/acme/{provisionerID}"} {
		r.Route(prefix, func(r chi.Router) {
			r.Get("/directory", h.wrap(h.directory, false))
			r.Get("/new-nonce", h.wrap(h.newNonce, false))
			r.Head("/new-nonce", h.wrap(h.newNonce, false))
			r.Post("/new-account", h.wrap(h.newAccount, true))
			r.Post("/account/{accID}", h.wrap(h.account, true))
			r.Post("/account/{accID}/orders", h.wrap(h.accountOrders, true))
			r.Post("/key-change", h.wrap(h.keyChange, true))
			r.Post("/key-change/{accID}", h.wrap(h.keyChange, true))
			r.Post("/new-order", h.wrap(h.newOrder, true))
			r.Post("/order/{ordID}", h.wrap(h.order, true))
			r.Post("/order/{ordID}/finalize", h.wrap(h.finalize, true))
			r.Post("/authz/{authzID}", h.wrap(h.authz, true))
			r.Post("/challenge/{authzID}/{chID}", h.wrap(h.challenge, true))
			r.Post("/certificate/{certID}", h.wrap(h.certificate, true))
			r.Post("/revoke-cert", h.wrap(h.revokeCert, true))
		})
	}
}

// request is one ACME request's context.
type request struct {
	r      *http.Request
	w      http.ResponseWriter
	a      *authority.Authority
	prov   *acmeprov.Provisioner
	base   string // https://host/acme/<name>
	fields logrus.Fields
}

func (q *request) link(parts ...string) string {
	return q.base + "/" + strings.Join(parts, "/")
}

type handlerFunc func(q *request) error

// wrap resolves the provisioner, adds a fresh Replay-Nonce to every
// response of a POST (and to errors), renders errors as problems and logs.
func (h *Handler) wrap(fn handlerFunc, post bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		q := &request{r: r, w: rec, a: h.d.Authority(), fields: logrus.Fields{}}
		if r.ContentLength > MaxBodySize {
			h.finish(q, rec, start, acme.Problemf(acme.Malformed, "the request body is over %d bytes", MaxBodySize))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodySize)
		err := h.resolve(q)
		if err == nil {
			w.Header().Set("Link", `<`+q.link("directory")+`>;rel="index"`)
			if post {
				err = h.addNonce(q)
			}
		}
		if err == nil {
			err = fn(q)
		}
		h.finish(q, rec, start, err)
	}
}

func (h *Handler) addNonce(q *request) error {
	n, err := h.d.Service.NewNonce(q.r.Context())
	if err != nil {
		return err
	}
	q.w.Header().Set("Replay-Nonce", n)
	q.w.Header().Set("Cache-Control", "no-store")
	return nil
}

// resolve finds the ACME provisioner named in the path.
func (h *Handler) resolve(q *request) error {
	name, err := url.PathUnescape(chi.URLParam(q.r, "provisionerID"))
	if err != nil {
		return acme.Problemf(acme.NotFound, "provisioner %q not found", chi.URLParam(q.r, "provisionerID"))
	}
	p, ok := q.a.Provisioners().ByName(name)
	if !ok {
		return acme.Problemf(acme.NotFound, "provisioner %s not found", name)
	}
	ap, ok := p.(*acmeprov.Provisioner)
	if !ok {
		return acme.Problemf(acme.Unauthorized, "provisioner must be of type ACME")
	}
	q.prov = ap
	q.fields["provisioner"] = name
	// Links always use the /acme prefix (wire-spec §3).
	q.base = "https://" + q.r.Host + "/acme/" + url.PathEscape(name)
	return nil
}

func (h *Handler) finish(q *request, rec *recorder, start time.Time, err error) {
	if err != nil {
		p := acme.ProblemOf(err)
		if p.Type == acme.BadNonce && q.prov != nil && rec.Header().Get("Replay-Nonce") == "" {
			_ = h.addNonce(q) // the client retries with it
		}
		writeProblem(rec, p)
		if q.fields != nil {
			q.fields["problem"] = string(p.Type)
		}
	}
	if h.d.Logger == nil {
		return
	}
	f := q.fields
	f["method"], f["path"], f["status"] = q.r.Method, q.r.URL.Path, rec.status
	f["duration"], f["remote-address"], f["user-agent"] = time.Since(start).String(), q.r.RemoteAddr, q.r.UserAgent()
	e := h.d.Logger.WithFields(f)
	switch {
	case err != nil && rec.status >= 500:
		e.WithError(err).Error("")
	case err != nil:
		e.WithError(err).Info("")
	default:
		e.Info("")
	}
}

// statuses is the problem type → HTTP status table.
var statuses = map[acme.ProblemType]int{
	acme.AccountDoesNotExist:     http.StatusBadRequest,
	acme.AlreadyRevoked:          http.StatusBadRequest,
	acme.BadCSR:                  http.StatusBadRequest,
	acme.BadNonce:                http.StatusBadRequest,
	acme.BadPublicKey:            http.StatusBadRequest,
	acme.BadRevocationReason:     http.StatusBadRequest,
	acme.BadSignatureAlgorithm:   http.StatusBadRequest,
	acme.CAA:                     http.StatusForbidden,
	acme.Compound:                http.StatusBadRequest,
	acme.Connection:              http.StatusBadRequest,
	acme.DNS:                     http.StatusBadRequest,
	acme.ExternalAccountRequired: http.StatusUnauthorized,
	acme.IncorrectResponse:       http.StatusForbidden,
	acme.InvalidContact:          http.StatusBadRequest,
	acme.Malformed:               http.StatusBadRequest,
	acme.OrderNotReady:           http.StatusForbidden,
	acme.RateLimited:             http.StatusTooManyRequests,
	acme.RejectedIdentifier:      http.StatusBadRequest,
	acme.ServerInternal:          http.StatusInternalServerError,
	acme.TLS:                     http.StatusBadRequest,
	acme.Unauthorized:            http.StatusUnauthorized,
	acme.UnsupportedContact:      http.StatusBadRequest,
	acme.UnsupportedIdentifier:   http.StatusBadRequest,
	acme.UserActionRequired:      http.StatusForbidden,
	acme.NotFound:                http.StatusNotFound,
}

// StatusOf returns the HTTP status of a problem type (500 for unknown).
func StatusOf(t acme.ProblemType) int {
	if s, ok := statuses[t]; ok {
		return s
	}
	return http.StatusInternalServerError
}

type problemBody struct {
	Type        string            `json:"type"`
	Detail      string            `json:"detail"`
	Subproblems []acme.Subproblem `json:"subproblems,omitempty"`
}

func writeProblem(w http.ResponseWriter, p *acme.Error) {
	t := p.Type
	if t == acme.NotFound {
		t = acme.Malformed
	}
	status := StatusOf(p.Type)
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problemBody{Type: acme.ProblemPrefix + string(t), Detail: p.Detail, Subproblems: p.Subproblems})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// readBody reads the (size-limited) body.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, acme.Problemf(acme.Malformed, "the request body is over %d bytes", MaxBodySize)
	}
	if err != nil {
		return nil, acme.Problemf(acme.Malformed, "cannot read the request body: %v", err)
	}
	return b, nil
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}
