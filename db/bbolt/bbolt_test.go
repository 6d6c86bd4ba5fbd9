package bbolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

func openTest(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Options{Path: path})
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T) store.Store { return openTest(t, filepath.Join(t.TempDir(), "step.db")) })
}

func TestACMEConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunACME(t, func(t *testing.T) store.Store { return openTest(t, filepath.Join(t.TempDir(), "step.db")) })
}

func TestConformancePersistent(t *testing.T) {
	t.Parallel()
	dbtest.RunPersistent(t, func(t *testing.T, dir string) store.Store { return openTest(t, filepath.Join(dir, "step.db")) })
}

func TestOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	held := openTest(t, filepath.Join(dir, "held.db"))
	t.Cleanup(func() { held.Close() }) // after the parallel subtests
	tests := []struct {
		name     string
		opts     Options
		want     string
		wantKind errs.Kind
	}{
		{"no path", Options{}, "db.dataSource is empty", errs.Internal},
		{"directory", Options{Path: dir}, "it is a directory", errs.Internal},
		// Another Open of a file holds bbolt's flock exactly as another
		// process would.
		{"locked", Options{Path: filepath.Join(dir, "held.db"), LockTimeout: 50 * time.Millisecond},
			"database file is locked by another process", errs.Unavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Open(context.Background(), tc.opts)
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.opts.Path) {
				t.Fatalf("Open error = %q, want it to name %q and contain %q", err, tc.opts.Path, tc.want)
			}
			if k := errs.KindOf(err); k != tc.wantKind {
				t.Fatalf("Open error kind = %v, want %v", k, tc.wantKind)
			}
		})
	}

	// A new file in a new directory: created 0600 in a 0700 directory.
	path := filepath.Join(dir, "sub", "step.db")
	openTest(t, path).Close()
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Fatalf("%s has mode %v, want %v", p, got, want)
		}
	}
}

// A database file made wider before (by an earlier version, or by hand) is
// narrowed to its owner at Open.
func TestOpenRestrictsMode(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "step.db")
	openTest(t, path).Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s := openTest(t, path)
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Fatalf("%s has mode %v after Open, want 0600", path, got)
	}
}

// TestLayout writes through the store and reads the file with bbolt
// directly: one bucket per step-ca table, with step-ca's keys and values.
func TestLayout(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "step.db")
	s := openTest(t, path)
	ctx := context.Background()
	c := dbtest.NewCertificates(t).New(t, dbtest.Serial(1))
	r := dbtest.NewRevocation(c.Serial, true)
	steps := []func() error{
		func() error { return s.StoreCertificate(ctx, c) },
		func() error { return s.Revoke(ctx, r) },
		func() error { return s.UseToken(ctx, "jti-1", []byte("raw.jwt.token")) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	wantRevocation, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string][]byte{
		"x509_certs":         {c.Serial: c.DER},
		"x509_certs_data":    {c.Serial: c.Data},
		"revoked_x509_certs": {c.Serial: wantRevocation},
		"used_ott":           {"jti-1": []byte("raw.jwt.token")},
	}
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range steplayout.AuthorityTables() {
			b := tx.Bucket([]byte(name))
			if b == nil {
				t.Errorf("bucket %s is missing", name)
				continue
			}
			got := map[string][]byte{}
			if err := b.ForEach(func(k, v []byte) error { got[string(k)] = bytes.Clone(v); return nil }); err != nil {
				return err
			}
			if len(got) != len(want[name]) {
				t.Errorf("bucket %s has %d records, want %d", name, len(got), len(want[name]))
			}
			for k, v := range want[name] {
				if !bytes.Equal(got[k], v) {
					t.Errorf("bucket %s, key %s = %q, want %q", name, k, got[k], v)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The revocation JSON uses Go field names, as step-ca's does.
	if !bytes.Contains(wantRevocation, []byte(`"ProvisionerID":"admin:kid-`)) {
		t.Fatalf("revocation JSON %s lacks step-ca's field names", wantRevocation)
	}
}

// TestBatchReRunKeepsOutcomes makes the committer roll a batch back and run
// it again (one of its writes fails): every write's outcome still comes from
// the committed run, so of two Revoke calls of one serial in one batch
// exactly one gets ErrAlreadyRevoked, and the other writes commit.
func TestBatchReRunKeepsOutcomes(t *testing.T) {
	t.Parallel()
	// The batch is committed when its 5th write arrives, never on the timer.
	path := filepath.Join(t.TempDir(), "step.db")
	s, err := Open(context.Background(), Options{Path: path, MaxBatchSize: 5, MaxBatchDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	ctx := context.Background()
	failing := errors.New("injected failure")
	r := &store.Revocation{Serial: "42", Reason: "test"}
	// Queued first (UseTokenOrdered returns once queued), so the failing
	// write is never the first of the batch and the rest is re-run.
	if err := s.UseTokenOrdered(ctx, "first", []byte("0")); err != nil {
		t.Fatal(err)
	}
	calls := []func() error{
		func() error { return s.Revoke(ctx, r) },
		func() error { return s.Revoke(ctx, r) },
		func() error {
			return s.write(ctx, "failing write", func(*bolt.Tx) (error, error) { return nil, failing })
		},
		func() error { return s.UseToken(ctx, "other", []byte("3")) },
	}
	results := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = call()
		}()
	}
	wg.Wait()
	if runs := s.runs.Load(); runs <= int64(len(calls))+1 {
		t.Fatalf("%d write functions ran for %d writes: the batch was not re-run, the test proves nothing", runs, len(calls))
	}
	if n := s.commits.Load(); n != 1 {
		t.Fatalf("%d transactions committed, want the one batch", n)
	}
	if !errors.Is(results[2], failing) || !errs.Is(results[2], errs.Unavailable) {
		t.Fatalf("failing write: %v, want the injected failure", results[2])
	}
	revoked := 0
	for _, err := range results[:2] {
		switch {
		case err == nil:
		case errors.Is(err, store.ErrAlreadyRevoked):
			revoked++
		default:
			t.Fatalf("Revoke(42): %v", err)
		}
	}
	if revoked != 1 {
		t.Fatalf("two Revoke of one serial in a re-run batch: %v, want exactly one ErrAlreadyRevoked", results[:2])
	}
	if results[3] != nil {
		t.Fatalf("UseToken(other): %v", results[3])
	}
	// A lone write would now wait for the hour-long batch delay: check the
	// file through a store with the default options.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path)
	for _, key := range []string{"first", "other"} {
		if err := s.UseToken(ctx, key, []byte("t")); !errors.Is(err, store.ErrTokenUsed) {
			t.Fatalf("UseToken(%s) afterwards: %v, want ErrTokenUsed", key, err)
		}
	}
	if err := s.Revoke(ctx, r); !errors.Is(err, store.ErrAlreadyRevoked) {
		t.Fatalf("Revoke(42) afterwards: %v, want ErrAlreadyRevoked", err)
	}
}

// TestCloseCommitsQueued: Close cuts a MaxBatchDelay wait short and commits
// what is queued; its callers get their normal answers.
func TestCloseCommitsQueued(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "step.db")
	s, err := Open(context.Background(), Options{Path: path, MaxBatchDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.UseTokenOrdered(ctx, "queued", []byte("t")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.UseToken(ctx, "x", nil); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("UseToken after Close: %v, want kind %v", err, errs.Unavailable)
	}
	s = openTest(t, path)
	defer s.Close()
	if err := s.UseToken(ctx, "queued", []byte("t")); !errors.Is(err, store.ErrTokenUsed) {
		t.Fatalf("UseToken(queued) after reopen: %v, want ErrTokenUsed", err)
	}
}

// TestGroupCommitSharesCommits checks that concurrent writes share
// transactions: it counts the distinct write transactions they ran in.
func TestGroupCommitSharesCommits(t *testing.T) {
	t.Parallel()
	s := openTest(t, filepath.Join(t.TempDir(), "step.db"))
	defer s.Close()
	const writers = 200
	var (
		mu  sync.Mutex
		txs = map[int]bool{}
		wg  sync.WaitGroup
	)
	start := make(chan struct{})
	errList := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			key := []byte("jti-" + strconv.Itoa(i))
			errList[i] = s.write(context.Background(), "use token", func(tx *bolt.Tx) (error, error) {
				mu.Lock()
				txs[tx.ID()] = true
				mu.Unlock()
				b, err := bucket(tx, steplayout.TableUsedOTT)
				if err != nil {
					return nil, err
				}
				return nil, b.Put(key, []byte("t"))
			})
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errList {
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if len(txs) > writers/2 {
		t.Fatalf("%d concurrent writes ran in %d transactions, want them shared (at most %d)", writers, len(txs), writers/2)
	}
	t.Logf("%d concurrent writes, %d transactions", writers, len(txs))
}

func TestRecordLimits(t *testing.T) {
	t.Parallel()
	s := openTest(t, filepath.Join(t.TempDir(), "step.db"))
	defer s.Close()
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
	}{
		{"empty token key", func() error { return s.UseToken(ctx, "", []byte("t")) }},
		{"long token key", func() error { return s.UseToken(ctx, strings.Repeat("k", maxKeyLen+1), []byte("t")) }},
		{"huge token", func() error { return s.UseToken(ctx, "k", make([]byte, maxValueLen+1)) }},
		{"nil certificate", func() error { return s.StoreCertificate(ctx, nil) }},
		{"empty DER", func() error { return s.StoreCertificate(ctx, &store.Certificate{Serial: "1"}) }},
		{"empty serial", func() error { return s.Revoke(ctx, &store.Revocation{}) }},
		{"nil revocation", func() error { return s.Revoke(ctx, nil) }},
	}
	for _, tc := range tests {
		if err := tc.call(); !errs.Is(err, errs.BadRequest) {
			t.Fatalf("%s: err = %v (kind %v), want kind %v", tc.name, err, errs.KindOf(err), errs.BadRequest)
		}
	}
	// An empty token is a value like any other: its key is used.
	if err := s.UseToken(ctx, "empty", nil); err != nil {
		t.Fatalf("UseToken with an empty token: %v", err)
	}
	if err := s.UseToken(ctx, "empty", nil); !errors.Is(err, store.ErrTokenUsed) {
		t.Fatalf("second UseToken with an empty token: %v, want ErrTokenUsed", err)
	}
}

func TestCRLConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunCRL(t, func(t *testing.T) dbtest.CRLStore {
		return openTest(t, filepath.Join(t.TempDir(), "step.db"))
	}, nil)
}

func TestAdminConformance(t *testing.T) {
	t.Parallel()
	dbtest.RunAdmin(t, func(t *testing.T) dbtest.AdminStore { return openTest(t, filepath.Join(t.TempDir(), "step.db")) })
}
