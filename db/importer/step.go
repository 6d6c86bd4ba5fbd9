package importer

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

// step-ca's authority tables (wire-spec §6.3) that Import reads.
const (
	tableCerts     = "x509_certs"
	tableCertsData = "x509_certs_data"
	tableRevoked   = "revoked_x509_certs"
	tableUsedOTT   = "used_ott"
)

// kv is a step-ca key/value database: tables of (key bytes → value bytes).
type kv interface {
	name() string
	// scan calls fn for every row of table, in key order. A missing table
	// is an error unless optional, when it has no rows. Slices passed to fn
	// are fn's to keep.
	scan(ctx context.Context, table string, optional bool, fn func(key, value []byte) error) error
	// scanCerts calls fn for every x509_certs row with the x509_certs_data
	// value of the same key (nil when absent, or when step-ca's version
	// predates that table).
	scanCerts(ctx context.Context, fn func(key, der, data []byte) error) error
	// tables returns the number of records of every table.
	tables(ctx context.Context) (map[string]int, error)
	close() error
}

// stepSource decodes step-ca's records from a kv database.
type stepSource struct{ db kv }

func (s stepSource) Name() string { return s.db.name() }
func (s stepSource) Close() error { return s.db.close() }

func (s stepSource) Certificates(ctx context.Context, fn func(*store.Certificate) error) error {
	return s.db.scanCerts(ctx, func(key, der, data []byte) error {
		c, err := decodeCertificate(string(key), der, data)
		if err != nil {
			return err
		}
		return fn(c)
	})
}

func (s stepSource) Revocations(ctx context.Context, fn func(*store.Revocation) error) error {
	return s.db.scan(ctx, tableRevoked, false, func(key, value []byte) error {
		r, err := decodeRevocation(string(key), value)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

func (s stepSource) Tokens(ctx context.Context, fn func(string, []byte) error) error {
	return s.db.scan(ctx, tableUsedOTT, false, func(key, value []byte) error {
		if len(key) == 0 {
			return fmt.Errorf("table %s: a record has an empty key", tableUsedOTT)
		}
		return fn(string(key), value)
	})
}

// Skipped counts the records of every table Import does not carry.
func (s stepSource) Skipped(ctx context.Context) ([]TableCount, error) {
	counts, err := s.db.tables(ctx)
	if err != nil {
		return nil, err
	}
	var skipped []TableCount
	for table, n := range counts {
		switch table {
		case tableCerts, tableCertsData, tableRevoked, tableUsedOTT:
			continue
		}
		if store.IsACMETable(table) && table != store.TableACMENonces {
			continue // imported by importACME
		}
		if isSSHTable(table) {
			continue // imported by importSSH
		}
		if n > 0 {
			skipped = append(skipped, TableCount{Table: table, Records: n})
		}
	}
	slices.SortFunc(skipped, func(a, b TableCount) int { return strings.Compare(a.Table, b.Table) })
	return skipped, nil
}

// decodeCertificate builds the record of x509_certs[serial] = der with its
// x509_certs_data: the index fields come from the DER and the data's
// provisioner name; DER and data are kept as they are.
func decodeCertificate(serial string, der, data []byte) (*store.Certificate, error) {
	if serial == "" {
		return nil, fmt.Errorf("table %s: a record has an empty key", tableCerts)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("table %s, serial %s: parse certificate: %w", tableCerts, serial, err)
	}
	if got := cert.SerialNumber.String(); got != serial {
		return nil, fmt.Errorf("table %s, key %s: the certificate's serial is %s", tableCerts, serial, got)
	}
	return &store.Certificate{
		Serial:      serial,
		DER:         der,
		Data:        data,
		NotAfter:    cert.NotAfter,
		Subject:     cert.Subject.CommonName,
		Provisioner: steplayout.ProvisionerName(data),
	}, nil
}

// decodeRevocation decodes revoked_x509_certs[serial]: step-ca's JSON with
// Go field names, which is store.Revocation's encoding.
func decodeRevocation(serial string, value []byte) (*store.Revocation, error) {
	return decodeRevocationOf(tableRevoked, serial, value)
}

// decodeRevocationOf decodes a revocation record of table (revoked_x509_certs
// or revoked_ssh_certs, which share the encoding).
func decodeRevocationOf(table, serial string, value []byte) (*store.Revocation, error) {
	var r store.Revocation
	if err := json.Unmarshal(value, &r); err != nil {
		return nil, fmt.Errorf("table %s, serial %s: decode revocation JSON: %w", table, serial, err)
	}
	switch {
	case serial == "":
		return nil, fmt.Errorf("table %s: a record has an empty key", table)
	case r.Serial == "":
		r.Serial = serial
	case r.Serial != serial:
		return nil, fmt.Errorf("table %s, key %s: the record's Serial is %s", table, serial, r.Serial)
	}
	return &r, nil
}
