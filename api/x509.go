package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

func (h *Handler) sign(w http.ResponseWriter, r *http.Request, a *authority.Authority, f logrus.Fields) error {
	var body wire.SignRequest
	if err := readSignRequest(r, &body); err != nil {
		return err
	}
	if err := checkSignRequest(&body); err != nil {
		return err
	}
	csr, err := parseCSR(body.CSR)
	if err != nil {
		return err
	}
	// authority.Sign checks the CSR signature, then reports a missing ott.
	iss, err := a.Sign(r.Context(), &authority.SignRequest{
		CSR: csr, OTT: body.OTT, NotBefore: body.NotBefore, NotAfter: body.NotAfter,
		TemplateData: body.TemplateData,
	})
	if err != nil {
		return err
	}
	h.writeIssued(w, a, iss, f)
	return nil
}

func (h *Handler) renew(w http.ResponseWriter, r *http.Request, a *authority.Authority, f logrus.Fields) error {
	cert := peerCertificate(r)
	var tok string
	if cert == nil {
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "Bearer ") {
			return errs.E(errs.BadRequest, "missing client certificate", nil)
		}
		tok = strings.TrimPrefix(auth, "Bearer ")
		if err := checkLen("authorization token", tok, MaxTokenSize); err != nil {
			return err
		}
		var err error
		if cert, err = a.AuthorizeRenewToken(r.Context(), tok); err != nil {
			return err
		}
	}
	var iss *authority.Issued
	var err error
	if a.Upstream() != nil {
		// A registration authority forwards the renew token upstream.
		iss, err = a.RenewForward(r.Context(), cert, tok)
	} else {
		iss, err = a.Renew(r.Context(), cert)
	}
	if err != nil {
		return err
	}
	h.writeIssued(w, a, iss, f)
	return nil
}

func (h *Handler) rekey(w http.ResponseWriter, r *http.Request, a *authority.Authority, f logrus.Fields) error {
	cert := peerCertificate(r)
	if cert == nil {
		return errs.E(errs.BadRequest, "missing client certificate", nil)
	}
	var body wire.RekeyRequest
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if err := checkLen("csr", body.CSR, MaxCSRSize); err != nil {
		return err
	}
	csr, err := parseCSR(body.CSR)
	if err != nil {
		return err
	}
	iss, err := a.Rekey(r.Context(), cert, csr)
	if err != nil {
		return err
	}
	h.writeIssued(w, a, iss, f)
	return nil
}

// checkSignRequest bounds the fields of a /sign body before any is parsed.
func checkSignRequest(b *wire.SignRequest) error {
	if err := checkLen("csr", b.CSR, MaxCSRSize); err != nil {
		return err
	}
	if err := checkLen("ott", b.OTT, MaxTokenSize); err != nil {
		return err
	}
	if len(b.TemplateData) > MaxTemplateDataSize {
		return tooLong("templateData", len(b.TemplateData), MaxTemplateDataSize)
	}
	return nil
}

// writeIssued answers 201 with a SignResponse and fills the log fields.
func (h *Handler) writeIssued(w http.ResponseWriter, a *authority.Authority, iss *authority.Issued, f logrus.Fields) {
	t := iss.Template
	f["serial"] = iss.Serial()
	f["subject"] = t.Subject.CommonName
	f["provisioner"] = iss.Provisioner.Name
	f["valid-from"] = t.NotBefore.Format("2006-01-02T15:04:05Z07:00")
	f["valid-to"] = t.NotAfter.Format("2006-01-02T15:04:05Z07:00")
	if len(t.DNSNames) > 0 {
		f["sans"] = t.DNSNames
	}
	chain := a.Issuer().ChainPEM()
	leaf := authority.EncodePEM(iss.DER)
	resp := wire.SignResponse{Certificate: leaf, CertChain: append([]string{leaf}, chain...)}
	if len(chain) > 0 {
		resp.CA = &chain[0]
	}
	var tlsJSON []byte
	if h.deps.TLSOptions != nil {
		resp.TLSOptions = h.deps.TLSOptions()
		if len(resp.TLSOptions) > 0 {
			var err error
			if tlsJSON, err = h.encodeTLSOptions(resp.TLSOptions); err != nil {
				render.Error(w, errs.E(errs.Internal, "error encoding response", err))
				return
			}
		}
	}
	// As json.Marshal would (wire.SignResponse.AppendJSON), without its
	// reflection: this runs for every certificate.
	size := 128 + 2*len(leaf) + len(tlsJSON)
	for _, c := range chain {
		size += 2 * len(c) // in ca and certChain
	}
	render.RawJSON(w, http.StatusCreated, resp.AppendJSON(make([]byte, 0, size+size/16), tlsJSON))
}

// encodeTLSOptions returns raw encoded as a JSON field value, reusing the
// previous encoding while the configuration hands out the same value.
func (h *Handler) encodeTLSOptions(raw json.RawMessage) ([]byte, error) {
	if c := h.tlsJSON.Load(); c != nil && len(c.raw) == len(raw) && &c.raw[0] == &raw[0] {
		return c.enc, nil
	}
	enc, err := wire.EncodeRaw(raw)
	if err != nil {
		return nil, err
	}
	h.tlsJSON.Store(&encodedRaw{raw: raw, enc: enc})
	return enc, nil
}
