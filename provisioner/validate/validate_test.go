package validate_test

import (
	"crypto/x509"
	"crypto/x509/pkix"
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

func TestNotAfterCap(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &x509.Certificate{NotAfter: at.Add(time.Hour)}
	(&validate.NotAfterCap{At: at}).CapCert(c)
	if !c.NotAfter.Equal(at) {
		t.Fatalf("capped to %s", c.NotAfter)
	}
	c.NotAfter = at.Add(-time.Hour)
	(&validate.NotAfterCap{At: at}).CapCert(c)
	if !c.NotAfter.Equal(at.Add(-time.Hour)) {
		t.Fatalf("an earlier notAfter moved to %s", c.NotAfter)
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
