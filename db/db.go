// Package db opens the storage backend named by ca.json's "db" block
// (wire-spec §6.1) and returns it as the authority's store.Store port.
package db

import (
	"context"
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/badger"
	"github.com/mayfly-pki/mayfly/db/bbolt"
	"github.com/mayfly-pki/mayfly/db/memory"
	"github.com/mayfly-pki/mayfly/db/mysql"
	"github.com/mayfly-pki/mayfly/db/postgresql"
	"github.com/mayfly-pki/mayfly/internal/meter"
)

// Options is ca.json's "db" block.
type Options struct {
	// Type is the backend: badger, badgerv1, badgerv2, badgerv4, bbolt,
	// mysql or postgresql (case-insensitive).
	Type string `json:"type"`
	// DataSource is a directory (badger), a file (bbolt) or a DSN: a pgx
	// connection string (postgresql) or a go-sql-driver DSN (mysql).
	DataSource string `json:"dataSource"`
	// ValueDir is badger's value log directory; empty means DataSource.
	ValueDir string `json:"valueDir,omitempty"`
	// Database names the SQL database, overriding the DSN's.
	Database string `json:"database,omitempty"`
	// BadgerFileLoadingMode is "", "FileIO" or "MemoryMap"; accepted for
	// compatibility, without effect on Badger v4.
	BadgerFileLoadingMode string `json:"badgerFileLoadingMode,omitempty"`
	// ReadOnly opens a SQL database for a hot standby: no database
	// creation, no migrations, every write refused (errs.Unavailable).
	// Only mysql and postgresql support it.
	ReadOnly bool `json:"readOnly,omitempty"`
	// Meter receives each commit's duration and batch size (not ca.json;
	// nil: none).
	Meter meter.Commits `json:"-"`
}

// Open returns the store described by o: the in-memory store when o is nil
// (no "db" block), else the named backend. Every badger type (badger,
// badgerv1, badgerv2, badgerv4) opens Mayfly's Badger v4 backend, which
// refuses, with a clear error, a directory written by step-ca's Badger v1/v2.
// mysql and postgresql create the database when missing and their tables by
// versioned migrations; they cannot use a database written by step-ca.
// log (may be nil) receives the backend's warnings. Errors name the backend
// and its path; the caller owns the returned store and must Close it.
func Open(ctx context.Context, o *Options, log logrus.FieldLogger) (store.Store, error) {
	if o == nil {
		return memory.New(), nil
	}
	t := strings.ToLower(o.Type)
	if o.ReadOnly && t != "mysql" && t != "postgresql" {
		return nil, fmt.Errorf("database type %q cannot be opened read-only: db.readOnly (step-ca --read-only) is for a mysql or postgresql hot standby", o.Type)
	}
	switch t {
	case "badger", "badgerv1", "badgerv2", "badgerv4":
		if o.DataSource == "" {
			return nil, fmt.Errorf("database type %q: db.dataSource is empty, want the database directory", o.Type)
		}
		s, err := badger.Open(ctx, badger.Options{
			Dir:             o.DataSource,
			ValueDir:        o.ValueDir,
			FileLoadingMode: o.BadgerFileLoadingMode,
			Logger:          log,
			Meter:           o.Meter,
		})
		if err != nil {
			return nil, err
		}
		return s, nil
	case "bbolt":
		if o.DataSource == "" {
			return nil, fmt.Errorf("database type %q: db.dataSource is empty, want the database file", o.Type)
		}
		s, err := bbolt.Open(ctx, bbolt.Options{Path: o.DataSource, Meter: o.Meter})
		if err != nil {
			return nil, err
		}
		return s, nil
	case "mysql":
		s, err := mysql.Open(ctx, mysql.Options{DataSource: o.DataSource, Database: o.Database, Logger: log, ReadOnly: o.ReadOnly, Meter: o.Meter})
		if err != nil {
			return nil, err
		}
		return s, nil
	case "postgresql":
		s, err := postgresql.Open(ctx, postgresql.Options{DataSource: o.DataSource, Database: o.Database, ReadOnly: o.ReadOnly, Meter: o.Meter})
		if err != nil {
			return nil, err
		}
		return s, nil
	default:
		return nil, fmt.Errorf("unsupported database type %q", o.Type)
	}
}
