package webhook

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/mayfly-pki/mayfly/templates"
)

// RequestBody is the JSON a webhook is sent, with step-ca's keys: exactly
// one of the certificate request (ENRICHING) and the certificate
// (AUTHORIZING) is set.
type RequestBody struct {
	Timestamp              time.Time               `json:"timestamp"`
	ProvisionerName        string                  `json:"provisionerName,omitempty"`
	X509CertificateRequest *X509CertificateRequest `json:"x509CertificateRequest,omitempty"`
	X509Certificate        *X509Certificate        `json:"x509Certificate,omitempty"`
	AuthorizationPrincipal string                  `json:"authorizationPrincipal,omitempty"`
	X5CCertificate         *X5CCertificate         `json:"x5cCertificate,omitempty"`
	// SCEPChallenge and SCEPTransactionID are sent to SCEPCHALLENGE
	// webhooks.
	SCEPChallenge     string `json:"scepChallenge,omitempty"`
	SCEPTransactionID string `json:"scepTransactionID,omitempty"`
}

// X509CertificateRequest is the request as templates see it (.Insecure.CR)
// with its public key (PKIX DER), key algorithm and DER.
type X509CertificateRequest struct {
	*templates.CertificateRequest
	PublicKey          []byte `json:"publicKey"`
	PublicKeyAlgorithm string `json:"publicKeyAlgorithm"`
	Raw                []byte `json:"raw"`
}

// X509Certificate is the certificate about to be signed, in step's
// certificate template form, with its public key (PKIX DER), key algorithm
// and validity.
type X509Certificate struct {
	*templates.Certificate
	PublicKey          []byte    `json:"publicKey"`
	PublicKeyAlgorithm string    `json:"publicKeyAlgorithm"`
	NotBefore          time.Time `json:"notBefore"`
	NotAfter           time.Time `json:"notAfter"`
}

// X5CCertificate is the leaf of an X5C token's chain.
type X5CCertificate struct {
	Raw                []byte    `json:"raw"`
	PublicKey          []byte    `json:"publicKey"`
	PublicKeyAlgorithm string    `json:"publicKeyAlgorithm"`
	NotBefore          time.Time `json:"notBefore"`
	NotAfter           time.Time `json:"notAfter"`
}

// ResponseBody is a webhook's answer: whether the request is allowed and,
// for an ENRICHING webhook, the data templates see at .Webhooks.<name>.
type ResponseBody struct {
	Data  any  `json:"data"`
	Allow bool `json:"allow"`
}

// MaxResponseSize bounds a webhook's answer. Answers are small JSON
// objects; the bound keeps a misbehaving server from filling the CA's
// memory.
const MaxResponseSize = 1 << 20

func newCertificateRequest(csr *x509.CertificateRequest) (*X509CertificateRequest, error) {
	out := &X509CertificateRequest{
		CertificateRequest: templates.NewCertificateRequest(csr),
		PublicKeyAlgorithm: csr.PublicKeyAlgorithm.String(),
		Raw:                csr.Raw,
	}
	if csr.PublicKey != nil {
		key, err := x509.MarshalPKIXPublicKey(csr.PublicKey)
		if err != nil {
			return nil, err
		}
		out.PublicKey = key
	}
	return out, nil
}

// newCertificate returns cert, a certificate not yet signed, in step's
// template form.
func newCertificate(cert *x509.Certificate) (*X509Certificate, error) {
	c := &templates.Certificate{
		Version:               cert.Version,
		Subject:               templates.NewName(cert.Subject),
		Issuer:                templates.NewName(cert.Issuer),
		DNSNames:              cert.DNSNames,
		EmailAddresses:        cert.EmailAddresses,
		IPAddresses:           cert.IPAddresses,
		URIs:                  cert.URIs,
		KeyUsage:              templates.KeyUsage(cert.KeyUsage),
		ExtKeyUsage:           cert.ExtKeyUsage,
		UnknownExtKeyUsage:    cert.UnknownExtKeyUsage,
		SubjectKeyID:          cert.SubjectKeyId,
		AuthorityKeyID:        cert.AuthorityKeyId,
		OCSPServer:            cert.OCSPServer,
		IssuingCertificateURL: cert.IssuingCertificateURL,
		CRLDistributionPoints: cert.CRLDistributionPoints,
		PolicyIdentifiers:     cert.PolicyIdentifiers,
		SignatureAlgorithm:    templates.SignatureAlgorithm(cert.SignatureAlgorithm),
	}
	if cert.SerialNumber != nil {
		c.SerialNumber = templates.SerialNumber{Int: cert.SerialNumber}
	}
	if cert.BasicConstraintsValid {
		max := cert.MaxPathLen
		if max == 0 && !cert.MaxPathLenZero {
			max = -1
		}
		c.BasicConstraints = &templates.BasicConstraints{IsCA: cert.IsCA, MaxPathLen: max}
	}
	for _, list := range [][]pkix.Extension{cert.Extensions, cert.ExtraExtensions} {
		for _, e := range list {
			c.Extensions = append(c.Extensions, templates.Extension{ID: templates.ObjectIdentifier(e.Id), Critical: e.Critical, Value: e.Value})
		}
	}
	out := &X509Certificate{
		Certificate:        c,
		PublicKeyAlgorithm: cert.PublicKeyAlgorithm.String(),
		NotBefore:          cert.NotBefore,
		NotAfter:           cert.NotAfter,
	}
	if cert.PublicKey != nil {
		key, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
		if err != nil {
			return nil, err
		}
		out.PublicKey = key
		if out.PublicKeyAlgorithm == x509.UnknownPublicKeyAlgorithm.String() {
			out.PublicKeyAlgorithm = keyAlgorithm(cert.PublicKey)
		}
	}
	return out, nil
}

// readResponse decodes a webhook's answer: one JSON object of at most
// MaxResponseSize bytes whose allow, when present, is a boolean. Other
// members are ignored, as step-ca does.
func readResponse(r io.Reader) (*ResponseBody, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxResponseSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxResponseSize {
		return nil, fmt.Errorf("response larger than %d bytes", MaxResponseSize)
	}
	return decodeResponse(b)
}

func decodeResponse(b []byte) (*ResponseBody, error) {
	// JSON's white space only: bytes.TrimSpace would also take \f and \v,
	// which JSON refuses (found by FuzzDecodeResponse).
	b = bytes.Trim(b, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return nil, errors.New("response is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	rb := new(ResponseBody)
	if err := dec.Decode(rb); err != nil {
		return nil, fmt.Errorf("invalid JSON response: %w", err)
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON response")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON response")
	}
	return rb, nil
}

// keyAlgorithm names the algorithm of a key, for a certificate not yet
// signed whose PublicKeyAlgorithm is unset.
func keyAlgorithm(pub any) string {
	switch pub.(type) {
	case *rsa.PublicKey:
		return x509.RSA.String()
	case *ecdsa.PublicKey:
		return x509.ECDSA.String()
	case ed25519.PublicKey:
		return x509.Ed25519.String()
	}
	return x509.UnknownPublicKeyAlgorithm.String()
}
