package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/steptest"
	"github.com/mayfly-pki/mayfly/internal/version"
)

func run(t *testing.T, args ...string) steptest.Result {
	t.Helper()
	return steptest.Run(t, commands, nil, args...)
}

func TestVersionAndHelp(t *testing.T) {
	t.Setenv("STEPPATH", t.TempDir())
	want := "Mayfly step/" + version.Version + " (" + version.Platform() + ")\n"
	if r := run(t, "version"); r.Code != 0 || r.Stdout != want {
		t.Fatalf("version: %q", r.Stdout)
	}
	// step's urfave/cli app answers --version and -v with `step version`.
	for _, args := range [][]string{{"--version"}, {"-v"}, {"--version", "certificate", "inspect"}} {
		if r := run(t, args...); r.Code != 0 || r.Stdout != want || r.Stderr != "" {
			t.Errorf("step %s: exit %d, stdout %q, stderr %q; want exit 0 and %q", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr, want)
		}
	}
	// --help works on every command, before or after positionals, and "step help x y".
	for _, args := range [][]string{
		{"--help"},
		{"certificate", "--help"},
		{"certificate", "inspect", "--help"},
		{"certificate", "create", "a", "b", "--help"},
		{"help", "crypto", "jwt", "sign"},
		{"context", "select", "--help"},
		{"path", "--help"},
	} {
		r := run(t, args...)
		if r.Code != 0 || !strings.Contains(strings.ToLower(r.Stdout), "usage") {
			t.Errorf("%q: exit %d stdout %q stderr %q", args, r.Code, r.Stdout, r.Stderr)
		}
	}
	for _, c := range commands() {
		for _, s := range c.Subcommands {
			r := run(t, c.Name, s.Name, "--help")
			if r.Code != 0 || !strings.Contains(r.Stdout, s.Name) {
				t.Errorf("step %s %s --help: exit %d", c.Name, s.Name, r.Code)
			}
		}
	}
	if r := run(t, "nope"); r.Code != 1 && r.Code != 3 {
		t.Errorf("unknown command: exit %d", r.Code)
	}
}

func TestPath(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STEPPATH", dir)
	t.Setenv("STEP_CONTEXT", "")
	if r := run(t, "path"); r.Stdout != dir+"\n" {
		t.Fatalf("path = %q", r.Stdout)
	}
	t.Setenv("STEPPATH", "")
	t.Setenv("HOME", "/x")
	if r := run(t, "path"); r.Stdout != "/x/.step\n" {
		t.Fatalf("path with HOME=/x = %q %q", r.Stdout, r.Stderr)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestContextCommands(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STEPPATH", dir)
	t.Setenv("STEP_CONTEXT", "")
	if r := run(t, "context", "current"); r.Code != 1 {
		t.Fatalf("current without contexts: exit %d", r.Code)
	}
	write(t, filepath.Join(dir, "contexts.json"),
		`{"one": {"authority": "ca.one", "profile": "one"}, "two": {"authority": "ca.two", "profile": "two"}}`)
	write(t, filepath.Join(dir, "authorities", "ca.two", "config", "defaults.json"), `{}`)
	write(t, filepath.Join(dir, "profiles", "two", "config", "defaults.json"), `{}`)

	if r := run(t, "context", "select", "two"); r.Code != 0 {
		t.Fatalf("select: %s", r.Stderr)
	}
	if r := run(t, "context", "current"); r.Stdout != "two\n" {
		t.Fatalf("current = %q", r.Stdout)
	}
	if r := run(t, "context", "current", "--json"); r.Stdout != `{"authority":"ca.two","name":"two","profile":"two"}`+"\n" {
		t.Fatalf("current --json = %q", r.Stdout)
	}
	if r := run(t, "context", "list"); r.Stdout != "one\n▶ two\n" {
		t.Fatalf("list = %q", r.Stdout)
	}
	if r := run(t, "path"); r.Stdout != filepath.Join(dir, "authorities", "ca.two")+"\n" {
		t.Fatalf("path = %q", r.Stdout)
	}
	if r := run(t, "path", "--base"); r.Stdout != dir+"\n" {
		t.Fatalf("path --base = %q", r.Stdout)
	}
	if r := run(t, "path", "--profile"); r.Stdout != filepath.Join(dir, "profiles", "two")+"\n" {
		t.Fatalf("path --profile = %q", r.Stdout)
	}
	if r := run(t, "path", "--context", "one"); r.Stdout != filepath.Join(dir, "authorities", "ca.one")+"\n" {
		t.Fatalf("path --context one = %q %q", r.Stdout, r.Stderr)
	}
	t.Setenv("STEP_CONTEXT", "")
	if r := run(t, "context", "select", "nope"); r.Code != 1 || !strings.Contains(r.Stderr, "nope") {
		t.Fatalf("select nope: exit %d %q", r.Code, r.Stderr)
	}
	if r := run(t, "context", "remove", "two"); r.Code != 1 || !strings.Contains(r.Stderr, "--force") {
		t.Fatalf("remove without --force in batch mode: exit %d %q", r.Code, r.Stderr)
	}
	if r := run(t, "context", "remove", "two", "--force"); r.Code != 0 {
		t.Fatalf("remove: %s", r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "authorities", "ca.two")); err == nil {
		t.Fatalf("authority directory not removed")
	}
	if _, err := os.Stat(filepath.Join(dir, "current-context.json")); err == nil {
		t.Fatalf("current-context.json still names the removed context")
	}
	if r := run(t, "context", "list"); r.Stdout != "one\n" {
		t.Fatalf("list after remove = %q", r.Stdout)
	}
}
