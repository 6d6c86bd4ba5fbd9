package api

import (
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

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

// maxRequestID bounds a client's request ID that is echoed back: a UUID is
// 36 bytes, and a longer value would be copied into every response header.
const maxRequestID = 128

// requestID echoes X-Request-Id, else the legacy trace header, else makes a
// new UUIDv4 (wire-spec §2.5). A client's ID longer than maxRequestID or
// holding anything but printable ASCII is replaced by a new one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); echoable(id) {
		return id
	}
	if id := r.Header.Get(LegacyTraceHeader); echoable(id) {
		return id
	}
	return uuid.NewString()
}

func echoable(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// Bounds of the access log's values. Most of them come from the request
// (path, user agent, request ID, subject, SANs, and errors that quote a
// field), so each is cut in one place, boundLogFields, whatever set it: a
// 250,000-digit serial once made a 250,374-character line.
const (
	// maxLogValue bounds each string value, in bytes (plus the marker).
	maxLogValue = 256
	// maxLogError bounds the error text, which is longer by nature (a
	// cause chain) but may quote request values.
	maxLogError = 1024
	// maxLogList bounds the entries of a list value (sans).
	maxLogList = 32
)

// clip returns s, or its first max bytes (cut at a character boundary)
// followed by a marker with the original length.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "...[truncated, " + strconv.Itoa(len(s)) + " bytes]"
}

// boundLogFields clips, in place, every string of f and every string of a
// list in f, and shortens lists to maxLogList entries and a marker.
func boundLogFields(f logrus.Fields) {
	for k, v := range f {
		switch v := v.(type) {
		case string:
			if len(v) > maxLogValue {
				f[k] = clip(v, maxLogValue)
			}
		case []string:
			// Assigned only when changed: boxing a slice allocates.
			if l, ok := clipList(v); ok {
				f[k] = l
			}
		}
	}
}

// clipList returns a copy of l with its strings clipped and at most
// maxLogList of them followed by a "...[N more]" entry, and true; or nil and
// false when l is within the bounds.
func clipList(l []string) ([]string, bool) {
	long := len(l) > maxLogList
	for _, s := range l {
		long = long || len(s) > maxLogValue
	}
	if !long {
		return nil, false
	}
	out := make([]string, 0, min(len(l), maxLogList+1))
	for _, s := range l[:min(len(l), maxLogList)] {
		out = append(out, clip(s, maxLogValue))
	}
	if len(l) > maxLogList {
		out = append(out, "...["+strconv.Itoa(len(l)-maxLogList)+" more]")
	}
	return out, true
}

// logRequest writes the one access-log line of a request: never the token,
// CSR or a key; the serial, subject and provisioner instead. Every value is
// bounded (boundLogFields).
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
	boundLogFields(f)
	var entry *logrus.Entry
	if l, ok := h.deps.Logger.(*logrus.Logger); ok {
		// The map is ours and holds no func values: it becomes the entry's
		// data instead of being copied (WithFields).
		entry = logrus.NewEntry(l)
		entry.Data = f
	} else {
		entry = h.deps.Logger.WithFields(f)
	}
	if err == nil {
		entry.Info("")
		return
	}
	entry = entry.WithField("error", clip(err.Error(), maxLogError))
	if e := errs.As(err); render.Status(err) >= 500 || (e != nil && e.Kind == errs.Unavailable) {
		entry.Error("")
		return
	}
	entry.Warn("")
}
