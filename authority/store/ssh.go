package store

import (
	"context"
	"time"
)

// SSHCertificate is one issued SSH certificate: ssh_certs[serial] = Wire,
// and for a host certificate one ssh_host_principals row per lower-cased
// principal (wire-spec §6.3).
type SSHCertificate struct {
	Serial      string // decimal
	Wire        []byte // the certificate's SSH wire format
	Host        bool
	Principals  []string
	ValidBefore time.Time
}

// SSHHost is one ssh_host_principals row.
type SSHHost struct {
	Principal string // lower-cased
	Serial    string
	Expiry    time.Time
}

// SSHStore is the persistence port of the SSH authority, implemented by
// every backend beside Store. Same contract as Store: safe for concurrent
// use, writes durable on return, errors ErrNotFound / ErrAlreadyRevoked
// (wrapped) as documented, anything else a backend failure.
type SSHStore interface {
	// StoreSSHCertificate writes ssh_certs[serial] and, for a host
	// certificate, ssh_host_principals[principal] = {serial, expiry} for
	// each principal (the newest certificate of a principal wins).
	StoreSSHCertificate(ctx context.Context, c *SSHCertificate) error
	// GetSSHCertificate returns the record of serial, or ErrNotFound.
	// Only Serial and Wire are guaranteed to be set.
	GetSSHCertificate(ctx context.Context, serial string) (*SSHCertificate, error)
	// RevokeSSH writes revoked_ssh_certs[r.Serial] unless present
	// (ErrAlreadyRevoked).
	RevokeSSH(ctx context.Context, r *Revocation) error
	// GetSSHRevocation returns the revocation of serial, or ErrNotFound.
	GetSSHRevocation(ctx context.Context, serial string) (*Revocation, error)
	// ListSSHRevocations returns every SSH revocation, in no order.
	ListSSHRevocations(ctx context.Context) ([]*Revocation, error)
	// ListSSHHosts returns every ssh_host_principals row, ordered by
	// principal.
	ListSSHHosts(ctx context.Context) ([]SSHHost, error)
}

// SSHScanner is implemented by SSH stores that can list their records, so
// that `db import` copies the SSH records between Mayfly databases. The
// host principals are not listed: the target's StoreSSHCertificate
// rebuilds them from each certificate.
type SSHScanner interface {
	// SSHScanCertificates calls fn for every SSH certificate record, in
	// the backend's serial order, and returns fn's first error. Only
	// Serial and Wire are guaranteed to be set (as GetSSHCertificate).
	// Records written during the scan may or may not be seen; the backend
	// reads a page at a time, so no read stays open while fn runs, and fn
	// owns the record.
	SSHScanCertificates(ctx context.Context, fn func(*SSHCertificate) error) error
	// SSHScanRevocations calls fn for every SSH revocation, likewise.
	SSHScanRevocations(ctx context.Context, fn func(*Revocation) error) error
}
