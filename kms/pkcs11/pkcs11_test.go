//go:build cgo && !nopkcs11

package pkcs11

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mayfly-pki/mayfly/kms"
	"github.com/mayfly-pki/mayfly/kms/kmstest"
)

// One test: SOFTHSM2_CONF is read by the module for the whole process.
func TestSoftHSM(t *testing.T) {
	h := kmstest.NewSoftHSM(t, "conformance")
	t.Setenv("SOFTHSM2_CONF", h.Conf)
	// A PKCS#11 login holds for every session of the process, so the
	// wrong PIN is tried first, and pin-source after the first manager closed.
	t.Run("wrong pin", func(t *testing.T) {
		uri := fmt.Sprintf("pkcs11:module-path=%s;token=%s?pin-value=9999", kmstest.SoftHSMModule, h.Label)
		_, err := New(context.Background(), kms.Options{URI: uri})
		if err == nil {
			t.Fatal("login with a wrong PIN succeeded")
		}
		if strings.Contains(err.Error(), "9999") {
			t.Fatalf("error shows the PIN: %v", err)
		}
	})
	km, err := New(context.Background(), kms.Options{URI: h.URI()})
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	kmstest.Run(t, kmstest.Suite{
		KM: km,
		NewName: func(t *testing.T) string {
			i := n.Add(1)
			return fmt.Sprintf("pkcs11:id=%04x;object=key-%d", 0x7000+i, i)
		},
		Missing:    "pkcs11:id=ffff;object=nothing",
		Algorithms: []kms.SignatureAlgorithm{kms.ECDSAWithSHA256, kms.ECDSAWithSHA384, kms.SHA256WithRSA},
	})

	if err := km.Close(); err != nil {
		t.Fatal(err)
	}
	t.Run("pin-source and find by object only", func(t *testing.T) {
		pin := filepath.Join(t.TempDir(), "pin")
		if err := os.WriteFile(pin, []byte(h.Pin+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		uri := fmt.Sprintf("pkcs11:module-path=%s;token=%s?pin-source=%s", kmstest.SoftHSMModule, h.Label, pin)
		km2, err := New(context.Background(), kms.Options{URI: uri})
		if err != nil {
			t.Fatal(err)
		}
		defer km2.Close()
		if _, err := km2.GetPublicKey(context.Background(), "pkcs11:object=key-1"); err != nil {
			t.Fatalf("find by object: %v", err)
		}
	})

}

func TestConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		uri, want string
	}{
		{"", "kms uri is required"},
		{"pkcs11:token=a?pin-value=1", "no module-path"},
		{"pkcs11:module-path=/x.so?pin-value=1", "exactly one of"},
		{"pkcs11:module-path=/x.so;token=a;slot-id=1?pin-value=1", "exactly one of"},
		{"pkcs11:module-path=/x.so;slot-id=x?pin-value=1", "slot-id"},
		{"pkcs11:module-path=/x.so;token=a", "no pin-value"},
		{"awskms:region=x", "want pkcs11"},
	} {
		_, err := Config(kms.Options{URI: tc.uri})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Config(%q) = %v, want %q", tc.uri, err, tc.want)
		}
	}
	c, err := Config(kms.Options{URI: "pkcs11:module-path=/m.so;slot-id=3;max-sessions=8?pin-value=12%2034"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != "/m.so" || c.SlotNumber == nil || *c.SlotNumber != 3 || c.MaxSessions != 8 || c.Pin != "12 34" {
		t.Fatalf("Config = %+v", c)
	}
}
