package postgresql

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/acmesql"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
)

// migration is one schema version: statements run in order, in the same
// transaction as the version row that records them.
type migration struct {
	version int
	stmts   []string
	// run, when set, runs after stmts in the same transaction (moving
	// rows that need Go to transform them).
	run func(ctx context.Context, tx pgx.Tx) error
}

// migrations returns the schema history, oldest first. Never edit a
// released migration: append a new one.
//
// Version 1 keeps the logical content of step-ca's authority tables
// (wire-spec §6.3) in real columns: x509_certs holds x509_certs (der) and
// x509_certs_data (data) plus the index columns; revoked_x509_certs has one
// column per field of step-ca's revocation JSON. Keys stored as text are
// checked (UTF-8, no NUL) before writing; used_ott.token_key is bytea, as
// step-ca's nkey, because token reuse keys come from the token itself.
// revoked_at keeps PostgreSQL's microseconds and revoked_at_ns the
// nanoseconds below them, so a revocation time round-trips exactly.
func migrations() []migration {
	return []migration{{
		version: 1,
		stmts: []string{
			`CREATE TABLE x509_certs (
				serial varchar(64) PRIMARY KEY,
				der bytea NOT NULL,
				data bytea,
				not_after timestamptz,
				subject text,
				provisioner text
			)`,
			`CREATE INDEX x509_certs_not_after_idx ON x509_certs (not_after)`,
			`CREATE INDEX x509_certs_provisioner_idx ON x509_certs (provisioner)`,
			`CREATE INDEX x509_certs_subject_idx ON x509_certs (subject)`,
			`CREATE TABLE used_ott (
				token_key bytea PRIMARY KEY CHECK (octet_length(token_key) <= 255),
				token bytea NOT NULL
			)`,
			`CREATE TABLE revoked_x509_certs (
				serial varchar(64) PRIMARY KEY,
				provisioner_id text NOT NULL,
				reason_code integer NOT NULL,
				reason text NOT NULL,
				revoked_at timestamptz,
				revoked_at_ns integer NOT NULL DEFAULT 0,
				expires_at timestamptz,
				token_id text NOT NULL,
				mtls boolean NOT NULL,
				acme boolean NOT NULL
			)`,
			`CREATE INDEX revoked_x509_certs_expires_at_idx ON revoked_x509_certs (expires_at)`,
		},
	}, {
		// Version 2 gives used_ott the expiry of each token (its exp
		// claim), indexed, so that Maintain deletes expired rows with one
		// indexed DELETE. Rows written before it have no expiry and are
		// never pruned. Adding a nullable column rewrites nothing; the
		// index is built under the migration lock, blocking writes to
		// used_ott meanwhile.
		version: 2,
		stmts: []string{
			`ALTER TABLE used_ott ADD COLUMN expires_at timestamptz`,
			`CREATE INDEX used_ott_expires_at_idx ON used_ott (expires_at)`,
		},
	}, {
		// Version 3 holds the SSH records of step-ca's ssh_certs,
		// ssh_host_principals and revoked_ssh_certs tables (wire-spec
		// §6.3): the certificate's wire bytes with its type and expiry,
		// one row per lower-cased host principal, and SSH revocations
		// with revoked_x509_certs' columns. step-ca's ssh_hosts is
		// ssh_host_principals without the expiry, so it is not kept
		// apart; ssh_users is never read by step-ca.
		version: 3,
		stmts: []string{
			`CREATE TABLE ssh_certs (
				serial varchar(64) PRIMARY KEY,
				cert bytea NOT NULL,
				host boolean NOT NULL,
				valid_before timestamptz
			)`,
			`CREATE TABLE ssh_host_principals (
				principal varchar(255) PRIMARY KEY,
				serial varchar(64) NOT NULL,
				expiry timestamptz
			)`,
			`CREATE TABLE revoked_ssh_certs (
				serial varchar(64) PRIMARY KEY,
				provisioner_id text NOT NULL,
				reason_code integer NOT NULL,
				reason text NOT NULL,
				revoked_at timestamptz,
				revoked_at_ns integer NOT NULL DEFAULT 0,
				expires_at timestamptz,
				token_id text NOT NULL,
				mtls boolean NOT NULL,
				acme boolean NOT NULL
			)`,
		},
	}, {
		// Version 4 adds the ACME tables (wire-spec §6.4) under step-ca's
		// bucket names, quoted (mixed case): each keeps step-ca's key and
		// JSON value (nkey, nvalue), the primary key indexing every
		// lookup the ACME server makes (by ID, key thumbprint, serial,
		// account). Versions 3, 5, ... belong to other work.
		version: 4,
		stmts:   acmeTables(),
	}, {
		// Version 5 holds the last CRL number taken, one row shared by
		// every CA using the database (-1: none taken yet).
		version: 5,
		stmts: []string{
			`CREATE TABLE mayfly_crl_number (
				id integer PRIMARY KEY CHECK (id = 1),
				number bigint NOT NULL
			)`,
			`INSERT INTO mayfly_crl_number (id, number) VALUES (1, -1)`,
		},
	}, {
		// Version 6 holds remote administration (wire-spec §6.5): step-ca's
		// admins, provisioners and authority_policies tables, one JSON
		// record per ID, and the
		// one-row version the nodes sharing the database poll to learn of
		// changes (every save increments it, checking the value it read).
		version: 6,
		stmts: []string{
			`CREATE TABLE admins (id varchar(255) PRIMARY KEY, data bytea NOT NULL)`,
			`CREATE TABLE provisioners (id varchar(255) PRIMARY KEY, data bytea NOT NULL)`,
			`CREATE TABLE authority_policies (id varchar(255) PRIMARY KEY, data bytea NOT NULL)`,
			`CREATE TABLE mayfly_admin_version (id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL)`,
			`INSERT INTO mayfly_admin_version (id, version) VALUES (1, 0)`,
		},
	}, {
		// Version 7 turns the ACME object tables of version 4 (accounts,
		// orders, authorizations, challenges, certificates, nonces, EAB
		// keys) into real tables: the key (id), the JSON (value) and
		// columns extracted from it, indexed for the lookups and
		// housekeeping that need them (db/internal/acmesql). Each version-4
		// table is renamed <name>_v4, its rows are moved into the new table
		// (columns extracted in Go, as a write would), and it is dropped:
		// all in the migration's transaction. The index tables stay
		// key/value tables.
		version: 7,
		stmts:   acmeRealTables(),
		run:     moveACMERows,
	}}
}

// acmeRealTables returns the DDL of migration 7: rename each version-4
// object table out of the way and create its real table.
func acmeRealTables() []string {
	var out []string
	for _, t := range acmesql.RealTables() {
		cols := []string{t.Key + " bytea NOT NULL", t.Value + " bytea NOT NULL"}
		for _, c := range t.Columns {
			typ := "text"
			if acmesql.IsTime(c) {
				typ = "timestamptz"
			}
			cols = append(cols, c+" "+typ)
		}
		cols = append(cols,
			"CONSTRAINT "+t.Name+"_pk PRIMARY KEY ("+t.Key+")",
			"CONSTRAINT "+t.Name+"_id_len CHECK (octet_length("+t.Key+") <= 255)")
		out = append(out,
			`ALTER TABLE `+quote(t.Name)+` RENAME TO `+quote(t.Name+"_v4"),
			`CREATE TABLE `+quote(t.Name)+` (`+strings.Join(cols, ", ")+`)`)
		for _, ix := range t.Indexes {
			out = append(out, `CREATE INDEX `+acmesql.IndexName(t, ix)+` ON `+quote(t.Name)+` (`+strings.Join(ix, ", ")+`)`)
		}
	}
	return out
}

// moveACMERows copies every row of each <name>_v4 table into its real
// table, a page at a time, extracting the columns as ACMEUpdate does, and
// drops the old table.
func moveACMERows(ctx context.Context, tx pgx.Tx) error {
	for _, t := range acmesql.RealTables() {
		old := quote(t.Name + "_v4")
		after := []byte{}
		for {
			rows, err := tx.Query(ctx, `SELECT nkey, nvalue FROM `+old+` WHERE nkey > $1 ORDER BY nkey LIMIT $2`, after, acmesql.ScanPage)
			if err != nil {
				return fmt.Errorf("read %s: %w", old, err)
			}
			page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (acmesql.Record, error) {
				var rec acmesql.Record
				err := r.Scan(&rec.Key, &rec.Value)
				return rec, err
			})
			if err != nil {
				return fmt.Errorf("read %s: %w", old, err)
			}
			for _, r := range page {
				if _, err := tx.Exec(ctx, acmeUpsert(t), t.Args(string(r.Key), r.Value)...); err != nil {
					return fmt.Errorf("move a row of %s into %s: %w", old, t.Name, err)
				}
			}
			if len(page) < acmesql.ScanPage {
				break
			}
			after = page[len(page)-1].Key
		}
		if _, err := tx.Exec(ctx, `DROP TABLE `+old); err != nil {
			return fmt.Errorf("drop %s: %w", old, err)
		}
	}
	return nil
}

// acmeTables returns the CREATE TABLE statements of migration 4.
func acmeTables() []string {
	var out []string
	for _, t := range store.ACMETables() {
		out = append(out, `CREATE TABLE IF NOT EXISTS "`+t+`" (
			nkey bytea PRIMARY KEY CHECK (octet_length(nkey) <= 255),
			nvalue bytea NOT NULL)`)
	}
	return out
}

// latestVersion is the schema version this code reads and writes.
func latestVersion() int {
	m := migrations()
	return m[len(m)-1].version
}

// migrationLock is the pg_advisory_xact_lock key that serialises schema
// migrations of one database ("mayfly" in ASCII, then 1).
const migrationLock int64 = 0x6d61_7966_6c79_0001

// migrate brings the schema to latestVersion in one transaction holding the
// migration advisory lock, so that CAs starting together apply each
// migration once. PostgreSQL's DDL is transactional: a failed migration
// leaves nothing behind. A read-only store only checks the version.
func (s *Store) migrate(ctx context.Context) error {
	if s.readOnly {
		return s.checkSchema(ctx)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
			return fmt.Errorf("take the migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS mayfly_schema_migrations (
			version integer PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("create table mayfly_schema_migrations: %w", err)
		}
		current, err := schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.db.CheckVersion(current, latestVersion(), false); err != nil {
			return err
		}
		if current == 0 {
			if err := s.refuseStepCALayout(ctx, tx); err != nil {
				return err
			}
		}
		for _, m := range migrations() {
			if m.version <= current {
				continue
			}
			for _, stmt := range m.stmts {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("migrate to version %d: %w", m.version, err)
				}
			}
			if m.run != nil {
				if err := m.run(ctx, tx); err != nil {
					return fmt.Errorf("migrate to version %d: %w", m.version, err)
				}
			}
			if _, err := tx.Exec(ctx, "INSERT INTO mayfly_schema_migrations (version) VALUES ($1)", m.version); err != nil {
				return fmt.Errorf("record version %d: %w", m.version, err)
			}
		}
		return nil
	})
	if err != nil {
		var v sqlstore.VersionError
		if errors.As(err, &v) {
			return err
		}
		return s.db.Fail("schema migration", err)
	}
	return nil
}

// checkSchema verifies, without DDL, that the schema is at latestVersion.
func (s *Store) checkSchema(ctx context.Context) error {
	current, err := schemaVersion(ctx, s.pool)
	if sqlState(err) == "42P01" { // undefined_table
		current, err = 0, nil
	}
	if err != nil {
		return s.db.Fail("check schema version", err)
	}
	return s.db.CheckVersion(current, latestVersion(), true)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM mayfly_schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// refuseStepCALayout fails when the database already holds step-ca's own
// x509_certs table (nkey/nvalue): Mayfly cannot use it in place.
func (s *Store) refuseStepCALayout(ctx context.Context, tx pgx.Tx) error {
	var found bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'x509_certs' AND column_name = 'nkey')`).Scan(&found)
	if err != nil {
		return fmt.Errorf("inspect existing tables: %w", err)
	}
	if found {
		return s.db.StepCALayout()
	}
	return nil
}
