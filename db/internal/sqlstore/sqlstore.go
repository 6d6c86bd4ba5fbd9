// Package sqlstore holds what the SQL stores (db/postgresql, db/mysql) share
// besides their committer (db/internal/sqlcommit): how errors name a
// database and are classified, the checks every record passes before it is
// written, the schema version rules, the inventory listing (query and
// paging) and the used-token pruning policy. Everything here is
// independent of the driver: the SQL that differs between servers (DDL,
// upserts, placeholders, error codes) stays in each backend.
package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/mayfly-pki/mayfly/internal/errs"
)

// DB names one database in errors. Its methods are safe for concurrent use.
type DB struct {
	Backend  string // "postgresql" or "mysql"
	Name     string // host:port/database
	Password string // redacted from every error text
	// DataError reports whether err is the server refusing the data or the
	// statement (a bug or a corrupt record) rather than a backend that is
	// down, full or misconfigured.
	DataError func(err error) bool
	// ReadOnlyNote ends the error of a write to a read-only store, e.g.
	// " (hot standby)".
	ReadOnlyNote string
}

// Fail wraps a backend error of operation what: one line naming the
// database, without the password, of kind errs.Unavailable unless the
// server refused the data or statement (DataError).
func (d DB) Fail(what string, err error) error {
	e := fmt.Errorf("%s database %s: %s: %w", d.Backend, d.Name, what, Redacted{Err: err, Password: d.Password})
	if d.DataError != nil && d.DataError(err) {
		return e
	}
	return errs.E(errs.Unavailable, "database unavailable", e)
}

// Closed is the error of every call after Close.
func (d DB) Closed() error {
	return errs.E(errs.Unavailable, "database closed", fmt.Errorf("%s database %s is closed", d.Backend, d.Name))
}

// ReadOnly is the error of a write (what) to a read-only store.
func (d DB) ReadOnly(what string) error {
	return errs.E(errs.Unavailable, "database is read-only",
		fmt.Errorf("%s database %s: %s: the store was opened read-only%s", d.Backend, d.Name, what, d.ReadOnlyNote))
}

// Redacted wraps an error whose text may contain the DSN's password: Error
// replaces it with "xxxxx" (and makes the text one line); Unwrap keeps the
// chain.
type Redacted struct {
	Err      error
	Password string
}

func (e Redacted) Error() string {
	msg := e.Err.Error()
	if e.Password != "" {
		msg = strings.ReplaceAll(msg, e.Password, "xxxxx")
	}
	return strings.Join(strings.Fields(msg), " ")
}

func (e Redacted) Unwrap() error { return e.Err }

// CtxErr returns ctx's error wrapped with what, or nil.
func CtxErr(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
