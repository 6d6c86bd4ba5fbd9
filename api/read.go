package api

import (
	"crypto/x509"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner/webhook"
)

func (h *Handler) health(w http.ResponseWriter, _ *http.Request, a *authority.Authority, _ logrus.Fields) error {
	if err := a.Health(); err != nil {
		return err // 503 naming the key manager
	}
	render.JSON(w, http.StatusOK, wire.StatusResponse{Status: "ok"})
	return nil
}

func (h *Handler) version(w http.ResponseWriter, _ *http.Request, _ *authority.Authority, _ logrus.Fields) error {
	render.JSON(w, http.StatusOK, wire.VersionResponse{Version: h.deps.Version})
	return nil
}

func (h *Handler) root(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ logrus.Fields) error {
	sum := chi.URLParam(r, "sha")
	if err := checkLen("fingerprint", sum, maxFingerprintLen); err != nil {
		return err
	}
	c, err := a.Root(sum)
	if err != nil {
		return err
	}
	render.JSON(w, http.StatusOK, wire.RootResponse{RootPEM: authority.EncodePEM(c.Raw)})
	return nil
}

func pems(cs []*x509.Certificate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = authority.EncodePEM(c.Raw)
	}
	return out
}

// roots answers 201, as step-ca does (wire-spec §10.1).
func (h *Handler) roots(w http.ResponseWriter, _ *http.Request, a *authority.Authority, _ logrus.Fields) error {
	render.JSON(w, http.StatusCreated, wire.CertificatesResponse{Certificates: pems(a.Roots())})
	return nil
}

func (h *Handler) federation(w http.ResponseWriter, _ *http.Request, a *authority.Authority, _ logrus.Fields) error {
	render.JSON(w, http.StatusCreated, wire.CertificatesResponse{Certificates: pems(a.Federation())})
	return nil
}

func (h *Handler) intermediates(w http.ResponseWriter, _ *http.Request, a *authority.Authority, _ logrus.Fields) error {
	render.JSON(w, http.StatusCreated, wire.CertificatesResponse{Certificates: a.Issuer().ChainPEM()})
	return nil
}

func writePEM(w http.ResponseWriter, blocks []string) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	w.WriteHeader(http.StatusOK)
	for _, b := range blocks {
		_, _ = w.Write([]byte(b))
	}
}

func (h *Handler) rootsPEM(w http.ResponseWriter, _ *http.Request, a *authority.Authority, _ logrus.Fields) error {
	writePEM(w, pems(a.Roots()))
	return nil
}

func (h *Handler) intermediatesPEM(w http.ResponseWriter, _ *http.Request, a *authority.Authority, _ logrus.Fields) error {
	writePEM(w, a.Issuer().ChainPEM())
	return nil
}

func (h *Handler) provisioners(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ logrus.Fields) error {
	q := r.URL.Query()
	if err := checkQuery(q, maxCursorLen, "cursor"); err != nil {
		return err
	}
	if err := checkQuery(q, maxLimitLen, "limit"); err != nil {
		return err
	}
	limit := 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return errs.Errorf(errs.BadRequest, "limit '%s' is not an integer", s)
		}
		limit = n
	}
	page, next := a.Provisioners().Page(q.Get("cursor"), limit)
	resp := wire.ProvisionersResponse{Provisioners: make([]json.RawMessage, len(page)), NextCursor: next}
	for i, p := range page {
		// Webhook secrets are never served, whatever the type (step-ca
		// does not serialize them either).
		j, err := webhook.Redact(p.JSON())
		if err != nil {
			return errs.E(errs.Internal, "provisioner JSON", err)
		}
		resp.Provisioners[i] = j
	}
	render.JSON(w, http.StatusOK, resp)
	return nil
}

func (h *Handler) encryptedKey(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ logrus.Fields) error {
	kid := chi.URLParam(r, "kid")
	if err := checkLen("kid", kid, maxKIDLen); err != nil {
		return err
	}
	p, ok := a.Provisioners().ByKID(kid)
	if !ok {
		return errs.Errorf(errs.NotFound, "encrypted key with kid %s was not found", kid)
	}
	_, key, _ := p.EncryptedKey()
	render.JSON(w, http.StatusOK, wire.EncryptedKeyResponse{Key: key})
	return nil
}
