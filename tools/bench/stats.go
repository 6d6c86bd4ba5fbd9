package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. The
// kernel reports 100 ticks per second to user space on every architecture
// Go supports on Linux.
const clockTicks = 100

// failure groups failed requests of one kind ("HTTP 401", "transport",
// "verify", "token") with the first error text.
type failure struct {
	Count int    `json:"count"`
	First string `json:"first_error"`
}

// opStats collects one operation's outcomes. Each worker owns its own, so no
// locking; merge combines them after the run.
type opStats struct {
	ok       int
	lat      []time.Duration // latencies of OK requests
	failures map[string]*failure
}

func (s *opStats) fail(kind, text string) {
	if s.failures == nil {
		s.failures = map[string]*failure{}
	}
	f := s.failures[kind]
	if f == nil {
		f = &failure{First: truncate(text, 300)}
		s.failures[kind] = f
	}
	f.Count++
}

func (s *opStats) succeed(lat time.Duration) {
	s.ok++
	s.lat = append(s.lat, lat)
}

func (s *opStats) merge(o *opStats) {
	s.ok += o.ok
	s.lat = append(s.lat, o.lat...)
	for k, f := range o.failures {
		if s.failures == nil {
			s.failures = map[string]*failure{}
		}
		if g := s.failures[k]; g != nil {
			g.Count += f.Count
		} else {
			c := *f
			s.failures[k] = &c
		}
	}
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Latency is a latency summary in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// OpResult summarises one operation (sign or renew), or all of a run.
type OpResult struct {
	Requests  int                 `json:"requests"`
	OK        int                 `json:"ok"`
	Failed    int                 `json:"failed"`
	OKPerSec  float64             `json:"ok_per_sec"`
	LatencyMs Latency             `json:"latency_ms"` // of OK requests
	Failures  map[string]*failure `json:"failures,omitempty"`
}

// summarize sorts s.lat in place and computes the summary over wall.
func summarize(s *opStats, wall time.Duration) OpResult {
	r := OpResult{OK: s.ok, Failures: s.failures}
	for _, f := range s.failures {
		r.Failed += f.Count
	}
	r.Requests = r.OK + r.Failed
	if wall > 0 {
		r.OKPerSec = round(float64(r.OK)/wall.Seconds(), 1)
	}
	n := len(s.lat)
	if n == 0 {
		return r
	}
	slices.Sort(s.lat)
	var sum time.Duration
	for _, d := range s.lat {
		sum += d
	}
	r.LatencyMs = Latency{
		P50: ms(percentile(s.lat, 0.50)), P90: ms(percentile(s.lat, 0.90)), P99: ms(percentile(s.lat, 0.99)),
		Max: ms(s.lat[n-1]), Mean: ms(sum / time.Duration(n)),
	}
	return r
}

// percentile is the nearest-rank percentile p (0 < p <= 1) of sorted, which
// must not be empty: the smallest value with at least p of the values at or
// below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(len(sorted)-1, i))]
}

func ms(d time.Duration) float64 { return round(float64(d)/1e6, 2) }

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// cpuSelf returns the user+system CPU time this process has used (all
// threads, not children).
func cpuSelf() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// cpuOfPid returns utime+stime of process pid from /proc/PID/stat (Linux),
// with a resolution of one clock tick (10 ms).
func cpuOfPid(pid int) (time.Duration, error) {
	path := fmt.Sprintf("/proc/%d/stat", pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("CA CPU time: %w", err)
	}
	d, err := parseProcStat(string(b))
	if err != nil {
		return 0, fmt.Errorf("CA CPU time: %s: %w", path, err)
	}
	return d, nil
}

// parseProcStat reads fields 14 (utime) and 15 (stime) of a /proc/PID/stat
// line. The command name (field 2) is in parentheses and may contain spaces
// and parentheses, so fields are counted after its last ')'.
func parseProcStat(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name in %q", truncate(s, 80))
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("only %d fields after the command name", len(f))
	}
	ut, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime %q: %w", f[11], err)
	}
	st, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime %q: %w", f[12], err)
	}
	return time.Duration(ut+st) * (time.Second / clockTicks), nil
}

// loadAverage returns the first three fields of /proc/loadavg (1, 5 and 15
// minute load averages), or "" when it cannot be read.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
