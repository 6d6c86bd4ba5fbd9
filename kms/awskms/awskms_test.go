package awskms

import (
	"context"
	"crypto"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/kms"
	"github.com/mayfly-pki/mayfly/kms/kmstest"
	"github.com/mayfly-pki/mayfly/kms/kmstest/localkms"
)

// TestLocalKMS runs the conformance suite against local-kms on 127.0.0.1
// with the real SDK client.
func TestLocalKMS(t *testing.T) {
	t.Parallel()
	srv := localkms.Start(t)
	km, err := New(context.Background(), kms.Options{URI: srv.KMSURI()})
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	kmstest.Run(t, kmstest.Suite{
		KM:          km,
		NewName:     func(t *testing.T) string { return fmt.Sprintf("awskms:name=mayfly-%d", n.Add(1)) },
		Missing:     "awskms:key-id=00000000-0000-0000-0000-000000000000",
		Algorithms:  []kms.SignatureAlgorithm{kms.ECDSAWithSHA256, kms.ECDSAWithSHA384, kms.SHA256WithRSA},
		RenamesKeys: true,
		NamesRepeat: true,
	})
	t.Run("alias as step's kms plugin names it", func(t *testing.T) {
		resp, err := km.CreateKey(context.Background(), kms.CreateKeyRequest{Name: "root-ca"})
		if err != nil {
			t.Fatal(err)
		}
		id := strings.TrimPrefix(resp.Name, "awskms:key-id=")
		first, _, _ := strings.Cut(id, "-")
		pub, err := km.GetPublicKey(context.Background(), "awskms:alias=root-ca-"+first)
		if err != nil {
			t.Fatal(err)
		}
		if !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(resp.PublicKey) {
			t.Fatal("the alias names another key")
		}
	})
	t.Run("down", func(t *testing.T) {
		dead, err := New(context.Background(), kms.Options{URI: "awskms:region=eu-west-2;endpoint=http://127.0.0.1:1;credentials-file=" + srv.CredentialsFile})
		if err != nil {
			t.Fatal(err)
		}
		_, err = dead.GetPublicKey(context.Background(), "awskms:key-id=x")
		if e := errs.As(err); e == nil || e.Kind != errs.Unavailable {
			t.Fatalf("unreachable KMS: want Unavailable, got %v", err)
		}
	})
}

func TestKeyID(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"awskms:key-id=abc":                             "abc",
		"awskms:alias=ca":                               "alias/ca",
		"awskms:arn:aws:kms:us-east-1:1:key/abc":        "arn:aws:kms:us-east-1:1:key/abc",
		"awskms:key-id=arn:aws:kms:us-east-1:1:key/abc": "arn:aws:kms:us-east-1:1:key/abc",
	} {
		got, err := keyID(in)
		if err != nil || got != want {
			t.Errorf("keyID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"awskms:region=x", "pkcs11:id=1", "/file"} {
		if _, err := keyID(bad); err == nil || !strings.Contains(err.Error(), "awskms") {
			t.Errorf("keyID(%q) = %v", bad, err)
		}
	}
}
