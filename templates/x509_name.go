package templates

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
)

// Name is an X.501 name (a certificate's subject or issuer) as templates see
// it: {{ toJson .Subject }} gives {"commonName": "..."}, and a template may
// write a name as an object or, for just a common name, as a string. Every
// attribute but commonName and serialNumber may be a string or a list.
type Name struct {
	Country            MultiString         `json:"country,omitempty"`
	Organization       MultiString         `json:"organization,omitempty"`
	OrganizationalUnit MultiString         `json:"organizationalUnit,omitempty"`
	Locality           MultiString         `json:"locality,omitempty"`
	Province           MultiString         `json:"province,omitempty"`
	StreetAddress      MultiString         `json:"streetAddress,omitempty"`
	PostalCode         MultiString         `json:"postalCode,omitempty"`
	SerialNumber       string              `json:"serialNumber,omitempty"`
	CommonName         string              `json:"commonName,omitempty"`
	ExtraNames         []DistinguishedName `json:"extraNames,omitempty"`
}

// DistinguishedName is one attribute of a name outside the fields above,
// such as {"type": "1.2.840.113549.1.9.1", "value": "jane@example.com"}.
type DistinguishedName struct {
	Type  ObjectIdentifier `json:"type"`
	Value any              `json:"value"`
}

// UnmarshalJSON implements json.Unmarshaler: a string is a common name.
func (n *Name) UnmarshalJSON(data []byte) error {
	var cn string
	if err := json.Unmarshal(data, &cn); err == nil {
		*n = Name{CommonName: cn}
		return nil
	}
	type plain Name // without this method
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		if ferr := locateField(data, &p); ferr != nil {
			return ferr
		}
		return err
	}
	for i, dn := range p.ExtraNames {
		path := fmt.Sprintf("extraNames[%d]", i)
		if len(dn.Type) == 0 {
			return &FieldError{Path: path, Err: errors.New("missing type")}
		}
		if _, ok := dn.Value.(string); !ok {
			return &FieldError{Path: path, Err: fmt.Errorf("value is %s, want a string", jsonKind(dn.Value))}
		}
	}
	*n = Name(p)
	return nil
}

// NewName returns the template view of a pkix.Name. Attributes that have no
// field of their own (emailAddress, ...) become extra names.
func NewName(n pkix.Name) Name {
	out := Name{
		Country:            n.Country,
		Organization:       n.Organization,
		OrganizationalUnit: n.OrganizationalUnit,
		Locality:           n.Locality,
		Province:           n.Province,
		StreetAddress:      n.StreetAddress,
		PostalCode:         n.PostalCode,
		SerialNumber:       n.SerialNumber,
		CommonName:         n.CommonName,
	}
	extra := n.ExtraNames
	if len(extra) == 0 {
		for _, atv := range n.Names {
			if !isStandardAttribute(atv.Type) {
				extra = append(extra, atv)
			}
		}
	}
	for _, atv := range extra {
		out.ExtraNames = append(out.ExtraNames, DistinguishedName{Type: ObjectIdentifier(atv.Type), Value: atv.Value})
	}
	return out
}

// isStandardAttribute reports whether pkix.Name has a field for the
// attribute type (id-at-*, RFC 5280 Appendix A).
func isStandardAttribute(t asn1.ObjectIdentifier) bool {
	if len(t) != 4 || t[0] != 2 || t[1] != 5 || t[2] != 4 {
		return false
	}
	switch t[3] {
	case 3, 5, 6, 7, 8, 9, 10, 11, 17: // CN, serialNumber, C, L, ST, street, O, OU, postalCode
		return true
	}
	return false
}

// pkix returns the name as crypto/x509 encodes it.
func (n Name) pkix() pkix.Name {
	out := pkix.Name{
		Country:            n.Country,
		Organization:       n.Organization,
		OrganizationalUnit: n.OrganizationalUnit,
		Locality:           n.Locality,
		Province:           n.Province,
		StreetAddress:      n.StreetAddress,
		PostalCode:         n.PostalCode,
		SerialNumber:       n.SerialNumber,
		CommonName:         n.CommonName,
	}
	for _, dn := range n.ExtraNames {
		out.ExtraNames = append(out.ExtraNames, pkix.AttributeTypeAndValue{Type: asn1.ObjectIdentifier(dn.Type), Value: dn.Value})
	}
	return out
}

// isEmpty reports whether the name has no attribute.
func (n Name) isEmpty() bool {
	return len(n.pkix().ToRDNSequence()) == 0
}
