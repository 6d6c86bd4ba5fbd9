// Package importer copies the records the authority depends on from an
// existing database into a Mayfly store: from a Smallstep step-ca database
// (its key/value tables on MySQL, PostgreSQL or bbolt, wire-spec §6) or from
// another Mayfly store (to migrate between backends, e.g. Badger to
// PostgreSQL). Imports are idempotent: records already in the target are
// counted as "already present" and left as they are.
package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// Defaults of Options.
const (
	// DefaultWorkers is the number of concurrent writes to the target, so
	// that backends with group commit share one sync between them.
	DefaultWorkers = 16
	// DefaultProgressEvery is how many records pass between progress lines.
	DefaultProgressEvery = 10000
)

// Source yields the records to import. Each method calls fn once per record,
// in the source's order, and stops at fn's first error, returning it.
// Records passed to fn are owned by fn (the source does not reuse them).
type Source interface {
	// Name describes the source for messages (type and database, never a
	// password).
	Name() string
	// Certificates yields every certificate record (x509_certs with its
	// x509_certs_data).
	Certificates(ctx context.Context, fn func(*store.Certificate) error) error
	// Revocations yields every X.509 revocation record.
	Revocations(ctx context.Context, fn func(*store.Revocation) error) error
	// Tokens yields every used one-time-token record: its reuse key and the
	// raw token.
	Tokens(ctx context.Context, fn func(key string, token []byte) error) error
	// Skipped counts, by table, the records of the tables Import does not
	// carry (step-ca's admin, CRL and ACME nonce records), leaving out empty tables; sorted by table name.
	Skipped(ctx context.Context) ([]TableCount, error)
	// Close releases the source.
	Close() error
}

// TableCount is the number of records of one table.
type TableCount struct {
	Table   string
	Records int
}

// Options tunes Import. The zero value uses the defaults.
type Options struct {
	// Workers is the number of concurrent writes; 0 means DefaultWorkers.
	Workers int
	// Progress, when not nil, receives a progress line every ProgressEvery
	// records of each table.
	Progress io.Writer
	// ProgressEvery is the progress interval; 0 means DefaultProgressEvery.
	ProgressEvery int
}

// Stats counts what an import did. Records already in the target with the
// same content are counted in the *Present fields and not written again.
type Stats struct {
	Certificates, Revocations, Tokens                      int // written
	CertificatesPresent, RevocationsPresent, TokensPresent int // already present
	// AdminRecords and AdminRecordsPresent count the admins and
	// provisioners of the admin tables written and already present.
	AdminRecords, AdminRecordsPresent int
	// ACMERecords and ACMERecordsPresent count the records of step-ca's
	// ACME tables written and already present.
	ACMERecords, ACMERecordsPresent int
	// SSHRecords and SSHRecordsPresent count the SSH certificates and SSH
	// revocations written and already present.
	SSHRecords, SSHRecordsPresent int
	// Skipped is the source's records that were not imported, by table
	// (Source.Skipped), known once every table was copied.
	Skipped []TableCount
}

// Present returns the number of records that were already present.
func (s Stats) Present() int {
	return s.CertificatesPresent + s.RevocationsPresent + s.TokensPresent + s.AdminRecordsPresent + s.ACMERecordsPresent + s.SSHRecordsPresent
}

// String is the summary line, e.g. "imported 1234 certificates, 5
// revocations, 6789 used tokens (12 already present)".
func (s Stats) String() string {
	line := fmt.Sprintf("imported %d certificates, %d revocations, %d used tokens", s.Certificates, s.Revocations, s.Tokens)
	if s.AdminRecords+s.AdminRecordsPresent > 0 {
		line += fmt.Sprintf(", %d admin records", s.AdminRecords)
	}
	if s.ACMERecords+s.ACMERecordsPresent > 0 {
		line += fmt.Sprintf(", %d ACME records", s.ACMERecords)
	}
	if s.SSHRecords+s.SSHRecordsPresent > 0 {
		line += fmt.Sprintf(", %d SSH records", s.SSHRecords)
	}
	return line + fmt.Sprintf(" (%d already present)", s.Present())
}

// SkippedLine is the summary of Skipped, e.g. "skipped 3 records Mayfly
// does not store yet: acme_accounts 2, ssh_certs 1", or "" when none.
func (s Stats) SkippedLine() string {
	if len(s.Skipped) == 0 {
		return ""
	}
	total := 0
	parts := make([]string, len(s.Skipped))
	for i, tc := range s.Skipped {
		total += tc.Records
		parts[i] = fmt.Sprintf("%s %d", tc.Table, tc.Records)
	}
	return fmt.Sprintf("skipped %d records Mayfly does not store yet: %s", total, strings.Join(parts, ", "))
}

// Import copies every certificate, revocation and used token of src into
// dst, in that order (then the admin, ACME and SSH records of sources that
// carry them), writing with opts.Workers concurrent calls, then counts
// the source's records it does not carry (Stats.Skipped). A certificate
// whose serial is in dst with the same DER and data is left
// alone; otherwise StoreCertificate writes it (overwriting). A revocation
// for which dst's Revoke reports store.ErrAlreadyRevoked, and a token for
// which UseToken reports store.ErrTokenUsed, count as already present.
//
// Import stops at the first error (of the source, of a record that cannot be
// decoded, or of dst) and returns it with the counts so far; since every
// write is idempotent, running it again continues where it stopped. It is
// safe to run while a CA uses dst (with a backend that allows two users).
func Import(ctx context.Context, dst store.Store, src Source, opts Options) (Stats, error) {
	r := &run{dst: dst, opts: opts}
	if r.opts.Workers <= 0 {
		r.opts.Workers = DefaultWorkers
	}
	if r.opts.ProgressEvery <= 0 {
		r.opts.ProgressEvery = DefaultProgressEvery
	}
	err := r.phase(ctx, "x509_certs", func(ctx context.Context, submit func(func(context.Context) error) error) error {
		return src.Certificates(ctx, func(c *store.Certificate) error {
			return submit(func(ctx context.Context) error { return r.certificate(ctx, c) })
		})
	})
	if err == nil {
		err = r.phase(ctx, "revoked_x509_certs", func(ctx context.Context, submit func(func(context.Context) error) error) error {
			return src.Revocations(ctx, func(rv *store.Revocation) error {
				return submit(func(ctx context.Context) error { return r.revocation(ctx, rv) })
			})
		})
	}
	if err == nil {
		err = r.phase(ctx, "used_ott", func(ctx context.Context, submit func(func(context.Context) error) error) error {
			return src.Tokens(ctx, func(key string, token []byte) error {
				return submit(func(ctx context.Context) error { return r.token(ctx, key, token) })
			})
		})
	}
	if err == nil {
		err = r.importSSH(ctx, src)
	}
	var skipped []TableCount
	if err == nil {
		r.mu.Lock()
		err = importAdmin(ctx, dst, src, &r.stats)
		r.mu.Unlock()
	}
	if err == nil {
		var w, p int
		w, p, err = importACME(ctx, dst, src)
		r.mu.Lock()
		r.stats.ACMERecords, r.stats.ACMERecordsPresent = w, p
		r.mu.Unlock()
	}
	if err == nil {
		skipped, err = src.Skipped(ctx)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.Skipped = skipped
	if err != nil {
		return r.stats, fmt.Errorf("import from %s: %w", src.Name(), err)
	}
	return r.stats, nil
}

// run is the state of one Import.
type run struct {
	dst  store.Store
	opts Options

	mu    sync.Mutex // guards stats and done
	stats Stats
	done  int // records of the current phase
}

// phase runs produce, which submits one write per record, with the write
// calls spread over opts.Workers goroutines, and returns the first error of
// either side after every started write has returned.
func (r *run) phase(ctx context.Context, table string, produce func(context.Context, func(func(context.Context) error) error) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.mu.Lock()
	r.done = 0
	r.mu.Unlock()

	jobs := make(chan func(context.Context) error)
	var wg sync.WaitGroup
	for range r.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				if err := job(ctx); err != nil {
					cancel(err)
					continue // drain: the producer sees ctx end
				}
				r.progress(table)
			}
		}()
	}
	submit := func(job func(context.Context) error) error {
		select {
		case jobs <- job:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	perr := produce(ctx, submit)
	close(jobs)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err // a write failed: the root cause
	}
	if perr != nil {
		return perr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return nil
}

// progress counts one record of table and prints a line every ProgressEvery.
func (r *run) progress(table string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done++
	if r.opts.Progress != nil && r.done%r.opts.ProgressEvery == 0 {
		fmt.Fprintf(r.opts.Progress, "%s: %d records, %s\n", table, r.done, r.stats)
	}
}

func (r *run) count(f func(*Stats)) {
	r.mu.Lock()
	f(&r.stats)
	r.mu.Unlock()
}

func (r *run) certificate(ctx context.Context, c *store.Certificate) error {
	old, err := r.dst.GetCertificate(ctx, c.Serial)
	switch {
	case err == nil && bytes.Equal(old.DER, c.DER) && bytes.Equal(old.Data, c.Data):
		r.count(func(s *Stats) { s.CertificatesPresent++ })
		return nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("read certificate %s from the target: %w", c.Serial, err)
	}
	if err := r.dst.StoreCertificate(ctx, c); err != nil {
		return fmt.Errorf("store certificate %s: %w", c.Serial, err)
	}
	r.count(func(s *Stats) { s.Certificates++ })
	return nil
}

func (r *run) revocation(ctx context.Context, rv *store.Revocation) error {
	err := r.dst.Revoke(ctx, rv)
	switch {
	case err == nil:
		r.count(func(s *Stats) { s.Revocations++ })
	case errors.Is(err, store.ErrAlreadyRevoked):
		r.count(func(s *Stats) { s.RevocationsPresent++ })
	default:
		return fmt.Errorf("revoke %s: %w", rv.Serial, err)
	}
	return nil
}

func (r *run) token(ctx context.Context, key string, token []byte) error {
	err := r.dst.UseToken(ctx, key, token)
	switch {
	case err == nil:
		r.count(func(s *Stats) { s.Tokens++ })
	case errors.Is(err, store.ErrTokenUsed):
		r.count(func(s *Stats) { s.TokensPresent++ })
	default:
		return fmt.Errorf("record used token (key of %d bytes): %w", len(key), err)
	}
	return nil
}
