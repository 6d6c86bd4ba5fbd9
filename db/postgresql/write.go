package postgresql

import (
	"context"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// The writes, in sqlstore.Writer's argument order. UseToken and Revoke
// affect no row on a duplicate key.
const (
	sqlUseToken = `INSERT INTO used_ott (token_key, token, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (token_key) DO NOTHING`
	sqlStoreCertificate = `INSERT INTO x509_certs (serial, der, data, not_after, subject, provisioner)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (serial) DO UPDATE SET der = excluded.der, data = excluded.data,
			not_after = excluded.not_after, subject = excluded.subject, provisioner = excluded.provisioner`
	sqlRevoke = `INSERT INTO revoked_x509_certs (serial, provisioner_id, reason_code, reason,
			revoked_at, revoked_at_ns, expires_at, token_id, mtls, acme)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (serial) DO NOTHING`
)

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
