package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Report is what one invocation prints: the runs and the conditions they ran
// in. It is the --json output.
type Report struct {
	CAURL  string `json:"ca_url"`
	DB     string `json:"db,omitempty"`
	NumCPU int    `json:"num_cpu"`
	// Load averages (1, 5, 15 minutes) from /proc/loadavg before and after
	// the runs: other processes on the machine make the numbers noisy.
	LoadBefore string    `json:"load_average_before,omitempty"`
	LoadAfter  string    `json:"load_average_after,omitempty"`
	Runs       []*Result `json:"runs"`
	// Scale is the database size, start-up time and the CA's memory (the
	// suite only; nil for bench load).
	Scale *Scale `json:"scale,omitempty"`
}

// failed is the number of failed requests over all runs.
func (r *Report) failed() int {
	n := 0
	for _, run := range r.Runs {
		n += run.Total.Failed
	}
	return n
}

func writeJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

const (
	tableHead = "%-8s %3s %7s %5s %8s %7s %7s %7s %7s %10s %8s %7s\n"
	tableRow  = "%-8s %3s %7d %5d %8.1f %7.2f %7.2f %7.2f %7.2f %10s %8s %7s"
)

// writeTable prints the report as a compact table: one row per run (and one
// per operation of a mixed run), failures grouped under their row.
func writeTable(w io.Writer, r *Report) {
	fmt.Fprintf(w, "CA %s", r.CAURL)
	if r.DB != "" {
		fmt.Fprintf(w, "  db %s", r.DB)
	}
	fmt.Fprintf(w, "  %d CPUs  load average %s -> %s\n", r.NumCPU, orDash(r.LoadBefore), orDash(r.LoadAfter))
	fmt.Fprintf(w, tableHead, "run", "c", "ok", "fail", "ok/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "CA ms/cert", "CA cores", "client")
	for _, run := range r.Runs {
		writeRow(w, run.Name, fmt.Sprint(run.Concurrency), run.Total, len(run.Ops) == 0,
			fmtOpt(run.CAMsPerCert, 3), fmtOpt(run.CACores, 2), fmt.Sprintf("%.2f", run.ClientCores))
		ops := make([]string, 0, len(run.Ops))
		for op := range run.Ops {
			ops = append(ops, op)
		}
		slices.Sort(ops)
		for _, op := range ops {
			writeRow(w, "  "+op, "", run.Ops[op], true, "", "", "")
		}
	}
	fmt.Fprintln(w, "ok/s: OK requests per second of the timed phase; latencies of OK requests; CA ms/cert: CA CPU time / OK requests;")
	fmt.Fprintln(w, "CA cores, client: CPU time / wall time of the CA process and of this generator (both share the machine's cores).")
	if r.Scale != nil {
		writeScale(w, r.Scale)
	}
}

// writeRow prints one table row and, when failures is set, its failures by
// kind under it (a mixed run shows them under its per-operation rows).
func writeRow(w io.Writer, name, c string, o OpResult, failures bool, perCert, caCores, client string) {
	l := o.LatencyMs
	row := fmt.Sprintf(tableRow, name, c, o.OK, o.Failed, o.OKPerSec, l.P50, l.P90, l.P99, l.Max, perCert, caCores, client)
	fmt.Fprintln(w, strings.TrimRight(row, " \n"))
	if !failures {
		return
	}
	kinds := make([]string, 0, len(o.Failures))
	for k := range o.Failures {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "         %6d x %s: %s\n", o.Failures[k].Count, k, o.Failures[k].First)
	}
}

func fmtOpt(v *float64, digits int) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.*f", digits, *v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
