package api

import (
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/sirupsen/logrus"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/api/render"
	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/ssh"
)

// maxPrincipals bounds the principals of a request.
const maxPrincipals = 256

// sshRoutes mounts /ssh/* (wire-spec §3.3), with step-ca's legacy aliases.
func (h *Handler) sshRoutes(r chi.Router) {
	r.Post("/ssh/sign", h.wrap(h.sshSign))
	r.Post("/sign-ssh", h.wrap(h.sshSign))
	r.Post("/ssh/revoke", h.wrap(h.sshRevoke))
	r.Post("/ssh/renew", h.wrap(h.sshRenew))
	r.Post("/ssh/rekey", h.wrap(h.sshRekey))
	r.Get("/ssh/roots", h.wrap(h.sshRoots))
	r.Get("/ssh/federation", h.wrap(h.sshFederation))
	r.Get("/ssh/krl", h.wrap(h.sshKRL))
	r.Post("/ssh/check-host", h.wrap(h.sshCheckHost))
	r.Get("/ssh/hosts", h.wrap(h.sshHosts))
	r.Get("/ssh/get-hosts", h.wrap(h.sshHosts))
	r.Post("/ssh/bastion", h.wrap(h.sshBastion))
	r.Post("/ssh/config", h.wrap(h.sshConfig))
	r.Post("/ssh/config/{type}", h.wrap(h.sshConfig))
}

func (h *Handler) sshSign(w http.ResponseWriter, r *http.Request, a *authority.Authority, f logrus.Fields) error {
	var body wire.SSHSignRequest
	if err := readJSON(r, &body); err != nil {
		return err
	}
	// step-ca's order of checks (wire-spec §3.4).
	if _, err := ssh.CertType(body.CertType); err != nil {
		return err
	}
	if len(body.PublicKey) == 0 {
		return errs.E(errs.BadRequest, "missing or empty publicKey", nil)
	}
	if body.OTT == "" {
		return errs.E(errs.BadRequest, "missing or empty ott", nil)
	}
	if err := checkLen("ott", body.OTT, MaxTokenSize); err != nil {
		return err
	}
	if len(body.Principals) > maxPrincipals {
		return errs.Errorf(errs.BadRequest, "too many principals: %d, at most %d", len(body.Principals), maxPrincipals)
	}
	key, err := ssh.ParsePublicKey(body.PublicKey)
	if err != nil {
		return err
	}
	req := &authority.SSHSignRequest{PublicKey: key, OTT: body.OTT, Options: ssh.Options{
		CertType: body.CertType, KeyID: body.KeyID, Principals: body.Principals,
		ValidAfter: body.ValidAfter, ValidBefore: body.ValidBefore,
	}, TemplateData: body.TemplateData}
	var addUserKey gossh.PublicKey
	if len(body.AddUserPublicKey) > 0 {
		if addUserKey, err = ssh.ParsePublicKey(body.AddUserPublicKey); err != nil {
			return errs.E(errs.BadRequest, "error parsing addUserPublicKey", err)
		}
	}
	var identityCSR *x509.CertificateRequest
	if body.IdentityCSR != nil && *body.IdentityCSR != "" {
		if err := checkLen("identityCSR", *body.IdentityCSR, MaxCSRSize); err != nil {
			return err
		}
		if identityCSR, err = parseCSR(*body.IdentityCSR); err != nil {
			return errs.E(errs.BadRequest, "invalid identityCSR", err)
		}
	}
	res, err := a.SignSSH(r.Context(), req)
	if err != nil {
		return err
	}
	logSSHCert(f, res)
	resp := wire.SSHSignResponse{Certificate: base64.StdEncoding.EncodeToString(res.Cert.Marshal())}
	// step-ca issues the "add user" certificate only when the certificate
	// qualifies, and answers without it otherwise.
	if addUserKey != nil && authority.IsValidForAddUser(res.Cert) == nil {
		au, err := a.SignSSHAddUser(r.Context(), addUserKey, res.Cert)
		if err != nil {
			return err
		}
		resp.AddUserCertificate = base64.StdEncoding.EncodeToString(au.Marshal())
	}
	if identityCSR != nil {
		iss, err := a.SignSSHIdentity(r.Context(), body.OTT, identityCSR, res.Cert)
		if err != nil {
			return err
		}
		resp.IdentityCertificate = identityChain(a, iss)
	}
	render.JSON(w, http.StatusCreated, resp)
	return nil
}

// identityChain is an identity certificate's PEM chain (leaf first).
func identityChain(a *authority.Authority, iss *authority.Issued) []string {
	return append([]string{authority.EncodePEM(iss.DER)}, a.Issuer().ChainPEM()...)
}

// renewIdentity renews the request's TLS client certificate, if any, with
// the validity of the renewed SSH certificate (step-ca's identityCrt of
// /ssh/renew and /ssh/rekey); nil without one.
func renewIdentity(r *http.Request, a *authority.Authority, cert *gossh.Certificate) ([]string, error) {
	peer := peerCertificate(r)
	if peer == nil {
		return nil, nil
	}
	c := *peer
	c.NotBefore, c.NotAfter = ssh.Time(cert.ValidAfter).UTC(), ssh.Time(cert.ValidBefore).UTC()
	iss, err := a.Renew(r.Context(), &c)
	if err != nil {
		return nil, err
	}
	return identityChain(a, iss), nil
}

// logSSHCert adds the issued certificate to the request log line.
func logSSHCert(f logrus.Fields, res *authority.SSHIssued) {
	f["serial"] = strconv.FormatUint(res.Cert.Serial, 10)
	f["certificate-type"] = ssh.CertTypeName(res.Cert.CertType)
	f["key-id"] = res.Cert.KeyId
	f["principals"] = res.Cert.ValidPrincipals
	f["valid-from"] = ssh.Time(res.Cert.ValidAfter).UTC().Format(time.RFC3339)
	f["valid-to"] = ssh.Time(res.Cert.ValidBefore).UTC().Format(time.RFC3339)
	f["provisioner"] = res.Provisioner.Name
}

func (h *Handler) sshRevoke(w http.ResponseWriter, r *http.Request, a *authority.Authority, f logrus.Fields) error {
	var body wire.SSHRevokeRequest
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.Serial == "" {
		return errs.E(errs.BadRequest, "missing serial", nil)
	}
	if err := checkLen("serial", body.Serial, 20); err != nil {
		return err
	}
	if body.ReasonCode < 0 || body.ReasonCode > 10 {
		return errs.E(errs.BadRequest, "reasonCode out of bounds", nil)
	}
	if !body.Passive {
		return errs.E(errs.NotImplemented, "non-passive revocation not implemented", nil)
	}
	if body.OTT == "" {
		return errs.E(errs.BadRequest, "missing ott", nil)
	}
	if err := checkLen("ott", body.OTT, MaxTokenSize); err != nil {
		return err
	}
	if err := checkLen("reason", body.Reason, MaxReasonSize); err != nil {
		return err
	}
	res, err := a.RevokeSSH(r.Context(), &authority.SSHRevokeRequest{
		Serial: body.Serial, ReasonCode: body.ReasonCode, Reason: body.Reason, OTT: body.OTT,
	})
	if err != nil {
		return err
	}
	f["serial"], f["reasonCode"], f["reason"], f["passiveOnly"] = res.Serial, body.ReasonCode, body.Reason, true
	f["provisioner"] = res.Provisioner.Name
	render.JSON(w, http.StatusOK, wire.StatusResponse{Status: "ok"})
	return nil
}

func encodeKeys(ks []gossh.PublicKey) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = base64.StdEncoding.EncodeToString(k.Marshal())
	}
	return out
}

func (h *Handler) sshRoots(w http.ResponseWriter, _ *http.Request, a *authority.Authority, _ logrus.Fields) error {
	k, err := a.SSHRoots()
	if err != nil {
		return err
	}
	render.JSON(w, http.StatusOK, wire.SSHRootsResponse{UserKeys: encodeKeys(k.User), HostKeys: encodeKeys(k.Host)})
	return nil
}

func (h *Handler) sshFederation(w http.ResponseWriter, _ *http.Request, a *authority.Authority, _ logrus.Fields) error {
	k, err := a.SSHFederation()
	if err != nil {
		return err
	}
	render.JSON(w, http.StatusOK, wire.SSHRootsResponse{UserKeys: encodeKeys(k.User), HostKeys: encodeKeys(k.Host)})
	return nil
}

// sshKRL serves the OpenSSH key revocation list from memory, with a
// validator pair so that a poller (step ssh krl) downloads only changes.
func (h *Handler) sshKRL(w http.ResponseWriter, r *http.Request, a *authority.Authority, f logrus.Fields) error {
	doc, err := a.KRL(r.Context())
	if err != nil {
		return err
	}
	f["revoked"] = doc.Count
	hd := w.Header()
	hd.Set("ETag", doc.ETag)
	hd.Set("Last-Modified", doc.Modified.Format(http.TimeFormat))
	hd.Set("Cache-Control", "no-cache")
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if inm == doc.ETag || inm == "*" {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	} else if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !doc.Modified.After(t) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	}
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Length", strconv.Itoa(len(doc.Body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc.Body)
	return nil
}

func (h *Handler) sshCheckHost(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ logrus.Fields) error {
	var body wire.SSHCheckHostRequest
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.Type != ssh.HostCert {
		return errs.Errorf(errs.BadRequest, "unsupported type '%s'", body.Type)
	}
	if body.Principal == "" {
		return errs.E(errs.BadRequest, "missing or empty principal", nil)
	}
	if err := checkLen("principal", body.Principal, 255); err != nil {
		return err
	}
	ok, err := a.SSHCheckHost(r.Context(), body.Principal)
	if err != nil {
		return err
	}
	render.JSON(w, http.StatusOK, wire.SSHCheckHostResponse{Exists: ok})
	return nil
}

func (h *Handler) sshHosts(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ logrus.Fields) error {
	hosts, err := a.SSHHosts(r.Context())
	if err != nil {
		return err
	}
	out := wire.SSHHostsResponse{Hosts: make([]wire.SSHHost, len(hosts))}
	for i, h := range hosts {
		out.Hosts[i] = wire.SSHHost{Hostname: h}
	}
	render.JSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) sshBastion(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ logrus.Fields) error {
	var body wire.SSHBastionRequest
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.Hostname == "" {
		return errs.E(errs.BadRequest, "missing or empty hostname", nil)
	}
	out := wire.SSHBastionResponse{Hostname: body.Hostname}
	if b := a.SSHBastion(); b != nil {
		out.Bastion = &wire.SSHBastion{Hostname: b.Hostname, User: b.User, Port: b.Port, Command: b.Command, Flags: b.Flags}
	}
	render.JSON(w, http.StatusOK, out)
	return nil
}

// maxConfigData bounds the template data of /ssh/config.
const maxConfigData = 64

func (h *Handler) sshConfig(w http.ResponseWriter, r *http.Request, a *authority.Authority, _ logrus.Fields) error {
	var body wire.SSHConfigRequest
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if len(body.Data) > maxConfigData {
		return errs.Errorf(errs.BadRequest, "too many template data keys: %d, at most %d", len(body.Data), maxConfigData)
	}
	typ := body.Type
	switch typ {
	case "", ssh.UserCert:
		typ = ssh.UserCert
	case ssh.HostCert:
	default:
		return errs.Errorf(errs.BadRequest, "unsupported type '%s'", body.Type)
	}
	outs, err := a.SSHConfig(typ, body.Data)
	if err != nil {
		return err
	}
	ts := make([]wire.SSHTemplate, len(outs))
	for i, o := range outs {
		ts[i] = wire.SSHTemplate{Name: o.Name, Type: o.Type, Path: o.Path, Comment: o.Comment, Content: o.Content}
	}
	resp := wire.SSHConfigResponse{UserTemplates: ts}
	if typ == ssh.HostCert {
		resp = wire.SSHConfigResponse{HostTemplates: ts}
	}
	render.JSON(w, http.StatusOK, resp)
	return nil
}

func (h *Handler) sshRenew(w http.ResponseWriter, r *http.Request, a *authority.Authority, f logrus.Fields) error {
	var body wire.SSHRenewRequest
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.OTT == "" {
		return errs.E(errs.BadRequest, "missing or empty ott", nil)
	}
	if err := checkLen("ott", body.OTT, MaxTokenSize); err != nil {
		return err
	}
	res, err := a.RenewSSH(r.Context(), body.OTT)
	if err != nil {
		return err
	}
	logSSHCert(f, res)
	identity, err := renewIdentity(r, a, res.Cert)
	if err != nil {
		return err
	}
	render.JSON(w, http.StatusCreated, wire.SSHSignResponse{Certificate: base64.StdEncoding.EncodeToString(res.Cert.Marshal()), IdentityCertificate: identity})
	return nil
}

func (h *Handler) sshRekey(w http.ResponseWriter, r *http.Request, a *authority.Authority, f logrus.Fields) error {
	var body wire.SSHRekeyRequest
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.OTT == "" {
		return errs.E(errs.BadRequest, "missing or empty ott", nil)
	}
	if err := checkLen("ott", body.OTT, MaxTokenSize); err != nil {
		return err
	}
	if len(body.PublicKey) == 0 {
		return errs.E(errs.BadRequest, "missing or empty publicKey", nil)
	}
	key, err := ssh.ParsePublicKey(body.PublicKey)
	if err != nil {
		return err
	}
	res, err := a.RekeySSH(r.Context(), body.OTT, key)
	if err != nil {
		return err
	}
	logSSHCert(f, res)
	identity, err := renewIdentity(r, a, res.Cert)
	if err != nil {
		return err
	}
	render.JSON(w, http.StatusCreated, wire.SSHSignResponse{Certificate: base64.StdEncoding.EncodeToString(res.Cert.Marshal()), IdentityCertificate: identity})
	return nil
}
