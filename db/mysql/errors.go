package mysql

import (
	"errors"

	mysqldrv "github.com/go-sql-driver/mysql"
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
