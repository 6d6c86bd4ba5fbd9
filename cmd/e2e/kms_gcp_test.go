package e2e

import (
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/kms/kmstest/gcpkms"
)

// TestKMSCloudKMS follows the Cloud KMS walkthrough of step-ca's
// documentation (seed 002) with the real gRPC client against the emulator
// on 127.0.0.1: bare resource names in --key, --ca-key and ca.json's key.
func TestKMSCloudKMS(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	srv := gcpkms.Start(t)
	kmsURI := srv.KMSURI()
	const ring = "projects/smallstep/locations/global/keyRings/step-ca/cryptoKeys/"
	create := func(key string) string {
		return kmsCreate(t, p, kmsURI, ring+key, func(name string) bool { return name == ring+key+"/cryptoKeyVersions/1" })
	}
	_, inter := startKMSCA(t, p, kmsURI, "cloudkms", create("root"), create("intermediate"))
	u := p.client(t)
	before := time.Now()
	u.ok(t, "ca", "certificate", "gcp.example.com", u.path("gcp.crt"), u.path("gcp.key"), "--provisioner-password-file", u.path("password.txt"))
	got := checkIssued(t, p, u.path("gcp.crt"), u.path("gcp.key"), "gcp.example.com", 24*time.Hour, before, time.Now())
	if err := got.leaf.CheckSignatureFrom(inter); err != nil {
		t.Fatal(err)
	}
	before = time.Now()
	u.ok(t, "ca", "renew", u.path("gcp.crt"), u.path("gcp.key"), "--force")
	checkIssued(t, p, u.path("gcp.crt"), u.path("gcp.key"), "gcp.example.com", 24*time.Hour, before, time.Now())
}
