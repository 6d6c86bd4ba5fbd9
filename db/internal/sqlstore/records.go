package sqlstore

import (
	"bytes"
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// Column limits of the schemas (each backend's schema.go).
const (
	MaxSerialLen   = 64        // x509_certs.serial, revoked_x509_certs.serial
	MaxTokenKeyLen = 255       // used_ott.token_key, step-ca's nkey limit
	MaxValueLen    = 512 << 10 // every stored blob or text, as in the badger backend
	// MaxIndexText bounds the derived index columns (subject,
	// provisioner): an index entry must stay well below the servers' key
	// size limits (PostgreSQL's B-tree accepts about 2700 bytes).
	MaxIndexText = 1024
)

// CheckKey validates a record key; the error has kind errs.BadRequest. what
// names the field (e.g. "serial", "token key").
func CheckKey(what, key string, limit int) error {
	if key == "" {
		return errs.Errorf(errs.BadRequest, "invalid %s: empty", what)
	}
	if len(key) > limit {
		return errs.Errorf(errs.BadRequest, "invalid %s: %d bytes long, the limit is %d", what, len(key), limit)
	}
	return nil
}

// CheckText validates a value stored in a text column: valid UTF-8 without
// NUL bytes (PostgreSQL's rule, applied by every SQL backend so that they
// accept the same records). The error has kind errs.BadRequest.
func CheckText(what, v string) error {
	if !utf8.ValidString(v) {
		return errs.Errorf(errs.BadRequest, "invalid %s: not valid UTF-8", what)
	}
	if strings.IndexByte(v, 0) >= 0 {
		return errs.Errorf(errs.BadRequest, "invalid %s: contains a NUL byte", what)
	}
	return nil
}

// CheckValue applies MaxValueLen to a value of n bytes.
func CheckValue(what string, n int) error {
	if n > MaxValueLen {
		return errs.Errorf(errs.BadRequest, "invalid %s: %d bytes long, the limit is %d", what, n, MaxValueLen)
	}
	return nil
}

// CheckSerial applies the serial column's limit and the text rule.
func CheckSerial(serial string) error {
	if err := CheckKey("serial", serial, MaxSerialLen); err != nil {
		return err
	}
	return CheckText("serial", serial)
}

// CheckToken validates UseToken's arguments and returns a copy of token
// (never nil: the column is NOT NULL).
func CheckToken(key string, token []byte) ([]byte, error) {
	if err := CheckKey("token key", key, MaxTokenKeyLen); err != nil {
		return nil, err
	}
	if err := CheckValue("token", len(token)); err != nil {
		return nil, err
	}
	v := bytes.Clone(token)
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// CheckCertificate validates StoreCertificate's record.
func CheckCertificate(c *store.Certificate) error {
	if c == nil {
		return errs.Errorf(errs.BadRequest, "store certificate: no certificate")
	}
	if err := CheckSerial(c.Serial); err != nil {
		return err
	}
	if len(c.DER) == 0 {
		return errs.Errorf(errs.BadRequest, "store certificate %s: empty DER", c.Serial)
	}
	if err := CheckValue("certificate DER", len(c.DER)); err != nil {
		return err
	}
	return CheckValue("certificate data", len(c.Data))
}

// CheckRevocation validates Revoke's record.
func CheckRevocation(r *store.Revocation) error {
	if r == nil {
		return errs.Errorf(errs.BadRequest, "revoke: no revocation")
	}
	if err := CheckSerial(r.Serial); err != nil {
		return err
	}
	for _, f := range []struct{ what, v string }{
		{"provisioner ID", r.ProvisionerID}, {"revocation reason", r.Reason}, {"token ID", r.TokenID},
	} {
		if err := CheckText(f.what, f.v); err != nil {
			return err
		}
		if err := CheckValue(f.what, len(f.v)); err != nil {
			return err
		}
	}
	return nil
}

// IndexText makes a derived index value (subject, provisioner name)
// storable in a text column: invalid UTF-8 becomes U+FFFD, NUL bytes are
// dropped and the value is cut to MaxIndexText bytes at a character
// boundary. The certificate's DER keeps the full value.
func IndexText(v string) string {
	v = strings.ReplaceAll(strings.ToValidUTF8(v, "\uFFFD"), "\x00", "")
	if len(v) <= MaxIndexText {
		return v
	}
	cut := MaxIndexText
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return v[:cut]
}

// NullTime returns t in UTC, or nil (SQL NULL) for the zero time.
func NullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// SplitNanos splits t into what a timestamp column keeps (microseconds;
// nil for the zero time) and the nanoseconds below it, stored apart so that
// a revocation time round-trips exactly.
func SplitNanos(t time.Time) (any, int) {
	if t.IsZero() {
		return nil, 0
	}
	return t.UTC().Truncate(time.Microsecond), t.Nanosecond() % 1000
}

// JoinNanos is the inverse of SplitNanos: t (nil for SQL NULL, which gives
// the zero time) plus ns nanoseconds, in UTC.
func JoinNanos(t *time.Time, ns int) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC().Add(time.Duration(ns))
}

// CheckLookup refuses a lookup of serial whose ctx has ended or whose serial
// could not have been stored.
func CheckLookup(ctx context.Context, what, serial string) error {
	if err := CtxErr(ctx, what); err != nil {
		return err
	}
	return CheckSerial(serial)
}
