package certificate

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/internal/keyutil"
	"github.com/mayfly-pki/mayfly/templates"
)

// Validity of a certificate made with --template and no --not-after, as step.
const defaultTemplateValidity = 24 * time.Hour

// setFlag is --set (flags.Set): one key=value pair per occurrence.
func setFlag() cli.Flag { return flags.Set() }

// readTemplate parses the --template file and the --set/--set-file data, or
// returns nil when --template is not used. An explicit --profile does not
// mix with a template (step's rule).
func readTemplate(c *cli.Context) (*templates.X509Template, map[string]any, error) {
	file := c.String("template")
	if file == "" {
		return nil, nil, nil
	}
	if c.IsSet("profile") {
		return nil, nil, fmt.Errorf("flag '--profile' is incompatible with '--template'")
	}
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("error reading template: %w", err)
	}
	tpl, err := templates.ParseX509(file, string(text))
	if err != nil {
		return nil, nil, err
	}
	user, err := userData(c.String("set-file"), flags.SetValues(c))
	if err != nil {
		return nil, nil, err
	}
	return tpl, user, nil
}

// userData is the data of .Insecure.User: see flags.ParseTemplateData.
func userData(setFile string, pairs []string) (map[string]any, error) {
	return flags.ParseTemplateData(setFile, pairs)
}

// renderCertificate renders tpl for a new certificate of subject and sans
// and returns the certificate template, with a serial number and subject key
// identifier when the document has none. Validity and signature algorithm
// are left to the caller.
func renderCertificate(tpl *templates.X509Template, user map[string]any, data templates.X509Data, pub crypto.PublicKey) (*x509.Certificate, error) {
	data.SetToken(nil)
	data.SetUserData(user)
	doc, err := tpl.Certificate(data)
	if err != nil {
		return nil, err
	}
	t, err := doc.GetCertificate()
	if err != nil {
		return nil, fmt.Errorf("error in template: %w", err)
	}
	if t.SerialNumber == nil {
		if t.SerialNumber, err = randomSerial(); err != nil {
			return nil, err
		}
	}
	if len(t.SubjectKeyId) == 0 {
		if t.SubjectKeyId, err = subjectKeyID(pub); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// createData is the template data of step certificate create: the subject as
// common name, the SANs, and as .Insecure.CR a request made with the new key,
// as step does.
func createData(subject string, sans []string, priv crypto.Signer) (templates.X509Data, error) {
	data := templates.NewX509Data(subject, sans)
	req := &x509.CertificateRequest{Subject: pkix.Name{CommonName: subject}}
	for _, s := range templates.NewSANs(sans) {
		switch s.Type {
		case templates.SANTypeIP:
			req.IPAddresses = append(req.IPAddresses, net.ParseIP(s.Value))
		case templates.SANTypeEmail:
			req.EmailAddresses = append(req.EmailAddresses, s.Value)
		case templates.SANTypeURI:
			u, err := url.Parse(s.Value)
			if err != nil {
				return nil, fmt.Errorf("invalid SAN %q: %w", s.Value, err)
			}
			req.URIs = append(req.URIs, u)
		default:
			req.DNSNames = append(req.DNSNames, s.Value)
		}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, req, priv)
	if err != nil {
		return nil, fmt.Errorf("error creating certificate request: %w", err)
	}
	cr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("error parsing certificate request: %w", err)
	}
	data.SetCertificateRequest(cr)
	return data, nil
}

// signData is the template data of step certificate sign: the CSR's subject,
// its SANs (or its common name), the CSR, and .MaxPathLen from --path-len.
func signData(csr *x509.CertificateRequest, sans []string, maxPathLen int) templates.X509Data {
	data := templates.NewX509Data("", sans)
	data.SetSubject(templates.NewName(csr.Subject))
	data.SetCertificateRequest(csr)
	data.Set("MaxPathLen", maxPathLen)
	return data
}

// templateCSR renders tpl as a certificate request document (step
// certificate create --csr --template) and signs the request with priv.
func templateCSR(tpl *templates.X509Template, user map[string]any, subject string, sans []string, priv crypto.Signer) ([]byte, error) {
	data := templates.NewX509Data(subject, sans)
	data.SetToken(nil)
	data.SetUserData(user)
	data.SetCertificateRequest(&x509.CertificateRequest{PublicKey: priv.Public(), PublicKeyAlgorithm: publicKeyAlgorithm(priv.Public())})
	doc, err := tpl.Certificate(data)
	if err != nil {
		return nil, err
	}
	t, err := doc.GetCertificate()
	if err != nil {
		return nil, err
	}
	req := &x509.CertificateRequest{
		Subject:            t.Subject,
		RawSubject:         t.RawSubject,
		DNSNames:           t.DNSNames,
		IPAddresses:        t.IPAddresses,
		EmailAddresses:     t.EmailAddresses,
		URIs:               t.URIs,
		ExtraExtensions:    t.ExtraExtensions,
		SignatureAlgorithm: t.SignatureAlgorithm,
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, req, priv)
	if err != nil {
		return nil, fmt.Errorf("error creating certificate request: %w", err)
	}
	return der, nil
}

func publicKeyAlgorithm(pub crypto.PublicKey) x509.PublicKeyAlgorithm {
	switch pub.(type) {
	case *rsa.PublicKey:
		return x509.RSA
	case *ecdsa.PublicKey:
		return x509.ECDSA
	case ed25519.PublicKey:
		return x509.Ed25519
	}
	return x509.UnknownPublicKeyAlgorithm
}

// setValidity applies the validity rules of a templated certificate: a
// --not-before/--not-after flag wins, then the template's notBefore/notAfter,
// then now and now+def.
func setValidity(c *cli.Context, t *x509.Certificate, notBefore, notAfter, now time.Time, def time.Duration) error {
	if !notBefore.IsZero() {
		t.NotBefore = notBefore
	}
	if !notAfter.IsZero() {
		t.NotAfter = notAfter
	}
	if t.NotBefore.IsZero() {
		t.NotBefore = now
	}
	if t.NotAfter.IsZero() {
		t.NotAfter = t.NotBefore.Add(def)
	}
	if t.NotBefore.After(t.NotAfter) {
		if c.String("not-after") == "" {
			return errors.New("the certificate's notBefore is after its notAfter")
		}
		return fmt.Errorf("invalid value '%s' for flag '--not-after': certificate is already expired", c.String("not-after"))
	}
	return nil
}

// setSignatureAlgorithm uses the issuer key's algorithm unless the template
// chose one.
func setSignatureAlgorithm(t *x509.Certificate, issuer crypto.PublicKey) {
	if t.SignatureAlgorithm == x509.UnknownSignatureAlgorithm {
		t.SignatureAlgorithm = keyutil.SignatureAlgorithm(issuer)
	}
}
