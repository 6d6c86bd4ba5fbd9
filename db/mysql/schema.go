package mysql

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/acmesql"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// migration is one schema version.
type migration struct {
	version int
	stmts   []string
	// guarded are statements run only when their check finds nothing, for
	// DDL that MySQL cannot make idempotent (it has no ADD COLUMN IF NOT
	// EXISTS).
	guarded []guarded
	// run, when set, runs last; like every statement it must be able to
	// run again after an interruption.
	run func(ctx context.Context, conn *sql.Conn) error
}

// guarded is a statement run unless check (a SELECT COUNT(*)) finds rows.
type guarded struct {
	check, stmt string
}

// migrations returns the schema history, oldest first. Never edit a
// released migration: append a new one. MySQL commits DDL implicitly, so a
// migration cannot be atomic: every statement must be idempotent (IF NOT
// EXISTS, indexes inside CREATE TABLE, or guarded by a check of
// information_schema) so that a migration interrupted half way is
// completed by the next start.
//
// Version 1 keeps the logical content of step-ca's authority tables
// (wire-spec §6.3): x509_certs holds x509_certs (der) and x509_certs_data
// (data) plus the index columns; revoked_x509_certs has one column per field
// of step-ca's revocation JSON. Keys are VARBINARY (exact byte comparison,
// like step-ca's nkey); text is utf8mb4 with a binary collation; prefix
// indexes (191 characters) keep within every InnoDB row format's key limit.
// revoked_at keeps DATETIME(6)'s microseconds and revoked_at_ns the
// nanoseconds below them, so a revocation time round-trips exactly.
func migrations() []migration {
	return []migration{{
		version: 1,
		stmts: []string{
			`CREATE TABLE IF NOT EXISTS x509_certs (
				serial VARBINARY(64) NOT NULL,
				der MEDIUMBLOB NOT NULL,
				data MEDIUMBLOB NULL,
				not_after DATETIME(6) NULL,
				subject MEDIUMTEXT NULL,
				provisioner MEDIUMTEXT NULL,
				PRIMARY KEY (serial),
				KEY x509_certs_not_after_idx (not_after),
				KEY x509_certs_provisioner_idx (provisioner(191)),
				KEY x509_certs_subject_idx (subject(191))
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS used_ott (
				token_key VARBINARY(255) NOT NULL,
				token MEDIUMBLOB NOT NULL,
				PRIMARY KEY (token_key)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS revoked_x509_certs (
				serial VARBINARY(64) NOT NULL,
				provisioner_id MEDIUMTEXT NOT NULL,
				reason_code INT NOT NULL,
				reason MEDIUMTEXT NOT NULL,
				revoked_at DATETIME(6) NULL,
				revoked_at_ns INT NOT NULL DEFAULT 0,
				expires_at DATETIME(6) NULL,
				token_id MEDIUMTEXT NOT NULL,
				mtls BOOLEAN NOT NULL,
				acme BOOLEAN NOT NULL,
				PRIMARY KEY (serial),
				KEY revoked_x509_certs_expires_at_idx (expires_at)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		},
	}, {
		// Version 2 gives used_ott the expiry of each token (its exp
		// claim), indexed, so that Maintain deletes expired rows with one
		// indexed DELETE. Rows written before it have no expiry and are
		// never pruned.
		version: 2,
		guarded: []guarded{{
			check: `SELECT COUNT(*) FROM information_schema.columns
				WHERE table_schema = DATABASE() AND table_name = 'used_ott' AND column_name = 'expires_at'`,
			stmt: `ALTER TABLE used_ott ADD COLUMN expires_at DATETIME(6) NULL`,
		}, {
			check: `SELECT COUNT(*) FROM information_schema.statistics
				WHERE table_schema = DATABASE() AND table_name = 'used_ott' AND index_name = 'used_ott_expires_at_idx'`,
			stmt: `ALTER TABLE used_ott ADD KEY used_ott_expires_at_idx (expires_at)`,
		}},
	}, {
		// Version 3 holds the SSH records of step-ca's ssh_certs,
		// ssh_host_principals and revoked_ssh_certs tables (wire-spec
		// §6.3), as PostgreSQL's version 3 does.
		version: 3,
		stmts: []string{
			`CREATE TABLE IF NOT EXISTS ssh_certs (
				serial VARBINARY(64) NOT NULL,
				cert MEDIUMBLOB NOT NULL,
				host BOOLEAN NOT NULL,
				valid_before DATETIME(6) NULL,
				PRIMARY KEY (serial)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS ssh_host_principals (
				principal VARBINARY(255) NOT NULL,
				serial VARBINARY(64) NOT NULL,
				expiry DATETIME(6) NULL,
				PRIMARY KEY (principal)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS revoked_ssh_certs (
				serial VARBINARY(64) NOT NULL,
				provisioner_id MEDIUMTEXT NOT NULL,
				reason_code INT NOT NULL,
				reason MEDIUMTEXT NOT NULL,
				revoked_at DATETIME(6) NULL,
				revoked_at_ns INT NOT NULL DEFAULT 0,
				expires_at DATETIME(6) NULL,
				token_id MEDIUMTEXT NOT NULL,
				mtls BOOLEAN NOT NULL,
				acme BOOLEAN NOT NULL,
				PRIMARY KEY (serial)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
		},
	}, {
		// Version 4 adds the ACME tables (wire-spec §6.4) under step-ca's
		// bucket names: each keeps step-ca's key and JSON value (nkey,
		// nvalue), the primary key indexing every lookup the ACME server
		// makes. Versions 3, 5, ... belong to other work.
		version: 4,
		stmts:   acmeTables(),
	}, {
		// Version 5 holds the last CRL number taken, one row shared by
		// every CA using the database (-1: none taken yet).
		version: 5,
		stmts: []string{
			`CREATE TABLE IF NOT EXISTS mayfly_crl_number (
				id INT NOT NULL,
				number BIGINT NOT NULL,
				PRIMARY KEY (id)
			) ENGINE=InnoDB`,
			`INSERT IGNORE INTO mayfly_crl_number (id, number) VALUES (1, -1)`,
		},
	}, {
		// Version 6 holds remote administration (wire-spec §6.5): step-ca's
		// admins, provisioners and authority_policies tables, one JSON
		// record per ID, and the
		// one-row version the nodes sharing the database poll to learn of
		// changes (every save increments it, checking the value it read).
		// Every statement may run again after a partial failure.
		version: 6,
		stmts: []string{
			`CREATE TABLE IF NOT EXISTS admins (
				id VARBINARY(255) NOT NULL,
				data MEDIUMBLOB NOT NULL,
				PRIMARY KEY (id)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS provisioners (
				id VARBINARY(255) NOT NULL,
				data MEDIUMBLOB NOT NULL,
				PRIMARY KEY (id)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS authority_policies (
				id VARBINARY(255) NOT NULL,
				data MEDIUMBLOB NOT NULL,
				PRIMARY KEY (id)
			) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
			`CREATE TABLE IF NOT EXISTS mayfly_admin_version (
				id INT NOT NULL,
				version BIGINT NOT NULL,
				PRIMARY KEY (id)
			) ENGINE=InnoDB`,
			`INSERT IGNORE INTO mayfly_admin_version (id, version) VALUES (1, 0)`,
		},
	}, {
		// Version 7 turns the ACME object tables of version 4 into real
		// tables, as PostgreSQL's version 7 does (db/internal/acmesql).
		// MySQL commits each DDL statement, so every step can run again:
		// a version-4 table (it has nkey) is renamed <name>_v4 (RENAME
		// TABLE is atomic), the real table is created if missing, the
		// rows of <name>_v4 are upserted into it and <name>_v4 is
		// dropped. Interrupted anywhere, the next start completes it
		// without losing a row.
		version: 7,
		run:     moveACMETables,
	}}
}

// acmeRealTable returns the CREATE TABLE of t's real table.
func acmeRealTable(t acmesql.Table) string {
	cols := []string{t.Key + " VARBINARY(255) NOT NULL", t.Value + " MEDIUMBLOB NOT NULL"}
	for _, c := range t.Columns {
		typ := "VARBINARY(255) NULL"
		if acmesql.IsTime(c) {
			typ = "DATETIME(6) NULL"
		}
		cols = append(cols, c+" "+typ)
	}
	cols = append(cols, "PRIMARY KEY ("+t.Key+")")
	for _, ix := range t.Indexes {
		cols = append(cols, "KEY "+acmesql.IndexName(t, ix)+" ("+strings.Join(ix, ", ")+")")
	}
	return "CREATE TABLE IF NOT EXISTS " + quote(t.Name) + " (" + strings.Join(cols, ", ") +
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
}

// moveACMETables is migration 7 (see migrations).
func moveACMETables(ctx context.Context, conn *sql.Conn) error {
	count := func(q string, args ...any) (int, error) {
		var n int
		err := conn.QueryRowContext(ctx, q, args...).Scan(&n)
		return n, err
	}
	for _, t := range acmesql.RealTables() {
		old := t.Name + "_v4"
		kv, err := count(`SELECT COUNT(*) FROM information_schema.columns
			WHERE table_schema = DATABASE() AND table_name = ? AND column_name = 'nkey'`, t.Name)
		if err != nil {
			return fmt.Errorf("inspect %s: %w", t.Name, err)
		}
		moved, err := count(`SELECT COUNT(*) FROM information_schema.tables
			WHERE table_schema = DATABASE() AND table_name = ?`, old)
		if err != nil {
			return fmt.Errorf("inspect %s: %w", old, err)
		}
		if kv > 0 {
			if moved > 0 {
				return fmt.Errorf("tables %s and %s both hold version-4 ACME records: move the rows of one into the other by hand", t.Name, old)
			}
			if _, err := conn.ExecContext(ctx, "RENAME TABLE "+quote(t.Name)+" TO "+quote(old)); err != nil {
				return fmt.Errorf("rename %s: %w", t.Name, err)
			}
			moved = 1
		}
		if _, err := conn.ExecContext(ctx, acmeRealTable(t)); err != nil {
			return fmt.Errorf("create %s: %w", t.Name, err)
		}
		if moved == 0 {
			continue
		}
		after := []byte{}
		for {
			page, err := scanPage(ctx, conn, acmesql.Table{Name: old, Key: acmesql.KVKey, Value: acmesql.KVValue}, after)
			if err != nil {
				return fmt.Errorf("read %s: %w", old, err)
			}
			if err := upsertPage(ctx, conn, t, page); err != nil {
				return fmt.Errorf("move rows of %s into %s: %w", old, t.Name, err)
			}
			if len(page) < acmesql.ScanPage {
				break
			}
			after = page[len(page)-1].Key
		}
		if _, err := conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+quote(old)); err != nil {
			return fmt.Errorf("drop %s: %w", old, err)
		}
	}
	return nil
}

// acmeTables returns the CREATE TABLE statements of migration 4.
func acmeTables() []string {
	var out []string
	for _, t := range store.ACMETables() {
		out = append(out, "CREATE TABLE IF NOT EXISTS `"+t+"` ("+`
			nkey VARBINARY(255) NOT NULL,
			nvalue MEDIUMBLOB NOT NULL,
			PRIMARY KEY (nkey)
		) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`)
	}
	return out
}

// latestVersion is the schema version this code reads and writes.
func latestVersion() int {
	m := migrations()
	return m[len(m)-1].version
}

// lockTimeout bounds the wait for another CA's migration, in seconds.
const lockTimeout = 60

// migrationLock returns the GET_LOCK name that serialises migrations of
// database (lock names are server-wide and at most 64 characters).
func migrationLock(database string) string {
	sum := sha256.Sum256([]byte(database))
	return "mayfly_migrate_" + hex.EncodeToString(sum[:16])
}

// migrate brings the schema to latestVersion while holding the migration
// lock, so that CAs starting together apply each migration once. A
// read-only store only checks the version.
func (s *Store) migrate(ctx context.Context, database string) error {
	if s.readOnly {
		return s.checkSchema(ctx)
	}
	conn, err := s.sqlDB.Conn(ctx) // GET_LOCK belongs to the session
	if err != nil {
		return s.db.Fail("schema migration", err)
	}
	defer conn.Close()
	lock := migrationLock(database)
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", lock, lockTimeout).Scan(&got); err != nil {
		return s.db.Fail("schema migration: take the migration lock", err)
	}
	if !got.Valid || got.Int64 != 1 {
		return errs.E(errs.Unavailable, "database unavailable",
			fmt.Errorf("mysql database %s: schema migration: another process held the migration lock for %d s", s.db.Name, lockTimeout))
	}
	defer func() {
		// Releasing is a courtesy: the lock also ends with the session.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK(?)", lock)
	}()

	if err := s.applyMigrations(ctx, conn); err != nil {
		var v sqlstore.VersionError
		if errors.As(err, &v) {
			return err
		}
		return s.db.Fail("schema migration", err)
	}
	return nil
}

func (s *Store) applyMigrations(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS mayfly_schema_migrations (
		version INT NOT NULL PRIMARY KEY,
		applied_at DATETIME(6) NOT NULL
	) ENGINE=InnoDB`); err != nil {
		return fmt.Errorf("create table mayfly_schema_migrations: %w", err)
	}
	current, err := schemaVersion(ctx, conn)
	if err != nil {
		return err
	}
	if err := s.db.CheckVersion(current, latestVersion(), false); err != nil {
		return err
	}
	if current == 0 {
		if err := s.refuseStepCALayout(ctx, conn); err != nil {
			return err
		}
	}
	for _, m := range migrations() {
		if m.version <= current {
			continue
		}
		for _, stmt := range m.stmts {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migrate to version %d: %w", m.version, err)
			}
		}
		for _, g := range m.guarded {
			var found int
			if err := conn.QueryRowContext(ctx, g.check).Scan(&found); err != nil {
				return fmt.Errorf("migrate to version %d: %w", m.version, err)
			}
			if found > 0 {
				continue
			}
			if _, err := conn.ExecContext(ctx, g.stmt); err != nil {
				return fmt.Errorf("migrate to version %d: %w", m.version, err)
			}
		}
		if m.run != nil {
			if err := m.run(ctx, conn); err != nil {
				return fmt.Errorf("migrate to version %d: %w", m.version, err)
			}
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO mayfly_schema_migrations (version, applied_at) VALUES (?, UTC_TIMESTAMP(6))", m.version); err != nil {
			return fmt.Errorf("record version %d: %w", m.version, err)
		}
	}
	return nil
}

// checkSchema verifies, without DDL, that the schema is at latestVersion.
func (s *Store) checkSchema(ctx context.Context) error {
	current, err := schemaVersion(ctx, s.sqlDB)
	if mysqlErrno(err) == 1146 { // ER_NO_SUCH_TABLE
		current, err = 0, nil
	}
	if err != nil {
		return s.db.Fail("check schema version", err)
	}
	return s.db.CheckVersion(current, latestVersion(), true)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM mayfly_schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// refuseStepCALayout fails when the database already holds step-ca's own
// x509_certs table (nkey/nvalue): Mayfly cannot use it in place.
func (s *Store) refuseStepCALayout(ctx context.Context, conn *sql.Conn) error {
	var n int
	err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.columns
		WHERE table_schema = DATABASE() AND table_name = 'x509_certs' AND column_name = 'nkey'`).Scan(&n)
	if err != nil {
		return fmt.Errorf("inspect existing tables: %w", err)
	}
	if n > 0 {
		return s.db.StepCALayout()
	}
	return nil
}

// upsertPage writes page into t in one transaction (one redo log flush for
// the page rather than one per row).
func upsertPage(ctx context.Context, conn *sql.Conn, t acmesql.Table, page []acmesql.Record) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, r := range page {
		if _, err := tx.ExecContext(ctx, acmeUpsert(t), t.Args(string(r.Key), r.Value)...); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}
