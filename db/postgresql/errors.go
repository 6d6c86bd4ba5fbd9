package postgresql

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mayfly-pki/mayfly/internal/errs"
)

// sqlState returns the SQLSTATE of a server error in err's chain, or "".
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// dataError reports whether err is the server refusing the data or the
// statement (SQLSTATE classes 22 data exception, 23 integrity constraint
// violation, 42 syntax error or access rule violation, except 42501
// insufficient privilege and 42P01 undefined table): a bug or a corrupt
// record rather than a backend that is down, full, misconfigured or missing
// its tables, so it is not errs.Unavailable.
func dataError(err error) bool {
	code := sqlState(err)
	if len(code) != 5 || code == "42501" || code == "42P01" {
		return false
	}
	switch code[:2] {
	case "22", "23", "42":
		return true
	}
	return false
}

// retryable reports whether a transaction that failed with err, with the
// connection still usable, may simply be run again: a deadlock or a
// serialization failure.
func retryable(err error) bool {
	switch sqlState(err) {
	case "40P01", "40001":
		return true
	}
	return false
}

// Column limits of the schema (schema.go).
const (
	maxSerialLen   = 64        // x509_certs.serial, revoked_x509_certs.serial
	maxTokenKeyLen = 255       // used_ott.token_key, step-ca's nkey limit
	maxValueLen    = 512 << 10 // every stored blob, as in the badger backend
)

// checkKey validates a record key; the error has kind errs.BadRequest. what
// names the field (e.g. "serial", "token key").
func checkKey(what, key string, limit int) error {
	if key == "" {
		return errs.Errorf(errs.BadRequest, "invalid %s: empty", what)
	}
	if len(key) > limit {
		return errs.Errorf(errs.BadRequest, "invalid %s: %d bytes long, the limit is %d", what, len(key), limit)
	}
	return nil
}

// checkText validates a value stored in a text column: PostgreSQL text holds
// valid UTF-8 without NUL bytes. The error has kind errs.BadRequest.
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
// storable in a text column: invalid UTF-8 becomes U+FFFD, NUL bytes are dropped and
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
