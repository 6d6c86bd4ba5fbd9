package csrparse

import (
	"crypto/x509"
	"net"
	"net/url"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// GeneralName tags x509 extracts (RFC 5280, section 4.2.1.6).
var (
	tagRFC822Name = cbasn1.Tag(1).ContextSpecific()
	tagDNSName    = cbasn1.Tag(2).ContextSpecific()
	tagURI        = cbasn1.Tag(6).ContextSpecific()
	tagIPAddress  = cbasn1.Tag(7).ContextSpecific()
)

// parseSAN fills the name fields of csr from a subjectAltName extension
// value. x509 reads it with cryptobyte too, so we mirror it call for call:
// bytes after the GeneralNames SEQUENCE are ignored, other name types are
// skipped, and any name x509 would reject makes us fall back so that x509
// reports the error.
func parseSAN(value []byte, csr *x509.CertificateRequest) bool {
	der := cryptobyte.String(value)
	if !der.ReadASN1(&der, cbasn1.SEQUENCE) {
		return false
	}
	// x509 assigns these rather than appending, but a request carries at
	// most one subjectAltName (duplicates were rejected), so it is the same.
	for !der.Empty() {
		var name cryptobyte.String
		var tag cbasn1.Tag
		if !der.ReadAnyASN1(&name, &tag) {
			return false
		}
		switch tag {
		case tagRFC822Name, tagDNSName, tagURI:
			if !isASCIIString(name) {
				return false
			}
		}
		switch tag {
		case tagRFC822Name:
			csr.EmailAddresses = append(csr.EmailAddresses, string(name))
		case tagDNSName:
			csr.DNSNames = append(csr.DNSNames, string(name))
		case tagURI:
			uri, err := url.Parse(string(name))
			if err != nil || uri.Host != "" && !validURIHost(uri.Host) {
				return false
			}
			csr.URIs = append(csr.URIs, uri)
		case tagIPAddress:
			if len(name) != net.IPv4len && len(name) != net.IPv6len {
				return false
			}
			// Not copied: like x509's, the address shares memory with the
			// extension value.
			csr.IPAddresses = append(csr.IPAddresses, net.IP(name))
		}
	}
	return true
}

// isASCIIString is x509's IA5String check: it ranges over runes and
// rejects any above 0x7f, and invalid UTF-8 decodes to U+FFFD, so this is
// the same as requiring every byte to be ASCII.
func isASCIIString(b []byte) bool {
	for _, c := range b {
		if !isASCII(c) {
			return false
		}
	}
	return true
}

// validURIHost reports whether x509 accepts host as the host of a URI
// name (its domainNameValid with constraint=false): printable ASCII other
// than space, no empty labels, and no trailing dot.
func validURIHost(host string) bool {
	label := 0
	for i := 0; i < len(host); i++ {
		switch c := host[i]; {
		case c < '!' || c > '~':
			return false
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		default:
			label++
		}
	}
	return label > 0
}
