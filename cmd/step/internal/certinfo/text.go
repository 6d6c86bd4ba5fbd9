// Package certinfo renders certificates and CSRs as text the way step certificate
// inspect does (step's certinfo, itself modelled on OpenSSL's -text layout).
// All functions are pure and safe for concurrent use.
package certinfo

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
)

var (
	oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidUID          = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	oidDC           = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidNetscapeCmt  = asn1.ObjectIdentifier{2, 16, 840, 1, 113730, 1, 13}

	oidExtSubjectKeyID       = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidExtKeyUsage           = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtSubjectAltName     = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidExtBasicConstraints   = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtNameConstraints    = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidExtCRLDistribution    = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidExtCertPolicies       = asn1.ObjectIdentifier{2, 5, 29, 32}
	oidExtAuthorityKeyID     = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidExtExtendedKeyUsage   = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidExtAuthorityInfo      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 1}
	oidExtSCT                = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}
	oidExtStepProvisioner    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 37476, 9000, 64, 1}
	oidExtCRLNumber          = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidExtIssuerAltName      = asn1.ObjectIdentifier{2, 5, 29, 18}
	oidExtPrecertificatePois = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}
)

// CertificateText returns the multi-line description of c:
//
//	Certificate:
//	    Data:
//	        Version: 3 (0x2)
//	        Serial Number: 1234 (0x4d2)
//	    Signature Algorithm: ECDSA-SHA256
//	        Issuer: CN=...
//	...
func CertificateText(c *x509.Certificate) string {
	var b strings.Builder
	b.WriteString("Certificate:\n")
	b.WriteString("    Data:\n")
	writeVersion(&b, c.Version)
	fmt.Fprintf(&b, "        Serial Number: %s (%s)\n", c.SerialNumber.String(), hexBig(c.SerialNumber))
	fmt.Fprintf(&b, "        Signature Algorithm: %s\n", c.SignatureAlgorithm)
	fmt.Fprintf(&b, "        Issuer: %s\n", Name(c.Issuer))
	b.WriteString("        Validity\n")
	fmt.Fprintf(&b, "            Not Before: %s\n", c.NotBefore.UTC().Format("Jan 2 15:04:05 2006 MST"))
	fmt.Fprintf(&b, "            Not After : %s\n", c.NotAfter.UTC().Format("Jan 2 15:04:05 2006 MST"))
	fmt.Fprintf(&b, "        Subject: %s\n", Name(c.Subject))
	writePublicKeyCurveFirst(&b, c.PublicKeyAlgorithm, c.PublicKey, false)
	if len(c.Extensions) > 0 {
		b.WriteString("        X509v3 extensions:\n")
		for _, ext := range c.Extensions {
			writeExtension(&b, ext, c)
		}
	}
	writeSignature(&b, c.SignatureAlgorithm, c.Signature)
	return b.String()
}

// CertificateRequestText returns the multi-line description of a CSR.
func CertificateRequestText(csr *x509.CertificateRequest) string {
	var b strings.Builder
	b.WriteString("Certificate Request:\n")
	b.WriteString("    Data:\n")
	writeVersion(&b, csr.Version)
	fmt.Fprintf(&b, "        Subject: %s\n", Name(csr.Subject))
	writePublicKeyCurveFirst(&b, csr.PublicKeyAlgorithm, csr.PublicKey, true)
	if len(csr.Extensions) > 0 {
		// Parse the extensions through a certificate so the typed fields are set.
		c := &x509.Certificate{
			DNSNames: csr.DNSNames, EmailAddresses: csr.EmailAddresses,
			IPAddresses: csr.IPAddresses, URIs: csr.URIs,
		}
		b.WriteString("        Requested Extensions:\n")
		for _, ext := range csr.Extensions {
			writeExtension(&b, ext, c)
		}
	}
	writeSignature(&b, csr.SignatureAlgorithm, csr.Signature)
	return b.String()
}

func writeVersion(b *strings.Builder, v int) {
	hv := v - 1
	if hv < 0 {
		hv = 0
	}
	fmt.Fprintf(b, "        Version: %d (%#x)\n", v, hv)
}

// hexBig returns the serial as "0x" and its big-endian bytes in hex ("0x01").
func hexBig(n *big.Int) string {
	if n == nil || n.Sign() == 0 {
		return "0x00"
	}
	return "0x" + hex.EncodeToString(n.Bytes())
}

// Name renders a distinguished name in step's order and style:
// "C=US,O=Smallstep,CN=Smallstep Root CA" (attributes in certificate order, no spaces).
func Name(n pkix.Name) string {
	values := make([]string, 0, len(n.Names))
	for _, atv := range n.Names {
		values = append(values, attribute(atv))
	}
	return strings.Join(values, ",")
}

func attribute(atv pkix.AttributeTypeAndValue) string {
	oid := atv.Type
	if len(oid) == 4 && oid[0] == 2 && oid[1] == 5 && oid[2] == 4 {
		names := map[int]string{3: "CN", 5: "SERIALNUMBER", 6: "C", 7: "L", 8: "ST", 9: "STREET", 10: "O", 11: "OU", 17: "POSTALCODE"}
		if n, ok := names[oid[3]]; ok {
			return fmt.Sprintf("%s=%v", n, atv.Value)
		}
		return fmt.Sprintf("UnknownOID=%s", oid)
	}
	switch {
	case oid.Equal(oidEmailAddress):
		return fmt.Sprintf("emailAddress=%v", atv.Value)
	case oid.Equal(oidUID):
		return fmt.Sprintf("UID=%v", atv.Value)
	case oid.Equal(oidDC):
		return fmt.Sprintf("DC=%v", atv.Value)
	}
	return fmt.Sprintf("%s=%v", oid, atv.Value)
}

// writePublicKeyCurveFirst writes the key; step prints an EC key's curve before X
// and Y in CSRs and after them in certificates.
func writePublicKeyCurveFirst(b *strings.Builder, algo x509.PublicKeyAlgorithm, pub any, curveFirst bool) {
	b.WriteString("        Subject Public Key Info:\n")
	switch k := pub.(type) {
	case *rsa.PublicKey:
		b.WriteString("            Public Key Algorithm: RSA\n")
		fmt.Fprintf(b, "                Public-Key: (%d bit)\n", k.N.BitLen())
		b.WriteString("                Modulus:")
		writeHexBlock(b, k.N.Bytes(), 15, 20)
		fmt.Fprintf(b, "                Exponent: %d (%#x)\n", k.E, k.E)
	case *ecdsa.PublicKey:
		b.WriteString("            Public Key Algorithm: ECDSA\n")
		fmt.Fprintf(b, "                Public-Key: (%d bit)\n", k.Curve.Params().BitSize)
		size := (k.Curve.Params().BitSize + 7) / 8
		if curveFirst {
			fmt.Fprintf(b, "                Curve: %s\n", k.Curve.Params().Name)
		}
		b.WriteString("                X:")
		writeHexBlock(b, k.X.FillBytes(make([]byte, size)), 15, 20)
		b.WriteString("                Y:")
		writeHexBlock(b, k.Y.FillBytes(make([]byte, size)), 15, 20)
		if !curveFirst {
			fmt.Fprintf(b, "                Curve: %s\n", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		b.WriteString("            Public Key Algorithm: Ed25519\n")
		fmt.Fprintf(b, "                Public-Key: (%d bit)\n", len(k)*8)
		b.WriteString("                X:")
		writeHexBlock(b, k, 15, 20)
	default:
		fmt.Fprintf(b, "            Public Key Algorithm: %s\n", algo)
	}
}

// writeHexBlock writes data as lowercase colon-separated hex, perLine bytes a line,
// each line indented by indent spaces, starting on a new line and ending with one.
func writeHexBlock(b *strings.Builder, data []byte, perLine, indent int) {
	for i, v := range data {
		if i%perLine == 0 {
			b.WriteString("\n" + strings.Repeat(" ", indent))
		}
		fmt.Fprintf(b, "%02x", v)
		if i != len(data)-1 {
			b.WriteString(":")
		}
	}
	b.WriteString("\n")
}

func writeSignature(b *strings.Builder, algo x509.SignatureAlgorithm, sig []byte) {
	fmt.Fprintf(b, "    Signature Algorithm: %s", algo)
	writeHexBlock(b, sig, 18, 9)
}

// colonHex returns upper-case colon-separated hex ("5A:D1:...").
func colonHex(data []byte) string {
	parts := make([]string, len(data))
	for i, v := range data {
		parts[i] = fmt.Sprintf("%02X", v)
	}
	return strings.Join(parts, ":")
}
