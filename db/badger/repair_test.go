package badger

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/dbtest"
)

// A damaged record in a segment that is not the last stops Open with a
// one-line error naming the segment and offset; RepairLog reports the
// commits after the damage, and applied, keeps those before it, so that
// Open works again.
func TestDamagedLogRefusedAndRepaired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	const segSize = 1 << 16
	s := openWAL(t, dir, segSize)
	f := dbtest.NewCertificates(t)
	first := s.wal.Seq()
	var serials []string
	for i := 0; s.wal.Seq() < first+2; i++ {
		c := f.New(t, dbtest.Serial(i))
		if err := s.StoreCertificate(ctx, c); err != nil {
			t.Fatal(err)
		}
		serials = append(serials, c.Serial)
	}
	// What a power cut could leave: the log, and Badger's files without
	// the writes.
	saved := filepath.Join(t.TempDir(), "wal")
	copyDir(t, filepath.Join(dir, walDir), saved)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	lost := t.TempDir()
	copyDir(t, saved, filepath.Join(lost, walDir))
	seg := filepath.Join(lost, walDir, strings.Repeat("0", 15)+"1.log")
	if first != 1 {
		t.Fatalf("first segment %d, want 1", first)
	}
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	// The third record: the start record and two commits precede it.
	off := 0
	for range 3 {
		off += 16 + int(uint32(data[off+8])|uint32(data[off+9])<<8|uint32(data[off+10])<<16)
	}
	data[off+40] ^= 0xff
	if err := os.WriteFile(seg, data, 0o600); err != nil {
		t.Fatal(err)
	}

	_, err = Open(ctx, Options{Dir: lost, MemTableSize: testMemTableSize, WALSegmentSize: segSize})
	if !errors.Is(err, ErrDamagedLog) {
		t.Fatalf("Open of a damaged log = %v, want ErrDamagedLog", err)
	}
	if msg := err.Error(); !strings.Contains(msg, seg) || !strings.Contains(msg, "offset "+strconv.Itoa(off)) || strings.Contains(msg, "\n") {
		t.Fatalf("Open's error %q does not name %s offset %d on one line", msg, seg, off)
	}

	opts := Options{Dir: lost, MemTableSize: testMemTableSize, WALSegmentSize: segSize}
	rep, err := RepairLog(ctx, opts, false)
	if err != nil {
		t.Fatal(err)
	}
	// The damaged commit cannot be read; every later one is listed.
	if rep.Damage == "" || rep.Kept != 2 || rep.MovedTo != "" || len(rep.Dropped) != len(serials)-3 {
		t.Fatalf("dry run: damage %q, %d kept, %d dropped, moved to %q; want the damage, 2 kept, %d dropped, nothing moved",
			rep.Damage, rep.Kept, len(rep.Dropped), rep.MovedTo, len(serials)-3)
	}
	want := []string{"set x509_certs/" + serials[3], "set x509_certs_data/" + serials[3]}
	if got := rep.Dropped[0].Writes; !slices.Equal(got, want) {
		t.Fatalf("first dropped commit %q, want %q", got, want)
	}
	rep, err = RepairLog(ctx, opts, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.MovedTo == "" {
		t.Fatalf("repair moved nothing: damage %q", rep.Damage)
	}
	if _, err := os.Stat(filepath.Join(rep.MovedTo, filepath.Base(seg))); err != nil {
		t.Fatalf("the damaged segment was not kept: %v", err)
	}
	s = openWAL(t, lost, segSize)
	defer s.Close()
	for i, serial := range serials {
		_, err := s.GetCertificate(ctx, serial)
		if i < 2 && err != nil {
			t.Errorf("certificate %d, before the damage: %v", i, err)
		}
		if i >= 2 && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("certificate %d, after the damage: %v, want not found", i, err)
		}
	}
}
