// Package systemd holds the unit files; this test checks them with
// systemd-analyze verify against the binaries built from this tree.
package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// prepare copies the units into dir with /usr/bin/step[-ca] pointing at
// freshly built binaries, instantiates the templates, and appends the example
// drop-in to its instance (a drop-in's sections merge like appended ones).
func prepare(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	build := exec.Command("go", "build", "-o", bin+"/", "../cmd/step", "../cmd/step-ca")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	read := func(name string) string {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(b), "/usr/bin/step-ca ", bin+"/step-ca ")
		return strings.ReplaceAll(s, "/usr/bin/step ", bin+"/step ")
	}
	dropIn := read("examples/cert-renewer@postgresql.service.d/overrides.conf")
	units := map[string]string{
		"step-ca.service":                 read("step-ca.service"),
		"cert-renewer@postgresql.service": read("cert-renewer@.service") + "\n" + dropIn,
		"cert-renewer@postgresql.timer":   read("cert-renewer@.timer"),
		"ssh-krl.service":                 read("ssh-krl.service"),
		"ssh-krl.timer":                   read("ssh-krl.timer"),
	}
	var names []string
	for name, content := range units {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return dir, names
}

// verify runs systemd-analyze verify; it exits 0 on many parse problems, so
// any output counts as a failure too.
func verify(dir string, names []string) (string, error) {
	cmd := exec.Command("systemd-analyze", append([]string{"verify", "--man=no"}, names...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestUnitsVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze is missing: run `make deps`")
		}
		t.Skip("systemd-analyze is not installed (make deps installs it)")
	}
	dir, names := prepare(t)
	if out, err := verify(dir, names); err != nil || out != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The check itself must catch a broken unit.
	bad := filepath.Join(dir, "step-ca.service")
	b, _ := os.ReadFile(bad)
	if err := os.WriteFile(bad, []byte(strings.Replace(string(b), "Type=simple", "Type=bogus", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(dir, []string{"step-ca.service"}); err == nil && out == "" {
		t.Fatal("systemd-analyze verify accepted Type=bogus: the check is not working")
	}
}
