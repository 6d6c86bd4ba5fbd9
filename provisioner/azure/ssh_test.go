package azure_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/azure"
	"github.com/mayfly-pki/mayfly/provisioner/azure/azuretest"
	"github.com/mayfly-pki/mayfly/ssh"
)

// TestSSHHostCertificate: a virtual machine gets a host certificate named
// after it; the resource group filter applies as for X.509.
func TestSSHHostCertificate(t *testing.T) {
	t.Parallel()
	tn := azuretest.New(t, tenantID)
	raw, _ := json.Marshal(map[string]any{"type": "Azure", "name": "azure", "tenantID": tenantID, "disableCustomSANs": true,
		"disableTrustOnFirstUse": true, "resourceGroups": []string{"rg-1"}, "claims": map[string]any{"enableSSHCA": true}})
	e := at.New(t, at.Options{
		MoreProvisioners: []json.RawMessage{raw},
		Registry:         provisioner.Registry{provisioner.TypeAzure: azure.NewWith(azure.Endpoints{OIDCBaseURL: tn.Server.URL})},
		SSH:              &authority.SSHConfig{UserKey: at.NewKey(t), HostKey: at.NewKey(t)},
	})
	p, _ := e.Authority.Provisioners().ByName("azure")
	prov := p.(*azure.Provisioner)
	at.RunUntilReady(t, prov, "the tenant's keys")
	key, _ := gossh.NewPublicKey(&at.NewKey(t).PublicKey)
	vm := azuretest.VM{Subscription: "sub-1", Group: "rg-1", Name: "vm-ssh", ObjectID: "oid-1"}
	res, err := e.Authority.SignSSH(context.Background(), &authority.SSHSignRequest{PublicKey: key,
		OTT: tn.Mint(t, tn.Payload(vm, azure.DefaultAudience, e.Clock.Now())), Options: ssh.Options{CertType: "host"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Cert; c.CertType != gossh.HostCert || c.KeyId != "vm-ssh" || !slices.Equal(c.ValidPrincipals, []string{"vm-ssh"}) {
		t.Fatalf("certificate: type %d key ID %q principals %v", c.CertType, c.KeyId, c.ValidPrincipals)
	}
	vm.Group, vm.Name = "rg-2", "vm-other"
	e.Clock.Add(time.Second)
	_, err = e.Authority.SignSSH(context.Background(), &authority.SSHSignRequest{PublicKey: key,
		OTT: tn.Mint(t, tn.Payload(vm, azure.DefaultAudience, e.Clock.Now()))})
	if !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("a machine of another resource group: %v", err)
	}
}
