package azure_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/internal/timeutil"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/azure"
	"github.com/mayfly-pki/mayfly/provisioner/azure/azuretest"
	"github.com/mayfly-pki/mayfly/provisioner/gcp/gcptest"
	"github.com/mayfly-pki/mayfly/provisioner/provtest"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

const (
	tenantID = "11111111-2222-3333-4444-555555555555"
	// marker is the audience the conformance suite writes; fromClaims turns
	// it into Azure's.
	marker = at.CAURL + "/1.0/sign#azure"
)

type env struct {
	*at.Env
	tenant *azuretest.Tenant
	prov   *azure.Provisioner
	n      atomic.Int64
}

func newEnv(t *testing.T, extra map[string]any) *env {
	t.Helper()
	tn := azuretest.New(t, tenantID)
	entry := map[string]any{"type": "Azure", "name": "azure", "tenantID": tenantID}
	for k, v := range extra {
		entry[k] = v
	}
	raw, err := json.Marshal(entry)
	if err != nil {
		t.Fatal(err)
	}
	e := at.New(t, at.Options{
		MoreProvisioners: []json.RawMessage{raw},
		Registry:         provisioner.Registry{provisioner.TypeAzure: azure.NewWith(azure.Endpoints{OIDCBaseURL: tn.Server.URL})},
	})
	p, ok := e.Authority.Provisioners().ByName("azure")
	if !ok {
		t.Fatal("no provisioner azure")
	}
	prov := p.(*azure.Provisioner)
	at.RunUntilReady(t, prov, "the tenant's keys")
	return &env{Env: e, tenant: tn, prov: prov}
}

func (e *env) vm() azuretest.VM {
	return azuretest.VM{Subscription: "sub-1", Group: "rg-1", Name: fmt.Sprintf("vm-%d", e.n.Add(1)), ObjectID: "oid-1"}
}

func (e *env) token(t testing.TB, vm azuretest.VM, mod func(map[string]any)) string {
	pl := e.tenant.Payload(vm, azure.DefaultAudience, e.Clock.Now())
	if mod != nil {
		mod(pl)
	}
	return e.tenant.Mint(t, pl)
}

func (e *env) sign(ctx context.Context, csr *x509.CertificateRequest, ott string, notAfter time.Duration) (*x509.Certificate, error) {
	req := &authority.SignRequest{CSR: csr, OTT: ott}
	if notAfter != 0 {
		req.NotAfter = timeutil.NewDuration(notAfter)
	}
	iss, err := e.Authority.Sign(ctx, req)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(iss.DER)
}

func (e *env) fromClaims(t testing.TB, c *token.Claims, sign func(map[string]any) string) string {
	pl := e.tenant.Payload(e.vm(), azure.DefaultAudience, e.Clock.Now())
	if c.Audience[0] != marker {
		pl["aud"] = c.Audience[0]
	}
	pl["exp"], pl["iat"] = c.Expiry.Time().Unix(), c.IssuedAt.Time().Unix()
	if c.NotBefore != nil {
		pl["nbf"] = c.NotBefore.Time().Unix()
	}
	if c.Issuer != "azure" {
		pl["iss"] = c.Issuer
	}
	return sign(pl)
}

func TestConformance(t *testing.T) {
	e := newEnv(t, nil)
	foreign := gcptest.NewKey(t)
	provtest.Run(t, provtest.Harness{
		Name: "azure", Audience: marker, Now: e.Clock.Now, Backdate: time.Minute, Claims: e.prov.Claims(),
		RequestNames: true,
		Mint: func(t testing.TB, c *token.Claims) string {
			return e.fromClaims(t, c, func(pl map[string]any) string { return e.tenant.Mint(t, pl) })
		},
		MintForeign: func(t testing.TB, c *token.Claims) string {
			return e.fromClaims(t, c, func(pl map[string]any) string { return gcptest.Sign(t, foreign, e.tenant.KID, pl) })
		},
		Sign: e.sign,
	})
}

// TestIssues: the request's names, the Azure extension naming the tenant,
// one certificate per virtual machine (xms_mirid).
func TestIssues(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	vm := e.vm()
	cert, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "x", DNSNames: []string{"a.example.com"}}), e.token(t, vm, nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "x" || strings.Join(cert.DNSNames, ",") != "a.example.com" {
		t.Fatalf("issued %v %v", cert.Subject, cert.DNSNames)
	}
	ext, ok := provisioner.FindExtension(cert)
	if !ok || ext.Type != provisioner.TypeAzure || ext.Name != "azure" || ext.CredentialID != tenantID || len(ext.KeyValuePairs) != 0 {
		t.Fatalf("extension %+v", ext)
	}
	_, err = e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: "x"}), e.token(t, vm, func(pl map[string]any) { pl["iat"] = e.Clock.Now().Unix() - 1 }), 0)
	if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), "token already used") {
		t.Fatalf("second certificate of a VM: %v", err)
	}
}

// TestDisableTrustOnFirstUse: a token may be used again (step-ca allows
// reuse: Azure caches access tokens).
func TestDisableTrustOnFirstUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]any{"disableTrustOnFirstUse": true})
	ott := e.token(t, e.vm(), nil)
	for i := 0; i < 2; i++ {
		if _, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: "x"}), ott, 0); err != nil {
			t.Fatalf("use %d: %v", i+1, err)
		}
	}
}

// TestDisableCustomSANs: the VM's name only.
func TestDisableCustomSANs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]any{"disableCustomSANs": true})
	ctx := context.Background()
	for _, c := range []func(name string) at.CSR{
		func(name string) at.CSR { return at.CSR{CommonName: "other"} },
		func(name string) at.CSR { return at.CSR{CommonName: name, DNSNames: []string{"other"}} },
	} {
		vm := e.vm()
		if _, err := e.sign(ctx, at.NewCSR(t, c(vm.Name)), e.token(t, vm, nil), 0); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("%+v: %v", c(vm.Name), err)
		}
	}
	vm := e.vm()
	cert, err := e.sign(ctx, at.NewCSR(t, at.CSR{CommonName: vm.Name}), e.token(t, vm, nil), 0)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != vm.Name || strings.Join(cert.DNSNames, ",") != vm.Name {
		t.Fatalf("issued %v %v", cert.Subject, cert.DNSNames)
	}
}

// TestRefusals: other tenant, resource group, subscription, object ID,
// audience, issuer, an expired token, a bad xms_mirid.
func TestRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]any{"resourceGroups": []string{"rg-1"}, "subscriptionIDs": []string{"sub-1"}, "objectIDs": []string{"oid-1"}})
	set := func(k string, v any) func(map[string]any) { return func(pl map[string]any) { pl[k] = v } }
	tests := []struct {
		name string
		mod  func(map[string]any)
		want string
	}{
		{"other tenant", set("tid", "other-tenant"), "provisioner not found"},
		{"other resource group", set("xms_mirid", "/subscriptions/sub-1/resourceGroups/rg-2/providers/Microsoft.Compute/virtualMachines/v"), "invalid resource group"},
		{"other subscription", set("xms_mirid", "/subscriptions/sub-2/resourceGroups/rg-1/providers/Microsoft.Compute/virtualMachines/v"), "invalid subscription id"},
		{"other object", set("oid", "oid-2"), "invalid object id"},
		{"bad xms_mirid", set("xms_mirid", "/subscriptions/sub-1/vm"), "error parsing xms_mirid claim"},
		{"no xms_mirid", set("xms_mirid", ""), "missing xms_mirid"},
		{"other audience", set("aud", "https://vault.azure.net"), "invalid audience"},
		{"other issuer", set("iss", "https://sts.windows.net/other/"), "invalid issuer"},
		{"expired", set("exp", e.Clock.Now().Add(-2*time.Minute).Unix()), "expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.sign(context.Background(), at.NewCSR(t, at.CSR{CommonName: "x"}), e.token(t, e.vm(), tc.mod), 0)
			if !errs.Is(err, errs.Unauthorized) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Sign = %v, want Unauthorized %q", err, tc.want)
			}
		})
	}
}

func TestInvalidConfig(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		`{"type":"Azure","name":"a"}`:                     "tenantId cannot be empty",
		`{"type":"Azure","name":"a","tenantID":"a/../b"}`: "invalid tenantID",
	} {
		if _, err := azure.New(json.RawMessage(raw), provisioner.Config{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(%s) = %v, want %q", raw, err, want)
		}
	}
}

func FuzzParsePayload(f *testing.F) {
	f.Add([]byte(`{"tid":"t","xms_mirid":"/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/v"}`))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = azure.ParsePayload(b) })
}
