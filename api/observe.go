package api

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
)

// routePattern is the route r matched ("/1.0/sign", "/root/{sha}"): the
// request metrics' label, bounded by the route table whatever the path.
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

// readyTimeout bounds the readiness probe's database read and signature.
const readyTimeout = 5 * time.Second

// ready is GET /ready: 200 {"status":"ok"} when the database is reachable
// and the issuing key signs, else 503 with what is not ready (Mayfly; step-ca
// has only /health, which stays unchanged).
func (h *Handler) ready(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ logrus.Fields) error {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := a.Ready(ctx); err != nil {
		return err
	}
	render.JSON(w, http.StatusOK, wire.StatusResponse{Status: "ok"})
	return nil
}
