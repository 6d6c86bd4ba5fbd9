package validate_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/validate"
)

func TestExtensionReplacesOthers(t *testing.T) {
	t.Parallel()
	e, err := validate.NewExtension(provisioner.Info{Name: "p", Type: provisioner.TypeX5C})
	if err != nil {
		t.Fatal(err)
	}
	other := pkix.Extension{Id: []int{1, 2, 3}, Value: []byte{5, 0}}
	forged := pkix.Extension{Id: provisioner.ExtensionOID, Value: []byte{0x30, 0}}
	c := &x509.Certificate{ExtraExtensions: []pkix.Extension{forged, other, forged}}
	if err := e.ModifyCert(c); err != nil {
		t.Fatal(err)
	}
	if len(c.ExtraExtensions) != 2 || !c.ExtraExtensions[1].Id.Equal(other.Id) {
		t.Fatalf("extensions = %v", c.ExtraExtensions)
	}
	c.Extensions = c.ExtraExtensions
	if ext, ok := provisioner.FindExtension(c); !ok || ext.Name != "p" || ext.Type != provisioner.TypeX5C {
		t.Fatalf("provisioner extension = %+v, %v", ext, ok)
	}
	empty := &x509.Certificate{}
	_ = e.ModifyCert(empty)
	if len(empty.ExtraExtensions) != 1 {
		t.Fatalf("appended: %v", empty.ExtraExtensions)
	}
}

func TestCredentialWindow(t *testing.T) {
	t.Parallel()
	start := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	w := &validate.CredentialWindow{NotBefore: start, NotAfter: end}
	tests := []struct {
		name   string
		nb, na time.Time
		req    provisioner.Requested
		wantNA time.Time
		err    string
	}{
		{name: "default cut", nb: end.Add(-time.Hour), na: end.Add(time.Hour), wantNA: end},
		{name: "default inside", nb: end.Add(-2 * time.Hour), na: end.Add(-time.Hour), wantNA: end.Add(-time.Hour)},
		{name: "requested notAfter after", nb: end.Add(-time.Hour), na: end.Add(time.Second), req: provisioner.Requested{NotAfter: true}, err: "is after the expiration of the provisioning credential"},
		{name: "requested notAfter at", nb: end.Add(-time.Hour), na: end, req: provisioner.Requested{NotAfter: true}, wantNA: end},
		{name: "requested notBefore before", nb: start.Add(-time.Second), na: end, req: provisioner.Requested{NotBefore: true}, err: "is before the active validity window"},
		{name: "backdated default notBefore", nb: start.Add(-time.Minute), na: end, wantNA: end},
	}
	for _, tc := range tests {
		c := &x509.Certificate{NotBefore: tc.nb, NotAfter: tc.na}
		err := w.CapCert(c, tc.req)
		if tc.err != "" {
			if !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want Forbidden %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || !c.NotAfter.Equal(tc.wantNA) {
			t.Errorf("%s: notAfter %s, %v; want %s", tc.name, c.NotAfter, err, tc.wantNA)
		}
	}
}

func TestCSRFingerprint(t *testing.T) {
	t.Parallel()
	csr := &x509.CertificateRequest{Raw: []byte("csr")}
	// base64url(sha256("csr"))
	if err := validate.CSRFingerprint("wrong").ValidateCSR(csr); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("wrong fingerprint: %v", err)
	}
}
