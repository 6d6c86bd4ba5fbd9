package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/provisioner/aws/awstest"
	"github.com/mayfly-pki/mayfly/provisioner/azure/azuretest"
	"github.com/mayfly-pki/mayfly/provisioner/gcp/gcptest"
)

// TestGCP: a GCP provisioner added with `step ca provisioner add --type GCP
// --gcp-project`; step-ca fetches Google's keys (a fake Google on loopback,
// MAYFLY_GCP_CERTS_URL) in the background; `step ca certificate
// --provisioner gcp` reads the instance's identity token from the metadata
// server (a fake on loopback, MAYFLY_GCP_IDENTITY_URL) and gets a
// certificate for the instance's internal names with the GCP provisioner
// extension; a second certificate for the same instance is refused (trust on
// first use), and so is an instance of another project.
func TestGCP(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	p.op.ok(t, "ca", "provisioner", "add", "gcp", "--type", "GCP", "--gcp-project", "mayfly-test")
	google := gcptest.New(t)
	ca := launchCAEnv(t, p.caPath, []string{"MAYFLY_GCP_CERTS_URL=" + google.Certs.URL},
		filepath.Join(p.caPath, "config", "ca.json"), "--password-file", p.pwFile)
	ca.waitLog(t, 0, "Serving HTTPS on")
	ca.waitLog(t, 0, "keys fetched")

	u := p.client(t)
	in := gcptest.DefaultInstance(time.Now())
	meta := google.Metadata(t, in)
	env := []string{"MAYFLY_GCP_IDENTITY_URL=" + meta.URL + gcptest.IdentityPath}

	crt, key := u.path("vm.crt"), u.path("vm.key")
	r := u.okEnv(t, env, "ca", "certificate", in.Name, crt, key, "--provisioner", "gcp")
	if !strings.Contains(r.stderr, "Provisioner: gcp (GCP)") {
		t.Fatalf("provisioner selected:\n%s", r.stderr)
	}
	cert := readCerts(t, crt)[0]
	want := in.Name + ".c.mayfly-test.internal," + in.Name + "." + in.Zone + ".c.mayfly-test.internal"
	if cert.Subject.CommonName != in.Name || strings.Join(cert.DNSNames, ",") != want {
		t.Fatalf("subject %v, DNS names %v, want %s", cert.Subject, cert.DNSNames, want)
	}
	if ext := provisionerExtension(t, cert); ext.typ != 3 || ext.name != "gcp" {
		t.Fatalf("provisioner extension %+v, want GCP (3) gcp", ext)
	}
	// The certificate renews (mTLS), as any other.
	u.ok(t, "ca", "renew", crt, key, "--force")
	if renewed := readCerts(t, crt)[0]; renewed.SerialNumber.Cmp(cert.SerialNumber) == 0 || strings.Join(renewed.DNSNames, ",") != want {
		t.Fatalf("renewed: serial %s, DNS names %v", renewed.SerialNumber, renewed.DNSNames)
	}

	// The token as step prints it: Google's, for the CA's audience with
	// the fragment gcp/<name>.
	tok := strings.TrimSpace(u.okEnv(t, env, "ca", "token", in.Name, "--provisioner", "gcp").stdout)
	_, payload := tokenParts(t, tok)
	if payload["iss"] != "https://accounts.google.com" || payload["aud"] != p.url+"/1.0/sign#gcp/gcp" {
		t.Fatalf("token payload %v", payload)
	}

	// One certificate per instance.
	r = u.failsEnv(t, env, "ca", "certificate", in.Name, u.path("again.crt"), u.path("again.key"), "--token", tok)
	if !strings.Contains(r.stderr, "lacked necessary authorization") {
		t.Fatalf("second certificate of the instance:\n%s", r.stderr)
	}
	mustNotExist(t, u.path("again.crt"))
	ca.expectLog(t, 0, "token already used", "a second certificate for the instance was refused")

	// An instance of another project.
	other := gcptest.DefaultInstance(time.Now())
	other.ID, other.ProjectID = "42", "other-project"
	otherMeta := google.Metadata(t, other)
	u.failsEnv(t, []string{"MAYFLY_GCP_IDENTITY_URL=" + otherMeta.URL + gcptest.IdentityPath},
		"ca", "certificate", other.Name, u.path("other.crt"), u.path("other.key"), "--provisioner", "gcp")
	mustNotExist(t, u.path("other.crt"))
	ca.expectLog(t, 0, "invalid project id", "an instance of another project was refused")

	// No metadata server: a clear error, nothing sent.
	r = u.failsEnv(t, []string{"MAYFLY_GCP_IDENTITY_URL=http://127.0.0.1:1/identity"}, "ca", "token", "x", "--provisioner", "gcp")
	if !strings.Contains(r.stderr, "Are you in a GCP VM?") {
		t.Fatalf("no metadata server:\n%s", r.stderr)
	}
}

// okEnv is ok with more environment variables.
func (u *user) okEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	r := runBinary(stepBin(), u.dir, append(commandEnv(u.home, u.stepPath), env...), commandTimeout, args...)
	if r.code != 0 || r.err != nil {
		t.Fatalf("command failed, want exit code 0:\n%s", r)
	}
	return r
}

// failsEnv runs step with more environment variables and fails t unless it
// exits non-zero.
func (u *user) failsEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	r := runBinary(stepBin(), u.dir, append(commandEnv(u.home, u.stepPath), env...), commandTimeout, args...)
	if r.code == 0 || r.err != nil {
		t.Fatalf("command succeeded or did not run, want a failure:\n%s", r)
	}
	return r
}

// launchCAEnv is launchCA with more environment variables (the cloud
// providers' key endpoints on loopback).
func launchCAEnv(t *testing.T, caPath string, env []string, args ...string) *caProcess {
	t.Helper()
	return launchCAWith(t, t, caPath, env, args...)
}

// TestAzure: an Azure provisioner added with `step ca provisioner add --type
// Azure --azure-tenant`; step-ca discovers the tenant's keys (a fake tenant
// on loopback, MAYFLY_AZURE_OIDC_BASE_URL); `step ca certificate
// --provisioner azure` reads the managed identity's token from the metadata
// service (MAYFLY_AZURE_IDENTITY_URL) and gets a certificate for the VM's
// name; a second certificate for the same VM is refused.
func TestAzure(t *testing.T) {
	t.Parallel()
	const tenant = "11111111-2222-3333-4444-555555555555"
	p := initPKI(t)
	p.op.ok(t, "ca", "provisioner", "add", "azure", "--type", "Azure", "--azure-tenant", tenant, "--azure-resource-group", "rg-1")
	tn := azuretest.New(t, tenant)
	ca := launchCAEnv(t, p.caPath, []string{"MAYFLY_AZURE_OIDC_BASE_URL=" + tn.Server.URL},
		filepath.Join(p.caPath, "config", "ca.json"), "--password-file", p.pwFile)
	ca.waitLog(t, 0, "Serving HTTPS on")
	ca.waitLog(t, 0, "keys fetched")

	u := p.client(t)
	vm := azuretest.VM{Subscription: "sub-1", Group: "rg-1", Name: "vm-1", ObjectID: "oid-1"}
	env := []string{"MAYFLY_AZURE_IDENTITY_URL=" + tn.Metadata(t, vm).URL + azuretest.IdentityPath}
	crt, key := u.path("vm.crt"), u.path("vm.key")
	r := u.okEnv(t, env, "ca", "certificate", "vm-1", crt, key, "--provisioner", "azure")
	if !strings.Contains(r.stderr, "Provisioner: azure (Azure)") {
		t.Fatalf("provisioner selected:\n%s", r.stderr)
	}
	cert := readCerts(t, crt)[0]
	if cert.Subject.CommonName != "vm-1" || strings.Join(cert.DNSNames, ",") != "vm-1" {
		t.Fatalf("subject %v, DNS names %v", cert.Subject, cert.DNSNames)
	}
	if ext := provisionerExtension(t, cert); ext.typ != 5 || ext.name != "azure" {
		t.Fatalf("provisioner extension %+v, want Azure (5) azure", ext)
	}
	u.failsEnv(t, env, "ca", "certificate", "vm-1", u.path("again.crt"), u.path("again.key"), "--provisioner", "azure")
	mustNotExist(t, u.path("again.crt"))
	ca.expectLog(t, 0, "token already used", "a second certificate for the VM was refused")

	other := azuretest.VM{Subscription: "sub-1", Group: "rg-2", Name: "vm-2", ObjectID: "oid-1"}
	u.failsEnv(t, []string{"MAYFLY_AZURE_IDENTITY_URL=" + tn.Metadata(t, other).URL + azuretest.IdentityPath},
		"ca", "certificate", "vm-2", u.path("other.crt"), u.path("other.key"), "--provisioner", "azure")
	ca.expectLog(t, 0, "invalid resource group", "a VM of another resource group was refused")
}

// TestAWS: an AWS provisioner added with `step ca provisioner add --type AWS
// --aws-account --iid-roots` (a test certificate signs the identity
// documents); `step ca certificate --provisioner aws` reads the identity
// document and signature from the metadata service (IMDSv2, then v1;
// MAYFLY_AWS_METADATA_URL) and gets a certificate for the instance's
// private IP and DNS name; a second certificate for the same instance and
// another account are refused.
func TestAWS(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	fake := awstest.New(t)
	p.op.ok(t, "ca", "provisioner", "add", "aws", "--type", "AWS", "--aws-account", "123456789012", "--iid-roots", fake.CertFile)
	ca := p.start(t)

	u := p.client(t)
	doc := awstest.DefaultDocument(time.Now())
	for i, v1 := range []bool{false, true} {
		doc.InstanceID = fmt.Sprintf("i-%017d", i)
		env := []string{"MAYFLY_AWS_METADATA_URL=" + fake.Metadata(t, doc, v1).URL}
		crt, key := u.path(fmt.Sprintf("vm%d.crt", i)), u.path(fmt.Sprintf("vm%d.key", i))
		r := u.okEnv(t, env, "ca", "certificate", "svc", crt, key, "--provisioner", "aws")
		if !strings.Contains(r.stderr, "Provisioner: aws (AWS)") {
			t.Fatalf("provisioner selected:\n%s", r.stderr)
		}
		cert := readCerts(t, crt)[0]
		if cert.Subject.CommonName != "svc" || strings.Join(cert.DNSNames, ",") != "ip-10-0-1-2.us-west-2.compute.internal" ||
			len(cert.IPAddresses) != 1 || cert.IPAddresses[0].String() != "10.0.1.2" {
			t.Fatalf("subject %v, DNS names %v, IPs %v", cert.Subject, cert.DNSNames, cert.IPAddresses)
		}
		if ext := provisionerExtension(t, cert); ext.typ != 4 || ext.name != "aws" {
			t.Fatalf("provisioner extension %+v, want AWS (4) aws", ext)
		}
		u.failsEnv(t, env, "ca", "certificate", "svc", u.path("again.crt"), u.path("again.key"), "--provisioner", "aws")
		mustNotExist(t, u.path("again.crt"))
	}
	ca.expectLog(t, 0, "token already used", "a second certificate for the instance was refused")

	doc.InstanceID, doc.AccountID = "i-other", "999999999999"
	u.failsEnv(t, []string{"MAYFLY_AWS_METADATA_URL=" + fake.Metadata(t, doc, false).URL},
		"ca", "certificate", "svc", u.path("other.crt"), u.path("other.key"), "--provisioner", "aws")
	ca.expectLog(t, 0, "accountId is not valid", "an instance of another account was refused")
}
