package postgresql

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const (
	// defaultConnectTimeout applies when the DSN sets no connect_timeout, so
	// that an unreachable server fails an operation instead of hanging on
	// the operating system's TCP timeout.
	defaultConnectTimeout = 10 * time.Second
	applicationName       = "mayfly"
)

// poolConfig parses opts.DataSource and applies opts.Database.
func poolConfig(opts Options) (*pgxpool.Config, error) {
	if opts.DataSource == "" {
		return nil, errors.New("open postgresql database: db.dataSource is empty, want a connection string such as postgresql://user@127.0.0.1:5432/?sslmode=disable")
	}
	cfg, err := pgxpool.ParseConfig(opts.DataSource)
	if err != nil {
		// pgx redacts the password of a connection string it can parse
		// well enough; redactDSN covers the ones it cannot.
		return nil, fmt.Errorf("open postgresql database: invalid db.dataSource: %s", redactDSN(opts.DataSource, err.Error()))
	}
	cc := cfg.ConnConfig
	if opts.Database != "" {
		cc.Database = opts.Database
	}
	if cc.Database == "" {
		// PostgreSQL's own default; made explicit so that it can be named
		// in messages and created when missing.
		cc.Database = cc.User
	}
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = defaultConnectTimeout
	}
	if _, ok := cc.RuntimeParams["application_name"]; !ok {
		cc.RuntimeParams["application_name"] = applicationName
	}
	return cfg, nil
}

// displayName returns host:port/database, how errors name the database.
func displayName(host string, port uint16, database string) string {
	return net.JoinHostPort(host, strconv.Itoa(int(port))) + "/" + database
}

// connect returns a pool whose first connection succeeded. A database that
// does not exist (SQLSTATE 3D000) is created, unless the store is read-only,
// and connected to again.
func (s *Store) connect(ctx context.Context, cfg *pgxpool.Config) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, s.db.Fail("open", err)
	}
	err = pool.Ping(ctx)
	if err != nil && sqlState(err) == "3D000" && !s.readOnly {
		if err = s.createDatabase(ctx, cfg.ConnConfig); err == nil {
			err = pool.Ping(ctx)
		}
	}
	if err != nil {
		pool.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("open postgresql database %s: %w", s.db.Name, ctx.Err())
		}
		return nil, s.db.Fail("open", err)
	}
	return pool, nil
}

// createDatabase runs CREATE DATABASE for cc.Database from the maintenance
// database (postgres, else template1) with the same credentials. A database
// created meanwhile by another CA is fine.
func (s *Store) createDatabase(ctx context.Context, cc *pgx.ConnConfig) error {
	var conn *pgx.Conn
	var err error
	for _, maint := range []string{"postgres", "template1"} {
		mc := cc.Copy()
		mc.Database = maint
		if conn, err = pgx.ConnectConfig(ctx, mc); err == nil || sqlState(err) != "3D000" {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cc.Database}.Sanitize())
	switch sqlState(err) {
	case "", "42P04": // created, or duplicate_database
		return nil
	case "23505": // a concurrent CREATE DATABASE of the same name won
		return nil
	}
	return fmt.Errorf("create database: %w", err)
}

// redactDSN replaces in msg every password found in dsn with "xxxxx": the
// userinfo password of a URL and a key=value password (quoted or not). It
// serves connection strings pgx could not parse.
func redactDSN(dsn, msg string) string {
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`://[^:/@?#]*:([^@/?#]*)@`),
		regexp.MustCompile(`(?i)\bpassword\s*=\s*'((?:[^'\\]|\\.)*)'`),
		regexp.MustCompile(`(?i)\bpassword\s*=\s*([^'\s]\S*)`),
	} {
		for _, m := range re.FindAllStringSubmatch(dsn, -1) {
			if m[1] != "" {
				msg = strings.ReplaceAll(msg, m[1], "xxxxx")
			}
		}
	}
	return msg
}
