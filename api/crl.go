package api

import (
	"net/http"
	"strconv"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority"
)

// crl serves the CRL from memory (wire-spec §3.4 GET /crl): DER by
// default, PEM with ?pem; 404 when CRLs are disabled.
func (h *Handler) crl(w http.ResponseWriter, r *http.Request, a *authority.Authority, fields logrus.Fields) error {
	c, err := a.CurrentCRL(r.Context())
	if err != nil {
		return err
	}
	fields["crl-number"] = c.Number
	hd := w.Header()
	hd.Set("Expires", c.NextUpdate.UTC().Format(http.TimeFormat))
	body := c.DER
	if _, ok := r.URL.Query()["pem"]; ok {
		hd.Set("Content-Type", "application/x-pem-file")
		hd.Set("Content-Disposition", `attachment; filename="crl.pem"`)
		body = c.PEM
	} else {
		hd.Set("Content-Type", "application/pkix-crl")
		hd.Set("Content-Disposition", `attachment; filename="crl.crl"`)
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}
