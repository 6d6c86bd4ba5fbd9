package certinfo

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"net"
	"strings"
)

const extIndent = "                " // 16 spaces: extension values

// writeExtension writes one extension. Values come from the raw extension so that
// the same code serves certificates and CSRs; c supplies the parsed SANs and name
// constraints.
func writeExtension(b *strings.Builder, ext pkix.Extension, c *x509.Certificate) {
	title, lines, ok := describe(ext, c)
	if !ok {
		title = ext.Id.String()
		lines = []string{printable(ext.Value), colonHex(ext.Value)}
	}
	fmt.Fprintf(b, "            %s:", title)
	if ext.Critical {
		b.WriteString(" critical")
	}
	b.WriteString("\n")
	for _, l := range lines {
		b.WriteString(extIndent + l + "\n")
	}
}

func describe(ext pkix.Extension, c *x509.Certificate) (string, []string, bool) {
	switch {
	case ext.Id.Equal(oidExtSubjectKeyID):
		var ski []byte
		if _, err := asn1.Unmarshal(ext.Value, &ski); err != nil {
			return "", nil, false
		}
		return "X509v3 Subject Key Identifier", []string{colonHex(ski)}, true
	case ext.Id.Equal(oidExtAuthorityKeyID):
		var aki struct {
			ID []byte `asn1:"optional,tag:0"`
		}
		if _, err := asn1.Unmarshal(ext.Value, &aki); err != nil {
			return "", nil, false
		}
		return "X509v3 Authority Key Identifier", []string{colonHex(aki.ID)}, true
	case ext.Id.Equal(oidExtKeyUsage):
		var bits asn1.BitString
		if _, err := asn1.Unmarshal(ext.Value, &bits); err != nil {
			return "", nil, false
		}
		return "X509v3 Key Usage", []string{strings.Join(KeyUsages(bits), ", ")}, true
	case ext.Id.Equal(oidExtBasicConstraints):
		var bc struct {
			IsCA       bool `asn1:"optional"`
			MaxPathLen int  `asn1:"optional,default:-1"`
		}
		if _, err := asn1.Unmarshal(ext.Value, &bc); err != nil {
			return "", nil, false
		}
		v := "CA:FALSE"
		if bc.IsCA {
			v = "CA:TRUE"
		}
		if bc.MaxPathLen >= 0 {
			v += fmt.Sprintf(", pathlen:%d", bc.MaxPathLen)
		}
		return "X509v3 Basic Constraints", []string{v}, true
	case ext.Id.Equal(oidExtExtendedKeyUsage):
		var oids []asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(ext.Value, &oids); err != nil {
			return "", nil, false
		}
		names := make([]string, len(oids))
		for i, o := range oids {
			names[i] = ExtKeyUsageName(o)
		}
		return "X509v3 Extended Key Usage", []string{strings.Join(names, ", ")}, true
	case ext.Id.Equal(oidExtSubjectAltName):
		return "X509v3 Subject Alternative Name", []string{strings.Join(SANs(c), ", ")}, true
	case ext.Id.Equal(oidExtAuthorityInfo):
		return authorityInfo(ext.Value)
	case ext.Id.Equal(oidExtCRLDistribution):
		lines := []string{}
		for _, u := range c.CRLDistributionPoints {
			lines = append(lines, "Full Name:", "  URI:"+u)
		}
		return "X509v3 CRL Distribution Points", lines, true
	case ext.Id.Equal(oidExtCertPolicies):
		return policies(ext.Value)
	case ext.Id.Equal(oidExtNameConstraints):
		return "X509v3 Name Constraints", nameConstraints(c), true
	case ext.Id.Equal(oidExtStepProvisioner):
		return stepProvisioner(ext.Value)
	case ext.Id.Equal(oidExtSCT):
		return "CT Precertificate SCTs", []string{colonHex(ext.Value)}, true
	case ext.Id.Equal(oidExtPrecertificatePois):
		return "CT Precertificate Poison", nil, true
	case ext.Id.Equal(oidExtCRLNumber):
		return "X509v3 CRL Number", []string{colonHex(ext.Value)}, true
	case ext.Id.Equal(oidNetscapeCmt):
		var comment string
		if _, err := asn1.Unmarshal(ext.Value, &comment); err != nil {
			return "", nil, false
		}
		return "Netscape Comment", []string{comment}, true
	case ext.Id.Equal(oidExtIssuerAltName):
		return "X509v3 Issuer Alternative Name", []string{colonHex(ext.Value)}, true
	}
	return "", nil, false
}

// KeyUsages names the key usage bits as step prints them.
func KeyUsages(bits asn1.BitString) []string {
	names := []string{"Digital Signature", "Content Commitment", "Key Encipherment", "Data Encipherment",
		"Key Agreement", "Certificate Sign", "CRL Sign", "Encipher Only", "Decipher Only"}
	var out []string
	for i, n := range names {
		if bits.At(i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

var ekuNames = []struct {
	oid  asn1.ObjectIdentifier
	name string
}{
	{asn1.ObjectIdentifier{2, 5, 29, 37, 0}, "Any Extended Key Usage"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}, "Server Authentication"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}, "Client Authentication"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}, "Code Signing"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 4}, "E-mail Protection"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 5}, "IPSec End System"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 6}, "IPSec Tunnel"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 7}, "IPSec User"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}, "Time Stamping"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 9}, "OCSP Signing"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 10, 3, 3}, "Microsoft Server Gated Crypto"},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 113730, 4, 1}, "Netscape Server Gated Crypto"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 22}, "Microsoft Commercial Code Signing"},
	{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 61, 1, 1}, "Microsoft Kernel Code Signing"},
}

// ExtKeyUsageName names an extended key usage OID, or returns the dotted OID.
func ExtKeyUsageName(oid asn1.ObjectIdentifier) string {
	for _, e := range ekuNames {
		if e.oid.Equal(oid) {
			return e.name
		}
	}
	return "UNKNOWN(" + oid.String() + ")"
}

// SANs returns the subject alternative names as "DNS:x", "IP Address:x",
// "email:x", "URI:x".
func SANs(c *x509.Certificate) []string {
	var names []string
	for _, n := range c.DNSNames {
		names = append(names, "DNS:"+n)
	}
	for _, ip := range c.IPAddresses {
		names = append(names, "IP Address:"+ip.String())
	}
	for _, e := range c.EmailAddresses {
		names = append(names, "email:"+e)
	}
	for _, u := range c.URIs {
		names = append(names, "URI:"+u.String())
	}
	return names
}

func authorityInfo(der []byte) (string, []string, bool) {
	var ads []struct {
		Method   asn1.ObjectIdentifier
		Location asn1.RawValue
	}
	if _, err := asn1.Unmarshal(der, &ads); err != nil {
		return "", nil, false
	}
	var lines []string
	for _, ad := range ads {
		method := ad.Method.String()
		switch {
		case ad.Method.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1}):
			method = "OCSP"
		case ad.Method.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 2}):
			method = "CA Issuers"
		}
		if ad.Location.Tag == 6 && ad.Location.Class == asn1.ClassContextSpecific {
			lines = append(lines, fmt.Sprintf("%s - URI:%s", method, ad.Location.Bytes))
		} else {
			lines = append(lines, fmt.Sprintf("%s - %s", method, colonHex(ad.Location.FullBytes)))
		}
	}
	return "Authority Information Access", lines, true
}

func policies(der []byte) (string, []string, bool) {
	var pols []struct {
		ID         asn1.ObjectIdentifier
		Qualifiers []struct {
			ID    asn1.ObjectIdentifier
			Value asn1.RawValue
		} `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(der, &pols); err != nil {
		return "", nil, false
	}
	var lines []string
	for _, p := range pols {
		lines = append(lines, "Policy: "+p.ID.String())
		for _, q := range p.Qualifiers {
			if q.ID.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 2, 1}) {
				lines = append(lines, "  CPS: "+string(q.Value.Bytes))
			}
		}
	}
	return "X509v3 Certificate Policies", lines, true
}

func nameConstraints(c *x509.Certificate) []string {
	var lines []string
	section := func(title string, dns []string, ips []*net.IPNet, emails, uris []string) {
		var names []string
		names = append(names, dns...)
		for _, ip := range ips {
			names = append(names, ip.String())
		}
		names = append(names, emails...)
		names = append(names, uris...)
		if len(names) > 0 {
			lines = append(lines, title+":", "  "+strings.Join(names, ", "))
		}
	}
	section("Permitted", c.PermittedDNSDomains, c.PermittedIPRanges, c.PermittedEmailAddresses, c.PermittedURIDomains)
	section("Excluded", c.ExcludedDNSDomains, c.ExcludedIPRanges, c.ExcludedEmailAddresses, c.ExcludedURIDomains)
	return lines
}

// printable returns data with bytes outside printable ASCII replaced by '.'.
func printable(data []byte) string {
	out := make([]byte, len(data))
	for i, v := range data {
		if v >= 0x20 && v < 0x7f {
			out[i] = v
		} else {
			out[i] = '.'
		}
	}
	return string(out)
}

// Provisioner is the decoded step provisioner extension (OID 1.3.6.1.4.1.37476.9000.64.1).
type Provisioner struct {
	Type         int
	Name         []byte
	CredentialID []byte
	KeyValues    []string `asn1:"optional,omitempty"`
}

// ProvisionerTypeName names step's provisioner type numbers.
func ProvisionerTypeName(t int) string {
	names := map[int]string{1: "JWK", 2: "OIDC", 3: "GCP", 4: "AWS", 5: "Azure", 6: "ACME", 7: "X5C",
		8: "K8sSA", 9: "SSHPOP", 10: "SCEP", 11: "Nebula"}
	if n, ok := names[t]; ok {
		return n
	}
	return fmt.Sprintf("%d", t)
}

// FindProvisioner returns the decoded provisioner extension of c, if any.
func FindProvisioner(c *x509.Certificate) (*Provisioner, bool) {
	for _, ext := range c.Extensions {
		if ext.Id.Equal(oidExtStepProvisioner) {
			var p Provisioner
			if _, err := asn1.Unmarshal(ext.Value, &p); err == nil {
				return &p, true
			}
		}
	}
	return nil, false
}

func stepProvisioner(der []byte) (string, []string, bool) {
	var p Provisioner
	if _, err := asn1.Unmarshal(der, &p); err != nil {
		return "", nil, false
	}
	lines := []string{"Type: " + ProvisionerTypeName(p.Type), "Name: " + string(p.Name)}
	if len(p.CredentialID) > 0 {
		lines = append(lines, "CredentialID: "+string(p.CredentialID))
	}
	for i := 0; i+1 < len(p.KeyValues); i += 2 {
		lines = append(lines, p.KeyValues[i]+": "+p.KeyValues[i+1])
	}
	return "X509v3 Step Provisioner", lines, true
}
