package badger

import (
	"encoding/binary"

	"github.com/mayfly-pki/mayfly/internal/errs"
)

// maxKeyLen bounds the record keys (serials, token reuse keys) this store
// accepts: 255 bytes, the nkey limit of step-ca's SQL tables, so every backend
// agrees. step-ca's keys are decimal serials and jti/sha256-hex strings, far
// below it.
const maxKeyLen = 255

// tableMarker returns the key step-ca writes (with an empty value) when it
// creates a table: u16le(len(bucket)) || bucket.
func tableMarker(bucket string) []byte {
	b := make([]byte, 0, 2+len(bucket))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(bucket)))
	return append(b, bucket...)
}

// recordKey returns step-ca's badger key of key in bucket:
// u16le(len(bucket)) || bucket || u16le(len(key)) || key.
func recordKey(bucket, key string) []byte {
	b := make([]byte, 0, 4+len(bucket)+len(key))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(bucket)))
	b = append(b, bucket...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(key)))
	return append(b, key...)
}

// checkKey validates a record key before it is encoded; the error has kind
// errs.BadRequest. what names the field (e.g. "serial", "token key").
func checkKey(what, key string) error {
	if key == "" {
		return errs.Errorf(errs.BadRequest, "invalid %s: empty", what)
	}
	if len(key) > maxKeyLen {
		return errs.Errorf(errs.BadRequest, "invalid %s: %d bytes long, the limit is %d", what, len(key), maxKeyLen)
	}
	return nil
}
