package api

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/ocsp"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// ocspGet answers GET /ocsp/{base64 request} (RFC 6960 §A.1.1): the path
// is the URL-encoded standard base64 of the DER request (some clients
// send it unescaped, or in base64url).
func (h *Handler) ocspGet(w http.ResponseWriter, r *http.Request, a *authority.Authority, fields logrus.Fields) error {
	raw := chi.URLParam(r, "*")
	if len(raw) > 2*ocsp.MaxRequestSize {
		return errs.E(errs.BadRequest, "OCSP request too large", nil)
	}
	if s, err := url.PathUnescape(raw); err == nil {
		raw = s
	}
	raw = strings.TrimRight(strings.NewReplacer("-", "+", "_", "/", " ", "+").Replace(raw), "=")
	der, err := base64.RawStdEncoding.DecodeString(raw)
	if err != nil {
		der = nil // answered as a malformed request
	}
	return h.ocspAnswer(w, r, a, fields, der, true)
}

// ocspPost answers POST /ocsp with an application/ocsp-request body.
func (h *Handler) ocspPost(w http.ResponseWriter, r *http.Request, a *authority.Authority, fields logrus.Fields) error {
	der, err := io.ReadAll(io.LimitReader(r.Body, ocsp.MaxRequestSize+1))
	if err != nil {
		return errs.E(errs.BadRequest, "error reading request body", err)
	}
	if len(der) > ocsp.MaxRequestSize {
		return errs.E(errs.BadRequest, "OCSP request too large", nil)
	}
	return h.ocspAnswer(w, r, a, fields, der, false)
}

// ocspAnswer writes the answer with RFC 5019 §6's caching headers for
// cacheable answers (GET, no nonce).
func (h *Handler) ocspAnswer(w http.ResponseWriter, r *http.Request, a *authority.Authority, fields logrus.Fields, der []byte, get bool) error {
	resp := a.OCSP()
	if resp == nil {
		return errs.E(errs.NotFound, "OCSP is disabled", nil)
	}
	ans, err := resp.Respond(r.Context(), der)
	if err != nil {
		return errs.E(errs.Internal, "error answering OCSP request", err)
	}
	fields["ocsp-status"] = ans.Status
	hd := w.Header()
	hd.Set("Content-Type", "application/ocsp-response")
	hd.Set("Content-Length", strconv.Itoa(len(ans.DER)))
	if ans.Cacheable && get {
		now := h.deps.Now()
		maxAge := max(int(ans.NextUpdate.Sub(now).Seconds()), 0)
		hd.Set("Last-Modified", ans.ThisUpdate.UTC().Format(http.TimeFormat))
		hd.Set("Expires", ans.NextUpdate.UTC().Format(http.TimeFormat))
		hd.Set("ETag", ans.ETag)
		hd.Set("Cache-Control", "max-age="+strconv.Itoa(maxAge)+", public, no-transform, must-revalidate")
		if r.Header.Get("If-None-Match") == ans.ETag {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	} else {
		hd.Set("Cache-Control", "no-cache, no-store")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(ans.DER)
	return nil
}
