package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/challenge/http01"
	"github.com/go-acme/lego/v5/registration"
)

// TestACMEEAB: a CA with remote management; an ACME provisioner with
// requireEAB added through the admin API; `step ca acme eab add` makes a
// key; lego without a binding is refused (externalAccountRequired), with
// it gets a certificate (http-01 on 127.0.0.5:80); `eab list` shows the
// key bound, `eab remove` deletes it.
func TestACMEEAB(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("http-01 needs port 80: run as root")
	}
	p, _ := initPKIWith(t, "--remote-management")
	d := startDNS(t, map[string]string{"eab.acme.test": "127.0.0.5"})
	ca := launchCA(t, t, p.caPath, p.configPath(), "--password-file", p.pwFile, "--resolver", d.addr)
	ca.waitLog(t, 0, "Serving HTTPS on")
	waitUntilAfterSecond(time.Now())
	u := p.client(t)
	adm := adminArgs(u.path("password.txt"))
	u.ok(t, append([]string{"ca", "provisioner", "add", "acme", "--type", "ACME", "--require-eab"}, adm...)...)

	out := u.ok(t, append([]string{"ca", "acme", "eab", "add", "acme", "lego-1"}, adm...)...).stdout
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "KEY ID") {
		t.Fatalf("eab add printed:\n%s", out)
	}
	f := strings.Fields(lines[1])
	if len(f) != 4 || f[0] != "acme" || f[3] != "lego-1" {
		t.Fatalf("eab add row %q", lines[1])
	}
	keyID, hmacKey := f[1], f[2]

	ctx := context.Background()
	c, user := newLego(t, p)
	if _, err := c.Registration.Register(ctx, registration.RegisterOptions{TermsOfServiceAgreed: true}); err == nil ||
		!strings.Contains(err.Error(), "externalAccountRequired") {
		t.Fatalf("register without EAB: %v, want externalAccountRequired", err)
	}
	reg, err := c.Registration.RegisterWithExternalAccountBinding(ctx, registration.RegisterEABOptions{
		TermsOfServiceAgreed: true, Kid: keyID, HmacEncoded: hmacKey,
	})
	if err != nil {
		t.Fatalf("register with EAB: %v\nCA log:\n%s", err, ca.log.tail(20))
	}
	user.reg = reg
	if err := c.Challenge.SetHTTP01Provider(http01.NewProviderServer("127.0.0.5", "80")); err != nil {
		t.Fatal(err)
	}
	res, err := c.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: []string{"eab.acme.test"}, KeyType: certcrypto.EC256, Bundle: true})
	if err != nil {
		t.Fatalf("obtain: %v\nCA log:\n%s", err, ca.log.tail(20))
	}
	checkACMEIssued(t, p, res, "eab.acme.test")

	// The key is bound now: a second account cannot use it.
	c2, _ := newLego(t, p)
	if _, err := c2.Registration.RegisterWithExternalAccountBinding(ctx, registration.RegisterEABOptions{
		TermsOfServiceAgreed: true, Kid: keyID, HmacEncoded: hmacKey,
	}); err == nil || !strings.Contains(err.Error(), "already bound") {
		t.Fatalf("second account with a bound key: %v", err)
	}
	list := u.ok(t, append([]string{"ca", "acme", "eab", "list", "acme"}, adm...)...).stdout
	if !strings.Contains(list, keyID) || !strings.Contains(list, "lego-1") || strings.Contains(list, hmacKey) {
		t.Fatalf("eab list:\n%s", list)
	}
	u.ok(t, append([]string{"ca", "acme", "eab", "remove", "acme", keyID}, adm...)...)
	list = u.ok(t, append([]string{"ca", "acme", "eab", "list", "acme"}, adm...)...).stdout
	if strings.Contains(list, keyID) {
		t.Fatalf("eab list after remove:\n%s", list)
	}
	// Without admin credentials the routes refuse.
	u.fails(t, "ca", "acme", "eab", "list", "acme", "--admin-cert", u.path("none.crt"), "--admin-key", u.path("none.key"))
}
