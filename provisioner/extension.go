package provisioner

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
)

// ExtensionOID is step's provisioner extension (wire-spec §5.1).
var ExtensionOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 37476, 9000, 64, 1}

type extensionASN1 struct {
	Type          int
	Name          []byte
	CredentialID  []byte
	KeyValuePairs []string `asn1:"optional,omitempty"`
}

// Extension is the decoded provisioner extension of a certificate.
type Extension struct {
	Type          Type
	Name          string
	CredentialID  string
	KeyValuePairs []string
}

// NewExtension returns the certificate extension naming info.
func NewExtension(info Info, keyValuePairs ...string) (pkix.Extension, error) {
	if len(keyValuePairs) == 0 && info.Type >= 0 {
		// The extension of every JWK certificate: encoded directly, as
		// asn1.Marshal would (TestNewExtensionMatchesMarshal), without
		// its reflection (5 µs of a sign request).
		return pkix.Extension{Id: ExtensionOID, Value: appendExtension(nil, info)}, nil
	}
	b, err := asn1.Marshal(extensionASN1{
		Type: int(info.Type), Name: []byte(info.Name), CredentialID: []byte(info.CredentialID),
		KeyValuePairs: keyValuePairs,
	})
	if err != nil {
		return pkix.Extension{}, fmt.Errorf("error encoding provisioner extension: %w", err)
	}
	return pkix.Extension{Id: ExtensionOID, Value: b}, nil
}

// appendExtension appends SEQUENCE { INTEGER type, OCTET STRING name,
// OCTET STRING credentialID } in DER; info.Type must not be negative.
func appendExtension(dst []byte, info Info) []byte {
	var typ [9]byte // a non-negative int64 in DER: at most 9 bytes
	n := len(typ) - 1
	for v := uint64(info.Type); ; v >>= 8 {
		typ[n] = byte(v)
		if v < 0x80 {
			break
		}
		n--
	}
	body := 2 + len(typ) - n + derLenSize(len(info.Name)) + len(info.Name) + derLenSize(len(info.CredentialID)) + len(info.CredentialID)
	dst = appendDERHeader(dst, 0x30, body)
	dst = appendDERHeader(dst, 0x02, len(typ)-n)
	dst = append(dst, typ[n:]...)
	dst = appendDERHeader(dst, 0x04, len(info.Name))
	dst = append(dst, info.Name...)
	dst = appendDERHeader(dst, 0x04, len(info.CredentialID))
	return append(dst, info.CredentialID...)
}

// derLenSize is the size of a DER tag and length for n content bytes.
func derLenSize(n int) int {
	if n < 0x80 {
		return 2
	}
	size := 2 // tag, 0x80|count, then count bytes
	for ; n > 0; n >>= 8 {
		size++
	}
	return size
}

func appendDERHeader(dst []byte, tag byte, n int) []byte {
	dst = append(dst, tag)
	if n < 0x80 {
		return append(dst, byte(n))
	}
	size := derLenSize(n) - 2
	dst = append(dst, 0x80|byte(size))
	for i := size - 1; i >= 0; i-- {
		dst = append(dst, byte(n>>(8*i)))
	}
	return dst
}

// FindExtension returns the provisioner extension of cert, if any.
func FindExtension(cert *x509.Certificate) (*Extension, bool) {
	for _, e := range cert.Extensions {
		if !e.Id.Equal(ExtensionOID) {
			continue
		}
		var v extensionASN1
		if rest, err := asn1.Unmarshal(e.Value, &v); err != nil || len(rest) != 0 {
			return nil, false
		}
		return &Extension{Type: Type(v.Type), Name: string(v.Name), CredentialID: string(v.CredentialID), KeyValuePairs: v.KeyValuePairs}, true
	}
	return nil, false
}
