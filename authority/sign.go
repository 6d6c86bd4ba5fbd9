package authority

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/mayfly-pki/mayfly/authority/issuer"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/meter"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
	"github.com/mayfly-pki/mayfly/templates"
)

// SignRequest is one X.509 sign request.
type SignRequest struct {
	CSR       *x509.CertificateRequest
	OTT       string
	NotBefore timeutil.TimeDuration
	NotAfter  timeutil.TimeDuration
	// TemplateData is the request's templateData (step ca certificate --set):
	// .Insecure.User for a provisioner with a template, ignored otherwise.
	TemplateData json.RawMessage

	// raInfo is the authenticated token's step.ra claim: the request came
	// from a registration authority (upstream.go).
	raInfo json.RawMessage
}

// Issued is a signed and persisted certificate.
type Issued struct {
	DER         []byte
	Template    *x509.Certificate // serial, subject, SANs and validity as signed
	Provisioner provisioner.Info
	// durable, when set, waits for the certificate's record, queued
	// without waiting (SignWithPlanWindow, store.QueuedCertificates).
	durable func(context.Context) error
}

// Durable returns once the certificate's record is durable, with the
// store's error if writing it failed. It returns nil at once unless the
// record was queued (SignWithPlanWindow): the caller then makes a write of
// its own durable first (the ACME order), which makes this one durable too.
func (i *Issued) Durable(ctx context.Context) error {
	if i == nil || i.durable == nil {
		return nil
	}
	return i.durable(ctx)
}

// Serial returns the decimal serial number.
func (i *Issued) Serial() string { return i.Template.SerialNumber.String() }

// Sign authorizes req's token and applies the provisioner's plan in the one
// order every type gets (provisioner.X509Plan): CSR validators, webhook
// enrich, template or default leaf, modifiers, caps, the validity check,
// webhook authorize, then signing and persisting (wire-spec §3.4 POST /sign,
// §5.1). It knows no provisioner type.
func (a *Authority) Sign(ctx context.Context, req *SignRequest) (*Issued, error) {
	var prov string
	iss, err := a.sign(ctx, req, &prov)
	a.decided(ctx, meter.OpSign, prov, req.CSR, iss, err)
	return iss, err
}

// sign is Sign; it sets *prov to the token's provisioner once found.
func (a *Authority) sign(ctx context.Context, req *SignRequest, prov *string) (*Issued, error) {
	if err := checkCSRSignature(req.CSR); err != nil {
		return nil, err
	}
	if req.OTT == "" {
		return nil, errs.E(errs.BadRequest, "missing ott", nil)
	}
	var plan *provisioner.X509Plan
	p, tok, err := a.authorizeToken(ctx, req.OTT, func(p provisioner.Interface, tok *token.Token) error {
		*prov = p.Info().Name
		var err error
		plan, err = p.AuthorizeSign(ctx, tok)
		return err
	})
	if err != nil {
		return nil, err
	}
	if st := tok.Claims.Step; st != nil && len(st.RA) > 0 && len(st.RA) <= maxRAInfoSize {
		req.raInfo = st.RA
	}
	return a.signPlan(ctx, req, plan, p.Info())
}

// SignWithPlan issues a certificate for csr with a plan a provisioner made
// for a request that carried no token (SCEP: the challenge in the request):
// the same checks and order as Sign, after the authorization. The caller
// checked csr's signature.
func (a *Authority) SignWithPlan(ctx context.Context, csr *x509.CertificateRequest, plan *provisioner.X509Plan) (*Issued, error) {
	if err := checkCSRSignature(csr); err != nil {
		return nil, err
	}
	iss, err := a.signPlan(ctx, &SignRequest{CSR: csr}, plan, plan.Info)
	a.decided(ctx, meter.OpSign, plan.Info.Name, csr, iss, err)
	return iss, err
}

// signPlan applies an authorized plan to req (Sign's order).
func (a *Authority) signPlan(ctx context.Context, req *SignRequest, plan *provisioner.X509Plan, info provisioner.Info) (*Issued, error) {
	// Authorized: from here the request may write (store.WriteHinter).
	defer a.expectWrite()()
	if err := validate.Key(req.CSR.PublicKey, "certificate request"); err != nil {
		return nil, err
	}
	for _, v := range plan.Validators {
		if err := v.ValidateCSR(req.CSR); err != nil {
			return nil, err
		}
	}
	var data templates.X509Data
	if plan.Template != nil {
		data = templateData(req, plan.Template)
	}
	for _, wh := range plan.Webhooks {
		if data == nil {
			data = templates.X509Data{}
		}
		if err := wh.Enrich(ctx, req.CSR, data); err != nil {
			return nil, err
		}
	}
	ski, err := issuer.KeyID(req.CSR.RawSubjectPublicKeyInfo)
	if err != nil {
		return nil, errs.E(errs.BadRequest, "invalid csr", err)
	}
	var tmpl *x509.Certificate
	templated := plan.Template != nil
	if templated {
		if tmpl, err = renderTemplate(plan.Template.Template, data); err != nil {
			return nil, err
		}
		if len(tmpl.SubjectKeyId) == 0 {
			tmpl.SubjectKeyId = ski
		}
	} else {
		tmpl = defaultLeaf(plan, req.CSR.PublicKey, ski)
	}
	w := a.signWindow(a.now(), req.NotBefore, req.NotAfter, plan.Claims)
	tmpl.NotBefore, tmpl.NotAfter = w.notBefore, w.notAfter
	for _, m := range plan.Modifiers {
		if err := m.ModifyCert(tmpl); err != nil {
			return nil, err
		}
	}
	for _, c := range plan.Caps {
		if err := c.CapCert(tmpl, provisioner.Requested{NotBefore: w.explicitNB, NotAfter: w.explicitNA}); err != nil {
			return nil, err
		}
	}
	if err := a.checkSign(w, tmpl.NotBefore, tmpl.NotAfter, plan.Claims); err != nil {
		return nil, err
	}
	tmpl.NotBefore, tmpl.NotAfter = tmpl.NotBefore.UTC(), tmpl.NotAfter.UTC()
	if err := a.checkPolicy("sign", info.Name, tmpl); err != nil {
		return nil, err
	}
	for _, wh := range plan.Webhooks {
		if err := wh.Authorize(ctx, tmpl); err != nil {
			return nil, err
		}
	}
	if a.upstream != nil {
		return a.issueUpstream(ctx, req.CSR, tmpl, info)
	}
	return a.issueWith(ctx, templated, tmpl, req.CSR.PublicKey, info, certDataRA(info, req.raInfo))
}

// defaultLeaf is step-ca's default leaf (wire-spec §5.1), built directly:
// no text/template on this path.
func defaultLeaf(plan *provisioner.X509Plan, pub any, ski []byte) *x509.Certificate {
	tmpl := &x509.Certificate{
		Subject:      pkix.Name{CommonName: plan.Subject},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		SubjectKeyId: ski,
	}
	if _, ok := pub.(*rsa.PublicKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	validate.SplitSANs(tmpl, plan.SANs)
	return tmpl
}

// issue signs tmpl for pub and stores it; data is the x509_certs_data JSON (nil
// to derive it from info).
func (a *Authority) issue(ctx context.Context, tmpl *x509.Certificate, pub any, info provisioner.Info, data []byte) (*Issued, error) {
	return a.issueWith(ctx, false, tmpl, pub, info, data)
}

// issueWith is issue; templated certificates are signed with the issuer's
// SignTemplate, which takes any shape a template describes.
func (a *Authority) issueWith(ctx context.Context, templated bool, tmpl *x509.Certificate, pub any, info provisioner.Info, data []byte) (*Issued, error) {
	a.addIssuedExtensions(tmpl)
	if err := a.checkLint(info.Name, tmpl, pub); err != nil {
		return nil, err
	}
	var der []byte
	var err error
	if templated {
		der, err = a.issuer.SignTemplate(tmpl, pub)
	} else {
		der, err = a.issuer.Sign(tmpl, pub)
	}
	if err != nil {
		// A key manager that is down or slow is a 503 naming it (kms.Guard).
		if e := errs.As(err); e != nil && e.Kind == errs.Unavailable {
			return nil, e
		}
		return nil, errs.E(errs.Internal, "authority.Sign", err)
	}
	if data == nil {
		data = certData(info)
	}
	rec := &store.Certificate{
		Serial: tmpl.SerialNumber.String(), DER: der, Data: data,
		NotAfter: tmpl.NotAfter, Subject: tmpl.Subject.CommonName, Provisioner: info.Name,
	}
	iss := &Issued{DER: der, Template: tmpl, Provisioner: info}
	if qs, ok := a.store.(store.QueuedCertificates); ok && queueRecord(ctx) {
		wait, err := qs.QueueCertificate(ctx, rec)
		if err != nil {
			return nil, storeError("error storing certificate", err)
		}
		iss.durable = func(ctx context.Context) error {
			if err := wait(ctx); err != nil {
				return storeError("error storing certificate", err)
			}
			return nil
		}
		return iss, nil
	}
	if err := a.store.StoreCertificate(ctx, rec); err != nil {
		return nil, storeError("error storing certificate", err)
	}
	return iss, nil
}

func certData(info provisioner.Info) []byte {
	b, _ := json.Marshal(map[string]any{"provisioner": map[string]string{
		"id": info.ID, "name": info.Name, "type": info.Type.String(),
	}})
	return b
}

// templateData is the data of t for req: the provisioner's, with
// .Insecure.CR and .Insecure.User added.
func templateData(req *SignRequest, t *provisioner.CertificateTemplate) templates.X509Data {
	data := t.Data
	if data == nil {
		data = templates.X509Data{}
	}
	data.SetCertificateRequest(req.CSR)
	// As step-ca: request data that is not a JSON object is no data.
	var user map[string]any
	if len(req.TemplateData) > 0 && json.Unmarshal(req.TemplateData, &user) != nil {
		user = nil
	}
	data.SetUserData(user)
	return data
}

// renderTemplate renders a provisioner's template (wire-spec §3.4) and
// returns the certificate it describes. Errors are step-ca's: a template
// that calls fail is a bad request with the template's own words; a document
// that is not a certificate is a 500 "error applying certificate template";
// any other rendering error is a plain 500. The causes are logged.
func renderTemplate(t *templates.X509Template, data templates.X509Data) (*x509.Certificate, error) {
	doc, err := t.Render(data)
	if err != nil {
		var fail *templates.FailError
		if errors.As(err, &fail) {
			return nil, errs.E(errs.BadRequest, fail.Message, err)
		}
		return nil, errs.E(errs.Internal, "authority.Sign", err)
	}
	c, err := templates.ParseCertificate(doc)
	if err != nil {
		return nil, errs.Exact(errs.Internal, "error applying certificate template", err)
	}
	tmpl, err := c.GetCertificate()
	if err != nil {
		return nil, errs.Exact(errs.Internal, "error applying certificate template", err)
	}
	return tmpl, nil
}

// checkCSRSignature is the first check of a CSR a client sends (/sign,
// /rekey): present, and signed by the key it carries (wire-spec §3.4).
func checkCSRSignature(csr *x509.CertificateRequest) error {
	if csr == nil {
		return errs.E(errs.BadRequest, "missing csr", nil)
	}
	if err := csr.CheckSignature(); err != nil {
		return errs.E(errs.BadRequest, "invalid csr", err)
	}
	return nil
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
