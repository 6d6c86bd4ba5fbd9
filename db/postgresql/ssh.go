package postgresql

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
)

var (
	_ store.SSHStore   = (*Store)(nil)
	_ store.SSHScanner = (*Store)(nil)
)

// The SSH statements (schema version 3), in sqlstore.SSHWriter's argument order.
const (
	sqlStoreSSHCert = `INSERT INTO ssh_certs (serial, cert, host, valid_before) VALUES ($1, $2, $3, $4)
		ON CONFLICT (serial) DO UPDATE SET cert = excluded.cert, host = excluded.host, valid_before = excluded.valid_before`
	sqlStoreSSHHost = `INSERT INTO ssh_host_principals (principal, serial, expiry) VALUES ($1, $2, $3)
		ON CONFLICT (principal) DO UPDATE SET serial = excluded.serial, expiry = excluded.expiry`
	sqlRevokeSSH = `INSERT INTO revoked_ssh_certs (serial, provisioner_id, reason_code, reason,
			revoked_at, revoked_at_ns, expires_at, token_id, mtls, acme)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (serial) DO NOTHING`
	sqlGetSSHCert       = `SELECT cert FROM ssh_certs WHERE serial = $1`
	sqlGetSSHRevocation = `SELECT provisioner_id, reason_code, reason, revoked_at, revoked_at_ns, expires_at,
		token_id, mtls, acme FROM revoked_ssh_certs WHERE serial = $1`
	sqlListSSHRevocations = `SELECT serial, provisioner_id, reason_code, reason, revoked_at, revoked_at_ns, expires_at,
		token_id, mtls, acme FROM revoked_ssh_certs`
	sqlListSSHHosts = `SELECT principal, serial, expiry FROM ssh_host_principals ORDER BY principal`
	// The pages of store.SSHScanner, by primary key.
	sqlScanSSHCerts       = `SELECT serial, cert FROM ssh_certs WHERE serial > $1 ORDER BY serial LIMIT $2`
	sqlScanSSHRevocations = `SELECT serial, provisioner_id, reason_code, reason, revoked_at, revoked_at_ns, expires_at,
		token_id, mtls, acme FROM revoked_ssh_certs WHERE serial > $1 ORDER BY serial LIMIT $2`
)

func (s *Store) sshWriter() sqlstore.SSHWriter[string] {
	return sqlstore.SSHWriter[string]{C: s.w, StoreCert: sqlStoreSSHCert, StoreHost: sqlStoreSSHHost,
		Revoke: sqlRevokeSSH, Serial: func(serial string) any { return serial }}
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
	return reader.SSHCertificate(ctx, serial, s.row(ctx, sqlGetSSHCert, serial))
}

// GetSSHRevocation implements store.SSHStore.
func (s *Store) GetSSHRevocation(ctx context.Context, serial string) (*store.Revocation, error) {
	return reader.SSHRevocation(ctx, serial, s.row(ctx, sqlGetSSHRevocation, serial))
}

// ListSSHRevocations implements store.SSHStore.
func (s *Store) ListSSHRevocations(ctx context.Context) ([]*store.Revocation, error) {
	var out []*store.Revocation
	err := s.read(ctx, "list ssh revocations", func(conn *pgxpool.Conn) error {
		out = out[:0]
		rows, err := conn.Query(ctx, sqlListSSHRevocations)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := sqlstore.ScanRevocation(rows.Scan)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// ListSSHHosts implements store.SSHStore.
func (s *Store) ListSSHHosts(ctx context.Context) ([]store.SSHHost, error) {
	var out []store.SSHHost
	err := s.read(ctx, "list ssh hosts", func(conn *pgxpool.Conn) error {
		out = out[:0]
		rows, err := conn.Query(ctx, sqlListSSHHosts)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			h, err := sqlstore.ScanSSHHost(rows.Scan)
			if err != nil {
				return err
			}
			out = append(out, h)
		}
		return rows.Err()
	})
	return out, err
}

// sshScanPage runs q (one of the sqlScan statements) for the page after
// after, reading each row with scan.
func sshScanPage[T any](ctx context.Context, s *Store, what, q, after string, scan func(sqlstore.Scanner) (T, error)) ([]T, error) {
	var page []T
	err := s.read(ctx, what, func(conn *pgxpool.Conn) error {
		page = page[:0]
		rows, err := conn.Query(ctx, q, after, sqlstore.SSHScanPage)
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
