package steplayout

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// Keys of the x509_crl table. step-ca keeps its CRL under KeyCRL (JSON
// {"Number", "ExpiresAt", "Duration", "DER"}); Mayfly keeps the last CRL
// number taken under KeyCRLNumber (8 bytes, big-endian) and serves the CRL
// from memory.
const (
	KeyCRL       = "crl"
	KeyCRLNumber = "mayfly-crl-number"
)

// NextCRLNumber returns the CRL number that follows the stored counter
// (nil: none taken yet) and step-ca's CRL record (nil: none), and the
// counter's new value: 0 on an empty table, else one more than the larger
// of the two, so that a database imported from step-ca continues its
// numbering.
func NextCRLNumber(counter, crl []byte) (int64, []byte, error) {
	next := int64(0)
	if counter != nil {
		if len(counter) != 8 {
			return 0, nil, fmt.Errorf("table %s, key %s: %d bytes, want 8", TableCRL, KeyCRLNumber, len(counter))
		}
		next = int64(binary.BigEndian.Uint64(counter)) + 1
	}
	if crl != nil {
		var rec struct{ Number int64 }
		if err := json.Unmarshal(crl, &rec); err == nil && rec.Number+1 > next {
			next = rec.Number + 1
		}
	}
	return next, binary.BigEndian.AppendUint64(nil, uint64(next)), nil
}

// CRLFields are the members of a revoked_x509_certs record a CRL needs;
// decoding only these skips the others' strings.
type CRLFields struct {
	Serial     string
	ReasonCode int
	RevokedAt  time.Time
	ExpiresAt  time.Time
}
