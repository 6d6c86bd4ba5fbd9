package templates

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// This file holds the JSON types of the X.509 template document: each accepts
// what step's templates accept (a single string where a list is expected,
// names of key usages in any case) and rejects the rest with a message that
// names the bad value.

// MultiString is a list of strings given in JSON as a list or as one string.
// An empty string or null is an empty list.
type MultiString []string

// UnmarshalJSON implements json.Unmarshaler.
func (m *MultiString) UnmarshalJSON(data []byte) error {
	v, err := multiString(data)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// multiString decodes a JSON string, list of strings or null.
func multiString(data []byte) ([]string, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("element %d is %s, want a string", i, jsonKind(e))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("got %s, want a string or a list of strings", jsonKind(v))
}

// jsonKind names the JSON type of a value decoded into any.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// MultiIP is a list of IP addresses, in JSON one string or a list of strings.
type MultiIP []net.IP

// MarshalJSON implements json.Marshaler.
func (m MultiIP) MarshalJSON() ([]byte, error) {
	s := make([]string, len(m))
	for i, ip := range m {
		s[i] = ip.String()
	}
	return json.Marshal(s)
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *MultiIP) UnmarshalJSON(data []byte) error {
	ss, err := multiString(data)
	if err != nil {
		return err
	}
	ips := make(MultiIP, 0, len(ss))
	for _, s := range ss {
		ip := net.ParseIP(s)
		if ip == nil {
			return fmt.Errorf("invalid IP address %q", s)
		}
		ips = append(ips, ip)
	}
	*m = ips
	return nil
}

// MultiIPNet is a list of CIDR ranges, in JSON one string or a list of strings.
type MultiIPNet []*net.IPNet

// MarshalJSON implements json.Marshaler.
func (m MultiIPNet) MarshalJSON() ([]byte, error) {
	s := make([]string, len(m))
	for i, n := range m {
		s[i] = n.String()
	}
	return json.Marshal(s)
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *MultiIPNet) UnmarshalJSON(data []byte) error {
	ss, err := multiString(data)
	if err != nil {
		return err
	}
	nets := make(MultiIPNet, 0, len(ss))
	for _, s := range ss {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return fmt.Errorf("invalid IP range %q", s)
		}
		nets = append(nets, n)
	}
	*m = nets
	return nil
}

// MultiURL is a list of URIs, in JSON one string or a list of strings.
type MultiURL []*url.URL

// MarshalJSON implements json.Marshaler.
func (m MultiURL) MarshalJSON() ([]byte, error) {
	s := make([]string, len(m))
	for i, u := range m {
		s[i] = u.String()
	}
	return json.Marshal(s)
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *MultiURL) UnmarshalJSON(data []byte) error {
	ss, err := multiString(data)
	if err != nil {
		return err
	}
	urls := make(MultiURL, 0, len(ss))
	for _, s := range ss {
		u, err := url.Parse(s)
		if err != nil {
			return fmt.Errorf("invalid URI %q", s)
		}
		urls = append(urls, u)
	}
	*m = urls
	return nil
}

// ObjectIdentifier is an OID, in JSON a dotted string such as "1.2.3.4".
type ObjectIdentifier asn1.ObjectIdentifier

// MarshalJSON implements json.Marshaler.
func (o ObjectIdentifier) MarshalJSON() ([]byte, error) {
	return json.Marshal(asn1.ObjectIdentifier(o).String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *ObjectIdentifier) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("an object identifier must be a string such as \"1.2.3.4\"")
	}
	oid, err := parseOID(s)
	if err != nil {
		return err
	}
	*o = ObjectIdentifier(oid)
	return nil
}

// parseOID parses a dotted object identifier.
func parseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("invalid object identifier %q", s)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || strings.HasPrefix(p, "+") {
			return nil, fmt.Errorf("invalid object identifier %q", s)
		}
		oid[i] = n
	}
	// X.660: the first arc is 0, 1 or 2; under 0 and 1 the second is below 40.
	if oid[0] > 2 || (oid[0] < 2 && oid[1] >= 40) {
		return nil, fmt.Errorf("invalid object identifier %q", s)
	}
	return oid, nil
}

// MultiObjectIdentifier is a list of OIDs, in JSON one string or a list.
type MultiObjectIdentifier []asn1.ObjectIdentifier

// MarshalJSON implements json.Marshaler.
func (m MultiObjectIdentifier) MarshalJSON() ([]byte, error) {
	s := make([]string, len(m))
	for i, o := range m {
		s[i] = o.String()
	}
	return json.Marshal(s)
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *MultiObjectIdentifier) UnmarshalJSON(data []byte) error {
	ss, err := multiString(data)
	if err != nil {
		return err
	}
	oids := make(MultiObjectIdentifier, 0, len(ss))
	for _, s := range ss {
		oid, err := parseOID(s)
		if err != nil {
			return err
		}
		oids = append(oids, oid)
	}
	*m = oids
	return nil
}

// normalizeName folds a usage name for comparison: "digitalSignature",
// "DigitalSignature" and "digital_signature" are the same name.
func normalizeName(s string) string {
	return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s))
}

var keyUsageNames = []struct {
	name string
	ku   x509.KeyUsage
}{
	{"digitalSignature", x509.KeyUsageDigitalSignature},
	{"contentCommitment", x509.KeyUsageContentCommitment},
	{"keyEncipherment", x509.KeyUsageKeyEncipherment},
	{"dataEncipherment", x509.KeyUsageDataEncipherment},
	{"keyAgreement", x509.KeyUsageKeyAgreement},
	{"certSign", x509.KeyUsageCertSign},
	{"crlSign", x509.KeyUsageCRLSign},
	{"encipherOnly", x509.KeyUsageEncipherOnly},
	{"decipherOnly", x509.KeyUsageDecipherOnly},
}

// KeyUsage is the key usage bit set, in JSON a name or a list of names.
type KeyUsage x509.KeyUsage

// MarshalJSON implements json.Marshaler.
func (k KeyUsage) MarshalJSON() ([]byte, error) {
	names := []string{}
	for _, n := range keyUsageNames {
		if x509.KeyUsage(k)&n.ku != 0 {
			names = append(names, n.name)
		}
	}
	return json.Marshal(names)
}

// UnmarshalJSON implements json.Unmarshaler.
func (k *KeyUsage) UnmarshalJSON(data []byte) error {
	ss, err := multiString(data)
	if err != nil {
		return err
	}
	var ku x509.KeyUsage
next:
	for _, s := range ss {
		for _, n := range keyUsageNames {
			if normalizeName(s) == normalizeName(n.name) {
				ku |= n.ku
				continue next
			}
		}
		return fmt.Errorf("unsupported key usage %q", s)
	}
	*k = KeyUsage(ku)
	return nil
}

var extKeyUsageNames = []struct {
	name string
	eku  x509.ExtKeyUsage
}{
	{"any", x509.ExtKeyUsageAny},
	{"serverAuth", x509.ExtKeyUsageServerAuth},
	{"clientAuth", x509.ExtKeyUsageClientAuth},
	{"codeSigning", x509.ExtKeyUsageCodeSigning},
	{"emailProtection", x509.ExtKeyUsageEmailProtection},
	{"ipsecEndSystem", x509.ExtKeyUsageIPSECEndSystem},
	{"ipsecTunnel", x509.ExtKeyUsageIPSECTunnel},
	{"ipsecUser", x509.ExtKeyUsageIPSECUser},
	{"timeStamping", x509.ExtKeyUsageTimeStamping},
	{"ocspSigning", x509.ExtKeyUsageOCSPSigning},
	{"microsoftServerGatedCrypto", x509.ExtKeyUsageMicrosoftServerGatedCrypto},
	{"netscapeServerGatedCrypto", x509.ExtKeyUsageNetscapeServerGatedCrypto},
	{"microsoftCommercialCodeSigning", x509.ExtKeyUsageMicrosoftCommercialCodeSigning},
	{"microsoftKernelCodeSigning", x509.ExtKeyUsageMicrosoftKernelCodeSigning},
}

// ExtKeyUsage is a list of extended key usages, in JSON a name or a list.
type ExtKeyUsage []x509.ExtKeyUsage

// MarshalJSON implements json.Marshaler.
func (e ExtKeyUsage) MarshalJSON() ([]byte, error) {
	names := make([]string, 0, len(e))
	for _, u := range e {
		for _, n := range extKeyUsageNames {
			if n.eku == u {
				names = append(names, n.name)
			}
		}
	}
	return json.Marshal(names)
}

// UnmarshalJSON implements json.Unmarshaler.
func (e *ExtKeyUsage) UnmarshalJSON(data []byte) error {
	ss, err := multiString(data)
	if err != nil {
		return err
	}
	out := make(ExtKeyUsage, 0, len(ss))
next:
	for _, s := range ss {
		for _, n := range extKeyUsageNames {
			if normalizeName(s) == normalizeName(n.name) {
				out = append(out, n.eku)
				continue next
			}
		}
		return fmt.Errorf("unsupported extended key usage %q", s)
	}
	*e = out
	return nil
}

// SignatureAlgorithm is a signature algorithm by the name crypto/x509 gives it
// ("SHA256-RSA", "ECDSA-SHA256", "Ed25519", ...), case-insensitive.
type SignatureAlgorithm x509.SignatureAlgorithm

// MarshalJSON implements json.Marshaler.
func (s SignatureAlgorithm) MarshalJSON() ([]byte, error) {
	if s == SignatureAlgorithm(x509.UnknownSignatureAlgorithm) {
		return []byte(`""`), nil
	}
	return json.Marshal(x509.SignatureAlgorithm(s).String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *SignatureAlgorithm) UnmarshalJSON(data []byte) error {
	var name string
	if err := json.Unmarshal(data, &name); err != nil {
		return fmt.Errorf("a signature algorithm must be a string such as \"ECDSA-SHA256\"")
	}
	if name == "" {
		*s = SignatureAlgorithm(x509.UnknownSignatureAlgorithm)
		return nil
	}
	// crypto/x509 numbers its algorithms from 1 (PureEd25519 is 16); String()
	// of one it does not know is the number.
	for a := x509.MD2WithRSA; a < 64; a++ {
		if str := a.String(); strings.EqualFold(str, name) {
			*s = SignatureAlgorithm(a)
			return nil
		}
	}
	return fmt.Errorf("unsupported signature algorithm %q", name)
}

// SerialNumber is a certificate serial number: a JSON number, or a string in
// base 10 or with a 0x, 0o or 0b prefix.
type SerialNumber struct {
	*big.Int
}

// MarshalJSON implements json.Marshaler.
func (s SerialNumber) MarshalJSON() ([]byte, error) {
	if s.Int == nil {
		return []byte("null"), nil
	}
	return s.Int.MarshalJSON()
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *SerialNumber) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		s.Int = nil
		return nil
	}
	var str string
	if data[0] == '"' {
		if err := json.Unmarshal(data, &str); err != nil {
			return err
		}
	} else {
		str = string(data)
	}
	n, ok := new(big.Int).SetString(str, 0)
	if !ok {
		return fmt.Errorf("invalid serial number %s", data)
	}
	s.Int = n
	return nil
}

// BasicConstraints is the basic constraints extension. As in step, a CA
// without maxPathLen gets a path length of 0, and -1 means no limit.
type BasicConstraints struct {
	IsCA       bool `json:"isCA"`
	MaxPathLen int  `json:"maxPathLen"`
}

// NameConstraints is the name constraints extension.
type NameConstraints struct {
	Critical                bool        `json:"critical"`
	PermittedDNSDomains     MultiString `json:"permittedDNSDomains"`
	ExcludedDNSDomains      MultiString `json:"excludedDNSDomains"`
	PermittedIPRanges       MultiIPNet  `json:"permittedIPRanges"`
	ExcludedIPRanges        MultiIPNet  `json:"excludedIPRanges"`
	PermittedEmailAddresses MultiString `json:"permittedEmailAddresses"`
	ExcludedEmailAddresses  MultiString `json:"excludedEmailAddresses"`
	PermittedURIDomains     MultiString `json:"permittedURIDomains"`
	ExcludedURIDomains      MultiString `json:"excludedURIDomains"`
}

// Extension is a raw extension; Value is the DER of its extnValue, in JSON
// base64.
type Extension struct {
	ID       ObjectIdentifier `json:"id"`
	Critical bool             `json:"critical"`
	Value    []byte           `json:"value"`
}
