package store

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"time"
)

// Listing limits of Inventory.ListCertificates.
const (
	// DefaultListLimit is the page size used when CertificateFilter.Limit is 0.
	DefaultListLimit = 100
	// MaxListLimit is the largest page; larger limits are lowered to it.
	MaxListLimit = 1000
	// MaxListScan bounds how many records one ListCertificates call examines,
	// so that a selective filter over a large table cannot hold a read
	// transaction for long: a call that reaches it returns what it found (maybe
	// nothing) with a cursor to continue from.
	MaxListScan = 10000
)

// Inventory is implemented by stores that can list and prune certificate
// records. It is optional: the authority answers "not implemented" for a
// store without it. Methods are safe for concurrent use with every other
// method of the store and must not stall writes (reads use read
// transactions or snapshots).
type Inventory interface {
	// ListCertificates returns up to f.Limit records matching f, in serial
	// order (see CompareSerials), starting after f.Cursor. next is the cursor
	// of the following page, "" when the listing is complete. A page may hold
	// fewer records than the limit (even none) while next is not "": callers
	// follow next until it is "".
	ListCertificates(ctx context.Context, f CertificateFilter) (page []*CertificateInfo, next string, err error)
	// DeleteExpired removes up to limit certificate records (x509_certs and
	// x509_certs_data) whose NotAfter is before before, durably, and returns
	// how many it removed. Revocation records are kept (CRLs may need them).
	// limit <= 0 means MaxListLimit.
	DeleteExpired(ctx context.Context, before time.Time, limit int) (int, error)
}

// Maintainer is implemented by stores that need periodic housekeeping (for
// Badger, value-log garbage collection). Maintain runs one round and returns
// when there is nothing more to do or ctx ends. Safe to call concurrently
// with every other method; a call after Close returns an error.
type Maintainer interface {
	Maintain(ctx context.Context) error
}

// CertificateFilter selects certificate records. Zero fields do not filter.
type CertificateFilter struct {
	// ExpiringBefore keeps records whose NotAfter is before it.
	ExpiringBefore time.Time
	// ExpiringAfter keeps records whose NotAfter is after it.
	ExpiringAfter time.Time
	// Provisioner keeps records issued by the provisioner of this name (exact).
	Provisioner string
	// Subject keeps records whose common name or any SAN contains it,
	// case-insensitively.
	Subject string
	// Revoked, when set, keeps only revoked (true) or unrevoked (false) records.
	Revoked *bool
	// Cursor is the next value of a previous page; "" starts at the beginning.
	Cursor string
	// Limit is the page size: 0 means DefaultListLimit, above MaxListLimit
	// means MaxListLimit.
	Limit int
}

// PageSize returns f.Limit with the defaults applied.
func (f CertificateFilter) PageSize() int {
	switch {
	case f.Limit <= 0:
		return DefaultListLimit
	case f.Limit > MaxListLimit:
		return MaxListLimit
	}
	return f.Limit
}

// Match reports whether info passes every filter but the cursor.
func (f CertificateFilter) Match(info *CertificateInfo) bool {
	if !f.ExpiringBefore.IsZero() && !info.NotAfter.Before(f.ExpiringBefore) {
		return false
	}
	if !f.ExpiringAfter.IsZero() && !info.NotAfter.After(f.ExpiringAfter) {
		return false
	}
	if f.Provisioner != "" && info.Provisioner != f.Provisioner {
		return false
	}
	if f.Revoked != nil && *f.Revoked != info.Revoked {
		return false
	}
	if f.Subject != "" {
		want := strings.ToLower(f.Subject)
		found := strings.Contains(strings.ToLower(info.Subject), want)
		for _, s := range info.SANs {
			found = found || strings.Contains(strings.ToLower(s), want)
		}
		if !found {
			return false
		}
	}
	return true
}

// CertificateInfo is one listed certificate record.
type CertificateInfo struct {
	Serial      string // decimal
	Subject     string // subject common name
	SANs        []string
	NotBefore   time.Time
	NotAfter    time.Time
	Provisioner string
	Revoked     bool
	RevokedAt   time.Time // zero unless Revoked
	ReasonCode  int       // RFC 5280 reason, when Revoked
}

// NewCertificateInfo parses der and returns its listing record, with SANs in
// the order DNS names, IP addresses, email addresses, URIs. Revocation
// fields are left for the caller.
func NewCertificateInfo(serial string, der []byte, provisioner string) (*CertificateInfo, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: parse DER: %w", serial, err)
	}
	info := &CertificateInfo{
		Serial: serial, Subject: cert.Subject.CommonName, NotBefore: cert.NotBefore.UTC(),
		NotAfter: cert.NotAfter.UTC(), Provisioner: provisioner,
	}
	info.SANs = append(info.SANs, cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		info.SANs = append(info.SANs, ip.String())
	}
	info.SANs = append(info.SANs, cert.EmailAddresses...)
	for _, u := range cert.URIs {
		info.SANs = append(info.SANs, u.String())
	}
	return info, nil
}

// SetRevocation copies r's status into info (r may be nil: not revoked).
func (info *CertificateInfo) SetRevocation(r *Revocation) {
	if r == nil {
		return
	}
	info.Revoked, info.RevokedAt, info.ReasonCode = true, r.RevokedAt.UTC(), r.ReasonCode
}

// CompareSerials orders serials as listings do: shorter strings first, then
// byte order. For decimal serials without leading zeros this is numeric
// order; it is also the order of Badger's keys (a little-endian length
// prefix below 256, then the bytes). It returns -1, 0 or +1.
func CompareSerials(a, b string) int {
	switch {
	case len(a) != len(b):
		if len(a) < len(b) {
			return -1
		}
		return 1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
