package mysql

import (
	"context"
	"database/sql"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// The writes take sqlstore.Writer's argument order. A duplicate key turns
// UseToken's and Revoke's insert into a no-op update: 0 rows affected.
const (
	sqlUseToken = `INSERT INTO used_ott (token_key, token, expires_at) VALUES (?, ?, ?)
		ON DUPLICATE KEY UPDATE token_key = token_key`
	sqlStoreCertificate = `INSERT INTO x509_certs (serial, der, data, not_after, subject, provisioner)
		VALUES (?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE der = VALUES(der), data = VALUES(data), not_after = VALUES(not_after),
			subject = VALUES(subject), provisioner = VALUES(provisioner)`
	sqlRevoke = `INSERT INTO revoked_x509_certs (serial, provisioner_id, reason_code, reason,
			revoked_at, revoked_at_ns, expires_at, token_id, mtls, acme)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE serial = serial`
	sqlGetCertificate = `SELECT der, data, not_after, subject, provisioner FROM x509_certs WHERE serial = ?`
	sqlGetRevocation  = `SELECT provisioner_id, reason_code, reason, revoked_at, revoked_at_ns, expires_at,
		token_id, mtls, acme FROM revoked_x509_certs WHERE serial = ?`
)

// statements are prepared once; database/sql prepares each again on every
// connection that runs it.
type statements struct {
	useToken, storeCertificate, revoke, getCertificate, getRevocation *sql.Stmt
	deleteExpired, pruneUsedTokens                                    *sql.Stmt
	ssh                                                               sshStatements
	pruneNonces                                                       *sql.Stmt // ACME
}

func (s *Store) prepare(ctx context.Context) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.stmts.useToken, sqlUseToken},
		{&s.stmts.storeCertificate, sqlStoreCertificate},
		{&s.stmts.revoke, sqlRevoke},
		{&s.stmts.getCertificate, sqlGetCertificate},
		{&s.stmts.getRevocation, sqlGetRevocation},
		{&s.stmts.deleteExpired, sqlDeleteExpired},
		{&s.stmts.pruneUsedTokens, sqlPruneUsedTokens},
		{&s.stmts.ssh.storeCert, sqlStoreSSHCert},
		{&s.stmts.ssh.storeHost, sqlStoreSSHHost},
		{&s.stmts.ssh.revoke, sqlRevokeSSH},
		{&s.stmts.ssh.getCert, sqlGetSSHCert},
		{&s.stmts.ssh.getRevocation, sqlGetSSHRevocation},
		{&s.stmts.pruneNonces, sqlPruneNonces},
	} {
		if s.readOnly && p.sql != sqlGetCertificate && p.sql != sqlGetRevocation && p.sql != sqlGetSSHCert && p.sql != sqlGetSSHRevocation {
			continue
		}
		stmt, err := s.sqlDB.PrepareContext(ctx, p.sql)
		if err != nil {
			s.stmts.close()
			return s.db.Fail("prepare statements", err)
		}
		*p.stmt = stmt
	}
	return nil
}

func (st *statements) close() {
	for _, stmt := range []*sql.Stmt{st.useToken, st.storeCertificate, st.revoke, st.getCertificate, st.getRevocation,
		st.deleteExpired, st.pruneUsedTokens, st.ssh.storeCert, st.ssh.storeHost, st.ssh.revoke, st.ssh.getCert, st.ssh.getRevocation,
		st.pruneNonces} {
		if stmt != nil {
			_ = stmt.Close()
		}
	}
}

// UseToken records key unless it is present (store.ErrTokenUsed, wrapped);
// see sqlstore.Writer.Token.
func (s *Store) UseToken(ctx context.Context, key string, token []byte) error {
	return s.writer.Token(ctx, key, token)
}

// StoreCertificate upserts x509_certs[c.Serial]; see
// sqlstore.Writer.Certificate.
func (s *Store) StoreCertificate(ctx context.Context, c *store.Certificate) error {
	return s.writer.Certificate(ctx, c)
}

// Revoke records a revocation unless the serial is already revoked
// (store.ErrAlreadyRevoked, wrapped); see sqlstore.Writer.Revocation.
func (s *Store) Revoke(ctx context.Context, r *store.Revocation) error {
	return s.writer.Revocation(ctx, r)
}
