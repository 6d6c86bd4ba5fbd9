package certinfo

import (
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/internal/keyutil"
)

// CertificateShortText returns step's --short description:
//
//	X.509v3 TLS Certificate (ECDSA P-256) [Serial: 3265...8829]
//	  Subject:     foo
//	               foo.example.com
//	  Issuer:      Smallstep Intermediate CA
//	  Provisioner: admin [ID: 0y8W...]
//	  Valid from:  2019-02-08T15:44:05Z
//	          to:  2019-02-09T15:44:05Z
func CertificateShortText(c *x509.Certificate) string {
	var b strings.Builder
	fmt.Fprintf(&b, "X.509v3 %s Certificate (%s) [Serial: %s]\n", certType(c), keyutil.PublicKeyDescription(c.PublicKey), shortSerial(c.SerialNumber.String()))
	writeSubject(&b, c.Subject.CommonName, c)
	fmt.Fprintf(&b, "  Issuer:      %s\n", displayName(c.Issuer.CommonName, Name(c.Issuer)))
	if p, ok := FindProvisioner(c); ok {
		if len(p.CredentialID) > 0 {
			fmt.Fprintf(&b, "  Provisioner: %s [ID: %s]\n", p.Name, p.CredentialID)
		} else {
			fmt.Fprintf(&b, "  Provisioner: %s\n", p.Name)
		}
	}
	fmt.Fprintf(&b, "  Valid from:  %s\n", c.NotBefore.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "          to:  %s\n", c.NotAfter.UTC().Format(time.RFC3339))
	return b.String()
}

// CertificateRequestShortText returns step's --short description of a CSR.
func CertificateRequestShortText(csr *x509.CertificateRequest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "X.509v3 Certificate Signing Request (%s)\n", keyutil.PublicKeyDescription(csr.PublicKey))
	c := &x509.Certificate{DNSNames: csr.DNSNames, IPAddresses: csr.IPAddresses, EmailAddresses: csr.EmailAddresses, URIs: csr.URIs}
	writeSubject(&b, csr.Subject.CommonName, c)
	return b.String()
}

func writeSubject(b *strings.Builder, cn string, c *x509.Certificate) {
	var names []string
	if cn != "" {
		names = append(names, cn)
	}
	for _, s := range sanValues(c) {
		if s != cn {
			names = append(names, s)
		}
	}
	if len(names) == 0 {
		names = []string{""}
	}
	fmt.Fprintf(b, "  Subject:     %s\n", names[0])
	for _, n := range names[1:] {
		fmt.Fprintf(b, "               %s\n", n)
	}
}

func sanValues(c *x509.Certificate) []string {
	var out []string
	out = append(out, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	out = append(out, c.EmailAddresses...)
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	return out
}

func displayName(cn, full string) string {
	if cn != "" {
		return cn
	}
	return full
}

func certType(c *x509.Certificate) string {
	if c.IsCA {
		if c.CheckSignatureFrom(c) == nil {
			return "Root CA"
		}
		return "Intermediate CA"
	}
	for _, u := range c.ExtKeyUsage {
		switch u {
		case x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth:
			return "TLS"
		case x509.ExtKeyUsageCodeSigning:
			return "Code Signing"
		case x509.ExtKeyUsageEmailProtection:
			return "S/MIME"
		}
	}
	return "Unknown"
}

// shortSerial abbreviates long decimal serials as step does: first 4 "..." last 4.
func shortSerial(s string) string {
	if len(s) > 16 {
		return s[:4] + "..." + s[len(s)-4:]
	}
	return s
}
