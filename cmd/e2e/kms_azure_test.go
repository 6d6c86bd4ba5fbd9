package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/kms/kmstest/azurekv"
)

// TestKMSAzure: keys created with step kms create in the Key Vault emulator
// (real azkeys client, client-secret credential), the root and intermediate
// made with step certificate create --kms, and ca.json configured as step-ca's
// documentation says (key URI with name, vault and version; kms block with
// client credentials in its uri).
func TestKMSAzure(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	srv := azurekv.Start(t)
	kmsURI := srv.KMSURI()
	create := func(key string) string {
		return kmsCreate(t, p, kmsURI, "azurekms:name="+key+";vault=example-vault-0", func(name string) bool {
			return strings.Contains(name, "?version=")
		})
	}
	ca, inter := startKMSCA(t, p, kmsURI, "azurekms", create("root-ca-key"), create("intermediate-ca-key"))
	if strings.Contains(ca.log.tail(200), azurekv.Secret) {
		t.Fatal("step-ca logged the client secret")
	}
	u := p.client(t)
	before := time.Now()
	u.ok(t, "ca", "certificate", "azure.example.com", u.path("az.crt"), u.path("az.key"), "--provisioner-password-file", u.path("password.txt"))
	got := checkIssued(t, p, u.path("az.crt"), u.path("az.key"), "azure.example.com", 24*time.Hour, before, time.Now())
	if err := got.leaf.CheckSignatureFrom(inter); err != nil {
		t.Fatal(err)
	}
}
