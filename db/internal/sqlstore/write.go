package sqlstore

import (
	"bytes"
	"context"
	"fmt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqlcommit"
)

// Writer runs the writes of store.Store through a committer, with a
// backend's statements. Each statement takes its arguments in the order
// documented on its field.
type Writer[S any] struct {
	C *sqlcommit.Committer[S]
	// UseToken inserts used_ott (token_key, token, expires_at) unless
	// token_key exists, affecting no row then.
	UseToken S
	// StoreCertificate upserts x509_certs (serial, der, data, not_after,
	// subject, provisioner).
	StoreCertificate S
	// Revoke inserts revoked_x509_certs (serial, provisioner_id,
	// reason_code, reason, revoked_at, revoked_at_ns, expires_at, token_id,
	// mtls, acme) unless serial exists, affecting no row then.
	Revoke S
	// Serial converts a serial to the serial columns' parameter type.
	Serial func(serial string) any
}

// Token inserts used_ott(key, token, expires_at) unless key is present, in
// which case it returns store.ErrTokenUsed (wrapped). The outcome is the
// insert's affected-row count, so it is exact across CAs sharing the
// database and between two writes of the same key in one batch. expires_at
// is the token's exp claim (TokenExpiresAt), for pruning.
func (w Writer[S]) Token(ctx context.Context, key string, token []byte) error {
	if err := CtxErr(ctx, "use token"); err != nil {
		return err
	}
	v, err := CheckToken(key, token)
	if err != nil {
		return err
	}
	return w.C.Submit(ctx, &sqlcommit.Op[S]{
		What:     "use token",
		Table:    "used_ott",
		Key:      key,
		Stmt:     w.UseToken,
		Args:     []any{[]byte(key), v, TokenExpiresAt(v)},
		Conflict: fmt.Errorf("table used_ott, key %s: %w", key, store.ErrTokenUsed),
	})
}

// Certificate upserts x509_certs[c.Serial] with the DER, the data JSON
// and the index columns (an existing record is replaced, as step-ca does).
// Subject and Provisioner are stored as IndexText makes them.
func (w Writer[S]) Certificate(ctx context.Context, c *store.Certificate) error {
	if err := CtxErr(ctx, "store certificate"); err != nil {
		return err
	}
	if err := CheckCertificate(c); err != nil {
		return err
	}
	return w.C.Submit(ctx, &sqlcommit.Op[S]{
		What:  "store certificate " + c.Serial,
		Table: "x509_certs",
		Key:   c.Serial,
		Stmt:  w.StoreCertificate,
		Args: []any{w.Serial(c.Serial), bytes.Clone(c.DER), bytes.Clone(c.Data), NullTime(c.NotAfter),
			IndexText(c.Subject), IndexText(c.Provisioner)},
	})
}

// Revocation inserts revoked_x509_certs[r.Serial] unless the serial is
// already revoked (store.ErrAlreadyRevoked, wrapped); exact across CAs
// sharing the database. revoked_at keeps microseconds, revoked_at_ns the
// nanoseconds below them (SplitNanos).
func (w Writer[S]) Revocation(ctx context.Context, r *store.Revocation) error {
	if err := CtxErr(ctx, "revoke"); err != nil {
		return err
	}
	if err := CheckRevocation(r); err != nil {
		return err
	}
	revokedAt, revokedNs := SplitNanos(r.RevokedAt)
	return w.C.Submit(ctx, &sqlcommit.Op[S]{
		What:  "revoke " + r.Serial,
		Table: "revoked_x509_certs",
		Key:   r.Serial,
		Stmt:  w.Revoke,
		Args: []any{w.Serial(r.Serial), r.ProvisionerID, r.ReasonCode, r.Reason, revokedAt, revokedNs,
			NullTime(r.ExpiresAt), r.TokenID, r.MTLS, r.ACME},
		Conflict: fmt.Errorf("table revoked_x509_certs, serial %s: %w", r.Serial, store.ErrAlreadyRevoked),
	})
}
