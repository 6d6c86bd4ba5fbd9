package app

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/internal/steppath"
)

type seen struct {
	caURL, root, kty string
	size             int
	force            bool
	sans             []string
}

// runDefaults runs a one-command app under a fresh STEPPATH and returns the flag
// values the action saw and the exit code.
func runDefaults(t *testing.T, args string) (seen, int, string) {
	t.Helper()
	var s seen
	cmd := &cli.Command{
		Name: "cmd",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ca-url"},
			&cli.StringFlag{Name: "root"},
			&cli.StringFlag{Name: "kty", Value: "EC"},
			&cli.IntFlag{Name: "size", Value: 2048},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}},
			&cli.StringSliceFlag{Name: "san"},
			&cli.StringFlag{Name: "context"},
		},
		Action: func(c *cli.Context) error {
			s = seen{c.String("ca-url"), c.String("root"), c.String("kty"), c.Int("size"), c.Bool("force"), c.StringSlice("san")}
			return nil
		},
	}
	a := New(cmd)
	var stderr bytes.Buffer
	a.Writer = &bytes.Buffer{}
	code := Run(a, strings.Fields("step cmd "+args), &stderr)
	return s, code, stderr.String()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestApplyDefaults(t *testing.T) {
	defaults := `{"ca-url": "https://ca.example:9000", "root": "/r/root_ca.crt", "size": 4096,
		"f": true, "san": ["a.example", "b.example"], "kty": "RSA", "unrelated": {"x": 1}}`
	tests := []struct {
		name string
		env  map[string]string
		args string
		want seen
	}{
		{"defaults.json fills unset flags, alias key for bool, array for slice",
			nil, "", seen{"https://ca.example:9000", "/r/root_ca.crt", "RSA", 4096, true, []string{"a.example", "b.example"}}},
		{"command line wins",
			nil, "--ca-url https://cli --size 2048 --kty OKP --san c.example --force=false",
			seen{"https://cli", "/r/root_ca.crt", "OKP", 2048, false, []string{"c.example"}}},
		{"command line alias wins",
			nil, "-f=false", seen{"https://ca.example:9000", "/r/root_ca.crt", "RSA", 4096, false, []string{"a.example", "b.example"}}},
		{"env wins over defaults.json",
			map[string]string{"STEP_CA_URL": "https://env", "STEP_FORCE": "false", "STEP_SIZE": "3072", "STEP_SAN": "e1,e2"}, "",
			seen{"https://env", "/r/root_ca.crt", "RSA", 3072, false, []string{"e1", "e2"}}},
		{"command line wins over env",
			map[string]string{"STEP_ROOT": "/env/root"}, "--root /cli/root",
			seen{"https://ca.example:9000", "/cli/root", "RSA", 4096, true, []string{"a.example", "b.example"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("STEPPATH", dir)
			t.Setenv("STEP_CONTEXT", "")
			for _, k := range []string{"STEP_CA_URL", "STEP_ROOT", "STEP_KTY", "STEP_SIZE", "STEP_FORCE", "STEP_SAN"} {
				t.Setenv(k, "")
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			writeFile(t, filepath.Join(dir, "config", "defaults.json"), defaults)
			got, code, stderr := runDefaults(t, tt.args)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestApplyDefaultsConfigFlagAndErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STEPPATH", dir)
	t.Setenv("STEP_CONTEXT", "")
	t.Setenv("STEP_CA_URL", "")
	writeFile(t, filepath.Join(dir, "config", "defaults.json"), `{"ca-url": "https://default"}`)
	alt := filepath.Join(dir, "alt.json")
	writeFile(t, alt, `{"ca-url": "https://alt"}`)

	var stderr bytes.Buffer
	var got string
	cmd := &cli.Command{Name: "cmd", Flags: []cli.Flag{&cli.StringFlag{Name: "ca-url"}},
		Action: func(c *cli.Context) error { got = c.String("ca-url"); return nil }}
	if code := Run(New(cmd), []string{"step", "--config", alt, "cmd"}, &stderr); code != 0 || got != "https://alt" {
		t.Fatalf("--config: exit %d, ca-url %q, stderr %s", code, got, stderr.String())
	}

	// A --config file that does not exist is an error naming it.
	cmd2 := &cli.Command{Name: "cmd", Flags: []cli.Flag{&cli.StringFlag{Name: "ca-url"}}, Action: func(*cli.Context) error { return nil }}
	stderr.Reset()
	missing := filepath.Join(dir, "missing.json")
	if code := Run(New(cmd2), []string{"step", "--config", missing, "cmd"}, &stderr); code != 1 || !strings.Contains(stderr.String(), missing) {
		t.Fatalf("missing --config: exit %d, stderr %q", code, stderr.String())
	}

	// A malformed defaults.json is an error naming the file.
	writeFile(t, filepath.Join(dir, "config", "defaults.json"), `{"ca-url": `)
	cmd3 := &cli.Command{Name: "cmd", Flags: []cli.Flag{&cli.StringFlag{Name: "ca-url"}}, Action: func(*cli.Context) error { return nil }}
	stderr.Reset()
	if code := Run(New(cmd3), []string{"step", "cmd"}, &stderr); code != 1 || !strings.Contains(stderr.String(), "defaults.json") {
		t.Fatalf("malformed defaults: exit %d, stderr %q", code, stderr.String())
	}

	// A value that does not parse for the flag is an error.
	writeFile(t, filepath.Join(dir, "config", "defaults.json"), `{"size": "big"}`)
	cmd4 := &cli.Command{Name: "cmd", Flags: []cli.Flag{&cli.IntFlag{Name: "size"}}, Action: func(*cli.Context) error { return nil }}
	stderr.Reset()
	if code := Run(New(cmd4), []string{"step", "cmd"}, &stderr); code != 1 || !strings.Contains(stderr.String(), "--size") {
		t.Fatalf("bad value: exit %d, stderr %q", code, stderr.String())
	}
}

func TestApplyDefaultsContexts(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STEPPATH", dir)
	t.Setenv("STEP_CONTEXT", "")
	t.Setenv("STEP_CA_URL", "")
	t.Setenv("STEP_ROOT", "")
	writeFile(t, filepath.Join(dir, "contexts.json"),
		`{"one": {"authority": "ca-one", "profile": "p1"}, "two": {"authority": "ca-two", "profile": "p2"}}`)
	writeFile(t, filepath.Join(dir, "current-context.json"), `{"context": "one"}`)
	writeFile(t, filepath.Join(dir, "authorities", "ca-one", "config", "defaults.json"), `{"ca-url": "https://one", "root": "/one"}`)
	writeFile(t, filepath.Join(dir, "authorities", "ca-two", "config", "defaults.json"), `{"ca-url": "https://two", "root": "/two"}`)
	writeFile(t, filepath.Join(dir, "profiles", "p1", "config", "defaults.json"), `{"root": "/profile-one"}`)

	got, code, stderr := runDefaults(t, "")
	if code != 0 || got.caURL != "https://one" || got.root != "/profile-one" {
		t.Fatalf("current context: exit %d %+v %s", code, got, stderr)
	}
	got, code, stderr = runDefaults(t, "--context two")
	if code != 0 || got.caURL != "https://two" || got.root != "/two" {
		t.Fatalf("--context two: exit %d %+v %s", code, got, stderr)
	}
	if os.Getenv(steppath.ContextEnv) != "two" {
		t.Fatalf("--context did not select the context for the process")
	}
	t.Setenv("STEP_CONTEXT", "")
	_, code, stderr = runDefaults(t, "--context nope")
	if code != 1 || !strings.Contains(stderr, `"nope"`) {
		t.Fatalf("unknown context: exit %d, stderr %q", code, stderr)
	}
}

func TestRunExitCodes(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	tests := []struct {
		name   string
		action cli.ActionFunc
		args   string
		code   int
		stderr string
	}{
		{"ok", func(*cli.Context) error { return nil }, "", 0, ""},
		{"error", func(*cli.Context) error { return os.ErrNotExist }, "", 1, "file does not exist\n"},
		{"exit coder", func(*cli.Context) error { return cli.Exit("", 3) }, "", 3, ""},
		{"exit coder message", func(*cli.Context) error { return cli.Exit("boom", 255) }, "", 255, "boom\n"},
		{"panic", func(*cli.Context) error { panic("bad") }, "", 2, "panic: bad\n"},
		{"usage error", func(*cli.Context) error { return nil }, "--nope", 1, "incorrect usage: flag provided but not defined: -nope\n"},
		{"args check", func(c *cli.Context) error { return CheckArgs(c, 1, 1) }, "", 1,
			"not enough positional arguments were provided in 'step cmd <file>'\n"},
		{"args check too many", func(c *cli.Context) error { return CheckArgs(c, 1, 1) }, "a b", 1,
			"too many positional arguments were provided in 'step cmd <file>'\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := &cli.Command{Name: "cmd", ArgsUsage: "<file>", Action: tt.action}
			var stderr bytes.Buffer
			code := Run(New(cmd), strings.Fields("step cmd "+tt.args), &stderr)
			if code != tt.code || stderr.String() != tt.stderr {
				t.Fatalf("exit %d stderr %q, want %d %q", code, stderr.String(), tt.code, tt.stderr)
			}
		})
	}
}

// TestSliceFlagsKeepCommas: as with step's urfave/cli v1, a slice flag's
// value on the command line or in defaults.json is one value, commas
// included ("--san 'a,b'" is one SAN), while $STEP_<FLAG> is a comma
// separated list.
func TestSliceFlagsKeepCommas(t *testing.T) {
	tests := []struct {
		name     string
		defaults string
		env      string
		args     string
		want     []string
	}{
		{"command line", `{}`, "", "--san a.example,b.example --san c", []string{"a.example,b.example", "c"}},
		{"command line, = form", `{}`, "", "--san=a,b", []string{"a,b"}},
		{"defaults.json string", `{"san": "x,y"}`, "", "", []string{"x,y"}},
		{"defaults.json array", `{"san": ["x,y", "z"]}`, "", "", []string{"x,y", "z"}},
		{"environment", `{}`, "e1, e2", "", []string{"e1", "e2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv("STEPPATH", dir)
			t.Setenv("STEP_CONTEXT", "")
			t.Setenv("STEP_SAN", tt.env)
			writeFile(t, filepath.Join(dir, "config", "defaults.json"), tt.defaults)
			got, code, stderr := runDefaults(t, tt.args)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !reflect.DeepEqual(got.sans, tt.want) {
				t.Fatalf("--san = %q, want %q", got.sans, tt.want)
			}
		})
	}
}
