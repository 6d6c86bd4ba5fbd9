package badger

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

// killChildEnv carries the database directory to the child process of
// TestKill9Durability.
const killChildEnv = "MAYFLY_BADGER_KILL9_DIR"

// TestKill9Child is the child process of TestKill9Durability: 16 writers
// store certificates and print each serial to stdout only after
// StoreCertificate returned, until the parent kills the process.
func TestKill9Child(t *testing.T) {
	dir := os.Getenv(killChildEnv)
	if dir == "" {
		t.Skip("child process of TestKill9Durability")
	}
	s := openTest(t, dir)
	f := dbtest.NewCertificates(t)
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Bounded, so that a parent that never kills cannot make this
			// process write forever.
			for i := range 100_000 {
				c := f.New(t, dbtest.Serial(w*1_000_000+i))
				if err := s.StoreCertificate(context.Background(), c); err != nil {
					fmt.Fprintf(os.Stderr, "StoreCertificate: %v\n", err)
					os.Exit(3)
				}
				out.Lock()
				// One write(2) per line: a kill cannot split it.
				_, err := os.Stdout.WriteString(c.Serial + "\n")
				out.Unlock()
				if err != nil {
					os.Exit(4)
				}
			}
		}()
	}
	wg.Wait()
	os.Exit(5) // the parent should have killed us long before
}

// TestKill9Durability runs TestKill9Child in a child process, SIGKILLs it
// after it acknowledged some writes, reopens the database and checks that
// every acknowledged certificate is there. It proves that nothing a write
// acknowledged was still buffered in the process; it cannot simulate a power
// loss (the page cache survives a kill).
func TestKill9Durability(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	t.Parallel()
	const killAfter = 300
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	defer cmd.Process.Kill() //nolint:errcheck // already dead on the normal path

	var serials []string
	killed := false
	r := bufio.NewReader(stdout)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			// EOF after the kill; a fragment without newline was never
			// completely acknowledged.
			if !errors.Is(err, io.EOF) {
				t.Fatalf("read child output: %v", err)
			}
			break
		}
		serial := strings.TrimSuffix(line, "\n")
		if _, err := strconv.ParseUint(serial, 10, 64); err != nil {
			t.Fatalf("child printed %q, want a serial", line)
		}
		serials = append(serials, serial)
		if len(serials) == killAfter && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill child: %v", err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before printing %d serials (%v): %s", killAfter, err, stderr.String())
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v; stderr: %s", err, stderr.String())
	}

	s := openTest(t, dir)
	defer s.Close()
	for _, sn := range serials {
		c, err := s.GetCertificate(context.Background(), sn)
		if err != nil {
			t.Fatalf("certificate %s acknowledged before SIGKILL is missing: %v", sn, err)
		}
		if c.Subject != "leaf-"+sn {
			t.Fatalf("certificate %s has subject %q after recovery", sn, c.Subject)
		}
	}
	t.Logf("%d acknowledged certificates survived SIGKILL", len(serials))
}

// TestGroupCommitSharesCommits checks that concurrent writers share
// transactions (and so syncs) instead of committing one by one. How writers
// arrive depends on the scheduler: on a machine saturated by other processes
// they can trickle in one at a time, so the check gets three tries and fails
// only if the writes never shared commits.
func TestGroupCommitSharesCommits(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	defer s.Close()
	const writers = 200
	var commits int64
	for try := 0; try < 3; try++ {
		base := s.commits.Load()
		var wg sync.WaitGroup
		start := make(chan struct{})
		errList := make([]error, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errList[i] = s.UseToken(context.Background(), "jti-"+strconv.Itoa(try)+"-"+strconv.Itoa(i), []byte("t"))
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errList {
			if err != nil {
				t.Fatalf("UseToken %d: %v", i, err)
			}
		}
		commits = s.commits.Load() - base
		t.Logf("try %d: %d concurrent writes, %d commits", try+1, writers, commits)
		if commits <= writers/2 {
			return
		}
	}
	t.Fatalf("%d concurrent writes used %d commits in each of 3 tries, want them shared (at most %d)", writers, commits, writers/2)
}

// TestLargeBatchesSplit stores records large enough that one group commit
// exceeds badger's transaction size limit, forcing the committer to split
// the batch into several transactions.
func TestLargeBatchesSplit(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	defer s.Close()
	f := dbtest.NewCertificates(t)
	pad := bytes.Repeat([]byte("p"), 300<<10)
	const n = 40
	certs := make([]*store.Certificate, n)
	for i := range certs {
		certs[i] = f.NewWithData(t, dbtest.Serial(i), pad)
	}
	base := s.commits.Load()
	var wg sync.WaitGroup
	errList := make([]error, n)
	start := make(chan struct{})
	for i := range certs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errList[i] = s.StoreCertificate(context.Background(), certs[i])
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errList {
		if err != nil {
			t.Fatalf("StoreCertificate %d: %v", i, err)
		}
	}
	for _, want := range certs {
		got, err := s.GetCertificate(context.Background(), want.Serial)
		if err != nil {
			t.Fatalf("GetCertificate(%s): %v", want.Serial, err)
		}
		if d := dbtest.EqualCertificate(want, got); d != "" {
			t.Fatalf("GetCertificate(%s): %s", want.Serial, d)
		}
	}
	// 40 × 300 KiB cannot fit the 2.4 MB transaction limit of a 16 MiB
	// memtable: at least 5 transactions.
	if c := s.commits.Load() - base; c < 5 {
		t.Fatalf("%d large writes used %d commits, want at least 5", n, c)
	}
}

func TestRecordLimits(t *testing.T) {
	t.Parallel()
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := context.Background()
	c := dbtest.NewCertificates(t).New(t, dbtest.Serial(1))
	big := *c
	big.Data = bytes.Repeat([]byte("x"), maxValueLen+1)
	noDER := *c
	noDER.DER = nil
	tests := []struct {
		name string
		call func() error
	}{
		{"token key too long", func() error { return s.UseToken(ctx, strings.Repeat("k", maxKeyLen+1), []byte("t")) }},
		{"empty token key", func() error { return s.UseToken(ctx, "", []byte("t")) }},
		{"token too large", func() error { return s.UseToken(ctx, "k", make([]byte, maxValueLen+1)) }},
		{"data too large", func() error { return s.StoreCertificate(ctx, &big) }},
		{"no DER", func() error { return s.StoreCertificate(ctx, &noDER) }},
		{"nil certificate", func() error { return s.StoreCertificate(ctx, nil) }},
		{"empty serial", func() error { _, err := s.GetCertificate(ctx, ""); return err }},
		{"nil revocation", func() error { return s.Revoke(ctx, nil) }},
	}
	for _, tc := range tests {
		if err := tc.call(); !errs.Is(err, errs.BadRequest) {
			t.Fatalf("%s: err = %v (kind %v), want kind %v", tc.name, err, errs.KindOf(err), errs.BadRequest)
		}
	}
	if err := s.UseToken(ctx, strings.Repeat("k", maxKeyLen), []byte("t")); err != nil {
		t.Fatalf("UseToken with a key of the maximum length: %v", err)
	}
}

// TestCommitWindowWaitsForAnnouncedWriters announces eight writers
// (store.WriteHinter), lets them store their certificates one after the
// other, and checks that the committer held the first write until the last
// arrived: one commit for all. The window is an hour, so a committer that
// did not wait would commit eight times and one that ignored the count would
// hang the test.
func TestCommitWindowWaitsForAnnouncedWriters(t *testing.T) {
	t.Parallel()
	s, err := Open(context.Background(), Options{Dir: t.TempDir(), MemTableSize: testMemTableSize, CommitWindow: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := dbtest.NewCertificates(t)
	const n = 8
	dones := make([]func(), n)
	for i := range dones {
		dones[i] = s.ExpectWrite()
	}
	base := s.commits.Load()
	var wg sync.WaitGroup
	errList := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer dones[i]()
			time.Sleep(time.Duration(i) * 2 * time.Millisecond)
			errList[i] = s.StoreCertificate(context.Background(), f.New(t, dbtest.Serial(i)))
		}()
	}
	wg.Wait()
	for i, err := range errList {
		if err != nil {
			t.Fatalf("StoreCertificate %d: %v", i, err)
		}
	}
	if c := s.commits.Load() - base; c != 1 {
		t.Fatalf("%d announced writers used %d commits, want 1", n, c)
	}
	// A lone announced writer is not held: its write commits alone (this
	// would hang for the hour-long window otherwise).
	done := s.ExpectWrite()
	err = s.StoreCertificate(context.Background(), f.New(t, dbtest.Serial(n)))
	done()
	if err != nil {
		t.Fatal(err)
	}
}
