package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"p50 of 10", ten, 0.50, 5},
		{"p90 of 10", ten, 0.90, 9},
		{"p99 of 10", ten, 0.99, 10},
		{"p100 of 10", ten, 1, 10},
		{"p10 of 10", ten, 0.10, 1},
		{"tiny p", ten, 0.001, 1},
		{"one value", []time.Duration{7}, 0.99, 7},
		{"p50 of 3", []time.Duration{1, 2, 3}, 0.50, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Fatalf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	a, b := &opStats{}, &opStats{}
	for i := 100; i >= 1; i-- { // unsorted on purpose
		a.succeed(time.Duration(i) * time.Millisecond)
	}
	a.fail("HTTP 500", "first")
	b.fail("HTTP 500", "second")
	b.fail("transport", strings.Repeat("x", 400))
	total := &opStats{}
	total.merge(a)
	total.merge(b)
	r := summarize(total, 2*time.Second)
	if r.OK != 100 || r.Failed != 3 || r.Requests != 103 || r.OKPerSec != 50 {
		t.Fatalf("summary = %+v, want 100 OK, 3 failed, 103 requests, 50/s", r)
	}
	want := Latency{P50: 50, P90: 90, P99: 99, Max: 100, Mean: 50.5}
	if r.LatencyMs != want {
		t.Fatalf("latency = %+v, want %+v", r.LatencyMs, want)
	}
	if f := r.Failures["HTTP 500"]; f == nil || f.Count != 2 || f.First != "first" {
		t.Fatalf("HTTP 500 failures = %+v, want 2 with the first text", f)
	}
	if f := r.Failures["transport"]; f == nil || len(f.First) != 303 {
		t.Fatalf("transport failure = %+v, want the text truncated to 300 bytes and ...", f)
	}
	if a.failures["HTTP 500"].Count != 1 {
		t.Fatalf("merge changed its source: %+v", a.failures["HTTP 500"])
	}
	if empty := summarize(&opStats{}, time.Second); empty.Requests != 0 || empty.LatencyMs != (Latency{}) {
		t.Fatalf("empty summary = %+v", empty)
	}
}

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	rest := " S 1 2 3 4 5 6 7 8 9 10 %s %s 0 0 20 0 9 0 100"
	tests := []struct {
		name    string
		line    string
		want    time.Duration
		wantErr string
	}{
		{"plain", "42 (step-ca)" + sprintf(rest, "150", "25"), 1750 * time.Millisecond, ""},
		{"name with spaces and parens", "42 (a b) (c))" + sprintf(rest, "1", "2"), 30 * time.Millisecond, ""},
		{"no name", "42 step-ca S 1", 0, "no command name"},
		{"short", "42 (x) S 1 2", 0, "fields"},
		{"bad utime", "42 (x)" + sprintf(rest, "abc", "1"), 0, "utime"},
		{"bad stime", "42 (x)" + sprintf(rest, "1", "-1"), 0, "stime"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseProcStat(tc.line)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseProcStat = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func sprintf(format string, a, b string) string {
	return strings.Replace(strings.Replace(format, "%s", a, 1), "%s", b, 1)
}

// The CPU readings of this process agree: /proc and getrusage both grow
// with work done. /proc reports utime and stime separately, each rounded
// down to a clock tick, so a reading may lag the true figure by up to two
// ticks; getrusage is read outside the /proc pair so that it can only see
// more CPU, never less.
func TestCPUReadings(t *testing.T) {
	const tick = time.Second / clockTicks
	s0, err := cpuSelf()
	if err != nil {
		t.Fatal(err)
	}
	p0, err := cpuOfPid(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	var p1 time.Duration
	for {
		for i := range 1 << 20 {
			x ^= i * i
		}
		if p1, err = cpuOfPid(os.Getpid()); err != nil {
			t.Fatal(err)
		}
		if p1-p0 >= 100*time.Millisecond {
			break
		}
	}
	s1, err := cpuSelf()
	if err != nil {
		t.Fatal(err)
	}
	if min := p1 - p0 - 2*tick - 5*time.Millisecond; s1-s0 < min {
		t.Fatalf("getrusage grew by %v while /proc grew by %v: want at least %v (x=%d)", s1-s0, p1-p0, min, x)
	}
	if _, err := cpuOfPid(-1); err == nil {
		t.Fatal("cpuOfPid(-1) succeeded")
	}
}

func TestWriteTableAndJSON(t *testing.T) {
	t.Parallel()
	per, cores := 0.312, 0.95
	rep := &Report{CAURL: "https://localhost:1", DB: "badgerv2", NumCPU: 2, LoadBefore: "1.00 2.00 3.00", Runs: []*Result{
		{Name: "sign", Mode: modeSign, Concurrency: 64, ClientCores: 0.4, CAMsPerCert: &per, CACores: &cores,
			Total: OpResult{Requests: 11, OK: 10, Failed: 1, OKPerSec: 1234.5, LatencyMs: Latency{P50: 1, P90: 2, P99: 3, Max: 4},
				Failures: map[string]*failure{"HTTP 401": {Count: 1, First: "nope"}}}},
		{Name: "mixed", Mode: modeMixed, Concurrency: 32, Total: OpResult{OK: 4, Requests: 4},
			Ops: map[string]OpResult{"sign": {OK: 2}, "renew": {OK: 2}}},
	}}
	var b bytes.Buffer
	writeTable(&b, rep)
	out := b.String()
	for _, want := range []string{
		"CA https://localhost:1  db badgerv2  2 CPUs  load average 1.00 2.00 3.00 -> -",
		"sign      64      10     1   1234.5    1.00    2.00    3.00    4.00      0.312     0.95    0.40",
		"1 x HTTP 401: nope",
		"  renew            2     0",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "  renew") > strings.Index(out, "  sign ") {
		t.Fatalf("operations of a mixed run are not sorted:\n%s", out)
	}
	if rep.failed() != 1 {
		t.Fatalf("failed() = %d, want 1", rep.failed())
	}
	b.Reset()
	if err := writeJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Runs []struct {
			Name        string   `json:"name"`
			CAMsPerCert *float64 `json:"ca_cpu_ms_per_cert"`
			Total       struct {
				OKPerSec float64 `json:"ok_per_sec"`
			} `json:"total"`
		} `json:"runs"`
		LoadBefore string `json:"load_average_before"`
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, b.String())
	}
	if len(back.Runs) != 2 || back.Runs[0].CAMsPerCert == nil || *back.Runs[0].CAMsPerCert != per ||
		back.Runs[0].Total.OKPerSec != 1234.5 || back.Runs[1].CAMsPerCert != nil || back.LoadBefore != "1.00 2.00 3.00" {
		t.Fatalf("JSON report = %s", b.String())
	}
}
