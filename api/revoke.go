package api

import (
	"net/http"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

func (h *Handler) revoke(w http.ResponseWriter, r *http.Request, a *authority.Authority, f logrus.Fields) error {
	var body wire.RevokeRequest
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.Serial == "" {
		return errs.E(errs.BadRequest, "missing serial", nil)
	}
	// The serial is parsed before the other fields, as step-ca validates;
	// NormalizeSerial bounds its length before parsing it.
	serial, err := authority.NormalizeSerial(body.Serial)
	if err != nil {
		return err
	}
	if body.ReasonCode < 0 || body.ReasonCode > 10 {
		return errs.E(errs.BadRequest, "reasonCode out of bounds", nil)
	}
	if !body.Passive {
		return errs.E(errs.NotImplemented, "non-passive revocation not implemented", nil)
	}
	if err := checkLen("ott", body.OTT, MaxTokenSize); err != nil {
		return err
	}
	if err := checkLen("reason", body.Reason, MaxReasonSize); err != nil {
		return err
	}
	cert := peerCertificate(r)
	if body.OTT == "" && cert == nil {
		return errs.E(errs.BadRequest, "missing ott or client certificate", nil)
	}
	req := &authority.RevokeRequest{Serial: serial, ReasonCode: body.ReasonCode, Reason: body.Reason}
	if body.OTT != "" {
		req.OTT = body.OTT
	} else {
		req.Cert = cert
	}
	res, err := a.Revoke(r.Context(), req)
	if err != nil {
		return err
	}
	f["serial"], f["reasonCode"], f["reason"], f["passiveOnly"], f["mTLS"] = res.Serial, body.ReasonCode, body.Reason, true, res.MTLS
	f["provisioner"] = res.Provisioner.Name
	render.JSON(w, http.StatusOK, wire.StatusResponse{Status: "ok"})
	return nil
}
