package badger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	badgerdb "github.com/dgraph-io/badger/v4"

	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/linger"
	"github.com/mayfly-pki/mayfly/db/internal/queued"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// op is one write waiting for the committer. apply runs on the committer
// goroutine inside the batch transaction; it returns nil, or an outcome error
// (store.ErrTokenUsed, store.ErrAlreadyRevoked, wrapped) that is only
// reported once the transaction commits, or any other error, which fails the
// op at once.
type op struct {
	what  string // "use token", "store certificate", "revoke": for messages
	apply func(txn *wtxn) error
	done  chan error // buffered 1; receives exactly one answer
	// waited: a caller blocks on done (UseToken, submit), as opposed to
	// UseTokenOrdered; the committer's linger.Gate counts these.
	waited bool

	outcome error // set by commit, sent once the batch is durable
	// committed, if set, runs on the committer once the op's write is durable.
	committed func()
}

// isOutcome reports whether err is a result of the operation itself (and so
// depends on the batch committing) rather than a failure of the backend.
func isOutcome(err error) bool {
	return err == nil || errors.Is(err, store.ErrTokenUsed) || errors.Is(err, store.ErrAlreadyRevoked) || errors.Is(err, admin.ErrConflict)
}

// UseToken records used_ott[key] = token unless key is present, in which case
// it returns store.ErrTokenUsed (wrapped), and returns once the record is
// durable. See useToken for how the check is made.
func (s *Store) UseToken(ctx context.Context, key string, token []byte) error {
	o, err := s.useToken(ctx, key, token, true)
	if err != nil {
		return err
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%s: %w (the write may still complete)", o.what, ctx.Err())
	}
}

// UseTokenOrdered is UseToken without waiting for the commit
// (store.OrderedTokens): the write is queued before it returns, so any write
// acknowledged afterwards is committed in the same or a later transaction.
func (s *Store) UseTokenOrdered(ctx context.Context, key string, token []byte) error {
	_, err := s.useToken(ctx, key, token, false)
	return err
}

// useToken decides a token use at once: the key must be neither reserved
// (queued, not yet committed) nor in the database. It is then reserved and
// its write queued; the committer drops the reservation once the write is
// committed (a failed commit keeps it, so the key stays used in this
// process). Badger holds the directory lock, so no other process writes.
func (s *Store) useToken(ctx context.Context, key string, token []byte, waited bool) (*op, error) {
	if err := checkKey("token key", key); err != nil {
		return nil, err
	}
	if err := checkValue("token", len(token)); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("use token: %w", err)
	}
	k := recordKey(steplayout.TableUsedOTT, key)
	v := bytes.Clone(token)
	if v == nil {
		v = []byte{}
	}
	used := func() error {
		return fmt.Errorf("table %s, key %s: %w", steplayout.TableUsedOTT, key, store.ErrTokenUsed)
	}
	o := &op{what: "use token", waited: waited, apply: func(txn *wtxn) error { return txn.Set(k, v) }}
	o.committed = func() { s.reserved.Release(key) }
	// Lock order: the store's read lock, then the reservation set, and the
	// queue is fed without the set locked, so the committer (which releases
	// after a commit) can always drain the queue, even while Close waits.
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, s.errClosed()
	}
	ok, err := s.reserved.Reserve(key, func() (bool, error) {
		// Runs with the reservation set locked, so the filter learns the
		// key before any other use of it can be decided.
		if s.tokensReady.Load() && !s.tokens.MayContain(key) {
			s.tokens.Add(key)
			return false, nil
		}
		found, err := s.existsLocked(k)
		if err == nil && !found {
			s.tokens.Add(key)
		}
		return found, err
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, used()
	}
	o.done = make(chan error, 1)
	select {
	case s.ops <- o:
		return o, nil
	case <-ctx.Done():
		s.reserved.Release(key)
		return nil, fmt.Errorf("%s: %w", o.what, ctx.Err())
	}
}

// existsLocked reads k from the committed database; the caller holds s.mu (read).
func (s *Store) existsLocked(k []byte) (bool, error) {
	s.tokenLookups.Add(1)
	var found bool
	err := s.db.View(func(txn *badgerdb.Txn) error {
		var err error
		found, err = exists(txn, k)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("badger database %s: use token: %w", s.dir, oneLine{err})
	}
	return found, nil
}

// StoreCertificate writes x509_certs[serial] = DER and x509_certs_data[serial]
// = Data (overwriting an existing record, as step-ca does). The index fields
// of c are not stored: GetCertificate re-derives them.
func (s *Store) StoreCertificate(ctx context.Context, c *store.Certificate) error {
	o, err := certificateOp(c)
	if err != nil {
		return err
	}
	return s.submit(ctx, o)
}

// QueueCertificate implements store.QueuedCertificates: StoreCertificate's
// write, queued without waiting for it.
func (s *Store) QueueCertificate(ctx context.Context, c *store.Certificate) (func(context.Context) error, error) {
	o, err := certificateOp(c)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", o.what, err)
	}
	if err := s.enqueue(ctx, o); err != nil {
		return nil, err
	}
	return queued.Wait(o.done, o.what), nil
}

// certificateOp checks c and returns the op that writes it.
func certificateOp(c *store.Certificate) (*op, error) {
	if c == nil {
		return nil, errs.Errorf(errs.BadRequest, "store certificate: no certificate")
	}
	if err := checkKey("serial", c.Serial); err != nil {
		return nil, err
	}
	if len(c.DER) == 0 {
		return nil, errs.Errorf(errs.BadRequest, "store certificate %s: empty DER", c.Serial)
	}
	if err := checkValue("certificate DER", len(c.DER)); err != nil {
		return nil, err
	}
	if err := checkValue("certificate data", len(c.Data)); err != nil {
		return nil, err
	}
	kc, kd := recordKey(steplayout.TableCerts, c.Serial), recordKey(steplayout.TableCertsData, c.Serial)
	der, data := bytes.Clone(c.DER), bytes.Clone(c.Data)
	if data == nil {
		data = []byte{}
	}
	return &op{what: "store certificate " + c.Serial, apply: func(txn *wtxn) error {
		if err := txn.Set(kc, der); err != nil {
			return err
		}
		return txn.Set(kd, data)
	}}, nil
}

// Revoke writes revoked_x509_certs[r.Serial] as JSON with Go field names
// unless the serial is already revoked (store.ErrAlreadyRevoked, wrapped).
func (s *Store) Revoke(ctx context.Context, r *store.Revocation) error {
	if r == nil {
		return errs.Errorf(errs.BadRequest, "revoke: no revocation")
	}
	if err := checkKey("serial", r.Serial); err != nil {
		return err
	}
	v, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("revoke %s: encode revocation: %w", r.Serial, err)
	}
	if err := checkValue("revocation", len(v)); err != nil {
		return err
	}
	k := recordKey(steplayout.TableRevokedCerts, r.Serial)
	serial := r.Serial
	// Before the write is queued: a reader that misses the set must not
	// miss the record (a failed write leaves a harmless extra entry).
	s.revoked.add(serial)
	return s.submit(ctx, &op{what: "revoke " + serial, apply: func(txn *wtxn) error {
		found, err := exists(txn, k)
		if err != nil {
			return err
		}
		if found {
			return fmt.Errorf("table %s, serial %s: %w", steplayout.TableRevokedCerts, serial, store.ErrAlreadyRevoked)
		}
		return txn.Set(k, v)
	}})
}

// exists reports whether k is in the database or pending in txn (an update
// transaction reads its own writes).
func exists(txn interface {
	Get(k []byte) (*badgerdb.Item, error)
}, k []byte) (bool, error) {
	_, err := txn.Get(k)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, badgerdb.ErrKeyNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("read: %w", err)
	}
}

func checkValue(what string, n int) error {
	if n > maxValueLen {
		return errs.Errorf(errs.BadRequest, "invalid %s: %d bytes long, the limit is %d", what, n, maxValueLen)
	}
	return nil
}

// submit hands o to the committer and waits for its answer. A ctx that ends
// first returns ctx's error; the write may still be applied.
func (s *Store) submit(ctx context.Context, o *op) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", o.what, err)
	}
	o.waited = true
	if err := s.enqueue(ctx, o); err != nil {
		return err
	}
	select {
	case err := <-o.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%s: %w (the write may still complete)", o.what, ctx.Err())
	}
}

// enqueue hands o to the committer without waiting for it to be applied.
func (s *Store) enqueue(ctx context.Context, o *op) error {
	o.done = make(chan error, 1)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return s.errClosed()
	}
	select {
	case s.ops <- o:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", o.what, ctx.Err())
	}
}

// run is the committer: it takes the first waiting op, adds every op queued
// behind it and, while announced writers (ExpectWrite) have not queued
// theirs, those arriving within the linger window (up to maxBatch), commits
// them together, answers them, and repeats until Close closes the queue and
// it is drained.
func (s *Store) run() {
	defer close(s.done)
	batch := make([]*op, 0, s.maxBatch)
	for o := range s.ops {
		batch = linger.Fill(s.gate, s.ops, append(batch[:0], o), s.maxBatch, opWaited)
		start := time.Now()
		s.commit(batch)
		s.meter.Commit("badger", time.Since(start), len(batch))
		clear(batch)
	}
}

// commit applies batch in as few transactions as badger's size limit allows
// and answers every op once its transaction is durable.
func (s *Store) commit(batch []*op) {
	txn := &wtxn{txn: s.db.NewTransaction(true), rec: s.rec[:0]}
	pending := make([]*op, 0, len(batch))
	for _, o := range batch {
		err := o.apply(txn)
		if errors.Is(err, badgerdb.ErrTxnTooBig) && len(pending) > 0 {
			// The transaction is full: make what it holds durable and
			// apply o again in a fresh one. A set o made before the limit
			// hit is committed too and rewritten by the retry.
			s.finish(txn, pending)
			pending = pending[:0]
			txn = &wtxn{txn: s.db.NewTransaction(true), rec: txn.rec[:0]}
			err = o.apply(txn)
		}
		if isOutcome(err) {
			o.outcome = err
			pending = append(pending, o)
			continue
		}
		o.done <- fmt.Errorf("badger database %s: %s: %w", s.dir, o.what, oneLine{err})
	}
	s.finish(txn, pending)
	s.rec = txn.rec[:0] // reused by the next batch
}

// finish appends txn's writes to the write-ahead log (durable on return),
// commits txn to Badger and answers pending. If either fails, every op gets
// the error, including those whose outcome was ErrTokenUsed or
// ErrAlreadyRevoked, since that outcome may have depended on a write of the
// failed transaction. A record logged whose commit then fails is applied
// at the next Open: only writes no caller was told succeeded can appear.
func (s *Store) finish(txn *wtxn, pending []*op) {
	if len(pending) == 0 {
		txn.txn.Discard()
		return
	}
	s.commits.Add(1)
	fail := func(what string, err error) {
		for _, o := range pending {
			o.done <- fmt.Errorf("badger database %s: %s: %s: %w", s.dir, o.what, what, oneLine{err})
		}
	}
	if len(txn.rec) > 0 {
		if err := s.wal.Append(txn.rec); err != nil {
			txn.txn.Discard()
			fail("write-ahead log", err)
			return
		}
	}
	if err := txn.txn.Commit(); err != nil {
		fail("commit", err)
		return
	}
	for _, o := range pending {
		if o.committed != nil {
			o.committed()
		}
		o.done <- o.outcome
	}
	if s.wal.Full() {
		s.checkpointLog()
	}
}

func opWaited(o *op) bool { return o.waited }

// ExpectWrite implements store.WriteHinter: the committer holds a batch open
// (up to Options.CommitWindow) while announced requests have not queued
// their write.
func (s *Store) ExpectWrite() func() { return s.gate.Expect() }
