package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDamagedLogRepair: step-ca refuses to start on a write-ahead log damaged
// in a segment that is not the last, with one line naming the segment and
// offset and the way out; `step-ca db repair` reports, and with
// --drop-damaged repairs, after which step-ca starts (issue 14, storage 1).
func TestDamagedLogRepair(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	s := newSigner(t, p)
	// Two crashes leave two segments: the one each run of step-ca wrote.
	for range 2 {
		ca := p.start(t)
		for range 5 {
			if !s.signOnce() {
				t.Fatalf("sign failed: %v", s.failures)
			}
		}
		if err := ca.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-ca.exited
	}
	walDir := filepath.Join(p.caPath, "db", "mayfly-wal")
	seg := filepath.Join(walDir, "0000000000000001.log")
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatalf("read the first segment: %v", err)
	}
	// The first commit follows the 32-byte start record; change a byte of
	// its payload.
	data[32+16+5] ^= 0xff
	if err := os.WriteFile(seg, data, 0o600); err != nil {
		t.Fatal(err)
	}

	ca := launchCA(t, t, p.caPath, p.configPath(), "--password-file", p.pwFile)
	select {
	case <-ca.exited:
	case <-time.After(logTimeout):
		t.Fatalf("step-ca still runs on a damaged log; its log:\n%s", ca.log.tail(40))
	}
	if ca.code <= 0 {
		t.Fatalf("step-ca exited with code %d on a damaged log, want non-zero", ca.code)
	}
	line, ok, _ := ca.log.find(0, seg)
	if !ok || !strings.Contains(line, "offset 32") || !strings.Contains(line, "step-ca db repair") {
		t.Fatalf("no line names %s, offset 32 and step-ca db repair; log:\n%s", seg, ca.log.tail(40))
	}

	t.Logf("step-ca refused to start: %s", line)
	r := p.op.stepCA("db", "repair", "--to", p.configPath())
	t.Logf("dry run:\n%s", r)
	if r.code != 1 || !strings.Contains(r.stdout, "offset 32") || !strings.Contains(r.stdout, "would drop") {
		t.Fatalf("dry run did not report the damage with exit code 1:\n%s", r)
	}
	r = p.op.stepCA("db", "repair", "--to", p.configPath(), "--drop-damaged")
	if r.code != 0 || !strings.Contains(r.stdout, "x509_certs/") || !strings.Contains(r.stdout, "mayfly-wal.damaged-") {
		t.Fatalf("repair failed or did not list the dropped commits:\n%s", r)
	}
	moved, err := filepath.Glob(filepath.Join(p.caPath, "db", "mayfly-wal.damaged-*", "0000000000000001.log"))
	if err != nil || len(moved) != 1 {
		t.Fatalf("the damaged segment was not kept aside: %v %v", moved, err)
	}
	ca = p.start(t)
	if !s.signOnce() {
		t.Fatalf("sign after the repair failed: %v", s.failures)
	}
	// Security 7: the database's files are the CA user's only.
	err = filepath.WalkDir(filepath.Join(p.caPath, "db"), func(path string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		fi, err := e.Info()
		if err == nil && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v while step-ca runs, want 0600", path, fi.Mode().Perm())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ca.stop(t)
	r = p.op.stepCA("db", "repair", "--to", p.configPath())
	if r.code != 0 || !strings.Contains(r.stdout, "intact") {
		t.Fatalf("repair after a clean stop:\n%s", r)
	}
}
