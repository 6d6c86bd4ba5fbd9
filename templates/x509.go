// Package templates renders step's certificate templates: Go text/template
// documents, with sprig's functions, that produce the JSON description of a
// certificate. Parse a template once (per configuration snapshot) and render
// it per request: a parsed template is safe for concurrent use.
package templates

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"
)

// Keys of the data X.509 templates are rendered with.
const (
	SubjectKey  = "Subject"  // Name: the requested subject
	SANsKey     = "SANs"     // []SubjectAlternativeName: the requested SANs
	TokenKey    = "Token"    // the claims of the token that authorized the request (nil in the CLI)
	InsecureKey = "Insecure" // X509Data of values nobody vouched for
	UserKey     = "User"     // in Insecure: the user's template data (--set, --set-file)
	CRKey       = "CR"       // in Insecure: *CertificateRequest, the request
)

// X509Data is the data an X.509 template is rendered with: .Subject, .SANs,
// .Token, .Insecure.CR, .Insecure.User, and whatever else the caller sets.
type X509Data map[string]any

// NewX509Data returns data with .Subject {"commonName": commonName} and the
// SANs sorted by type, as step's CLI gives templates.
func NewX509Data(commonName string, sans []string) X509Data {
	return X509Data{
		SubjectKey: Name{CommonName: commonName},
		SANsKey:    NewSANs(sans),
	}
}

// Set sets a top-level key.
func (d X509Data) Set(key string, v any) { d[key] = v }

// SetInsecure sets a key under .Insecure.
func (d X509Data) SetInsecure(key string, v any) {
	if m, ok := d[InsecureKey].(X509Data); ok {
		m[key] = v
		return
	}
	d[InsecureKey] = X509Data{key: v}
}

// SetSubject sets .Subject.
func (d X509Data) SetSubject(n Name) { d[SubjectKey] = n }

// SetSANs sets .SANs from names, sorted by type as NewSANs does.
func (d X509Data) SetSANs(names []string) { d[SANsKey] = NewSANs(names) }

// SetToken sets .Token.
func (d X509Data) SetToken(v any) { d[TokenKey] = v }

// SetUserData sets .Insecure.User; nil becomes an empty map so that
// {{ .Insecure.User.name }} renders as empty rather than failing.
func (d X509Data) SetUserData(v map[string]any) {
	if v == nil {
		v = map[string]any{}
	}
	d.SetInsecure(UserKey, v)
}

// SetCertificateRequest sets .Insecure.CR. The request need not be signed:
// the CLI passes one built from the new key.
func (d X509Data) SetCertificateRequest(cr *x509.CertificateRequest) {
	d.SetInsecure(CRKey, NewCertificateRequest(cr))
}

// CertificateRequest is .Insecure.CR: the request as templates see it. Its
// JSON ({{ toJson .Insecure.CR }}) is a certificate document of the same
// subject, names and extensions.
type CertificateRequest struct {
	Version            int                      `json:"version"`
	Subject            Name                     `json:"subject"`
	RawSubject         []byte                   `json:"rawSubject,omitempty"`
	DNSNames           MultiString              `json:"dnsNames,omitempty"`
	EmailAddresses     MultiString              `json:"emailAddresses,omitempty"`
	IPAddresses        MultiIP                  `json:"ipAddresses,omitempty"`
	URIs               MultiURL                 `json:"uris,omitempty"`
	SANs               []SubjectAlternativeName `json:"sans,omitempty"`
	Extensions         []Extension              `json:"extensions,omitempty"`
	SignatureAlgorithm SignatureAlgorithm       `json:"signatureAlgorithm"`
	PublicKey          any                      `json:"-"`
	PublicKeyAlgorithm x509.PublicKeyAlgorithm  `json:"-"`
	Signature          []byte                   `json:"-"`
}

// NewCertificateRequest returns the template view of cr. As step, it leaves
// out the request's signature algorithm, which the issuer may not be able to
// use, and marks the subjectAltName extension critical when the subject is
// empty (RFC 5280 §4.2.1.6).
func NewCertificateRequest(cr *x509.CertificateRequest) *CertificateRequest {
	out := &CertificateRequest{
		Version:            cr.Version,
		Subject:            NewName(cr.Subject),
		RawSubject:         cr.RawSubject,
		DNSNames:           cr.DNSNames,
		EmailAddresses:     cr.EmailAddresses,
		IPAddresses:        cr.IPAddresses,
		URIs:               cr.URIs,
		PublicKey:          cr.PublicKey,
		PublicKeyAlgorithm: cr.PublicKeyAlgorithm,
		Signature:          cr.Signature,
	}
	emptySubject := len(cr.Subject.ToRDNSequence()) == 0 && (len(cr.RawSubject) == 0 || bytes.Equal(cr.RawSubject, []byte{0x30, 0}))
	for _, e := range cr.Extensions {
		ext := Extension{ID: ObjectIdentifier(e.Id), Critical: e.Critical, Value: e.Value}
		if emptySubject && e.Id.Equal(oidSubjectAltName) {
			ext.Critical = true
		}
		out.Extensions = append(out.Extensions, ext)
	}
	return out
}

// X509Template is a parsed X.509 certificate template.
type X509Template struct {
	name string
	tmpl *template.Template
}

// ParseX509 parses an X.509 template; name (a file name, or a provisioner)
// appears in its errors.
func ParseX509(name, text string) (*X509Template, error) {
	t, err := template.New(name).Funcs(FuncMap()).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("error parsing template%s: %s", nameSuffix(name), oneLine(stripPrefix(err.Error(), name)))
	}
	return &X509Template{name: name, tmpl: t}, nil
}

func nameSuffix(name string) string {
	if name == "" {
		return ""
	}
	return " " + name
}

var templatePosition = regexp.MustCompile(`^(\d+)(?::(\d+))?: `)

// stripPrefix turns text/template's "template: <name>:L:C: msg" into
// "line L, column C: msg".
func stripPrefix(msg, name string) string {
	msg = strings.TrimPrefix(msg, "template: "+name+":")
	if m := templatePosition.FindStringSubmatch(msg); m != nil {
		pos := "line " + m[1]
		if m[2] != "" {
			pos += ", column " + m[2]
		}
		msg = pos + ": " + msg[len(m[0]):]
	}
	return msg
}

// oneLine keeps an error message on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// FailError is the error of a template that called fail: Message is the
// template's own words, fit to show the requester.
type FailError struct {
	Message string
}

func (e *FailError) Error() string { return "error executing template: " + e.Message }

// Render executes the template with data and returns the JSON document.
func (t *X509Template) Render(data X509Data) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.tmpl.Execute(&buf, data); err != nil {
		var fail *FailError
		if errors.As(err, &fail) {
			return nil, fail
		}
		return nil, fmt.Errorf("error executing template%s: %s", nameSuffix(t.name), oneLine(stripPrefix(err.Error(), t.name)))
	}
	return buf.Bytes(), nil
}

// Certificate renders the template and decodes the document.
func (t *X509Template) Certificate(data X509Data) (*Certificate, error) {
	doc, err := t.Render(data)
	if err != nil {
		return nil, err
	}
	c, err := ParseCertificate(doc)
	if err != nil {
		return nil, fmt.Errorf("error parsing rendered template%s: %w", nameSuffix(t.name), err)
	}
	return c, nil
}
