package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadResources reads this test process's own figures: the resident
// set from /proc and the heap from a real pprof handler.
func TestReadResources(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	r, err := readResources(context.Background(), "now", os.Getpid(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if r.RSSKiB <= 0 || r.RSSAnonKiB <= 0 || r.RSSFileKiB <= 0 || r.RSSAnonKiB+r.RSSFileKiB > r.RSSKiB || r.PssKiB <= 0 {
		t.Errorf("resident set %+v: want positive figures, anon + file <= RSS", r)
	}
	if r.HeapAlloc <= 0 || r.HeapInuse < r.HeapAlloc/2 || r.GoSys < r.HeapInuse {
		t.Errorf("heap %+v: want HeapAlloc > 0 and Sys >= HeapInuse", r)
	}
	if _, err := readResources(context.Background(), "gone", os.Getpid(), srv.URL+"/nothing"); err == nil {
		t.Error("a URL without a heap profile: want an error")
	}
}

func TestDiskUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte(strings.Repeat("x", 10000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "b"), []byte("yz"), 0o600); err != nil {
		t.Fatal(err)
	}
	alloc, apparent, err := diskUsage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if apparent != 10002 || alloc < 10000 {
		t.Errorf("diskUsage = %d allocated, %d apparent; want 10002 apparent and at least 10000 allocated", alloc, apparent)
	}
}
