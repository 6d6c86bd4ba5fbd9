package templates

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"reflect"
	"strings"
	"time"
)

// Certificate is the JSON document an X.509 template renders, with step's
// field names. Fields a template leaves out stay zero, and GetCertificate
// leaves the matching x509.Certificate fields to the caller (serial number,
// validity, key identifiers, signature algorithm). Keys the document has and
// this type does not are ignored, as step does.
type Certificate struct {
	Version               int                      `json:"version"`
	Subject               Name                     `json:"subject"`
	RawSubject            []byte                   `json:"rawSubject"`
	Issuer                Name                     `json:"issuer"`
	SerialNumber          SerialNumber             `json:"serialNumber"`
	DNSNames              MultiString              `json:"dnsNames"`
	EmailAddresses        MultiString              `json:"emailAddresses"`
	IPAddresses           MultiIP                  `json:"ipAddresses"`
	URIs                  MultiURL                 `json:"uris"`
	SANs                  []SubjectAlternativeName `json:"sans"`
	NotBefore             time.Time                `json:"notBefore"`
	NotAfter              time.Time                `json:"notAfter"`
	Extensions            []Extension              `json:"extensions"`
	KeyUsage              KeyUsage                 `json:"keyUsage"`
	ExtKeyUsage           ExtKeyUsage              `json:"extKeyUsage"`
	UnknownExtKeyUsage    MultiObjectIdentifier    `json:"unknownExtKeyUsage"`
	SubjectKeyID          []byte                   `json:"subjectKeyId"`
	AuthorityKeyID        []byte                   `json:"authorityKeyId"`
	OCSPServer            MultiString              `json:"ocspServer"`
	IssuingCertificateURL MultiString              `json:"issuingCertificateURL"`
	CRLDistributionPoints MultiString              `json:"crlDistributionPoints"`
	PolicyIdentifiers     MultiObjectIdentifier    `json:"policyIdentifiers"`
	BasicConstraints      *BasicConstraints        `json:"basicConstraints"`
	NameConstraints       *NameConstraints         `json:"nameConstraints"`
	SignatureAlgorithm    SignatureAlgorithm       `json:"signatureAlgorithm"`
}

// ParseCertificate decodes a rendered X.509 template. Errors name the field
// at fault, or the line and column of a JSON syntax error.
func ParseCertificate(doc []byte) (*Certificate, error) {
	c := new(Certificate)
	if err := json.NewDecoder(bytes.NewReader(doc)).Decode(c); err != nil {
		return nil, locateError(doc, err)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// locateError turns a decoding error into one that says where: the position
// of a syntax error, or the field whose value is wrong.
func locateError(doc []byte, err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		if len(bytes.TrimSpace(doc)) == 0 {
			return errors.New("the template rendered an empty document")
		}
		return fmt.Errorf("unexpected end of JSON at %s", position(doc, int64(len(doc))))
	case errors.As(err, &syn):
		// Offset counts the bytes read, the bad one included.
		return fmt.Errorf("%s at %s", syn.Error(), position(doc, max(syn.Offset-1, 0)))
	}
	// A value of the wrong kind or a value our types reject.
	var obj map[string]json.RawMessage
	if json.NewDecoder(bytes.NewReader(doc)).Decode(&obj) != nil {
		return errors.New("the template must render a JSON object")
	}
	if ferr := locateField(doc, new(Certificate)); ferr != nil {
		return ferr
	}
	return err
}

// locateField decodes the JSON object data into the struct v field by field,
// and returns the error of the first field that fails, prefixed with its JSON
// path (encoding/json does not name the field of an error returned by an
// UnmarshalJSON method). Keys match field names as encoding/json matches
// them: exactly, else case-insensitively. It returns nil when data is not an
// object or no field fails alone.
func locateField(data []byte, v any) error {
	var fields map[string]json.RawMessage
	if json.NewDecoder(bytes.NewReader(data)).Decode(&fields) != nil {
		return nil
	}
	sv := reflect.ValueOf(v).Elem()
	for i := range sv.NumField() {
		name, _, _ := strings.Cut(sv.Type().Field(i).Tag.Get("json"), ",")
		raw, ok := fields[name]
		if !ok {
			for k, r := range fields {
				if strings.EqualFold(k, name) {
					raw, ok = r, true
				}
			}
		}
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, sv.Field(i).Addr().Interface()); err != nil {
			return fieldError(name, err)
		}
	}
	return nil
}

// FieldError is an error in the value of a field of the rendered document.
type FieldError struct {
	Path string // JSON path, such as "subject.country" or "sans[1]"
	Err  error
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// position gives a byte offset as "line L, column C (offset N)", line and
// column counted from 1.
func position(doc []byte, off int64) string {
	if off > int64(len(doc)) {
		off = int64(len(doc))
	}
	before := doc[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d (offset %d)", line, col, off)
}

// fieldError prefixes err with the JSON path of the field.
func fieldError(name string, err error) error {
	var typ *json.UnmarshalTypeError
	var nested *FieldError
	switch {
	case errors.As(err, &nested):
		return &FieldError{Path: name + "." + nested.Path, Err: nested.Err}
	case errors.As(err, &typ):
		path := name
		if typ.Field != "" {
			path += "." + typ.Field
		}
		return &FieldError{Path: path, Err: fmt.Errorf("got a JSON %s, want %s", typ.Value, kindName(typ.Type))}
	}
	return &FieldError{Path: name, Err: err}
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.String:
		return "a string"
	}
	return t.String()
}

// validate checks what the JSON types cannot: extensions have an id, SANs
// are well formed.
func (c *Certificate) validate() error {
	for i, e := range c.Extensions {
		if len(e.ID) == 0 {
			return &FieldError{Path: fmt.Sprintf("extensions[%d]", i), Err: errors.New("missing id")}
		}
	}
	for i, s := range c.SANs {
		if err := s.check(); err != nil {
			return &FieldError{Path: fmt.Sprintf("sans[%d]", i), Err: err}
		}
	}
	return nil
}

// hasExtendedSANs reports whether a SAN needs the template to encode the
// subjectAltName extension itself (crypto/x509 only knows dns, email, ip, uri).
func (c *Certificate) hasExtendedSANs() bool {
	for _, s := range c.SANs {
		if s.standardType() == "" {
			return true
		}
	}
	return false
}

func (c *Certificate) hasExtension(oid asn1.ObjectIdentifier) bool {
	for _, e := range c.Extensions {
		if asn1.ObjectIdentifier(e.ID).Equal(oid) {
			return true
		}
	}
	return false
}

// subjectAltName encodes every name of the document in one extension, for
// documents with extended SANs. It is critical when the subject is empty
// (RFC 5280 §4.2.1.6).
func (c *Certificate) subjectAltName() (pkix.Extension, error) {
	var names []asn1.RawValue
	add := func(typ string, values ...string) error {
		for _, v := range values {
			rv, err := SubjectAlternativeName{Type: typ, Value: v}.rawValue()
			if err != nil {
				return err
			}
			names = append(names, rv)
		}
		return nil
	}
	uris := make([]string, len(c.URIs))
	for i, u := range c.URIs {
		uris[i] = u.String()
	}
	ips := make([]string, len(c.IPAddresses))
	for i, ip := range c.IPAddresses {
		ips[i] = ip.String()
	}
	for _, err := range []error{
		add(SANTypeDNS, c.DNSNames...), add(SANTypeEmail, c.EmailAddresses...),
		add(SANTypeURI, uris...), add(SANTypeIP, ips...),
	} {
		if err != nil {
			return pkix.Extension{}, fmt.Errorf("subjectAltName: %w", err)
		}
	}
	for i, s := range c.SANs {
		rv, err := s.rawValue()
		if err != nil {
			return pkix.Extension{}, fmt.Errorf("sans[%d]: %w", i, err)
		}
		names = append(names, rv)
	}
	der, err := asn1.Marshal(names)
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("subjectAltName: %w", err)
	}
	empty := len(c.RawSubject) == 0 && c.Subject.isEmpty() ||
		len(c.RawSubject) > 0 && bytes.Equal(c.RawSubject, []byte{0x30, 0})
	return pkix.Extension{Id: oidSubjectAltName, Critical: empty, Value: der}, nil
}

// GetCertificate returns the x509.Certificate template the document
// describes. The caller sets what the document leaves zero: public key,
// serial number, validity, subject key identifier, signature algorithm.
func (c *Certificate) GetCertificate() (*x509.Certificate, error) {
	t := &x509.Certificate{
		Subject:               c.Subject.pkix(),
		RawSubject:            bytes.Clone(c.RawSubject),
		Issuer:                c.Issuer.pkix(),
		NotBefore:             c.NotBefore,
		NotAfter:              c.NotAfter,
		KeyUsage:              x509.KeyUsage(c.KeyUsage),
		ExtKeyUsage:           append([]x509.ExtKeyUsage(nil), c.ExtKeyUsage...),
		UnknownExtKeyUsage:    append([]asn1.ObjectIdentifier(nil), c.UnknownExtKeyUsage...),
		SubjectKeyId:          bytes.Clone(c.SubjectKeyID),
		AuthorityKeyId:        bytes.Clone(c.AuthorityKeyID),
		OCSPServer:            append([]string(nil), c.OCSPServer...),
		IssuingCertificateURL: append([]string(nil), c.IssuingCertificateURL...),
		CRLDistributionPoints: append([]string(nil), c.CRLDistributionPoints...),
		SignatureAlgorithm:    x509.SignatureAlgorithm(c.SignatureAlgorithm),
	}
	if c.SerialNumber.Int != nil {
		t.SerialNumber = new(big.Int).Set(c.SerialNumber.Int)
	}
	for _, p := range c.PolicyIdentifiers {
		t.PolicyIdentifiers = append(t.PolicyIdentifiers, p)
		oid, err := x509.OIDFromInts(toUint64s(p))
		if err != nil {
			return nil, fmt.Errorf("policyIdentifiers: %w", err)
		}
		t.Policies = append(t.Policies, oid)
	}
	if b := c.BasicConstraints; b != nil {
		t.BasicConstraintsValid, t.IsCA = true, b.IsCA
		switch {
		case !b.IsCA:
		case b.MaxPathLen == 0:
			t.MaxPathLenZero = true
		case b.MaxPathLen < 0:
			t.MaxPathLen = -1
		default:
			t.MaxPathLen = b.MaxPathLen
		}
	}
	if n := c.NameConstraints; n != nil {
		t.PermittedDNSDomainsCritical = n.Critical
		t.PermittedDNSDomains, t.ExcludedDNSDomains = n.PermittedDNSDomains, n.ExcludedDNSDomains
		t.PermittedIPRanges, t.ExcludedIPRanges = n.PermittedIPRanges, n.ExcludedIPRanges
		t.PermittedEmailAddresses, t.ExcludedEmailAddresses = n.PermittedEmailAddresses, n.ExcludedEmailAddresses
		t.PermittedURIDomains, t.ExcludedURIDomains = n.PermittedURIDomains, n.ExcludedURIDomains
	}
	switch {
	case c.hasExtension(oidSubjectAltName):
		// The document carries its own subjectAltName extension.
	case c.hasExtendedSANs():
		ext, err := c.subjectAltName()
		if err != nil {
			return nil, err
		}
		t.ExtraExtensions = append(t.ExtraExtensions, ext)
	default:
		t.DNSNames = append(t.DNSNames, c.DNSNames...)
		t.EmailAddresses = append(t.EmailAddresses, c.EmailAddresses...)
		t.IPAddresses = append(t.IPAddresses, c.IPAddresses...)
		t.URIs = append(t.URIs, c.URIs...)
		for _, s := range c.SANs {
			s.set(t)
		}
	}
	for _, e := range c.Extensions {
		t.ExtraExtensions = append(t.ExtraExtensions, pkix.Extension{
			Id: asn1.ObjectIdentifier(e.ID), Critical: e.Critical, Value: bytes.Clone(e.Value),
		})
	}
	return t, nil
}

func toUint64s(oid asn1.ObjectIdentifier) []uint64 {
	out := make([]uint64, len(oid))
	for i, n := range oid {
		out[i] = uint64(n)
	}
	return out
}
