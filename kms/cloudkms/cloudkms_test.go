package cloudkms

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mayfly-pki/mayfly/kms"
	"github.com/mayfly-pki/mayfly/kms/kmstest"
	"github.com/mayfly-pki/mayfly/kms/kmstest/gcpkms"
)

// TestEmulator runs the conformance suite with the real gRPC client against
// the emulator on 127.0.0.1.
func TestEmulator(t *testing.T) {
	t.Parallel()
	srv := gcpkms.Start(t)
	km, err := New(context.Background(), kms.Options{URI: srv.KMSURI()})
	if err != nil {
		t.Fatal(err)
	}
	defer km.Close()
	var n atomic.Int32
	kmstest.Run(t, kmstest.Suite{
		KM: km,
		NewName: func(t *testing.T) string {
			return fmt.Sprintf("projects/p/locations/global/keyRings/step-ca/cryptoKeys/k%d", n.Add(1))
		},
		Missing:     "projects/p/locations/global/keyRings/step-ca/cryptoKeys/none/cryptoKeyVersions/1",
		Algorithms:  []kms.SignatureAlgorithm{kms.ECDSAWithSHA256, kms.ECDSAWithSHA384, kms.SHA256WithRSA},
		RenamesKeys: true,
		NamesRepeat: true,
	})
	t.Run("a second create makes version 2, as step's kms plugin does", func(t *testing.T) {
		name := "projects/p/locations/global/keyRings/other/cryptoKeys/root"
		r1, err := km.CreateKey(context.Background(), kms.CreateKeyRequest{Name: "cloudkms:" + name})
		if err != nil {
			t.Fatal(err)
		}
		r2, err := km.CreateKey(context.Background(), kms.CreateKeyRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if r1.Name != name+"/cryptoKeyVersions/1" || r2.Name != name+"/cryptoKeyVersions/2" {
			t.Fatalf("versions %q, %q", r1.Name, r2.Name)
		}
	})
}

func TestResource(t *testing.T) {
	t.Parallel()
	const r = "projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1"
	for _, in := range []string{r, "cloudkms:" + r, "cloudkms:resource=" + r} {
		if got, err := resource(in); err != nil || got != r {
			t.Errorf("resource(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"/etc/key", "cloudkms:", "projects/p?x"} {
		if _, err := resource(bad); err == nil || !strings.Contains(err.Error(), "resource name") {
			t.Errorf("resource(%q) = %v", bad, err)
		}
	}
	if _, err := New(context.Background(), kms.Options{URI: "cloudkms:insecure=true"}); err == nil {
		t.Error("insecure without endpoint accepted")
	}
}
