package bbolt

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/internal/errs"
)

// bucket returns the named bucket, or an error if the file lacks it (Open
// creates every bucket, so only a file changed behind the store's back can).
func bucket(tx *bolt.Tx, name string) (*bolt.Bucket, error) {
	b := tx.Bucket([]byte(name))
	if b == nil {
		return nil, fmt.Errorf("bucket %s is missing", name)
	}
	return b, nil
}

const (
	// maxKeyLen bounds the record keys (serials, token reuse keys): 255
	// bytes, the nkey limit of step-ca's SQL tables, as in every backend.
	maxKeyLen = 255
	// maxValueLen bounds each stored value, as in the badger backend.
	maxValueLen = 512 << 10
)

// checkKey validates a record key; the error has kind errs.BadRequest. what
// names the field (e.g. "serial", "token key").
func checkKey(what, key string) error {
	if key == "" {
		return errs.Errorf(errs.BadRequest, "invalid %s: empty", what)
	}
	if len(key) > maxKeyLen {
		return errs.Errorf(errs.BadRequest, "invalid %s: %d bytes long, the limit is %d", what, len(key), maxKeyLen)
	}
	return nil
}

func checkValue(what string, n int) error {
	if n > maxValueLen {
		return errs.Errorf(errs.BadRequest, "invalid %s: %d bytes long, the limit is %d", what, n, maxValueLen)
	}
	return nil
}
