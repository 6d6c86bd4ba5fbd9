package importer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// sqlPage is how many rows one query of a table scan reads (keyset
// pagination: no cursor or transaction stays open while the rows are
// written to the target).
const sqlPage = 1000

// connectTimeout applies when the DSN sets none.
const connectTimeout = 10 * time.Second

// sqlKV reads step-ca's tables (nkey, nvalue) from MySQL or PostgreSQL.
type sqlKV struct {
	db       *sql.DB
	display  string // type host:port/database
	password string // redacted from error messages
	postgres bool
}

// openPostgres connects to step-ca's PostgreSQL database; database, when
// not empty, overrides the DSN's (as ca.json's db.database does).
func openPostgres(ctx context.Context, dsn, database string) (*sqlKV, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password of a DSN it can parse; the message
		// of one it cannot may quote it, so it is not repeated.
		return nil, errors.New("open source postgresql database: invalid connection string")
	}
	if database != "" {
		cfg.Database = database
	}
	if cfg.Database == "" {
		cfg.Database = cfg.User
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	s := &sqlKV{
		db:       stdlib.OpenDB(*cfg),
		display:  "postgresql " + net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))) + "/" + cfg.Database,
		password: cfg.Password,
		postgres: true,
	}
	return s, s.ping(ctx)
}

// openMySQL connects to step-ca's MySQL (or MariaDB) database; database, when
// not empty, overrides the DSN's.
func openMySQL(ctx context.Context, dsn, database string) (*sqlKV, error) {
	cfg, err := mysqldrv.ParseDSN(dsn)
	if err != nil {
		return nil, errors.New("open source mysql database: invalid DSN (want user:password@tcp(host:3306)/database)")
	}
	if database != "" {
		cfg.DBName = database
	}
	if cfg.DBName == "" {
		return nil, errors.New("open source mysql database: no database named (add /database to the DSN or use --from-database)")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = connectTimeout
	}
	conn, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		return nil, errors.New("open source mysql database: invalid DSN")
	}
	s := &sqlKV{
		db:       sql.OpenDB(conn),
		display:  "mysql " + cfg.Addr + "/" + cfg.DBName,
		password: cfg.Passwd,
	}
	return s, s.ping(ctx)
}

func (s *sqlKV) ping(ctx context.Context) error {
	s.db.SetMaxOpenConns(2)
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return s.fail("connect to", err)
	}
	return nil
}

func (s *sqlKV) name() string { return s.display }
func (s *sqlKV) close() error { return s.db.Close() }

// isMayfly reports whether the database holds Mayfly's schema (its
// mayfly_schema_migrations table) rather than step-ca's tables.
func (s *sqlKV) isMayfly(ctx context.Context) (bool, error) {
	q := "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'mayfly_schema_migrations'"
	if s.postgres {
		q = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'mayfly_schema_migrations'"
	}
	var n int
	if err := s.db.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return false, s.fail("read table list of", err)
	}
	return n > 0, nil
}

// fail wraps err, naming the database, with the password removed from its
// text and the text on one line.
func (s *sqlKV) fail(what string, err error) error {
	return fmt.Errorf("%s source %s: %w", what, s.display, redacted{err, s.password})
}

// redacted is an error whose text leaves out a password.
type redacted struct {
	err      error
	password string
}

func (e redacted) Error() string {
	msg := e.err.Error()
	if e.password != "" {
		msg = strings.ReplaceAll(msg, e.password, "xxxxx")
	}
	return strings.Join(strings.Fields(msg), " ")
}

func (e redacted) Unwrap() error { return e.err }

func (s *sqlKV) quote(table string) string {
	if s.postgres {
		return `"` + strings.ReplaceAll(table, `"`, `""`) + `"`
	}
	return "`" + strings.ReplaceAll(table, "`", "``") + "`"
}

// checkTable reports whether table exists; a table without an nkey column is
// an error (it is not step-ca's key/value layout, e.g. Mayfly's own schema).
func (s *sqlKV) checkTable(ctx context.Context, table string) (bool, error) {
	q := "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?"
	if s.postgres {
		q = "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1"
	}
	rows, err := s.db.QueryContext(ctx, q, table)
	if err != nil {
		return false, s.fail("read table list of", err)
	}
	defer rows.Close()
	found, nkey := false, false
	for rows.Next() {
		var col string
		if err := rows.Scan(&col); err != nil {
			return false, s.fail("read table list of", err)
		}
		found = true
		nkey = nkey || strings.EqualFold(col, "nkey")
	}
	if err := rows.Err(); err != nil {
		return false, s.fail("read table list of", err)
	}
	if found && !nkey {
		return false, fmt.Errorf("source %s: table %s has no nkey column: not a step-ca key/value database (to copy a Mayfly database use --from-config)", s.display, table)
	}
	return found, nil
}

func (s *sqlKV) scan(ctx context.Context, table string, optional bool, fn func(key, value []byte) error) error {
	ok, err := s.checkTable(ctx, table)
	if err != nil || (!ok && optional) {
		return err
	}
	if !ok {
		return fmt.Errorf("source %s: table %s not found: is this a step-ca database?", s.display, table)
	}
	q := fmt.Sprintf("SELECT nkey, nvalue, NULL FROM %s WHERE nkey > %s ORDER BY nkey LIMIT %d", s.quote(table), s.arg(), sqlPage)
	return s.pages(ctx, table, q, func(k, v, _ []byte) error { return fn(k, v) })
}

func (s *sqlKV) scanCerts(ctx context.Context, fn func(key, der, data []byte) error) error {
	ok, err := s.checkTable(ctx, tableCerts)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("source %s: table %s not found: is this a step-ca database?", s.display, tableCerts)
	}
	withData, err := s.checkTable(ctx, tableCertsData)
	if err != nil {
		return err
	}
	q := fmt.Sprintf("SELECT c.nkey, c.nvalue, d.nvalue FROM %s c LEFT JOIN %s d ON d.nkey = c.nkey WHERE c.nkey > %s ORDER BY c.nkey LIMIT %d",
		s.quote(tableCerts), s.quote(tableCertsData), s.arg(), sqlPage)
	if !withData {
		q = fmt.Sprintf("SELECT nkey, nvalue, NULL FROM %s WHERE nkey > %s ORDER BY nkey LIMIT %d", s.quote(tableCerts), s.arg(), sqlPage)
	}
	return s.pages(ctx, tableCerts, q, fn)
}

// tables counts the rows of every table in step-ca's layout (with an nkey
// column) of the database.
func (s *sqlKV) tables(ctx context.Context) (map[string]int, error) {
	q := "SELECT DISTINCT table_name FROM information_schema.columns WHERE table_schema = DATABASE() AND column_name = 'nkey'"
	if s.postgres {
		q = "SELECT DISTINCT table_name FROM information_schema.columns WHERE table_schema = current_schema() AND column_name = 'nkey'"
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, s.fail("read table list of", err)
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, s.fail("read table list of", err)
		}
		names = append(names, name)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, s.fail("read table list of", err)
	}
	counts := make(map[string]int, len(names))
	for _, name := range names {
		var n int
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+s.quote(name)).Scan(&n); err != nil {
			return nil, s.fail("count the rows of table "+name+" of", err)
		}
		counts[name] = n
	}
	return counts, nil
}

func (s *sqlKV) arg() string {
	if s.postgres {
		return "$1"
	}
	return "?"
}

// pages runs q (whose one argument is the last key read) page by page and
// calls fn for each row, outside the query.
func (s *sqlKV) pages(ctx context.Context, table, q string, fn func(a, b, c []byte) error) error {
	type row struct{ a, b, c []byte }
	after := []byte{}
	for {
		rows, err := s.db.QueryContext(ctx, q, after)
		if err != nil {
			return s.fail("read table "+table+" of", err)
		}
		page := make([]row, 0, sqlPage)
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.a, &r.b, &r.c); err != nil {
				rows.Close()
				return s.fail("read table "+table+" of", err)
			}
			page = append(page, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return s.fail("read table "+table+" of", err)
		}
		for _, r := range page {
			if err := fn(r.a, r.b, r.c); err != nil {
				return err
			}
		}
		if len(page) < sqlPage {
			return nil
		}
		after = page[len(page)-1].a
	}
}
