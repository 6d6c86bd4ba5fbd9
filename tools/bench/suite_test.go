package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestParseRuns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []runSpec
		wantErr string
	}{
		{in: defaultRuns, want: []runSpec{{modeSign, 64}, {modeRenew, 16}, {modeMixed, 32}, {modeSSH, 64}, {modeACME, 16}}},
		{in: " renew:1 ", want: []runSpec{{modeRenew, 1}}},
		{in: "sign", wantErr: "mode:concurrency"},
		{in: "sign:0", wantErr: "mode:concurrency"},
		{in: "sign:x", wantErr: "mode:concurrency"},
		{in: "revoke:4", wantErr: `unknown mode "revoke"`},
		{in: "", wantErr: "mode:concurrency"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseRuns(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("parseRuns = %v, %v; want %v", got, err, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("parseRuns = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// Setup errors exit with status 2 before anything starts.
func TestRunSetupErrors(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad runs", []string{"--runs", "sign"}, "mode:concurrency"},
		{"few keys", []string{"--keys", "4", "--runs", "renew:8"}, "--keys 4"},
		{"no binaries", []string{"--bin", empty}, "make build"},
		{"extra argument", []string{"now"}, "unexpected argument"},
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
		{"load without config", []string{"load", "--password-file", "x"}, "--ca-config and --password-file are required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tc.args, &stdout, &stderr); code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) || stdout.Len() != 0 {
				t.Fatalf("stderr %q, want it to mention %q; stdout %q", stderr.String(), tc.want, stdout.String())
			}
		})
	}
}

func TestApplyDB(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ, source string
		wantLabel   string
		wantType    string // "" = no db block
		wantSource  string // suffix
		wantErr     string
	}{
		{typ: "", wantLabel: "none"}, // the test PKI has no db block
		{typ: "none", wantLabel: "none"},
		{typ: "bbolt", wantLabel: "bbolt", wantType: "bbolt", wantSource: "/db/bbolt.db"},
		{typ: "bbolt", source: "/x/b.db", wantLabel: "bbolt", wantType: "bbolt", wantSource: "/x/b.db"},
		{typ: "postgresql", source: "postgresql://127.0.0.1/test", wantLabel: "postgresql", wantType: "postgresql", wantSource: "127.0.0.1/test"},
		{typ: "mysql", wantErr: "needs --db-source"},
		{typ: "oracle", wantErr: "want badger"},
	}
	for _, tc := range tests {
		t.Run(tc.typ+"_"+tc.source, func(t *testing.T) {
			t.Parallel()
			p := newTestPKI(t)
			stepPath := filepath.Join(p.dir, "steppath")
			label, err := applyDB(p.cfgPath, stepPath, tc.typ, tc.source)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || label != tc.wantLabel {
				t.Fatalf("applyDB = %q, %v; want %q", label, err, tc.wantLabel)
			}
			data, err := os.ReadFile(p.cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			var cfg struct {
				DB *struct {
					Type       string `json:"type"`
					DataSource string `json:"dataSource"`
				} `json:"db"`
				Authority struct {
					Provisioners []json.RawMessage `json:"provisioners"`
				} `json:"authority"`
			}
			if err := json.Unmarshal(data, &cfg); err != nil {
				t.Fatal(err)
			}
			if len(cfg.Authority.Provisioners) != 1 {
				t.Fatalf("the provisioners were not kept: %s", data)
			}
			switch {
			case tc.wantType == "" && cfg.DB != nil:
				t.Fatalf("db = %+v, want none", cfg.DB)
			case tc.wantType != "" && (cfg.DB == nil || cfg.DB.Type != tc.wantType || !strings.HasSuffix(cfg.DB.DataSource, tc.wantSource)):
				t.Fatalf("db = %+v, want type %s and a source ending in %s", cfg.DB, tc.wantType, tc.wantSource)
			}
		})
	}
}

// TestSuiteEndToEnd builds step and step-ca and runs a small suite exactly
// as `make bench` does: step ca init, step-ca started and stopped, every
// request verified, the temporary directory removed.
func TestSuiteEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries; skipped with -short")
	}
	t.Parallel()
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/step", "./cmd/step-ca")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{
		"--bin", bin, "--n", "40", "--keys", "10", "--runs", "sign:4,renew:2,mixed:4", "--json",
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s\nstdout:\n%s", code, stderr.String(), stdout.String())
	}
	var rep Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, stdout.String())
	}
	if len(rep.Runs) != 3 || !strings.HasPrefix(rep.CAURL, "https://localhost:") || rep.DB != "badgerv2" {
		t.Fatalf("report = %s", stdout.String())
	}
	for _, r := range rep.Runs {
		if r.Total.OK != 40 || r.Total.Failed != 0 || r.CAMsPerCert == nil || r.CACPU == nil {
			t.Fatalf("run %s: %+v", r.Name, r.Total)
		}
	}
	m := regexp.MustCompile(`step ca init into (\S+)/steppath`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("progress does not name the directory:\n%s", stderr.String())
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Fatalf("temporary directory %s is still there (%v)", m[1], err)
	}
	if strings.Contains(stderr.String(), "level=info") || strings.Contains(stderr.String(), "Serving HTTPS") {
		t.Fatalf("the CA log reached the terminal:\n%s", stderr.String())
	}
}
