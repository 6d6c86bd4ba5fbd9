package steppath

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestBase(t *testing.T) {
	t.Setenv("STEPPATH", "")
	t.Setenv("HOME", "/x")
	if got, err := Base(); err != nil || got != "/x/.step" {
		t.Fatalf("Base() = %q, %v; want /x/.step", got, err)
	}
	t.Setenv("STEPPATH", "/y/step/")
	if got, err := Base(); err != nil || got != "/y/step" {
		t.Fatalf("Base() = %q, %v; want /y/step", got, err)
	}
	t.Setenv("STEPPATH", "")
	t.Setenv("HOME", "")
	if _, err := Base(); err == nil {
		t.Fatalf("Base() without STEPPATH and HOME: want error")
	}
}

func TestPathsWithoutContexts(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STEPPATH", dir)
	t.Setenv(ContextEnv, "")
	for name, f := range map[string]func() (string, error){"Path": Path, "ProfilePath": ProfilePath} {
		if got, err := f(); err != nil || got != dir {
			t.Fatalf("%s() = %q, %v; want %q", name, got, err, dir)
		}
	}
	if got, _ := DefaultsFile(); got != filepath.Join(dir, "config", "defaults.json") {
		t.Fatalf("DefaultsFile() = %q", got)
	}
	if got, _ := RootFile(); got != filepath.Join(dir, "certs", "root_ca.crt") {
		t.Fatalf("RootFile() = %q", got)
	}
	if _, err := Current(); !errors.Is(err, ErrNoContexts) {
		t.Fatalf("Current() error = %v, want ErrNoContexts", err)
	}
	if on, err := ContextsEnabled(); on || err != nil {
		t.Fatalf("ContextsEnabled() = %v, %v", on, err)
	}
}

func TestContexts(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STEPPATH", dir)
	t.Setenv(ContextEnv, "")
	write(t, filepath.Join(dir, ContextsFile),
		`{"ca.example.com": {"authority": "ca.example.com", "profile": "ca.example.com"}, "other": {"authority": "auth-b", "profile": "prof-b"}}`)

	// Contexts but none selected: base path.
	if _, err := Current(); !errors.Is(err, ErrNoCurrentContext) {
		t.Fatalf("Current() error = %v, want ErrNoCurrentContext", err)
	}
	if got, err := Path(); err != nil || got != dir {
		t.Fatalf("Path() with no selection = %q, %v", got, err)
	}

	if err := WriteCurrentName("other"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, CurrentContextFile))
	if err != nil || string(b) != "{\"context\":\"other\"}\n" {
		t.Fatalf("current-context.json = %q, %v", b, err)
	}
	cur, err := Current()
	if err != nil || cur.Name != "other" || cur.Authority != "auth-b" || cur.Profile != "prof-b" {
		t.Fatalf("Current() = %+v, %v", cur, err)
	}
	if got, _ := Path(); got != filepath.Join(dir, "authorities", "auth-b") {
		t.Fatalf("Path() = %q", got)
	}
	if got, _ := ProfilePath(); got != filepath.Join(dir, "profiles", "prof-b") {
		t.Fatalf("ProfilePath() = %q", got)
	}

	// The process selection overrides current-context.json.
	if err := UseContext("ca.example.com"); err != nil {
		t.Fatal(err)
	}
	if got, _ := Path(); got != filepath.Join(dir, "authorities", "ca.example.com") {
		t.Fatalf("Path() after UseContext = %q", got)
	}
	if err := UseContext("missing"); err == nil {
		t.Fatalf("UseContext(missing): want error")
	}
	t.Setenv(ContextEnv, "missing")
	if _, err := Path(); err == nil {
		t.Fatalf("Path() with an unknown $STEP_CONTEXT: want error")
	}
	t.Setenv(ContextEnv, "")

	// Round trip through WriteContexts keeps the shape step reads.
	cs, err := ReadContexts()
	if err != nil {
		t.Fatal(err)
	}
	cs["new"] = &Context{Authority: "a", Profile: "p"}
	if err := WriteContexts(cs); err != nil {
		t.Fatal(err)
	}
	cs2, err := ReadContexts()
	if err != nil || len(cs2) != 3 || cs2["new"].Authority != "a" || cs2["new"].Name != "new" {
		t.Fatalf("ReadContexts after write = %+v, %v", cs2, err)
	}
	if names := cs2.Names(); names[0] != "ca.example.com" || names[2] != "other" {
		t.Fatalf("Names() = %q", names)
	}
}

func TestMalformedFiles(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STEPPATH", dir)
	t.Setenv(ContextEnv, "")
	write(t, filepath.Join(dir, ContextsFile), `{"a": `)
	if _, err := ReadContexts(); err == nil {
		t.Fatalf("malformed contexts.json: want error")
	}
	if _, err := Path(); err == nil {
		t.Fatalf("Path() with malformed contexts.json: want error")
	}
	write(t, filepath.Join(dir, ContextsFile), `{"a": {"authority": "a", "profile": "a"}}`)
	write(t, filepath.Join(dir, CurrentContextFile), `nope`)
	if _, err := Current(); err == nil {
		t.Fatalf("malformed current-context.json: want error")
	}
}

// TestStepPathUnderAFile: a STEPPATH below a regular file has no contexts
// (the file cannot exist there); commands then report the path themselves.
func TestStepPathUnderAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "afile")
	write(t, file, "x")
	t.Setenv("STEPPATH", filepath.Join(file, "sub"))
	enabled, err := ContextsEnabled()
	if err != nil || enabled {
		t.Fatalf("ContextsEnabled = %v, %v; want false, nil", enabled, err)
	}
	if p, err := Path(); err != nil || p != filepath.Join(file, "sub") {
		t.Fatalf("Path = %q, %v", p, err)
	}
}
