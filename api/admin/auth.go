// Package admin serves step-ca's admin API (wire-spec §3 admin, §6.5):
// /admin/provisioners and /admin/admins, behind the admin-token middleware
// (Middleware) that other admin route groups (ACME EAB, policy) reuse.
package admin

import (
	"context"
	"net/http"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// Deps are what the admin API needs.
type Deps struct {
	// Authority returns the current snapshot.
	Authority func() *authority.Authority
	// Logger receives one line per refused request (never the token).
	Logger logrus.FieldLogger
}

type ctxKey struct{}

// logRefusal logs why a request was refused: its status, message and
// cause; never the token.
func (d Deps) logRefusal(r *http.Request, err error) {
	if d.Logger == nil {
		return
	}
	d.Logger.WithFields(logrus.Fields{"method": r.Method, "path": r.URL.Path, "remote-address": r.RemoteAddr}).
		WithError(err).Warn("admin request refused")
}

// FromContext returns the admin a request authenticated as (set by
// Middleware).
func FromContext(ctx context.Context) (*authority.AdminAuth, bool) {
	a, ok := ctx.Value(ctxKey{}).(*authority.AdminAuth)
	return a, ok
}

// Middleware authenticates every request with the admin token of its
// Authorization header (the raw JWT, as step sends it, or "Bearer <JWT>"),
// checked by the snapshot's AuthorizeAdminToken against the request path
// and method. The admin is then in the request context (FromContext).
// A refusal is written as step-ca's admin error (WriteError).
func Middleware(d Deps) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := d.Authority()
			if a == nil || !a.AdminEnabled() {
				WriteError(w, errs.Exact(errs.NotImplemented, "administration API not enabled", nil))
				return
			}
			tok := strings.TrimSpace(r.Header.Get("Authorization"))
			if scheme, rest, ok := strings.Cut(tok, " "); ok && strings.EqualFold(scheme, "Bearer") {
				tok = strings.TrimSpace(rest)
			}
			if tok == "" {
				WriteError(w, errs.Exact(errs.Unauthorized, "missing authorization header token", nil))
				return
			}
			if len(tok) > token.MaxSize {
				WriteError(w, errs.Exact(errs.Unauthorized, "adminHandler.authorizeToken; error parsing x5c token", nil))
				return
			}
			auth, err := a.AuthorizeAdminToken(r.Context(), tok, r.URL.Path, r.Method)
			if err != nil {
				d.logRefusal(r, err)
				WriteError(w, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, auth)))
		})
	}
}
