package certificate

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"

	zasn1 "github.com/zmap/zcrypto/encoding/asn1"
	zpkix "github.com/zmap/zcrypto/x509/pkix"
)

// csrJSONOut is the JSON form of a CSR for inspect --format json. zcrypto has no
// CSR encoding, so this follows its certificate key names where they apply.
type csrJSONOut struct {
	Version            int              `json:"version"`
	Subject            zpkix.Name       `json:"subject"`
	SubjectDN          string           `json:"subject_dn"`
	SubjectKeyInfo     csrKeyInfo       `json:"subject_key_info"`
	DNSNames           []string         `json:"dns_names,omitempty"`
	EmailAddresses     []string         `json:"email_addresses,omitempty"`
	IPAddresses        []string         `json:"ip_addresses,omitempty"`
	URIs               []string         `json:"uris,omitempty"`
	SignatureAlgorithm csrAlgorithm     `json:"signature_algorithm"`
	Signature          csrSignatureJSON `json:"signature"`
}

type csrKeyInfo struct {
	KeyAlgorithm      csrAlgorithm `json:"key_algorithm"`
	PublicKey         []byte       `json:"public_key"`
	FingerprintSHA256 string       `json:"fingerprint_sha256"`
}

type csrAlgorithm struct {
	Name string `json:"name"`
}

type csrSignatureJSON struct {
	SignatureAlgorithm csrAlgorithm `json:"signature_algorithm"`
	Value              []byte       `json:"value"`
	Valid              bool         `json:"valid"`
}

func csrJSON(csr *x509.CertificateRequest) csrJSONOut {
	var subject zpkix.Name
	var rdn zpkix.RDNSequence
	if _, err := zasn1.Unmarshal(csr.RawSubject, &rdn); err == nil {
		subject.FillFromRDNSequence(&rdn)
	}
	spki := sha256.Sum256(csr.RawSubjectPublicKeyInfo)
	out := csrJSONOut{
		Version:   csr.Version,
		Subject:   subject,
		SubjectDN: subject.String(),
		SubjectKeyInfo: csrKeyInfo{
			KeyAlgorithm:      csrAlgorithm{Name: csr.PublicKeyAlgorithm.String()},
			PublicKey:         csr.RawSubjectPublicKeyInfo,
			FingerprintSHA256: hex.EncodeToString(spki[:]),
		},
		DNSNames:           csr.DNSNames,
		EmailAddresses:     csr.EmailAddresses,
		SignatureAlgorithm: csrAlgorithm{Name: csr.SignatureAlgorithm.String()},
		Signature: csrSignatureJSON{
			SignatureAlgorithm: csrAlgorithm{Name: csr.SignatureAlgorithm.String()},
			Value:              csr.Signature,
			Valid:              csr.CheckSignature() == nil,
		},
	}
	for _, ip := range csr.IPAddresses {
		out.IPAddresses = append(out.IPAddresses, ip.String())
	}
	for _, u := range csr.URIs {
		out.URIs = append(out.URIs, u.String())
	}
	return out
}
