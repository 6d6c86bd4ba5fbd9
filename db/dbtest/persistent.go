package dbtest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// DirOpener opens the store kept in dir, creating it when dir is empty. The
// suite closes what it opens.
type DirOpener func(t *testing.T, dir string) store.Store

// RunPersistent checks that a backend keeping data on disk keeps every
// acknowledged write across Close and reopen, including writes racing with
// Close. Each subtest uses its own t.TempDir.
func RunPersistent(t *testing.T, open DirOpener) {
	t.Helper()
	t.Run("RestartKeepsEverything", func(t *testing.T) {
		t.Parallel()
		testRestart(t, open)
	})
	t.Run("CloseDuringWrites", func(t *testing.T) {
		t.Parallel()
		testCloseDuringWrites(t, open)
	})
}

// generation is what one open of the store wrote.
type generation struct {
	certs  []*store.Certificate
	tokens []string
	revs   []*store.Revocation
}

func testRestart(t *testing.T, open DirOpener) {
	ctx := context.Background()
	dir := t.TempDir()
	f := NewCertificates(t)
	var gens []generation
	for g := range 3 {
		s := open(t, dir)
		// Everything written by earlier opens is still there and still
		// refuses reuse.
		for i, old := range gens {
			checkGeneration(t, s, i, old)
		}
		var gen generation
		for i := range 10 {
			c := f.New(t, Serial(g*100+i))
			if err := storeMaybeQueued(ctx, s, c, i%2 == 1); err != nil {
				t.Fatalf("open %d: StoreCertificate: %v", g, err)
			}
			gen.certs = append(gen.certs, c)
			key := "jti-" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
			if err := s.UseToken(ctx, key, []byte("token")); err != nil {
				t.Fatalf("open %d: UseToken: %v", g, err)
			}
			gen.tokens = append(gen.tokens, key)
			if i%2 == 0 {
				r := NewRevocation(c.Serial, i%4 == 0)
				if err := s.Revoke(ctx, r); err != nil {
					t.Fatalf("open %d: Revoke: %v", g, err)
				}
				gen.revs = append(gen.revs, r)
			}
		}
		gens = append(gens, gen)
		mustClose(t, s)
	}
	s := open(t, dir)
	defer mustClose(t, s)
	for i, old := range gens {
		checkGeneration(t, s, i, old)
	}
}

// storeMaybeQueued stores c, through QueueCertificate when queue is set and
// s implements store.QueuedCertificates, followed by a waited write (a
// token use) and then the wait, as the ACME server does.
func storeMaybeQueued(ctx context.Context, s store.Store, c *store.Certificate, queue bool) error {
	qs, ok := s.(store.QueuedCertificates)
	if !queue || !ok {
		return s.StoreCertificate(ctx, c)
	}
	wait, err := qs.QueueCertificate(ctx, c)
	if err != nil {
		return err
	}
	if err := s.UseToken(ctx, "after-"+c.Serial, []byte("token")); err != nil {
		return err
	}
	return wait(ctx)
}

func checkGeneration(t *testing.T, s store.Store, g int, gen generation) {
	t.Helper()
	ctx := context.Background()
	for _, want := range gen.certs {
		got, err := s.GetCertificate(ctx, want.Serial)
		if err != nil {
			t.Fatalf("after reopen, certificate of open %d: GetCertificate(%s): %v", g, want.Serial, err)
		}
		if d := EqualCertificate(want, got); d != "" {
			t.Fatalf("after reopen, certificate of open %d: %s", g, d)
		}
	}
	for _, key := range gen.tokens {
		if err := s.UseToken(ctx, key, []byte("again")); !errors.Is(err, store.ErrTokenUsed) {
			t.Fatalf("after reopen, token %s of open %d: UseToken = %v, want ErrTokenUsed", key, g, err)
		}
	}
	for _, want := range gen.revs {
		got, err := s.GetRevocation(ctx, want.Serial)
		if err != nil {
			t.Fatalf("after reopen, revocation of open %d: GetRevocation(%s): %v", g, want.Serial, err)
		}
		if d := EqualRevocation(want, got); d != "" {
			t.Fatalf("after reopen, revocation of open %d: %s", g, d)
		}
		if err := s.Revoke(ctx, want); !errors.Is(err, store.ErrAlreadyRevoked) {
			t.Fatalf("after reopen, Revoke(%s) = %v, want ErrAlreadyRevoked", want.Serial, err)
		}
	}
}

// testCloseDuringWrites closes the store while 16 writers are storing
// certificates: every write that returned nil must be there after reopen,
// and every other write must have failed with errs.Unavailable.
func testCloseDuringWrites(t *testing.T, open DirOpener) {
	const writers, closeAfter = 16, 64
	dir := t.TempDir()
	f := NewCertificates(t)
	s := open(t, dir)

	var (
		acked     atomic.Int64
		enough    = make(chan struct{})
		enoughOne sync.Once
		wg        sync.WaitGroup
		mu        sync.Mutex
		stored    []*store.Certificate
		failures  []error
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				c := f.New(t, Serial(w*100_000+i))
				err := s.StoreCertificate(context.Background(), c)
				mu.Lock()
				if err != nil {
					failures = append(failures, err)
					mu.Unlock()
					return
				}
				stored = append(stored, c)
				mu.Unlock()
				if acked.Add(1) >= closeAfter {
					enoughOne.Do(func() { close(enough) })
				}
			}
		}()
	}
	<-enough
	if err := s.Close(); err != nil {
		t.Fatalf("Close during writes: %v", err)
	}
	wg.Wait()
	for _, err := range failures {
		if !errs.Is(err, errs.Unavailable) {
			t.Fatalf("a write racing with Close failed with %v (kind %v), want kind %v", err, errs.KindOf(err), errs.Unavailable)
		}
	}

	s = open(t, dir)
	defer mustClose(t, s)
	for _, want := range stored {
		got, err := s.GetCertificate(context.Background(), want.Serial)
		if err != nil {
			t.Fatalf("acknowledged write lost across Close: GetCertificate(%s): %v", want.Serial, err)
		}
		if d := EqualCertificate(want, got); d != "" {
			t.Fatalf("after reopen, certificate %s: %s", want.Serial, d)
		}
	}
	t.Logf("%d writes acknowledged before Close, %d refused", len(stored), len(failures))
}
