package wire

import "time"

// CertificateInfo is one record of GET /admin/certificates.
type CertificateInfo struct {
	Serial      string     `json:"serial"`
	Subject     string     `json:"subject"`
	SANs        []string   `json:"sans"`
	NotBefore   time.Time  `json:"notBefore"`
	NotAfter    time.Time  `json:"notAfter"`
	Provisioner string     `json:"provisioner"`
	Revoked     bool       `json:"revoked"`
	RevokedAt   *time.Time `json:"revokedAt,omitempty"`
	ReasonCode  *int       `json:"reasonCode,omitempty"`
}

// CertificateListResponse is the body of GET /admin/certificates. NextCursor
// is "" on the last page.
type CertificateListResponse struct {
	Certificates []CertificateInfo `json:"certificates"`
	NextCursor   string            `json:"nextCursor"`
}
