package kmstest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// SoftHSMModule is where Debian's softhsm2 installs its PKCS#11 module.
const SoftHSMModule = "/usr/lib/softhsm/libsofthsm2.so"

// SoftHSM is a SoftHSM2 token in a temporary directory.
type SoftHSM struct {
	// Conf is the SOFTHSM2_CONF file processes must be given.
	Conf  string
	Label string
	Pin   string
}

// URI returns the kms URI for the token, with the PIN in pin-value.
func (h SoftHSM) URI() string {
	return fmt.Sprintf("pkcs11:module-path=%s;token=%s?pin-value=%s", SoftHSMModule, h.Label, h.Pin)
}

// Env returns SOFTHSM2_CONF=... for a child process.
func (h SoftHSM) Env() string { return "SOFTHSM2_CONF=" + h.Conf }

// NewSoftHSM initialises a fresh token with softhsm2-util in t.TempDir().
// softhsm2 is installed by `make deps`; without it the test fails saying so.
func NewSoftHSM(t testing.TB, label string) SoftHSM {
	t.Helper()
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		t.Fatalf("softhsm2-util not found: run `make deps` (Debian package softhsm2)")
	}
	if _, err := os.Stat(SoftHSMModule); err != nil {
		t.Fatalf("%s: %v: run `make deps` (Debian package softhsm2)", SoftHSMModule, err)
	}
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	h := SoftHSM{Conf: conf, Label: label, Pin: "1234"}
	cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label, "--pin", h.Pin, "--so-pin", "5678")
	cmd.Env = append(os.Environ(), h.Env())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
	return h
}
