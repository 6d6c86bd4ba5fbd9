package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// listCertificates serves GET /admin/certificates: the certificate
// inventory, one page per admin token (Authorization: Bearer <token>).
// Query: expiring-before, expiring-after (RFC 3339), provisioner, subject,
// revoked (true|false), cursor, limit (1..1000, default 100; larger values
// are lowered to 1000).
func (h *Handler) listCertificates(w http.ResponseWriter, r *http.Request, a *authority.Authority, f logrus.Fields) error {
	ott, ok := bearerToken(r)
	if !ok {
		return errs.Errorf(errs.Unauthorized, "missing Authorization: Bearer token")
	}
	if err := checkLen("authorization token", ott, MaxTokenSize); err != nil {
		return err
	}
	filter, err := certificateFilter(r)
	if err != nil {
		return err
	}
	res, err := a.ListCertificates(r.Context(), ott, filter)
	if err != nil {
		return err
	}
	body := wire.CertificateListResponse{Certificates: make([]wire.CertificateInfo, 0, len(res.Certificates)), NextCursor: res.NextCursor}
	for _, c := range res.Certificates {
		body.Certificates = append(body.Certificates, wireCertificateInfo(c))
	}
	f["provisioner"], f["count"] = res.Provisioner.Name, len(body.Certificates)
	render.JSON(w, http.StatusOK, body)
	return nil
}

func wireCertificateInfo(c *store.CertificateInfo) wire.CertificateInfo {
	out := wire.CertificateInfo{
		Serial: c.Serial, Subject: c.Subject, SANs: c.SANs, NotBefore: c.NotBefore, NotAfter: c.NotAfter,
		Provisioner: c.Provisioner, Revoked: c.Revoked,
	}
	if out.SANs == nil {
		out.SANs = []string{}
	}
	if c.Revoked {
		at, code := c.RevokedAt, c.ReasonCode
		out.RevokedAt, out.ReasonCode = &at, &code
	}
	return out
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// certificateFilter parses the query of GET /admin/certificates.
func certificateFilter(r *http.Request) (store.CertificateFilter, error) {
	q := r.URL.Query()
	var f store.CertificateFilter
	if err := checkQuery(q, maxQueryValueLen, "expiring-before", "expiring-after", "provisioner", "subject", "revoked", "cursor", "limit"); err != nil {
		return f, err
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"expiring-before", &f.ExpiringBefore}, {"expiring-after", &f.ExpiringAfter}} {
		if v := q.Get(t.name); v != "" {
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, errs.Errorf(errs.BadRequest, "invalid %s %q: use an RFC 3339 time such as 2026-01-02T15:04:05Z", t.name, v)
			}
			*t.dst = tm
		}
	}
	f.Provisioner, f.Subject, f.Cursor = q.Get("provisioner"), q.Get("subject"), q.Get("cursor")
	if v := q.Get("revoked"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, errs.Errorf(errs.BadRequest, "invalid revoked %q: use true or false", v)
		}
		f.Revoked = &b
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return f, errs.Errorf(errs.BadRequest, "invalid limit %q: use a number from 1 to %d", v, store.MaxListLimit)
		}
		f.Limit = min(n, store.MaxListLimit)
	}
	return f, nil
}
