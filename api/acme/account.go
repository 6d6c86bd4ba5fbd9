package acme

import (
	"encoding/json"
	"net/http"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority/acme"
)

type directoryMeta struct {
	TermsOfService          string   `json:"termsOfService,omitempty"`
	Website                 string   `json:"website,omitempty"`
	CaaIdentities           []string `json:"caaIdentities,omitempty"`
	ExternalAccountRequired bool     `json:"externalAccountRequired,omitempty"`
}

type directory struct {
	NewNonce   string         `json:"newNonce"`
	NewAccount string         `json:"newAccount"`
	NewOrder   string         `json:"newOrder"`
	RevokeCert string         `json:"revokeCert"`
	KeyChange  string         `json:"keyChange"`
	Meta       *directoryMeta `json:"meta,omitempty"`
}

func (h *Handler) directory(q *request) error {
	d := directory{
		NewNonce: q.link("new-nonce"), NewAccount: q.link("new-account"), NewOrder: q.link("new-order"),
		RevokeCert: q.link("revoke-cert"), KeyChange: q.link("key-change"),
	}
	tos, web, caa := q.prov.Meta()
	if tos != "" || web != "" || len(caa) > 0 || q.prov.RequireEAB() {
		d.Meta = &directoryMeta{TermsOfService: tos, Website: web, CaaIdentities: caa, ExternalAccountRequired: q.prov.RequireEAB()}
	}
	return writeJSON(q.w, http.StatusOK, d)
}

func (h *Handler) newNonce(q *request) error {
	if err := h.addNonce(q); err != nil {
		return err
	}
	if q.r.Method == http.MethodGet {
		q.w.WriteHeader(http.StatusNoContent)
	} else {
		q.w.WriteHeader(http.StatusOK)
	}
	return nil
}

type accountResponse struct {
	Status    string    `json:"status"`
	Contact   []string  `json:"contact,omitempty"`
	Orders    string    `json:"orders"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
}

func (q *request) accountJSON(a *acme.Account) accountResponse {
	return accountResponse{Status: a.Status, Contact: a.Contact, Orders: q.link("account", a.ID, "orders"), CreatedAt: a.CreatedAt}
}

type newAccountRequest struct {
	Contact                []string        `json:"contact"`
	TermsOfServiceAgreed   bool            `json:"termsOfServiceAgreed"`
	OnlyReturnExisting     bool            `json:"onlyReturnExisting"`
	ExternalAccountBinding json.RawMessage `json:"externalAccountBinding"`
}

func (h *Handler) newAccount(q *request) error {
	s, err := h.verify(q, true)
	if err != nil {
		return err
	}
	if s.account != nil {
		return acme.Problemf(acme.Malformed, "new-account must be signed with a jwk")
	}
	var req newAccountRequest
	if err := json.Unmarshal(s.payload, &req); err != nil {
		return acme.Problemf(acme.Malformed, "the new-account payload is not valid JSON: %v", err)
	}
	ctx := q.r.Context()
	if req.OnlyReturnExisting {
		acc, err := h.d.Service.AccountByKey(ctx, s.jwk)
		if err != nil {
			return err
		}
		q.w.Header().Set("Location", q.link("account", acc.ID))
		return writeJSON(q.w, http.StatusOK, q.accountJSON(acc))
	}
	if err := acme.CheckContacts(req.Contact); err != nil {
		return err
	}
	if acc, err := h.d.Service.AccountByKey(ctx, s.jwk); err == nil {
		q.w.Header().Set("Location", q.link("account", acc.ID))
		return writeJSON(q.w, http.StatusOK, q.accountJSON(acc))
	}
	bind, err := h.eabBinder(q, s, req.ExternalAccountBinding)
	if err != nil {
		return err
	}
	info := q.prov.Info()
	acc, created, err := h.d.Service.CreateAccount(ctx, &acme.Account{
		Key: s.jwk, Contact: req.Contact, LocationPrefix: q.link("account") + "/",
		ProvisionerID: info.ID, ProvisionerName: info.Name,
	}, bind)
	if err != nil {
		return err
	}
	q.fields["account"] = acc.ID
	q.w.Header().Set("Location", q.link("account", acc.ID))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(q.w, status, q.accountJSON(acc))
}

type updateAccountRequest struct {
	Contact []string `json:"contact"`
	Status  string   `json:"status"`
}

func (h *Handler) account(q *request) error {
	s, err := h.verify(q, false)
	if err != nil {
		return err
	}
	id := urlParam(q, "accID")
	if id != s.account.ID {
		return acme.Problemf(acme.Unauthorized, "the account in the URL is not the one that signed the request")
	}
	acc := s.account
	if !s.empty {
		var req updateAccountRequest
		if err := json.Unmarshal(s.payload, &req); err != nil {
			return acme.Problemf(acme.Malformed, "the account payload is not valid JSON: %v", err)
		}
		if req.Status != "" && req.Status != acme.StatusDeactivated {
			return acme.Problemf(acme.Malformed, "an account's status can only be set to deactivated")
		}
		if req.Contact != nil {
			if err := acme.CheckContacts(req.Contact); err != nil {
				return err
			}
		}
		acc, err = h.d.Service.UpdateAccount(q.r.Context(), id, func(a *acme.Account) error {
			if req.Contact != nil {
				a.Contact = req.Contact
			}
			if req.Status == acme.StatusDeactivated {
				a.Status = acme.StatusDeactivated
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	q.w.Header().Set("Location", q.link("account", acc.ID))
	return writeJSON(q.w, http.StatusOK, q.accountJSON(acc))
}

func (h *Handler) accountOrders(q *request) error {
	s, err := h.verify(q, false)
	if err != nil {
		return err
	}
	if urlParam(q, "accID") != s.account.ID {
		return acme.Problemf(acme.Unauthorized, "the account in the URL is not the one that signed the request")
	}
	ids, err := h.d.Service.AccountOrders(q.r.Context(), s.account.ID)
	if err != nil {
		return err
	}
	urls := make([]string, 0, len(ids))
	for _, id := range ids {
		urls = append(urls, q.link("order", id))
	}
	return writeJSON(q.w, http.StatusOK, map[string][]string{"orders": urls})
}

// keyChange implements RFC 8555 §7.3.5: the outer JWS is signed by the
// account key, the inner one (the payload) by the new key and names the
// account and the old key.
func (h *Handler) keyChange(q *request) error {
	s, err := h.verify(q, false)
	if err != nil {
		return err
	}
	inner, err := jose.ParseSigned(string(s.payload), Algorithms)
	if err != nil || len(inner.Signatures) != 1 {
		return acme.Problemf(acme.Malformed, "the key-change payload is not a JWS")
	}
	hdr := inner.Signatures[0].Protected
	if hdr.JSONWebKey == nil || hdr.KeyID != "" || hdr.Nonce != "" {
		return acme.Problemf(acme.Malformed, "the inner JWS must carry a jwk, and no kid or nonce")
	}
	if u, _ := hdr.ExtraHeaders["url"].(string); u != q.requestURL() {
		return acme.Problemf(acme.Malformed, "the inner JWS url is not the request's URL")
	}
	if err := checkKey(hdr.JSONWebKey); err != nil {
		return err
	}
	payload, err := inner.Verify(hdr.JSONWebKey)
	if err != nil {
		return acme.Problemf(acme.Malformed, "the inner JWS signature is invalid")
	}
	var req struct {
		Account string           `json:"account"`
		OldKey  *jose.JSONWebKey `json:"oldKey"`
	}
	if err := json.Unmarshal(payload, &req); err != nil || req.OldKey == nil {
		return acme.Problemf(acme.Malformed, "the inner payload must have account and oldKey")
	}
	if req.Account != q.link("account", s.account.ID) {
		return acme.Problemf(acme.Malformed, "the inner payload's account is not the signer's")
	}
	acc, conflict, err := h.d.Service.KeyChange(q.r.Context(), s.account.ID, req.OldKey, hdr.JSONWebKey)
	if conflict != "" {
		q.w.Header().Set("Location", q.link("account", conflict))
		q.w.Header().Set("Content-Type", "application/problem+json")
		q.w.WriteHeader(http.StatusConflict)
		_ = json.NewEncoder(q.w).Encode(problemBody{Type: acme.ProblemPrefix + string(acme.Malformed), Detail: "the new key is already in use by another account"})
		return nil
	}
	if err != nil {
		return err
	}
	q.w.Header().Set("Location", q.link("account", acc.ID))
	return writeJSON(q.w, http.StatusOK, q.accountJSON(acc))
}

// eabBinder checks the external account binding (RFC 8555 §7.3.4); with
// requireEAB and none it refuses the account.
func (h *Handler) eabBinder(q *request, s *signed, eab json.RawMessage) (func(tx acmeTx, a *acme.Account) error, error) {
	if len(eab) == 0 || string(eab) == "null" {
		if q.prov.RequireEAB() {
			return nil, acme.Problemf(acme.ExternalAccountRequired, "no external account binding provided")
		}
		return nil, nil
	}
	return acme.EABBinder(q.prov.Info().ID, q.link("new-account"), s.jwk, eab)
}
