package softkms

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/mayfly-pki/mayfly/kms"
	"github.com/mayfly-pki/mayfly/kms/kmstest"
)

func TestConformance(t *testing.T) {
	for _, pw := range []string{"", "secret"} {
		t.Run("password="+fmt.Sprint(pw != ""), func(t *testing.T) {
			km, err := New(context.Background(), kms.Options{Pin: pw})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var n atomic.Int32
			kmstest.Run(t, kmstest.Suite{
				KM: km,
				NewName: func(t *testing.T) string {
					p := filepath.Join(dir, fmt.Sprintf("key%d", n.Add(1)))
					if n.Load()%2 == 0 {
						return "softkms:path=" + p
					}
					return p
				},
				Missing:    filepath.Join(dir, "missing.key"),
				Algorithms: []kms.SignatureAlgorithm{kms.ECDSAWithSHA256, kms.ECDSAWithSHA384, kms.SHA256WithRSA, kms.PureEd25519},
			})
		})
	}
}
