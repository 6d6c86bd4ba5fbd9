package authority

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/mayfly-pki/mayfly/authority/issuer"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/token"
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
}

// Issued is a signed and persisted certificate.
type Issued struct {
	DER         []byte
	Template    *x509.Certificate // serial, subject, SANs and validity as signed
	Provisioner provisioner.Info
}

// Serial returns the decimal serial number.
func (i *Issued) Serial() string { return i.Template.SerialNumber.String() }

// Sign authorizes req's token, checks the CSR against it and issues a
// certificate (wire-spec §3.4 POST /sign, §5.1).
func (a *Authority) Sign(ctx context.Context, req *SignRequest) (*Issued, error) {
	defer a.expectWrite()()
	if err := checkCSRSignature(req.CSR); err != nil {
		return nil, err
	}
	if req.OTT == "" {
		return nil, errs.E(errs.BadRequest, "missing ott", nil)
	}
	var auth *provisioner.SignAuthorization
	p, _, err := a.authorizeToken(ctx, req.OTT, func(p provisioner.Interface, tok *token.Token) error {
		var err error
		auth, err = p.AuthorizeSign(ctx, tok)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := checkCSR(req.CSR, auth); err != nil {
		return nil, err
	}
	// Then the template (wire-spec §3.4), whose validity the CA's replaces.
	var tmpl *x509.Certificate
	if auth.Template != nil {
		if tmpl, err = renderTemplate(req, auth); err != nil {
			return nil, err
		}
	}
	now := a.now()
	notBefore, notAfter, err := a.validity(now, req.NotBefore, req.NotAfter, auth.Claims, auth.NotAfterCap)
	if err != nil {
		return nil, err
	}
	ski, err := issuer.KeyID(req.CSR.RawSubjectPublicKeyInfo)
	if err != nil {
		return nil, errs.E(errs.BadRequest, "invalid csr", err)
	}
	if tmpl != nil {
		tmpl.NotBefore, tmpl.NotAfter = notBefore, notAfter
		if len(tmpl.SubjectKeyId) == 0 {
			tmpl.SubjectKeyId = ski
		}
		if !auth.DisableExtension {
			ext, err := provisioner.NewExtension(auth.Info)
			if err != nil {
				return nil, err
			}
			tmpl.ExtraExtensions = setProvisionerExtension(tmpl.ExtraExtensions, ext)
		}
		return a.issueWith(ctx, true, tmpl, req.CSR.PublicKey, p.Info(), nil)
	}
	// The default leaf, built directly: no text/template on this path.
	tmpl = &x509.Certificate{
		Subject:      pkix.Name{CommonName: auth.Subject},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		SubjectKeyId: ski,
	}
	if _, ok := req.CSR.PublicKey.(*rsa.PublicKey); ok {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	splitSANs(tmpl, auth.SANs)
	if !auth.DisableExtension {
		ext, err := provisioner.NewExtension(auth.Info)
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, ext)
	}
	return a.issue(ctx, tmpl, req.CSR.PublicKey, p.Info(), nil)
}

// issue signs tmpl for pub and stores it; data is the x509_certs_data JSON (nil
// to derive it from info).
func (a *Authority) issue(ctx context.Context, tmpl *x509.Certificate, pub any, info provisioner.Info, data []byte) (*Issued, error) {
	return a.issueWith(ctx, false, tmpl, pub, info, data)
}

// issueWith is issue; templated certificates are signed with the issuer's
// SignTemplate, which takes any shape a template describes.
func (a *Authority) issueWith(ctx context.Context, templated bool, tmpl *x509.Certificate, pub any, info provisioner.Info, data []byte) (*Issued, error) {
	var der []byte
	var err error
	if templated {
		der, err = a.issuer.SignTemplate(tmpl, pub)
	} else {
		der, err = a.issuer.Sign(tmpl, pub)
	}
	if err != nil {
		return nil, errs.E(errs.Internal, "authority.Sign", err)
	}
	if data == nil {
		data = certData(info)
	}
	rec := &store.Certificate{
		Serial: tmpl.SerialNumber.String(), DER: der, Data: data,
		NotAfter: tmpl.NotAfter, Subject: tmpl.Subject.CommonName, Provisioner: info.Name,
	}
	if err := a.store.StoreCertificate(ctx, rec); err != nil {
		return nil, storeError("error storing certificate", err)
	}
	return &Issued{DER: der, Template: tmpl, Provisioner: info}, nil
}

func certData(info provisioner.Info) []byte {
	b, _ := json.Marshal(map[string]any{"provisioner": map[string]string{
		"id": info.ID, "name": info.Name, "type": info.Type.String(),
	}})
	return b
}

// renderTemplate renders the provisioner's template for req (wire-spec §3.4)
// and returns the certificate it describes. Errors are step-ca's: a template
// that calls fail is a bad request with the template's own words; a document
// that is not a certificate is a 500 "error applying certificate template";
// any other rendering error is a plain 500. The causes are logged.
func renderTemplate(req *SignRequest, auth *provisioner.SignAuthorization) (*x509.Certificate, error) {
	data := auth.Template.Data
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
	doc, err := auth.Template.Template.Render(data)
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

// setProvisionerExtension replaces the first provisioner extension of exts
// with ext, or appends ext, as step-ca does: a template (or a request copied
// by one) cannot name another provisioner. Further copies are dropped, since
// a certificate may not repeat an extension (RFC 5280 §4.2).
func setProvisionerExtension(exts []pkix.Extension, ext pkix.Extension) []pkix.Extension {
	out := exts[:0]
	done := false
	for _, e := range exts {
		if e.Id.Equal(provisioner.ExtensionOID) {
			if done {
				continue
			}
			e, done = ext, true
		}
		out = append(out, e)
	}
	if !done {
		out = append(out, ext)
	}
	return out
}

// splitSANs sorts names into IP, URI, email and DNS SANs in that order of
// precedence, as step's x509util.SplitSANs does: anything with a URL scheme
// ("mailto:a@b", "spiffe://...") is a URI before an "@" makes it an email.
func splitSANs(tmpl *x509.Certificate, sans []string) {
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if u, err := url.Parse(s); err == nil && u.Scheme != "" {
			tmpl.URIs = append(tmpl.URIs, u)
		} else if strings.Contains(s, "@") {
			tmpl.EmailAddresses = append(tmpl.EmailAddresses, s)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
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

// checkKey is the key policy of every path that certifies a key (sign,
// renew, rekey), step-ca's default public key validator (wire-spec §5.1):
// RSA of at least 2048 bits, ECDSA or Ed25519. what names where the key
// comes from in the message: "certificate request", or "certificate" for a
// renewal's.
func checkKey(pub any, what string) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return errs.Errorf(errs.Forbidden, "%s RSA key must be at least 2048 bits (2048)", what)
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return errs.Errorf(errs.BadRequest, "unsupported public key type %T in %s", k, what)
	}
	return nil
}

// checkCSR applies the JWK-style CSR validators (wire-spec §5.1).
func checkCSR(csr *x509.CertificateRequest, auth *provisioner.SignAuthorization) error {
	if err := checkKey(csr.PublicKey, "certificate request"); err != nil {
		return err
	}
	if auth.CSRFingerprint != "" {
		sum := sha256.Sum256(csr.Raw)
		if base64.RawURLEncoding.EncodeToString(sum[:]) != auth.CSRFingerprint {
			return errs.Errorf(errs.Forbidden, "certificate request fingerprint does not match %q", auth.CSRFingerprint)
		}
	}
	if cn := csr.Subject.CommonName; cn != "" && cn != auth.Subject && !slices.Contains(auth.SANs, cn) {
		want := append([]string{auth.Subject}, auth.SANs...)
		return errs.Errorf(errs.Forbidden, "certificate request does not contain the valid common name - got %s, want %v", cn, want)
	}
	var want x509.Certificate
	splitSANs(&want, auth.SANs)
	if len(csr.DNSNames) > 0 && !sameSet(csr.DNSNames, want.DNSNames, strings.ToLower) {
		return errs.Errorf(errs.Forbidden, "certificate request does not contain the valid DNS names - got %v, want %v", csr.DNSNames, want.DNSNames)
	}
	if len(csr.IPAddresses) > 0 && !sameSet(ipStrings(csr.IPAddresses), ipStrings(want.IPAddresses), nil) {
		return errs.Errorf(errs.Forbidden, "certificate request does not contain the valid IP addresses - got %v, want %v", csr.IPAddresses, want.IPAddresses)
	}
	if len(csr.EmailAddresses) > 0 && !sameSet(csr.EmailAddresses, want.EmailAddresses, nil) {
		return errs.Errorf(errs.Forbidden, "certificate request does not contain the valid email addresses - got %v, want %v", csr.EmailAddresses, want.EmailAddresses)
	}
	if len(csr.URIs) > 0 && !sameSet(uriStrings(csr.URIs), uriStrings(want.URIs), nil) {
		return errs.Errorf(errs.Forbidden, "certificate request does not contain the valid URIs - got %v, want %v", uriStrings(csr.URIs), uriStrings(want.URIs))
	}
	return nil
}

func sameSet(a, b []string, norm func(string) string) bool {
	set := map[string]bool{}
	for _, s := range b {
		if norm != nil {
			s = norm(s)
		}
		set[s] = true
	}
	seen := map[string]bool{}
	for _, s := range a {
		if norm != nil {
			s = norm(s)
		}
		if !set[s] {
			return false
		}
		seen[s] = true
	}
	return len(seen) == len(set)
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}

func uriStrings(us []*url.URL) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.String()
	}
	return out
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
