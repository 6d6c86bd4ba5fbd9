package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSSHBannerKeys: step-ca prints the SSH CA keys at start, after the root
// fingerprint, as step-ca does (wire-spec §2.2): the KMS walkthrough tells
// users to copy them from there.
func TestSSHBannerKeys(t *testing.T) {
	t.Parallel()
	p := initSSHPKI(t)
	ca := p.start(t)
	for _, c := range []struct{ label, file string }{
		{"SSH Host CA Key: ", "ssh_host_ca_key.pub"},
		{"SSH User CA Key: ", "ssh_user_ca_key.pub"},
	} {
		b, err := os.ReadFile(filepath.Join(p.caPath, "certs", c.file))
		if err != nil {
			t.Fatal(err)
		}
		ca.expectLog(t, 0, c.label+strings.TrimSpace(string(b)), "step-ca must print its SSH CA key")
	}
}
