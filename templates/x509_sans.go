package templates

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// SAN types a template may use in "sans". dns, email, ip and uri (and auto,
// which guesses one of them from the value) go through crypto/x509; the
// others make the template build the subjectAltName extension itself.
const (
	SANTypeAuto                = "auto"
	SANTypeDNS                 = "dns"
	SANTypeEmail               = "email"
	SANTypeIP                  = "ip"
	SANTypeURI                 = "uri"
	SANTypeDirectoryName       = "dn"
	SANTypeRegisteredID        = "registeredID"
	SANTypePermanentIdentifier = "permanentIdentifier"
	SANTypeHardwareModuleName  = "hardwareModuleName"
)

var (
	oidSubjectAltName      = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidPermanentIdentifier = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 8, 3} // RFC 4043
	oidHardwareModuleName  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 8, 4} // RFC 4108 §5
)

// SubjectAlternativeName is one entry of "sans". Type is one of the SANType
// constants or an OID, which makes an otherName whose Value is "type:value"
// as for asn1Enc (printable when no type is given). ASN1Value carries the
// structured value of dn, permanentIdentifier and hardwareModuleName.
type SubjectAlternativeName struct {
	Type      string          `json:"type"`
	Value     string          `json:"value"`
	ASN1Value json.RawMessage `json:"asn1Value,omitempty"`
}

// NewSANs sorts names as step does: IP addresses, then URIs (a value with a
// scheme), then emails (a value with "@"), else DNS names; the result lists
// DNS names, IPs, emails, then URIs.
func NewSANs(names []string) []SubjectAlternativeName {
	var dns, ips, emails, uris []SubjectAlternativeName
	for _, n := range names {
		san := SubjectAlternativeName{Type: guessSANType(n), Value: n}
		switch san.Type {
		case SANTypeIP:
			san.Value = net.ParseIP(n).String()
			ips = append(ips, san)
		case SANTypeURI:
			uris = append(uris, san)
		case SANTypeEmail:
			emails = append(emails, san)
		default:
			dns = append(dns, san)
		}
	}
	out := make([]SubjectAlternativeName, 0, len(names))
	out = append(out, dns...)
	out = append(out, ips...)
	out = append(out, emails...)
	return append(out, uris...)
}

func guessSANType(v string) string {
	if net.ParseIP(v) != nil {
		return SANTypeIP
	}
	if u, err := url.Parse(v); err == nil && u.Scheme != "" {
		return SANTypeURI
	}
	if strings.Contains(v, "@") {
		return SANTypeEmail
	}
	return SANTypeDNS
}

// standardType returns the crypto/x509 type of a SAN ("" for extended ones).
func (s SubjectAlternativeName) standardType() string {
	switch strings.ToLower(s.Type) {
	case "", SANTypeAuto:
		return guessSANType(s.Value)
	case SANTypeDNS, SANTypeEmail, SANTypeIP, SANTypeURI:
		return strings.ToLower(s.Type)
	}
	return ""
}

// check validates the value of a SAN of a standard type.
func (s SubjectAlternativeName) check() error {
	switch s.standardType() {
	case SANTypeIP:
		if net.ParseIP(s.Value) == nil {
			return fmt.Errorf("invalid IP address %q", s.Value)
		}
	case SANTypeURI:
		if _, err := url.Parse(s.Value); err != nil {
			return fmt.Errorf("invalid URI %q", s.Value)
		}
	case "":
		_, err := s.rawValue()
		return err
	}
	return nil
}

// set adds a SAN of a standard type to c.
func (s SubjectAlternativeName) set(c *x509.Certificate) {
	switch s.standardType() {
	case SANTypeDNS:
		c.DNSNames = append(c.DNSNames, s.Value)
	case SANTypeEmail:
		c.EmailAddresses = append(c.EmailAddresses, s.Value)
	case SANTypeIP:
		c.IPAddresses = append(c.IPAddresses, net.ParseIP(s.Value))
	case SANTypeURI:
		if u, err := url.Parse(s.Value); err == nil {
			c.URIs = append(c.URIs, u)
		}
	}
}

// GeneralName tags (RFC 5280 §4.2.1.6).
const (
	tagOtherName     = 0
	tagRFC822Name    = 1
	tagDNSName       = 2
	tagDirectoryName = 4
	tagURI           = 6
	tagIPAddress     = 7
	tagRegisteredID  = 8
)

// rawValue returns the SAN as a GeneralName.
func (s SubjectAlternativeName) rawValue() (asn1.RawValue, error) {
	ia5 := func(tag int, v string) (asn1.RawValue, error) {
		for _, r := range v {
			if r > 127 {
				return asn1.RawValue{}, fmt.Errorf("%q is not an IA5String", v)
			}
		}
		return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tag, Bytes: []byte(v)}, nil
	}
	switch s.standardType() {
	case SANTypeDNS:
		return ia5(tagDNSName, s.Value)
	case SANTypeEmail:
		return ia5(tagRFC822Name, s.Value)
	case SANTypeURI:
		return ia5(tagURI, s.Value)
	case SANTypeIP:
		ip := net.ParseIP(s.Value)
		if ip == nil {
			return asn1.RawValue{}, fmt.Errorf("invalid IP address %q", s.Value)
		}
		if ip4 := ip.To4(); ip4 != nil {
			ip = ip4
		}
		return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagIPAddress, Bytes: ip}, nil
	}
	switch s.Type {
	case SANTypeRegisteredID:
		oid, err := parseOID(s.Value)
		if err != nil {
			return asn1.RawValue{}, err
		}
		der, err := asn1.Marshal(oid)
		if err != nil {
			return asn1.RawValue{}, err
		}
		var v asn1.RawValue
		if _, err := asn1.Unmarshal(der, &v); err != nil {
			return asn1.RawValue{}, err
		}
		return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagRegisteredID, Bytes: v.Bytes}, nil
	case SANTypePermanentIdentifier:
		var v struct {
			Identifier string           `json:"identifier"`
			Assigner   ObjectIdentifier `json:"assigner"`
		}
		if len(s.ASN1Value) > 0 {
			if err := json.Unmarshal(s.ASN1Value, &v); err != nil {
				return asn1.RawValue{}, fmt.Errorf("permanentIdentifier asn1Value: %w", err)
			}
		} else {
			v.Identifier = s.Value
		}
		der, err := asn1.Marshal(struct {
			Identifier string                `asn1:"utf8,optional"`
			Assigner   asn1.ObjectIdentifier `asn1:"optional"`
		}{v.Identifier, asn1.ObjectIdentifier(v.Assigner)})
		if err != nil {
			return asn1.RawValue{}, fmt.Errorf("permanentIdentifier: %w", err)
		}
		return otherName(oidPermanentIdentifier, der)
	case SANTypeHardwareModuleName:
		var v struct {
			Type         ObjectIdentifier `json:"type"`
			SerialNumber []byte           `json:"serialNumber"`
		}
		if len(s.ASN1Value) == 0 {
			return asn1.RawValue{}, fmt.Errorf("hardwareModuleName needs an asn1Value {\"type\": ..., \"serialNumber\": ...}")
		}
		if err := json.Unmarshal(s.ASN1Value, &v); err != nil {
			return asn1.RawValue{}, fmt.Errorf("hardwareModuleName asn1Value: %w", err)
		}
		if len(v.Type) == 0 {
			return asn1.RawValue{}, fmt.Errorf("hardwareModuleName asn1Value: missing type")
		}
		der, err := asn1.Marshal(struct {
			Type         asn1.ObjectIdentifier
			SerialNumber []byte
		}{asn1.ObjectIdentifier(v.Type), v.SerialNumber})
		if err != nil {
			return asn1.RawValue{}, fmt.Errorf("hardwareModuleName: %w", err)
		}
		return otherName(oidHardwareModuleName, der)
	case SANTypeDirectoryName:
		var n Name
		if len(s.ASN1Value) == 0 {
			return asn1.RawValue{}, fmt.Errorf("dn needs an asn1Value with the name")
		}
		if err := json.Unmarshal(s.ASN1Value, &n); err != nil {
			return asn1.RawValue{}, fmt.Errorf("dn asn1Value: %w", err)
		}
		if n.isEmpty() {
			return asn1.RawValue{}, fmt.Errorf("dn asn1Value: empty name")
		}
		der, err := asn1.Marshal(n.pkix().ToRDNSequence())
		if err != nil {
			return asn1.RawValue{}, fmt.Errorf("dn asn1Value: %w", err)
		}
		return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: tagDirectoryName, IsCompound: true, Bytes: der}, nil
	}
	oid, err := parseOID(s.Type)
	if err != nil {
		return asn1.RawValue{}, fmt.Errorf("unsupported SAN type %q", s.Type)
	}
	typ, value := "printable", s.Value
	if t, v, ok := strings.Cut(s.Value, ":"); ok {
		typ, value = t, v
	}
	der, err := marshalTyped(value, typ)
	if err != nil {
		return asn1.RawValue{}, err
	}
	return otherName(oid, der)
}

// otherName encodes OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY }
// as the [0] alternative of GeneralName; value is the DER of the value.
func otherName(oid asn1.ObjectIdentifier, value []byte) (asn1.RawValue, error) {
	der, err := asn1.MarshalWithParams(struct {
		TypeID asn1.ObjectIdentifier
		Value  asn1.RawValue
	}{oid, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: value}}, "tag:0")
	if err != nil {
		return asn1.RawValue{}, err
	}
	return asn1.RawValue{FullBytes: der}, nil
}
