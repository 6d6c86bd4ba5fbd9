package sqlstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/sqlcommit"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// MaxPrincipalLen bounds ssh_host_principals.principal.
const MaxPrincipalLen = 255

// SSHWriter runs the SSH writes of store.SSHStore through a committer
// (schema version 3 of each SQL backend). Each statement takes its
// arguments in the order documented on its field.
type SSHWriter[S any] struct {
	C *sqlcommit.Committer[S]
	// StoreCert upserts ssh_certs (serial, cert, host, valid_before).
	StoreCert S
	// StoreHost upserts ssh_host_principals (principal, serial, expiry).
	StoreHost S
	// Revoke inserts revoked_ssh_certs with revoked_x509_certs' columns
	// unless serial exists, affecting no row then.
	Revoke S
	Serial func(serial string) any
}

// Certificate writes ssh_certs[c.Serial], then one ssh_host_principals
// row per lower-cased principal of a host certificate. Every statement is
// an upsert: a write interrupted half way is completed by writing again.
func (w SSHWriter[S]) Certificate(ctx context.Context, c *store.SSHCertificate) error {
	if err := CtxErr(ctx, "store ssh certificate"); err != nil {
		return err
	}
	if c == nil || len(c.Wire) == 0 {
		return errs.Errorf(errs.BadRequest, "store ssh certificate: no certificate")
	}
	if err := CheckSerial(c.Serial); err != nil {
		return err
	}
	if err := CheckValue("ssh certificate", len(c.Wire)); err != nil {
		return err
	}
	var principals []string
	if c.Host {
		for _, p := range c.Principals {
			p = strings.ToLower(p)
			if p == "" {
				continue
			}
			if err := CheckKey("principal", p, MaxPrincipalLen); err != nil {
				return err
			}
			if err := CheckText("principal", p); err != nil {
				return err
			}
			principals = append(principals, p)
		}
	}
	err := w.C.Submit(ctx, &sqlcommit.Op[S]{
		What: "store ssh certificate " + c.Serial, Table: "ssh_certs", Key: c.Serial, Stmt: w.StoreCert,
		Args: []any{w.Serial(c.Serial), bytes.Clone(c.Wire), c.Host, NullTime(c.ValidBefore)},
	})
	if err != nil {
		return err
	}
	for _, p := range principals {
		err := w.C.Submit(ctx, &sqlcommit.Op[S]{
			What: "store ssh host " + p, Table: "ssh_host_principals", Key: p, Stmt: w.StoreHost,
			Args: []any{p, w.Serial(c.Serial), NullTime(c.ValidBefore)},
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Revocation inserts revoked_ssh_certs[r.Serial] unless present
// (store.ErrAlreadyRevoked, wrapped).
func (w SSHWriter[S]) Revocation(ctx context.Context, r *store.Revocation) error {
	if err := CtxErr(ctx, "revoke ssh"); err != nil {
		return err
	}
	if err := CheckRevocation(r); err != nil {
		return err
	}
	revokedAt, revokedNs := SplitNanos(r.RevokedAt)
	return w.C.Submit(ctx, &sqlcommit.Op[S]{
		What: "revoke ssh " + r.Serial, Table: "revoked_ssh_certs", Key: r.Serial, Stmt: w.Revoke,
		Args: []any{w.Serial(r.Serial), r.ProvisionerID, r.ReasonCode, r.Reason, revokedAt, revokedNs,
			NullTime(r.ExpiresAt), r.TokenID, r.MTLS, r.ACME},
		Conflict: fmt.Errorf("table revoked_ssh_certs, serial %s: %w", r.Serial, store.ErrAlreadyRevoked),
	})
}

// SSHCertificate reads ssh_certs[serial] by row (cert).
func (rd Reader) SSHCertificate(ctx context.Context, serial string, row Row) (*store.SSHCertificate, error) {
	what := "get ssh certificate " + serial
	if err := CheckLookup(ctx, what, serial); err != nil {
		return nil, err
	}
	c := &store.SSHCertificate{Serial: serial}
	err := row(what, &c.Wire)
	if errors.Is(err, rd.NoRows) {
		return nil, fmt.Errorf("%s: table ssh_certs: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// SSHRevocation is Revocation on revoked_ssh_certs.
func (rd Reader) SSHRevocation(ctx context.Context, serial string, row Row) (*store.Revocation, error) {
	r, err := rd.Revocation(ctx, serial, row)
	if err != nil {
		return nil, fmt.Errorf("ssh: %w", err)
	}
	return r, nil
}

// Scanner is one row of a backend's result set.
type Scanner func(dest ...any) error

// ScanRevocation reads a revocation row (serial, then Revocation's columns).
func ScanRevocation(scan Scanner) (*store.Revocation, error) {
	r := &store.Revocation{}
	var (
		serial               []byte
		revokedAt, expiresAt *time.Time
		revokedNs            int
	)
	if err := scan(&serial, &r.ProvisionerID, &r.ReasonCode, &r.Reason, &revokedAt, &revokedNs, &expiresAt, &r.TokenID, &r.MTLS, &r.ACME); err != nil {
		return nil, err
	}
	r.Serial = string(serial)
	r.RevokedAt = JoinNanos(revokedAt, revokedNs)
	r.ExpiresAt = JoinNanos(expiresAt, 0)
	return r, nil
}

// ScanSSHHost reads an ssh_host_principals row (principal, serial, expiry).
func ScanSSHHost(scan Scanner) (store.SSHHost, error) {
	var (
		principal, serial []byte
		expiry            *time.Time
	)
	if err := scan(&principal, &serial, &expiry); err != nil {
		return store.SSHHost{}, err
	}
	return store.SSHHost{Principal: string(principal), Serial: string(serial), Expiry: JoinNanos(expiry, 0)}, nil
}

// SSHScanPage is how many records one query of the SSH scans
// (store.SSHScanner) reads.
const SSHScanPage = 500

// ScanPaged lists a table a page at a time: query(after) reads up to
// SSHScanPage records whose key sorts after after (the first page: after
// ""), in key order, and returns them; fn is called for each record once
// the page is read, so no query stays open while fn runs. key returns a
// record's key.
func ScanPaged[T any](ctx context.Context, what string, query func(after string) ([]T, error), key func(T) string, fn func(T) error) error {
	after := ""
	for {
		if err := CtxErr(ctx, what); err != nil {
			return err
		}
		page, err := query(after)
		if err != nil {
			return err
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page) < SSHScanPage {
			return nil
		}
		after = key(page[len(page)-1])
	}
}

// ScanSSHCertificate reads an ssh_certs listing row (serial, cert).
func ScanSSHCertificate(scan Scanner) (*store.SSHCertificate, error) {
	var serial []byte
	c := &store.SSHCertificate{}
	if err := scan(&serial, &c.Wire); err != nil {
		return nil, err
	}
	c.Serial = string(serial)
	return c, nil
}
