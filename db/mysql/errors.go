package mysql

import (
	"errors"
	"strings"
	"unicode/utf8"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/mayfly-pki/mayfly/internal/errs"
)

// mysqlErrno returns the server error number in err's chain, or 0.
func mysqlErrno(err error) uint16 {
	var me *mysqldrv.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// dataError reports whether err is the server refusing the data or the
// statement: a bug or a corrupt record rather than a backend that is down,
// full or misconfigured, so it is not errs.Unavailable.
func dataError(err error) bool {
	switch mysqlErrno(err) {
	case 1048, // ER_BAD_NULL_ERROR
		1054, // ER_BAD_FIELD_ERROR
		1062, // ER_DUP_ENTRY
		1064, // ER_PARSE_ERROR
		1264, // ER_WARN_DATA_OUT_OF_RANGE
		1292, // ER_TRUNCATED_WRONG_VALUE
		1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD
		1406: // ER_DATA_TOO_LONG
		return true
	}
	return false
}

// retryable reports whether a transaction that failed with err was rolled
// back by the server and may simply be run again: a deadlock or a lock wait
// timeout.
func retryable(err error) bool {
	switch mysqlErrno(err) {
	case 1213, 1205: // ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT
		return true
	}
	return false
}

// connectionLost reports whether err means the connection broke (or none
// could be had) rather than the server refusing a statement on a working
// connection.
func connectionLost(err error) bool {
	if err == nil {
		return false
	}
	switch mysqlErrno(err) {
	case 0: // not a server error: network, driver (ErrInvalidConn, driver.ErrBadConn)
		return true
	case 1053, // ER_SERVER_SHUTDOWN
		1927: // MariaDB ER_CONNECTION_KILLED
		return true
	}
	return false
}

// Column limits of the schema (schema.go).
const (
	maxSerialLen   = 64        // VARBINARY(64)
	maxTokenKeyLen = 255       // VARBINARY(255), step-ca's nkey limit
	maxValueLen    = 512 << 10 // every stored blob or text, as in the badger backend
)

// checkKey validates a record key; the error has kind errs.BadRequest.
func checkKey(what, key string, limit int) error {
	if key == "" {
		return errs.Errorf(errs.BadRequest, "invalid %s: empty", what)
	}
	if len(key) > limit {
		return errs.Errorf(errs.BadRequest, "invalid %s: %d bytes long, the limit is %d", what, len(key), limit)
	}
	return nil
}

// checkText validates a value stored in a text column: valid UTF-8 without
// NUL bytes (the PostgreSQL backend's rule, kept here so that every SQL
// backend accepts the same records). The error has kind errs.BadRequest.
func checkText(what, v string) error {
	if !utf8.ValidString(v) {
		return errs.Errorf(errs.BadRequest, "invalid %s: not valid UTF-8", what)
	}
	if strings.IndexByte(v, 0) >= 0 {
		return errs.Errorf(errs.BadRequest, "invalid %s: contains a NUL byte", what)
	}
	return nil
}

func checkValue(what string, n int) error {
	if n > maxValueLen {
		return errs.Errorf(errs.BadRequest, "invalid %s: %d bytes long, the limit is %d", what, n, maxValueLen)
	}
	return nil
}

// maxIndexText bounds the derived index columns (subject, provisioner):
// an index entry must stay well below the database's key size limits
// (PostgreSQL's B-tree accepts about 2700 bytes).
const maxIndexText = 1024

// indexText makes a derived index value (subject, provisioner name)
// storable in a utf8mb4 column: invalid UTF-8 becomes U+FFFD, NUL bytes are dropped and
// the value is cut to maxIndexText bytes at a character boundary. The
// certificate's DER keeps the full value.
func indexText(v string) string {
	v = strings.ReplaceAll(strings.ToValidUTF8(v, "\uFFFD"), "\x00", "")
	if len(v) <= maxIndexText {
		return v
	}
	cut := maxIndexText
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut]
}
