package importer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// StepOptions are the parts of step-ca's ca.json "db" block that OpenStep
// needs besides the type and data source.
type StepOptions struct {
	// Database, when not empty, overrides a SQL DSN's database name (as
	// ca.json's db.database).
	Database string
	// ValueDir is a Badger source's value log directory (ca.json's
	// db.valueDir) when it is not the data directory.
	ValueDir string
}

// OpenStep opens a Smallstep step-ca database named as
// "<type>:<dataSource>": "mysql:user:pw@tcp(host:3306)/db",
// "postgresql:postgresql://user@host:5432/db?sslmode=disable" (a bare
// "postgresql://..." or "postgres://..." DSN also works),
// "bbolt:/path/to/file", or "badgerv2:/path/to/dir" (step-ca's default),
// "badgerv1:" or "badger:" for a Badger directory (its MANIFEST tells v1 from
// v2). Only reads are made. Errors never contain the DSN's password; the
// caller must Close the source.
func OpenStep(ctx context.Context, from string, o StepOptions) (Source, error) {
	typ, dsn, err := splitFrom(from)
	if err != nil {
		return nil, err
	}
	if o.ValueDir != "" && !strings.HasPrefix(typ, "badger") {
		return nil, fmt.Errorf("invalid source: a value directory applies to a Badger source only, not %s", typ)
	}
	var db kv
	switch typ {
	case "postgresql", "postgres":
		db, err = openPostgres(ctx, dsn, o.Database)
	case "mysql":
		db, err = openMySQL(ctx, dsn, o.Database)
	case "bbolt":
		db, err = openBolt(dsn)
	case "badger", "badgerv1", "badgerv2":
		db, err = openBadgerDir(dsn, o.ValueDir)
	}
	if err != nil {
		return nil, err
	}
	if sq, ok := db.(*sqlKV); ok {
		mayfly, err := sq.isMayfly(ctx)
		if err == nil && mayfly {
			t := "mysql"
			if sq.postgres {
				t = "postgresql"
			}
			err = &MayflySourceError{Type: t, DataSource: dsn, Database: o.Database, Display: sq.display}
		}
		if err != nil {
			sq.close()
			return nil, err
		}
	}
	return stepSource{db}, nil
}

// MayflySourceError is OpenStep's error for a MySQL or PostgreSQL source
// that holds a Mayfly database (it has mayfly_schema_migrations) rather
// than step-ca's key/value tables: the caller opens it as a Mayfly store
// (read-only) and imports from it through FromStore.
type MayflySourceError struct {
	Type       string // "mysql" or "postgresql"
	DataSource string // the DSN as given: it may hold a password, never printed
	Database   string // overrides the DSN's database when not empty
	Display    string // type host:port/database, for messages
}

func (e *MayflySourceError) Error() string {
	return "source " + e.Display + " is a Mayfly database, not a step-ca one: open it as a Mayfly store"
}

// splitFrom splits "<type>:<dataSource>".
func splitFrom(from string) (typ, dsn string, err error) {
	lower := strings.ToLower(from)
	if strings.HasPrefix(lower, "postgresql://") || strings.HasPrefix(lower, "postgres://") {
		return "postgresql", from, nil
	}
	typ, dsn, ok := strings.Cut(from, ":")
	typ = strings.ToLower(typ)
	switch {
	case !ok || dsn == "":
		return "", "", errors.New("invalid source: want <type>:<dataSource> with type badgerv2, badgerv1, bbolt, mysql or postgresql")
	case typ != "mysql" && typ != "postgresql" && typ != "postgres" && typ != "bbolt" &&
		typ != "badger" && typ != "badgerv1" && typ != "badgerv2":
		return "", "", fmt.Errorf("invalid source type %q: want badgerv2, badgerv1, bbolt, mysql or postgresql", typ)
	}
	return typ, dsn, nil
}

// storeSource reads another Mayfly store through store.Inventory.
type storeSource struct {
	st   store.Store
	inv  store.Inventory
	name string
}

// FromStore returns a Source that reads st, which must implement
// store.Inventory: every listed certificate with its data, and the
// revocations of the listed certificates. Used tokens cannot be listed and
// are not copied (the target CA's restart refuses tokens issued before it,
// so none of them can be replayed). name describes st in messages. Closing
// the source closes st.
func FromStore(st store.Store, name string) (Source, error) {
	inv, ok := st.(store.Inventory)
	if !ok {
		return nil, fmt.Errorf("source %s: this backend cannot list its certificates", name)
	}
	return storeSource{st: st, inv: inv, name: name}, nil
}

func (s storeSource) Name() string { return s.name }
func (s storeSource) Close() error { return s.st.Close() }

// each calls fn for every listed certificate.
// revoked, when not nil, selects revoked (or unrevoked) records only.
func (s storeSource) each(ctx context.Context, revoked *bool, fn func(*store.CertificateInfo) error) error {
	f := store.CertificateFilter{Limit: store.MaxListLimit, Revoked: revoked}
	for {
		page, next, err := s.inv.ListCertificates(ctx, f)
		if err != nil {
			return fmt.Errorf("source %s: list certificates: %w", s.name, err)
		}
		for _, info := range page {
			if err := fn(info); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		f.Cursor = next
	}
}

func (s storeSource) Certificates(ctx context.Context, fn func(*store.Certificate) error) error {
	return s.each(ctx, nil, func(info *store.CertificateInfo) error {
		c, err := s.st.GetCertificate(ctx, info.Serial)
		if errors.Is(err, store.ErrNotFound) {
			return nil // pruned since it was listed
		}
		if err != nil {
			return fmt.Errorf("source %s: read certificate %s: %w", s.name, info.Serial, err)
		}
		return fn(c)
	})
}

func (s storeSource) Revocations(ctx context.Context, fn func(*store.Revocation) error) error {
	revoked := true
	return s.each(ctx, &revoked, func(info *store.CertificateInfo) error {
		r, err := s.st.GetRevocation(ctx, info.Serial)
		if err != nil {
			return fmt.Errorf("source %s: read revocation of %s: %w", s.name, info.Serial, err)
		}
		return fn(r)
	})
}

func (s storeSource) Tokens(context.Context, func(string, []byte) error) error { return nil }

// Skipped is nil: a Mayfly store holds nothing Import does not carry.
func (s storeSource) Skipped(context.Context) ([]TableCount, error) { return nil, nil }
