package importer

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/db/bbolt"
)

// TestImportSSHIntoBolt imports step-ca's SSH tables (and the
// rest) into the bbolt backend (the memory store keeps no revocations); Badger, PostgreSQL and MySQL
// targets are covered by the other import tests.
func TestImportSSHIntoBolt(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, 10, 2, 3)
	path := writeBolt(t, fx, tableCerts, tableCertsData, tableRevoked, tableUsedOTT,
		"ssh_certs", "ssh_hosts", "ssh_users", "ssh_host_principals", "revoked_ssh_certs")
	open := func() Source {
		src, err := OpenStep(context.Background(), "bbolt:"+path, StepOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	bolt, err := bbolt.Open(context.Background(), bbolt.Options{Path: filepath.Join(t.TempDir(), "mayfly.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bolt.Close() })
	importTwiceInto(t, bolt, fx, open)
}

// TestImportSSHRefusesBadRecords: an ssh_certs record that is not a
// certificate of its key stops the import with the table and key.
func TestImportSSHRefusesBadRecords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, key string
		value     func(fx *fixture) []byte
		want      string
	}{
		{"garbage", "5555", func(*fixture) []byte { return []byte("ssh-cert-wire-bytes") }, "table ssh_certs, serial 5555: parse ssh certificate"},
		{"other serial", "5555", func(fx *fixture) []byte { return fx.sshCerts[0].Wire }, "table ssh_certs, key 5555: the certificate's serial is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixture(t, 2, 0, 0)
			fx.tables["ssh_certs"][tc.key] = tc.value(fx)
			path := writeBolt(t, fx, tableCerts, tableRevoked, tableUsedOTT, "ssh_certs")
			src, err := OpenStep(context.Background(), "bbolt:"+path, StepOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			dst, _ := openBadger(t)
			_, err = Import(context.Background(), dst, src, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("import: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
