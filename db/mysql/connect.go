package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/sirupsen/logrus"
)

// defaultDialTimeout applies when the DSN sets no timeout, so that an
// unreachable server fails an operation instead of hanging on the operating
// system's TCP timeout.
const defaultDialTimeout = 10 * time.Second

// driverConfig parses opts.DataSource and applies opts.Database and the
// settings the store relies on.
func driverConfig(opts Options) (*mysqldrv.Config, error) {
	if opts.DataSource == "" {
		return nil, errors.New("open mysql database: db.dataSource is empty, want a DSN such as user:password@tcp(127.0.0.1:3306)/")
	}
	cfg, err := mysqldrv.ParseDSN(opts.DataSource)
	if err != nil {
		return nil, fmt.Errorf("open mysql database: invalid db.dataSource: %s", redactDSN(opts.DataSource, err.Error()))
	}
	if opts.Database != "" {
		cfg.DBName = opts.Database
	}
	if cfg.DBName == "" {
		return nil, errors.New("open mysql database: no database named (set db.database or the DSN's /database)")
	}
	// DATETIME columns hold UTC and are read back as time.Time.
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	// Insert-if-absent reads "0 rows affected" as "already there".
	cfg.ClientFoundRows = false
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultDialTimeout
	}
	return cfg, nil
}

// connect returns a connection pool whose first connection succeeded. A
// database that does not exist (error 1049) is created, unless the store is
// read-only, and connected to again.
func (s *Store) connect(ctx context.Context, cfg *mysqldrv.Config, log logrus.FieldLogger) (*sql.DB, error) {
	cfg = cfg.Clone()
	cfg.Logger = driverLogger{log}
	db, err := openDB(cfg)
	if err != nil {
		return nil, s.db.Fail("open", err)
	}
	err = db.PingContext(ctx)
	if mysqlErrno(err) == 1049 && !s.readOnly { // ER_BAD_DB_ERROR
		if err = s.createDatabase(ctx, cfg); err == nil {
			err = db.PingContext(ctx)
		}
	}
	if err != nil {
		db.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("open mysql database %s: %w", s.db.Name, ctx.Err())
		}
		return nil, s.db.Fail("open", err)
	}
	return db, nil
}

func openDB(cfg *mysqldrv.Config) (*sql.DB, error) {
	connector, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector), nil
}

// createDatabase runs CREATE DATABASE IF NOT EXISTS for cfg.DBName on a
// connection without a default database.
func (s *Store) createDatabase(ctx context.Context, cfg *mysqldrv.Config) error {
	server := cfg.Clone()
	server.DBName = ""
	db, err := openDB(server)
	if err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	stmt := "CREATE DATABASE IF NOT EXISTS " + quoteIdent(cfg.DBName) + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	return nil
}

// quoteIdent quotes a MySQL identifier.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// redactDSN replaces in msg the password of dsn (user:password@...) with
// "xxxxx", for DSNs the driver could not parse.
func redactDSN(dsn, msg string) string {
	at := strings.LastIndex(dsn, "@")
	if at < 0 {
		return msg
	}
	userinfo := dsn[:at]
	if colon := strings.Index(userinfo, ":"); colon >= 0 && colon+1 < len(userinfo) {
		msg = strings.ReplaceAll(msg, userinfo[colon+1:], "xxxxx")
	}
	return msg
}

// driverLogger routes the driver's log lines to logrus at warning level.
type driverLogger struct{ log logrus.FieldLogger }

func (l driverLogger) Print(v ...any) {
	if l.log == nil {
		return
	}
	l.log.WithField("component", "mysql").Warn(strings.TrimSpace(fmt.Sprint(v...)))
}
