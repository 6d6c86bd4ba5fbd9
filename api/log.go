package api

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// LegacyTraceHeader is step-ca's default logger.traceHeader.
const LegacyTraceHeader = "X-Smallstep-Id"

// withRequestID sets X-Request-Id on every response, including the router's
// own 404 and 405 answers that never reach wrap (wire-spec §2.5). wrap reads
// the ID back from the response header.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", requestID(r))
		next.ServeHTTP(w, r)
	})
}

// requestID echoes X-Request-Id, else the legacy trace header, else makes a
// new UUIDv4 (wire-spec §2.5).
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" {
		return id
	}
	if id := r.Header.Get(LegacyTraceHeader); id != "" {
		return id
	}
	return uuid.NewString()
}

// logRequest writes the one access-log line of a request: never the token,
// CSR or a key; the serial, subject and provisioner instead.
func (h *Handler) logRequest(r *http.Request, rec *statusRecorder, id string, start time.Time, f logrus.Fields, err error) {
	if h.deps.Logger == nil {
		return
	}
	d := h.deps.Now().Sub(start)
	f["request-id"] = id
	f["method"] = r.Method
	f["path"] = r.URL.Path
	f["protocol"] = r.Proto
	f["status"] = rec.status
	f["size"] = rec.size
	f["duration"] = d.String()
	f["duration-ns"] = d.Nanoseconds()
	f["remote-address"] = r.RemoteAddr
	f["user-agent"] = r.UserAgent()
	var entry *logrus.Entry
	if l, ok := h.deps.Logger.(*logrus.Logger); ok {
		// The map is ours and holds no func values: it becomes the entry's
		// data instead of being copied (WithFields).
		entry = logrus.NewEntry(l)
		entry.Data = f
	} else {
		entry = h.deps.Logger.WithFields(f)
	}
	switch {
	case err == nil:
		entry.Info("")
	case render.Status(err) >= 500:
		entry.WithField("error", err.Error()).Error("")
	default:
		if e := errs.As(err); e != nil && e.Kind == errs.Unavailable {
			entry.WithField("error", err.Error()).Error("")
			return
		}
		entry.WithField("error", err.Error()).Warn("")
	}
}
