package badger

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
)

// residentKiB sums the Rss of this process's mappings of files in dir
// whose names end with ext, from /proc/self/smaps.
func residentKiB(t *testing.T, dir, ext string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if _, _, path, ok := parseMapsLine(line); ok {
			in = strings.HasSuffix(path, ext) && filepath.Dir(path) == dir
			continue
		}
		if rest, ok := strings.CutPrefix(line, "Rss:"); ok && in {
			f := strings.Fields(rest)
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				t.Fatalf("smaps line %q: %v", line, err)
			}
			total += n
		}
	}
	return total
}

// TestPageOutTables: the pages of tables the store has read, and of the
// memtable log it has written, are resident until pageOutTables hands them
// back, and the records read the same after.
func TestPageOutTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := tableDirs(t.TempDir())[0]
	certs := dbtest.NewCertificates(t)
	const n = 3000
	s := openTest(t, dir)
	for i := range n {
		if err := s.StoreCertificate(ctx, certs.New(t, dbtest.Serial(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil { // flushes the memtable to a table
		t.Fatal(err)
	}
	s, err := Open(ctx, Options{Dir: dir, MemTableSize: testMemTableSize, PageOutInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	readAll := func() {
		t.Helper()
		for i := range n {
			if _, err := s.GetCertificate(ctx, dbtest.Serial(i)); err != nil {
				t.Fatalf("after the page-out: %v", err)
			}
		}
	}
	readAll()
	for i := n; i < n+1000; i++ {
		if err := s.StoreCertificate(ctx, certs.New(t, dbtest.Serial(i))); err != nil {
			t.Fatal(err)
		}
	}
	before, mem := residentKiB(t, dir, ".sst"), residentKiB(t, dir, ".mem")
	if before < 256 || mem < 256 {
		t.Fatalf("%d KiB of tables and %d of memtable log resident after reading %d certificates and writing 1000; want their pages", before, mem, n)
	}
	advised, err := pageOutTables(s.tableDirs)
	if err != nil {
		t.Fatal(err)
	}
	if advised < (before+mem)<<10 {
		t.Errorf("advised %d bytes, fewer than the %d KiB resident", advised, before+mem)
	}
	if after := residentKiB(t, dir, ".sst"); after > before/4 {
		t.Errorf("%d KiB of tables resident after the page-out, was %d", after, before)
	}
	if after := residentKiB(t, dir, ".mem"); after > mem/4 {
		t.Errorf("%d KiB of memtable log resident after the page-out, was %d", after, mem)
	}
	readAll()
	for i := n; i < n+1000; i++ {
		if _, err := s.GetCertificate(ctx, dbtest.Serial(i)); err != nil {
			t.Fatalf("after the page-out: %v", err)
		}
	}
}

// TestPageOutAfterTokenLoad: the used_ott pages the start-up reader of the
// token filter touches are paged out once it is done, not at the next tick.
func TestPageOutAfterTokenLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := tableDirs(t.TempDir())[0]
	s := openTest(t, dir)
	token := []byte(strings.Repeat("t", 600))
	for i := range 5000 {
		if err := s.UseToken(ctx, "token-"+strconv.Itoa(i), token); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, Options{Dir: dir, MemTableSize: testMemTableSize, PageOutInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	<-s.tokensLoaded
	if !s.tokensReady.Load() {
		t.Fatal("the token filter did not load")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		kib := residentKiB(t, dir, ".sst")
		if kib < 64 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d KiB of tables still resident 20 s after the token filter loaded", kib)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.UseToken(ctx, "token-1", token); !errors.Is(err, store.ErrTokenUsed) {
		t.Fatalf("a token used before the restart: %v, want ErrTokenUsed", err)
	}
}
