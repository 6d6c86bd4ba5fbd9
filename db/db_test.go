package db

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/badger"
	"github.com/mayfly-pki/mayfly/db/bbolt"
	"github.com/mayfly-pki/mayfly/db/memory"
	"github.com/mayfly-pki/mayfly/internal/errs"
)

func TestOptionsJSON(t *testing.T) {
	t.Parallel()
	// The "db" block as ca.json carries it.
	const caJSON = `{"type":"badgerv2","dataSource":"/home/u/.step/db","valueDir":"/v","database":"step","badgerFileLoadingMode":"FileIO"}`
	var o Options
	if err := json.Unmarshal([]byte(caJSON), &o); err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := Options{Type: "badgerv2", DataSource: "/home/u/.step/db", ValueDir: "/v", Database: "step", BadgerFileLoadingMode: "FileIO"}
	if o != want {
		t.Fatalf("decoded %+v, want %+v", o, want)
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     func(dir string) *Options
		wantType string // "memory", "badger", "bbolt", or "" for an error
		wantErr  string
	}{
		{"no db block", func(string) *Options { return nil }, "memory", ""},
		{"badger", func(d string) *Options { return &Options{Type: "badger", DataSource: d} }, "badger", ""},
		{"BadgerV2 any case", func(d string) *Options { return &Options{Type: "BadgerV2", DataSource: d} }, "badger", ""},
		{"badgerv1", func(d string) *Options { return &Options{Type: "badgerv1", DataSource: d} }, "badger", ""},
		{"badgerv4 with loading mode", func(d string) *Options {
			return &Options{Type: "badgerv4", DataSource: d, BadgerFileLoadingMode: "MemoryMap"}
		}, "badger", ""},
		{"badger without dataSource", func(string) *Options { return &Options{Type: "badger"} }, "", `database type "badger": db.dataSource is empty`},
		{"bad loading mode", func(d string) *Options {
			return &Options{Type: "badger", DataSource: d, BadgerFileLoadingMode: "x"}
		}, "", "invalid badgerFileLoadingMode"},
		{"bbolt", func(d string) *Options { return &Options{Type: "bbolt", DataSource: d} }, "bbolt", ""},
		{"bbolt without dataSource", func(string) *Options { return &Options{Type: "BBolt"} }, "", `database type "BBolt": db.dataSource is empty`},
		{"badger read-only", func(d string) *Options { return &Options{Type: "badger", DataSource: d, ReadOnly: true} }, "", `database type "badger" cannot be opened read-only`},
		{"bbolt read-only", func(d string) *Options { return &Options{Type: "bbolt", DataSource: d, ReadOnly: true} }, "", `database type "bbolt" cannot be opened read-only`},
		// The SQL backends' own tests use the real servers; here only
		// errors that need none (nothing listens on 127.0.0.1:1).
		{"mysql", func(string) *Options {
			return &Options{Type: "MySQL", DataSource: "root@tcp(127.0.0.1:1)/", Database: "mayfly"}
		}, "", "mysql database 127.0.0.1:1/mayfly"},
		{"postgresql", func(string) *Options {
			return &Options{Type: "postgresql", DataSource: "postgresql://u@127.0.0.1:1/x", Database: "mayfly"}
		}, "", "postgresql database 127.0.0.1:1/mayfly"},
		{"postgresql without dataSource", func(string) *Options { return &Options{Type: "postgresql"} }, "", "db.dataSource is empty"},
		{"unknown", func(string) *Options { return &Options{Type: "x"} }, "", `unsupported database type "x"`},
		{"empty type", func(string) *Options { return &Options{} }, "", `unsupported database type ""`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "db")
			s, err := Open(context.Background(), tc.opts(dir), nil)
			if tc.wantErr != "" {
				if err == nil {
					s.Close()
					t.Fatalf("Open succeeded, want error %q", tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Open error = %q, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			switch tc.wantType {
			case "memory":
				if _, ok := s.(*memory.Store); !ok {
					t.Fatalf("Open returned %T, want *memory.Store", s)
				}
			case "badger":
				if _, ok := s.(*badger.Store); !ok {
					t.Fatalf("Open returned %T, want *badger.Store", s)
				}
			case "bbolt":
				if _, ok := s.(*bbolt.Store); !ok {
					t.Fatalf("Open returned %T, want *bbolt.Store", s)
				}
			}
			ctx := context.Background()
			if err := s.UseToken(ctx, "jti", []byte("t")); err != nil {
				t.Fatalf("UseToken: %v", err)
			}
			if err := s.UseToken(ctx, "jti", []byte("t")); !errors.Is(err, store.ErrTokenUsed) {
				t.Fatalf("second UseToken: %v, want ErrTokenUsed", err)
			}
			_, err = s.GetRevocation(ctx, "1")
			if tc.wantType == "memory" && !errs.Is(err, errs.NotImplemented) {
				t.Fatalf("GetRevocation without a db: %v, want kind %v", err, errs.NotImplemented)
			}
			if tc.wantType != "memory" && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("GetRevocation: %v, want ErrNotFound", err)
			}
		})
	}
}
