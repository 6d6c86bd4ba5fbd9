package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// softHSMModule is where Debian's softhsm2 puts its PKCS#11 module.
const softHSMModule = "/usr/lib/softhsm/libsofthsm2.so"

// setupSoftHSM initialises a SoftHSM2 token under dir, points this process
// (and so step and step-ca, which inherit it) at it with SOFTHSM2_CONF, and
// returns the --kms URI for step ca init: the CA keys are then created in
// the token and step-ca signs through PKCS#11.
func setupSoftHSM(ctx context.Context, dir string) (string, error) {
	tokens := filepath.Join(dir, "softhsm-tokens")
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return "", err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return "", err
	}
	if err := os.Setenv("SOFTHSM2_CONF", conf); err != nil {
		return "", err
	}
	pin := filepath.Join(dir, "hsm-pin")
	if err := os.WriteFile(pin, []byte("1234\n"), 0o600); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin", "1234", "--so-pin", "5678")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("softhsm2-util --init-token (make deps installs softhsm2): %w\n%s", err, bytes.TrimSpace(out))
	}
	return fmt.Sprintf("pkcs11:module-path=%s;token=bench?pin-source=%s", softHSMModule, pin), nil
}
