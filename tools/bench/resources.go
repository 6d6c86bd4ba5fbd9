package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Resources is what the CA process and its database use at one moment.
type Resources struct {
	Label string `json:"label"` // "after runs", "after 2m0s idle", ...
	// From /proc/PID/status, in KiB: VmRSS = RssAnon + RssFile + RssShmem.
	RSSKiB     int64 `json:"rss_kib"`
	RSSAnonKiB int64 `json:"rss_anon_kib"`
	RSSFileKiB int64 `json:"rss_file_kib"`
	// PssKiB is the proportional set size from /proc/PID/smaps_rollup (the
	// file-backed pages shared with the page cache of other processes count
	// once between them).
	PssKiB int64 `json:"pss_kib,omitempty"`
	// From the CA's /debug/pprof/heap?debug=1 (runtime.MemStats), in bytes:
	// HeapInuse is the heap's spans in use, HeapAlloc its live objects plus
	// garbage not yet collected, Sys everything the Go runtime mapped. Zero
	// when the CA serves no pprof listener.
	HeapAlloc int64 `json:"heap_alloc,omitempty"`
	HeapInuse int64 `json:"heap_inuse,omitempty"`
	GoSys     int64 `json:"go_sys,omitempty"`
}

// Scale is the part of the report about the database's size: the
// records prefilled, the database on disk, the start-up time and the
// resources at each measuring point.
type Scale struct {
	Prefill int `json:"prefill"`
	// DiskBytes is the database's allocated size (st_blocks) after the
	// runs, the CA still running; DiskApparent the sum of the file sizes.
	DiskBytes    int64 `json:"disk_bytes"`
	DiskApparent int64 `json:"disk_apparent_bytes"`
	// StartupMs is from starting the process to the first 200 of /health.
	StartupMs float64     `json:"startup_ms"`
	Points    []Resources `json:"resources"`
}

// readResources reads /proc/pid/status and smaps_rollup, and the Go heap
// figures from pprofURL (skipped when empty).
func readResources(ctx context.Context, label string, pid int, pprofURL string) (Resources, error) {
	r := Resources{Label: label}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return r, fmt.Errorf("CA memory: %w", err)
	}
	kv := procFields(status, ":")
	r.RSSKiB, r.RSSAnonKiB, r.RSSFileKiB = kv["VmRSS"], kv["RssAnon"], kv["RssFile"]
	if rollup, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
		r.PssKiB = procFields(rollup, ":")["Pss"]
	}
	if pprofURL == "" {
		return r, nil
	}
	ms, err := heapStats(ctx, pprofURL)
	if err != nil {
		return r, err
	}
	r.HeapAlloc, r.HeapInuse, r.GoSys = ms["HeapAlloc"], ms["HeapInuse"], ms["Sys"]
	return r, nil
}

// procFields parses "Name<sep> value [kB]" lines into numbers (the first
// field after the separator); lines that do not parse are skipped.
func procFields(b []byte, sep string) map[string]int64 {
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			out[strings.TrimSpace(k)] = n
		}
	}
	return out
}

// heapStats reads the runtime.MemStats lines ("# HeapAlloc = 123") that
// the heap profile's text form ends with.
func heapStats(ctx context.Context, pprofURL string) (map[string]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pprofURL+"/debug/pprof/heap?debug=1", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("CA heap: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("CA heap: HTTP %d", resp.StatusCode)
	}
	var stats bytes.Buffer
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 256<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "# ") {
			stats.WriteString(strings.TrimPrefix(line, "# ") + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("CA heap: %w", err)
	}
	ms := procFields(stats.Bytes(), "=")
	if _, ok := ms["HeapAlloc"]; !ok {
		return nil, fmt.Errorf("CA heap: no MemStats in %s/debug/pprof/heap?debug=1", pprofURL)
	}
	return ms, nil
}

// saveHeapProfile writes the CA's heap profile (after a GC) to path, for
// go tool pprof.
func saveHeapProfile(ctx context.Context, pprofURL, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pprofURL+"/debug/pprof/heap?gc=1", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("heap profile: HTTP %d", resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	if _, err := io.Copy(f, io.LimitReader(resp.Body, 1<<30)); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}

// diskUsage returns the allocated (st_blocks) and apparent sizes of the
// regular files under path (a directory or one file).
func diskUsage(path string) (alloc, apparent int64, err error) {
	err = filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		apparent += fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			alloc += st.Blocks * 512
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("database size: %w", err)
	}
	return alloc, apparent, nil
}

// writeScale prints the scale section under the runs' table.
func writeScale(w io.Writer, s *Scale) {
	mb := func(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }
	kmb := func(k int64) string { return fmt.Sprintf("%.1f", float64(k)/1024) }
	fmt.Fprintf(w, "database: %d records prefilled, %s MB on disk (%s MB apparent); startup to /health %.0f ms\n",
		s.Prefill, mb(s.DiskBytes), mb(s.DiskApparent), s.StartupMs)
	fmt.Fprintf(w, "%-22s %8s %8s %8s %8s %9s %9s %8s\n", "CA memory (MB)", "RSS", "anon", "file", "PSS", "heapAlloc", "heapInuse", "Go sys")
	for _, p := range s.Points {
		heap := func(b int64) string {
			if p.GoSys == 0 {
				return "-"
			}
			return mb(b)
		}
		fmt.Fprintf(w, "%-22s %8s %8s %8s %8s %9s %9s %8s\n", p.Label, kmb(p.RSSKiB), kmb(p.RSSAnonKiB), kmb(p.RSSFileKiB),
			kmb(p.PssKiB), heap(p.HeapAlloc), heap(p.HeapInuse), heap(p.GoSys))
	}
}
