package nebula_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/slackhq/nebula/cert"

	"github.com/mayfly-pki/mayfly/provisioner/nebula"
	"github.com/mayfly-pki/mayfly/provisioner/nebula/nebulatest"
)

// FuzzParseCertificate feeds the nebula header parser arbitrary values:
// it must not panic, and what it accepts must marshal back.
func FuzzParseCertificate(f *testing.F) {
	now := time.Now()
	ca := nebulatest.NewCA(f, "ca", cert.Curve_CURVE25519, now, now.Add(time.Hour))
	for _, v := range []cert.Version{cert.Version1, cert.Version2} {
		h := ca.Issue(f, nebulatest.HostOptions{Name: "h", Networks: []string{"10.0.0.1/8"}, NotBefore: now, NotAfter: now.Add(time.Minute), Version: v})
		s, err := nebula.HeaderValue(h.Cert)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s)
	}
	f.Add("")
	f.Add("MA==")
	f.Add(base64.StdEncoding.EncodeToString([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := nebula.ParseCertificate(s)
		if err != nil {
			return
		}
		if _, err := c.Marshal(); err != nil {
			t.Fatalf("accepted certificate does not marshal: %v", err)
		}
		_ = nebula.Names(c)
	})
}
