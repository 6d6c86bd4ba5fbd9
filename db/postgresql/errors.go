package postgresql

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
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
