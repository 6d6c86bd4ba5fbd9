// Package steplayout is step-ca's logical database layout (wire-spec §6.3),
// shared by the key/value backends (Badger, bbolt) and the importer: table
// names and how a certificate record is read back.
package steplayout

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// The authority tables step-ca creates at every start.
const (
	TableCerts          = "x509_certs"
	TableCertsData      = "x509_certs_data"
	TableRevokedCerts   = "revoked_x509_certs"
	TableCRL            = "x509_crl"
	TableUsedOTT        = "used_ott"
	TableSSHCerts       = "ssh_certs"
	TableSSHHosts       = "ssh_hosts"
	TableSSHUsers       = "ssh_users"
	TableSSHPrincipals  = "ssh_host_principals"
	TableRevokedSSHCert = "revoked_ssh_certs"
)

// AuthorityTables lists the tables in step-ca's creation order.
func AuthorityTables() []string {
	return []string{
		TableCerts, TableCertsData, TableRevokedCerts, TableCRL, TableUsedOTT,
		TableSSHCerts, TableSSHHosts, TableSSHUsers, TableSSHPrincipals, TableRevokedSSHCert,
	}
}

// CertificateFromRecords rebuilds a store.Certificate from its x509_certs DER
// and x509_certs_data JSON, re-deriving the index fields: NotAfter and
// Subject (common name) from the DER, Provisioner from the data's
// provisioner.name. A DER that does not parse is an error (the record is
// corrupt); data that is not the expected JSON only leaves Provisioner empty,
// since step-ca versions differ in what they put there.
func CertificateFromRecords(serial string, der, data []byte) (*store.Certificate, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("table %s, serial %s: parse certificate: %w", TableCerts, serial, err)
	}
	return &store.Certificate{
		Serial:      serial,
		DER:         der,
		Data:        data,
		NotAfter:    cert.NotAfter,
		Subject:     cert.Subject.CommonName,
		Provisioner: ProvisionerName(data),
	}, nil
}

// ProvisionerName returns provisioner.name of an x509_certs_data record, or "".
func ProvisionerName(data []byte) string {
	if len(data) == 0 {
		return ""
	}
	var d struct {
		Provisioner struct {
			Name string `json:"name"`
		} `json:"provisioner"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return ""
	}
	return d.Provisioner.Name
}

// TokenExpiry reads the exp claim of a compact JWS without verifying it.
func TokenExpiry(raw []byte) (int64, bool) {
	first := bytes.IndexByte(raw, '.')
	if first < 0 {
		return 0, false
	}
	rest := raw[first+1:]
	second := bytes.IndexByte(rest, '.')
	if second < 0 {
		return 0, false
	}
	payload := make([]byte, base64.RawURLEncoding.DecodedLen(second))
	n, err := base64.RawURLEncoding.Decode(payload, rest[:second])
	if err != nil {
		return 0, false
	}
	var claims struct {
		Exp *float64 `json:"exp"`
	}
	if json.Unmarshal(payload[:n], &claims) != nil || claims.Exp == nil {
		return 0, false
	}
	return int64(*claims.Exp), true
}
