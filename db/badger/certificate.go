package badger

import (
	"crypto/x509"
	"encoding/json"
	"fmt"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// certificateFromRecords rebuilds a store.Certificate from its x509_certs DER
// and x509_certs_data JSON, re-deriving the index fields: NotAfter and
// Subject (common name) from the DER, Provisioner from the data's
// provisioner.name. A DER that does not parse is an error (the record is
// corrupt); data that is not the expected JSON only leaves Provisioner empty,
// since step-ca versions differ in what they put there.
func certificateFromRecords(serial string, der, data []byte) (*store.Certificate, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("table %s, serial %s: parse certificate: %w", tableCerts, serial, err)
	}
	return &store.Certificate{
		Serial:      serial,
		DER:         der,
		Data:        data,
		NotAfter:    cert.NotAfter,
		Subject:     cert.Subject.CommonName,
		Provisioner: provisionerName(data),
	}, nil
}

// provisionerName returns provisioner.name of an x509_certs_data record, or "".
func provisionerName(data []byte) string {
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
