package mysql

import (
	"context"
	"database/sql"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
)

var (
	_ store.SSHStore   = (*Store)(nil)
	_ store.SSHScanner = (*Store)(nil)
)

// sshStatements are the prepared SSH statements (schema version 3).
type sshStatements struct {
	storeCert, storeHost, revoke, getCert, getRevocation *sql.Stmt
}

// The SSH statements, in sqlstore.SSHWriter's argument order. A duplicate
// key turns the revocation insert into a no-op update: 0 rows affected.
const (
	sqlStoreSSHCert = `INSERT INTO ssh_certs (serial, cert, host, valid_before) VALUES (?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE cert = VALUES(cert), host = VALUES(host), valid_before = VALUES(valid_before)`
	sqlStoreSSHHost = `INSERT INTO ssh_host_principals (principal, serial, expiry) VALUES (?, ?, ?)
		ON DUPLICATE KEY UPDATE serial = VALUES(serial), expiry = VALUES(expiry)`
	sqlRevokeSSH = `INSERT INTO revoked_ssh_certs (serial, provisioner_id, reason_code, reason,
			revoked_at, revoked_at_ns, expires_at, token_id, mtls, acme)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE serial = serial`
	sqlGetSSHCert       = `SELECT cert FROM ssh_certs WHERE serial = ?`
	sqlGetSSHRevocation = `SELECT provisioner_id, reason_code, reason, revoked_at, revoked_at_ns, expires_at,
		token_id, mtls, acme FROM revoked_ssh_certs WHERE serial = ?`
	sqlListSSHRevocations = `SELECT serial, provisioner_id, reason_code, reason, revoked_at, revoked_at_ns, expires_at,
		token_id, mtls, acme FROM revoked_ssh_certs`
	sqlListSSHHosts = `SELECT principal, serial, expiry FROM ssh_host_principals ORDER BY principal`
	// The pages of store.SSHScanner, by primary key (bytes order).
	sqlScanSSHCerts       = `SELECT serial, cert FROM ssh_certs WHERE serial > ? ORDER BY serial LIMIT ?`
	sqlScanSSHRevocations = `SELECT serial, provisioner_id, reason_code, reason, revoked_at, revoked_at_ns, expires_at,
		token_id, mtls, acme FROM revoked_ssh_certs WHERE serial > ? ORDER BY serial LIMIT ?`
)

func (s *Store) sshWriter() sqlstore.SSHWriter[*sql.Stmt] {
	return sqlstore.SSHWriter[*sql.Stmt]{C: s.w, StoreCert: s.stmts.ssh.storeCert, StoreHost: s.stmts.ssh.storeHost,
		Revoke: s.stmts.ssh.revoke, Serial: func(serial string) any { return []byte(serial) }}
}

// StoreSSHCertificate implements store.SSHStore; see sqlstore.SSHWriter.Certificate.
func (s *Store) StoreSSHCertificate(ctx context.Context, c *store.SSHCertificate) error {
	return s.sshWriter().Certificate(ctx, c)
}

// RevokeSSH implements store.SSHStore; see sqlstore.SSHWriter.Revocation.
func (s *Store) RevokeSSH(ctx context.Context, r *store.Revocation) error {
	return s.sshWriter().Revocation(ctx, r)
}

// GetSSHCertificate implements store.SSHStore.
func (s *Store) GetSSHCertificate(ctx context.Context, serial string) (*store.SSHCertificate, error) {
	return reader.SSHCertificate(ctx, serial, s.row(ctx, s.stmts.ssh.getCert, []byte(serial)))
}

// GetSSHRevocation implements store.SSHStore.
func (s *Store) GetSSHRevocation(ctx context.Context, serial string) (*store.Revocation, error) {
	return reader.SSHRevocation(ctx, serial, s.row(ctx, s.stmts.ssh.getRevocation, []byte(serial)))
}

// query runs a listing query through read, calling each for every row.
func (s *Store) query(ctx context.Context, what, q string, reset func(), each func(sqlstore.Scanner) error) error {
	return s.read(ctx, what, func() error {
		reset()
		rows, err := s.sqlDB.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := each(rows.Scan); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// ListSSHRevocations implements store.SSHStore.
func (s *Store) ListSSHRevocations(ctx context.Context) ([]*store.Revocation, error) {
	var out []*store.Revocation
	err := s.query(ctx, "list ssh revocations", sqlListSSHRevocations, func() { out = out[:0] }, func(scan sqlstore.Scanner) error {
		r, err := sqlstore.ScanRevocation(scan)
		if err == nil {
			out = append(out, r)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListSSHHosts implements store.SSHStore.
func (s *Store) ListSSHHosts(ctx context.Context) ([]store.SSHHost, error) {
	var out []store.SSHHost
	err := s.query(ctx, "list ssh hosts", sqlListSSHHosts, func() { out = out[:0] }, func(scan sqlstore.Scanner) error {
		h, err := sqlstore.ScanSSHHost(scan)
		if err == nil {
			out = append(out, h)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// sshScanPage runs q (one of the sqlScan statements) for the page after
// after, reading each row with scan.
func sshScanPage[T any](ctx context.Context, s *Store, what, q, after string, scan func(sqlstore.Scanner) (T, error)) ([]T, error) {
	var page []T
	err := s.read(ctx, what, func() error {
		page = page[:0]
		rows, err := s.sqlDB.QueryContext(ctx, q, []byte(after), sqlstore.SSHScanPage)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scan(rows.Scan)
			if err != nil {
				return err
			}
			page = append(page, r)
		}
		return rows.Err()
	})
	return page, err
}

// SSHScanCertificates implements store.SSHScanner: pages of ssh_certs in
// serial order, each page one query.
func (s *Store) SSHScanCertificates(ctx context.Context, fn func(*store.SSHCertificate) error) error {
	const what = "ssh certificate scan"
	return sqlstore.ScanPaged(ctx, what, func(after string) ([]*store.SSHCertificate, error) {
		return sshScanPage(ctx, s, what, sqlScanSSHCerts, after, sqlstore.ScanSSHCertificate)
	}, func(c *store.SSHCertificate) string { return c.Serial }, fn)
}

// SSHScanRevocations implements store.SSHScanner: pages of
// revoked_ssh_certs in serial order, each page one query.
func (s *Store) SSHScanRevocations(ctx context.Context, fn func(*store.Revocation) error) error {
	const what = "ssh revocation scan"
	return sqlstore.ScanPaged(ctx, what, func(after string) ([]*store.Revocation, error) {
		return sshScanPage(ctx, s, what, sqlScanSSHRevocations, after, sqlstore.ScanRevocation)
	}, func(r *store.Revocation) string { return r.Serial }, fn)
}
