package acme

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"strconv"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority/acme"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

type orderResponse struct {
	Status         string            `json:"status"`
	Expires        time.Time         `json:"expires"`
	Identifiers    []acme.Identifier `json:"identifiers"`
	NotBefore      time.Time         `json:"notBefore,omitzero"`
	NotAfter       time.Time         `json:"notAfter,omitzero"`
	Authorizations []string          `json:"authorizations"`
	Finalize       string            `json:"finalize"`
	Certificate    string            `json:"certificate,omitempty"`
	Error          *acme.ProblemJSON `json:"error,omitempty"`
}

func (q *request) orderJSON(o *acme.Order) orderResponse {
	r := orderResponse{
		Status: o.Status, Expires: o.ExpiresAt, Identifiers: o.Identifiers, NotBefore: o.NotBefore, NotAfter: o.NotAfter,
		Finalize: q.link("order", o.ID, "finalize"), Error: o.Error,
	}
	for _, id := range o.AuthorizationIDs {
		r.Authorizations = append(r.Authorizations, q.link("authz", id))
	}
	if o.CertificateID != "" {
		r.Certificate = q.link("certificate", o.CertificateID)
	}
	return r
}

func (h *Handler) newOrder(q *request) error {
	s, err := h.verify(q, false)
	if err != nil {
		return err
	}
	var req struct {
		Identifiers []acme.Identifier `json:"identifiers"`
		NotBefore   time.Time         `json:"notBefore"`
		NotAfter    time.Time         `json:"notAfter"`
	}
	if err := json.Unmarshal(s.payload, &req); err != nil {
		return acme.Problemf(acme.Malformed, "the new-order payload is not valid JSON: %v", err)
	}
	o, err := h.d.Service.NewOrder(q.r.Context(), s.account, acme.OrderRequest{
		Identifiers: req.Identifiers, NotBefore: req.NotBefore, NotAfter: req.NotAfter,
		ProvisionerID: q.prov.Info().ID, Challenges: q.prov.Challenges(), CheckPolicy: func(dns []string, ips []net.IP) error {
			if err := q.a.CheckNamePolicy(q.prov.Info().Name, dns, ips); err != nil {
				return err
			}
			// The policy of the EAB key the account was bound with, if any.
			pol, err := h.d.Service.AccountPolicy(q.r.Context(), s.account)
			if err != nil {
				return err
			}
			return q.a.CheckEABPolicy(s.account.ExternalAccountKeyID, pol, dns, ips)
		},
	})
	if err != nil {
		return err
	}
	q.fields["order"] = o.ID
	q.w.Header().Set("Location", q.link("order", o.ID))
	return writeJSON(q.w, http.StatusCreated, q.orderJSON(o))
}

func (h *Handler) order(q *request) error {
	s, err := h.verify(q, false)
	if err != nil {
		return err
	}
	o, err := h.d.Service.Order(q.r.Context(), s.account.ID, urlParam(q, "ordID"))
	if err != nil {
		return err
	}
	q.w.Header().Set("Location", q.link("order", o.ID))
	return writeJSON(q.w, http.StatusOK, q.orderJSON(o))
}

func (h *Handler) finalize(q *request) error {
	s, err := h.verify(q, false)
	if err != nil {
		return err
	}
	var req struct {
		CSR string `json:"csr"`
	}
	if err := json.Unmarshal(s.payload, &req); err != nil {
		return acme.Problemf(acme.Malformed, "the finalize payload is not valid JSON: %v", err)
	}
	der, err := base64.RawURLEncoding.DecodeString(req.CSR)
	if err != nil {
		return acme.Problemf(acme.BadCSR, "the csr is not base64url")
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return &acme.Error{Type: acme.BadCSR, Detail: "the csr cannot be parsed", Cause: err}
	}
	a, prov := q.a, q.prov
	sign := func(ctx contextT, csr *x509.CertificateRequest, names []string, nb, na time.Time) (*acme.Signed, error) {
		issued, err := a.SignWithPlanWindow(ctx, csr, prov.AuthorizeOrder(csr, names), nb, na)
		if err != nil {
			return nil, err
		}
		out := &acme.Signed{Leaf: issued.DER, Serial: issued.Serial(), Durable: issued.Durable}
		for _, c := range a.Issuer().Chain() {
			out.Intermediates = append(out.Intermediates, c.Raw)
		}
		return out, nil
	}
	o, err := h.d.Service.Finalize(q.r.Context(), s.account, urlParam(q, "ordID"), csr, sign)
	if err != nil {
		return err
	}
	q.fields["order"] = o.ID
	q.w.Header().Set("Location", q.link("order", o.ID))
	return writeJSON(q.w, http.StatusOK, q.orderJSON(o))
}

type challengeResponse struct {
	Type      string            `json:"type"`
	Status    string            `json:"status"`
	URL       string            `json:"url"`
	Token     string            `json:"token"`
	Validated string            `json:"validated,omitempty"`
	Error     *acme.ProblemJSON `json:"error,omitempty"`
}

func (q *request) challengeJSON(ch *acme.Challenge) challengeResponse {
	return challengeResponse{
		Type: ch.Type, Status: ch.Status, URL: q.link("challenge", ch.AuthzID, ch.ID), Token: ch.Token,
		Validated: ch.ValidatedAt, Error: ch.Error,
	}
}

func (h *Handler) authz(q *request) error {
	s, err := h.verify(q, false)
	if err != nil {
		return err
	}
	id := urlParam(q, "authzID")
	if !s.empty {
		var req struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(s.payload, &req); err != nil || req.Status != acme.StatusDeactivated {
			return acme.Problemf(acme.Malformed, "an authorization can only be updated to status deactivated")
		}
		if err := h.d.Service.DeactivateAuthz(q.r.Context(), s.account.ID, id); err != nil {
			return err
		}
	}
	az, chs, err := h.d.Service.Authz(q.r.Context(), s.account.ID, id)
	if err != nil {
		return err
	}
	resp := struct {
		Identifier acme.Identifier     `json:"identifier"`
		Status     string              `json:"status"`
		Expires    time.Time           `json:"expires"`
		Challenges []challengeResponse `json:"challenges"`
		Wildcard   bool                `json:"wildcard,omitempty"`
	}{Identifier: az.Identifier, Status: az.Status, Expires: az.ExpiresAt, Wildcard: az.Wildcard, Challenges: []challengeResponse{}}
	for _, ch := range chs {
		resp.Challenges = append(resp.Challenges, q.challengeJSON(ch))
		if az.Status == acme.StatusPending && ch.Status == acme.StatusProcessing {
			h.setRetryAfter(q, ch)
		}
	}
	q.w.Header().Set("Location", q.link("authz", az.ID))
	return writeJSON(q.w, http.StatusOK, resp)
}

func (h *Handler) challenge(q *request) error {
	s, err := h.verify(q, false)
	if err != nil {
		return err
	}
	azID, id := urlParam(q, "authzID"), urlParam(q, "chID")
	var ch *acme.Challenge
	if s.empty {
		ch, err = h.d.Service.Challenge(q.r.Context(), s.account.ID, azID, id)
	} else {
		ch, err = h.d.Service.ValidateChallenge(q.r.Context(), s.account, azID, id, q.prov.Allows)
	}
	if err != nil {
		return err
	}
	q.w.Header().Add("Link", `<`+q.link("authz", azID)+`>;rel="up"`)
	q.w.Header().Set("Location", q.link("challenge", azID, id))
	if ch.Status == acme.StatusProcessing {
		h.setRetryAfter(q, ch)
	}
	return writeJSON(q.w, http.StatusOK, q.challengeJSON(ch))
}

// setRetryAfter tells the client when to poll a challenge being retried
// (RFC 8555 §8.2): whole seconds, rounded up.
func (h *Handler) setRetryAfter(q *request, ch *acme.Challenge) {
	d := h.d.Service.RetryAfter(ch)
	q.w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
}

func (h *Handler) certificate(q *request) error {
	s, err := h.verify(q, false)
	if err != nil {
		return err
	}
	chain, err := h.d.Service.Certificate(q.r.Context(), s.account.ID, urlParam(q, "certID"))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, der := range chain {
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	q.w.Header().Set("Content-Type", "application/pem-certificate-chain")
	q.w.WriteHeader(http.StatusOK)
	_, err = q.w.Write(buf.Bytes())
	return err
}

// revokeCert implements RFC 8555 §7.6: signed by the ordering account (kid)
// or by the certificate's own key (jwk).
func (h *Handler) revokeCert(q *request) error {
	s, err := h.verify(q, true)
	if err != nil {
		return err
	}
	var req struct {
		Certificate string `json:"certificate"`
		Reason      *int   `json:"reason"`
	}
	if err := json.Unmarshal(s.payload, &req); err != nil {
		return acme.Problemf(acme.Malformed, "the revoke-cert payload is not valid JSON: %v", err)
	}
	der, err := base64.RawURLEncoding.DecodeString(req.Certificate)
	if err != nil {
		return acme.Problemf(acme.Malformed, "the certificate is not base64url")
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return acme.Problemf(acme.Malformed, "the certificate cannot be parsed")
	}
	reason := 0
	if req.Reason != nil {
		reason = *req.Reason
		if reason < 0 || reason > 10 || reason == 7 || reason == 8 {
			return acme.Problemf(acme.BadRevocationReason, "reason code %d is not allowed", reason)
		}
	}
	ctx := q.r.Context()
	if s.account != nil {
		if err := h.d.Service.MayRevoke(ctx, s.account, cert); err != nil {
			return err
		}
	} else {
		certKey := jose.JSONWebKey{Key: cert.PublicKey}
		a, err1 := acme.Thumbprint(&certKey)
		b, err2 := acme.Thumbprint(s.jwk)
		if err1 != nil || err2 != nil || a != b {
			return acme.Problemf(acme.Unauthorized, "the request is signed neither by the ordering account nor by the certificate's key")
		}
		if _, err := h.d.Service.CertificateBySerial(ctx, cert.SerialNumber.String()); err != nil {
			return acme.Problemf(acme.Unauthorized, "the certificate was not issued by this ACME server")
		}
	}
	if err := q.a.RevokeACME(ctx, cert, reason, q.prov.Info()); err != nil {
		if errs.Is(err, errs.Conflict) {
			return acme.Problemf(acme.AlreadyRevoked, "the certificate is already revoked")
		}
		return err
	}
	q.fields["serial"] = cert.SerialNumber.String()
	q.w.WriteHeader(http.StatusOK)
	return nil
}
