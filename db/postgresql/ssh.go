package postgresql

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqlstore"
)

var _ store.SSHStore = (*Store)(nil)

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
