package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mayflydb "github.com/mayfly-pki/mayfly/db"
	"github.com/mayfly-pki/mayfly/db/importer/importertest"
)

// dirDigest is a digest of every file under dirs: names, modes, sizes,
// modification times and contents, to show that an import changed nothing.
func dirDigest(t *testing.T, dirs ...string) string {
	t.Helper()
	h := sha256.New()
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			h.Write([]byte(path + "|" + fi.Mode().String() + "|" + fi.ModTime().String() + "\n"))
			if fi.Mode().IsRegular() {
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				h.Write(b)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// importBadgerDir imports twice from "<typ>:<dir>" and checks the result
// and that the source directories did not change.
func importBadgerDir(t *testing.T, fx *fixture, from string, o StepOptions, dirs ...string) {
	t.Helper()
	before := dirDigest(t, dirs...)
	importTwice(t, fx, func() Source {
		src, err := OpenStep(context.Background(), from, o)
		if err != nil {
			t.Fatal(err)
		}
		return src
	})
	if after := dirDigest(t, dirs...); after != before {
		t.Fatalf("the import changed the source directory %v", dirs)
	}
}

func TestImportBadgerV2(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, 600, 5, 30)
	dir := filepath.Join(t.TempDir(), "db")
	if err := importertest.WriteBadgerV2(dir, "", importertest.Tables(fx.tables)); err != nil {
		t.Fatal(err)
	}
	importBadgerDir(t, fx, "badgerv2:"+dir, StepOptions{}, dir)
}

func TestImportBadgerV1(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, 40, 3, 5)
	dir := filepath.Join(t.TempDir(), "db")
	if err := importertest.WriteBadgerV1(dir, importertest.Tables(fx.tables)); err != nil {
		t.Fatal(err)
	}
	importBadgerDir(t, fx, "badgerv1:"+dir, StepOptions{}, dir)
	// step-ca's db.type "badger" is Badger v1; the MANIFEST decides.
	importBadgerDir(t, fx, "badger:"+dir, StepOptions{}, dir)
}

// TestImportBadgerValueDir: step-ca's db.valueDir holds the value log, where
// Badger keeps values larger than its threshold (1 KiB in v2).
func TestImportBadgerValueDir(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, 10, 2, 3)
	big := []byte("eyJhbGciOiJFUzI1NiJ9." + strings.Repeat("A", 4096) + ".sig")
	fx.tables[tableUsedOTT]["big"] = big
	fx.tokens["big"] = big
	base := t.TempDir()
	dir, vdir := filepath.Join(base, "db"), filepath.Join(base, "vlog")
	if err := importertest.WriteBadgerV2(dir, vdir, importertest.Tables(fx.tables)); err != nil {
		t.Fatal(err)
	}
	importBadgerDir(t, fx, "badgerv2:"+dir, StepOptions{ValueDir: vdir}, dir, vdir)
}

// TestImportBadgerNotClosed reads a directory that step-ca left without
// closing it (killed): Badger cannot open it read-only, so the import reads
// a temporary copy and leaves the directory as it was.
func TestImportBadgerNotClosed(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, 20, 2, 3)
	base := t.TempDir()
	crashed := filepath.Join(base, "crashed")
	release, err := importertest.HoldBadgerV2(filepath.Join(base, "db"), importertest.Tables(fx.tables), crashed)
	if err != nil {
		t.Fatal(err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	importBadgerDir(t, fx, "badgerv2:"+crashed, StepOptions{}, crashed)

	src, err := OpenStep(context.Background(), "badgerv2:"+crashed, StepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tmp := src.(stepSource).db.(*badgerKV).tmp
	if !strings.Contains(src.Name(), "temporary copy") || tmp == "" {
		t.Fatalf("source %q (copy %q): want it read from a temporary copy", src.Name(), tmp)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("the temporary copy %s is left after Close: %v", tmp, err)
	}
}

func TestOpenStepBadgerErrors(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, 2, 1, 1)
	base := t.TempDir()
	running := filepath.Join(base, "running")
	release, err := importertest.HoldBadgerV2(running, importertest.Tables(fx.tables), "")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	_, mayfly := openBadger(t) // a Mayfly (Badger v4) directory, open
	empty := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	noCerts := filepath.Join(base, "nocerts")
	if err := importertest.WriteBadgerV2(noCerts, "", importertest.Tables{tableUsedOTT: {}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		from string
		o    StepOptions
		want string
	}{
		{"badgerv2:" + running, StepOptions{}, "stop step-ca first"},
		{"badgerv2:" + mayfly, StepOptions{}, "holds a Mayfly (Badger v4) database"},
		{"badgerv2:" + empty, StepOptions{}, "no MANIFEST: not a Badger database"},
		{"badgerv2:" + filepath.Join(base, "missing"), StepOptions{}, "missing: no such file or directory"},
		{"badgerv1:" + file, StepOptions{}, "not a directory"},
		{"badgerv2:" + running, StepOptions{ValueDir: filepath.Join(base, "nowhere")}, "value directory " + filepath.Join(base, "nowhere")},
		{"bbolt:" + file, StepOptions{ValueDir: base}, "a value directory applies to a Badger source only"},
	} {
		src, err := OpenStep(context.Background(), tc.from, tc.o)
		if err == nil {
			src.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("OpenStep(%q) = %v, want one line with %q", tc.from, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(base, "missing")); err == nil {
		t.Fatal("OpenStep created the missing source directory")
	}

	src, err := OpenStep(context.Background(), "badgerv2:"+noCerts, StepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, _ := openBadger(t)
	if _, err := Import(context.Background(), dst, src, Options{}); err == nil || !strings.Contains(err.Error(), "table x509_certs not found: is this a step-ca database?") {
		t.Fatalf("Import without x509_certs = %v", err)
	}
}

// TestImportBadgerV2IntoPostgreSQL imports step-ca's Badger v2 directory into
// Mayfly's PostgreSQL backend, opened as step-ca db import opens it.
func TestImportBadgerV2IntoPostgreSQL(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, 50, 3, 10)
	dir := filepath.Join(t.TempDir(), "db")
	if err := importertest.WriteBadgerV2(dir, "", importertest.Tables(fx.tables)); err != nil {
		t.Fatal(err)
	}
	target, _ := createDB(t, adminDB(t, true), true)
	dst, err := mayflydb.Open(context.Background(), &mayflydb.Options{
		Type: "postgresql", DataSource: "postgresql://postgres@127.0.0.1:5432/?sslmode=disable", Database: target,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })
	importTwiceInto(t, dst, fx, func() Source {
		src, err := OpenStep(context.Background(), "badgerv2:"+dir, StepOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return src
	})
}
