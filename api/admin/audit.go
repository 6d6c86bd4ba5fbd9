package admin

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/mayfly-pki/mayfly/authority"
)

// auditChange records an admin API change (any method but GET and HEAD,
// made or refused after authentication) in the snapshot's audit log
// (Authority.AuditAdmin): op names it from the route ("provisioner
// create", "webhook delete", "eab create", ...), the subject is the
// authenticated admin, the target the request path.
func auditChange(r *http.Request, a *authority.Authority, err error) {
	if a == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return
	}
	subject := ""
	if who, ok := FromContext(r.Context()); ok && who != nil {
		subject = who.Subject
	}
	a.AuditAdmin(r.Context(), changeOp(r), subject, r.URL.Path, err)
}

// changeOp is "<resource> <verb>" of an admin route.
func changeOp(r *http.Request) string {
	pattern := r.URL.Path
	if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
		pattern = rc.RoutePattern()
	}
	resource := "admin"
	switch {
	case strings.Contains(pattern, "/webhooks"):
		resource = "webhook"
	case strings.HasPrefix(pattern, "/admin/acme/eab"):
		resource = "eab"
	case strings.HasPrefix(pattern, "/admin/provisioners"):
		resource = "provisioner"
	case strings.HasPrefix(pattern, "/admin/policy"):
		resource = "policy"
	}
	verb := strings.ToLower(r.Method)
	switch r.Method {
	case http.MethodPost:
		verb = "create"
	case http.MethodPut, http.MethodPatch:
		verb = "update"
	case http.MethodDelete:
		verb = "delete"
	}
	return resource + " " + verb
}
