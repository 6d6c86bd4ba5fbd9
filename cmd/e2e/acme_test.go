package e2e

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	legoacme "github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/certcrypto"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/challenge/dns01"
	"github.com/go-acme/lego/v5/challenge/http01"
	"github.com/go-acme/lego/v5/challenge/tlsalpn01"
	"github.com/go-acme/lego/v5/lego"
	legolog "github.com/go-acme/lego/v5/log"
	"github.com/go-acme/lego/v5/registration"
	"github.com/miekg/dns"
)

// testDNS is a DNS server on 127.0.0.1 for the CA's --resolver: A records
// of the test names and TXT records the dns-01 solver sets.
type testDNS struct {
	addr string
	mu   sync.Mutex
	a    map[string]string   // fqdn → IPv4
	txt  map[string][]string // fqdn → values
}

func startDNS(t *testing.T, a map[string]string) *testDNS {
	t.Helper()
	d := &testDNS{a: map[string]string{}, txt: map[string][]string{}}
	for k, v := range a {
		d.a[dns.Fqdn(k)] = v
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.addr = pc.LocalAddr().String()
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(d.serve)}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return d
}

func (d *testDNS) serve(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	d.mu.Lock()
	for _, q := range r.Question {
		name := strings.ToLower(q.Name)
		switch q.Qtype {
		case dns.TypeA:
			if ip, ok := d.a[name]; ok {
				m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: net.ParseIP(ip)})
			}
		case dns.TypeTXT:
			for _, v := range d.txt[name] {
				m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 1}, Txt: []string{v}})
			}
		}
	}
	d.mu.Unlock()
	_ = w.WriteMsg(m)
}

// Present and CleanUp make testDNS a lego dns-01 provider.
func (d *testDNS) Present(_ context.Context, domain, _, keyAuth string) error {
	sum := sha256.Sum256([]byte(keyAuth))
	d.mu.Lock()
	defer d.mu.Unlock()
	fq := dns.Fqdn("_acme-challenge." + strings.TrimPrefix(domain, "*."))
	d.txt[fq] = append(d.txt[fq], base64.RawURLEncoding.EncodeToString(sum[:]))
	return nil
}

func (d *testDNS) CleanUp(_ context.Context, domain, _, _ string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.txt, dns.Fqdn("_acme-challenge."+strings.TrimPrefix(domain, "*.")))
	return nil
}

type legoUser struct {
	key crypto.Signer
	reg *legoacme.ExtendedAccount
}

func (u *legoUser) GetEmail() string                           { return "" }
func (u *legoUser) GetRegistration() *legoacme.ExtendedAccount { return u.reg }
func (u *legoUser) GetPrivateKey() crypto.Signer               { return u.key }

// acmePKI is a CA with an ACME provisioner "acme" (from `step ca init
// --acme` with viaInit, else `step ca provisioner add acme --type ACME`),
// started with --resolver pointing at a test DNS server.
func acmePKI(t *testing.T, names map[string]string, viaInit bool) (*testPKI, *caProcess, *testDNS) {
	t.Helper()
	var p *testPKI
	if viaInit {
		p, _ = initPKIWith(t, "--acme")
		if cfg := string(readFile(t, p.configPath())); !strings.Contains(cfg, `"type": "ACME"`) || !strings.Contains(cfg, `"name": "acme"`) {
			t.Fatalf("step ca init --acme wrote no ACME provisioner:\n%s", cfg)
		}
	} else {
		p = initPKI(t)
		p.op.ok(t, "ca", "provisioner", "add", "acme", "--type", "ACME")
	}
	d := startDNS(t, names)
	ca := launchCA(t, t, p.caPath, p.configPath(), "--password-file", p.pwFile, "--resolver", d.addr)
	ca.waitLog(t, 0, "Serving HTTPS on")
	return p, ca, d
}

func legoClient(t *testing.T, p *testPKI) *lego.Client {
	t.Helper()
	c, u := newLego(t, p)
	reg, err := c.Registration.Register(context.Background(), registration.RegisterOptions{TermsOfServiceAgreed: true})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	u.reg = reg
	return c
}

// newLego returns an unregistered lego client of p's "acme" provisioner.
func newLego(t *testing.T, p *testPKI) (*lego.Client, *legoUser) {
	t.Helper()
	legolog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	u := &legoUser{key: key}
	cfg := lego.NewConfig(u)
	cfg.CADirURL = p.url + "/acme/acme/directory"
	pool := x509.NewCertPool()
	pool.AddCert(p.root)
	cfg.HTTPClient = &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	cfg.Certificate.Timeout = time.Minute
	c, err := lego.NewClient(cfg)
	if err != nil {
		t.Fatalf("lego client: %v", err)
	}
	return c, u
}

func checkACMEIssued(t *testing.T, p *testPKI, res *certificate.Resource, names ...string) *x509.Certificate {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "chain.pem")
	if err := os.WriteFile(path, res.Certificate, 0o600); err != nil {
		t.Fatal(err)
	}
	certs := readCerts(t, path)
	if len(certs) != 2 {
		t.Fatalf("chain has %d certificates, want leaf and intermediate", len(certs))
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.root)
	inter := x509.NewCertPool()
	inter.AddCert(certs[1])
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter}); err != nil {
		t.Fatalf("issued certificate does not verify: %v", err)
	}
	got := append(append([]string{}, certs[0].DNSNames...), ipStrings(certs[0].IPAddresses)...)
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Fatalf("issued for %v, want %v", got, names)
	}
	if ext := provisionerExtension(t, certs[0]); ext.typ != 6 || ext.name != "acme" {
		t.Fatalf("provisioner extension %+v, want ACME (6) acme", ext)
	}
	return certs[0]
}

func ipStrings(ips []net.IP) []string {
	var out []string
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	return out
}

// TestACMELego: the lego library gets certificates from step-ca's ACME
// provisioner with http-01 (served on 127.0.0.2:80), tls-alpn-01
// (127.0.0.3:443) and dns-01 with a wildcard (TXT records in a DNS server
// the CA reaches with --resolver), then revokes one; a second revocation
// is alreadyRevoked.
func TestACMELego(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("http-01 and tls-alpn-01 need ports 80 and 443: run as root")
	}
	p, ca, d := acmePKI(t, map[string]string{"http.acme.test": "127.0.0.2", "alpn.acme.test": "127.0.0.3"}, true)
	ctx := context.Background()

	t.Run("http-01", func(t *testing.T) {
		c := legoClient(t, p)
		if err := c.Challenge.SetHTTP01Provider(http01.NewProviderServer("127.0.0.2", "80")); err != nil {
			t.Fatal(err)
		}
		res, err := c.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: []string{"http.acme.test"}, KeyType: certcrypto.EC256, Bundle: true})
		if err != nil {
			t.Fatalf("obtain: %v\nCA log:\n%s", err, ca.log.tail(20))
		}
		checkACMEIssued(t, p, res, "http.acme.test")
		if err := c.Certificate.Revoke(ctx, res.Certificate); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		err = c.Certificate.Revoke(ctx, res.Certificate)
		if err == nil || !strings.Contains(err.Error(), "alreadyRevoked") {
			t.Fatalf("second revoke: %v, want alreadyRevoked", err)
		}
	})
	t.Run("tls-alpn-01", func(t *testing.T) {
		c := legoClient(t, p)
		if err := c.Challenge.SetTLSALPN01Provider(tlsalpn01.NewProviderServer("127.0.0.3", "443")); err != nil {
			t.Fatal(err)
		}
		res, err := c.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: []string{"alpn.acme.test"}, KeyType: certcrypto.EC256, Bundle: true})
		if err != nil {
			t.Fatalf("obtain: %v\nCA log:\n%s", err, ca.log.tail(20))
		}
		checkACMEIssued(t, p, res, "alpn.acme.test")
	})
	t.Run("dns-01 wildcard", func(t *testing.T) {
		c := legoClient(t, p)
		err := c.Challenge.SetDNS01Provider(d, dns01.WrapPreCheck(func(context.Context, string, string, string, dns01.PreCheckFunc) (bool, error) {
			return true, nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("LEGO_DISABLE_CNAME_SUPPORT", "true")
		res, err := c.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: []string{"*.wild.acme.test"}, KeyType: certcrypto.EC256, Bundle: true})
		if err != nil {
			t.Fatalf("obtain: %v\nCA log:\n%s", err, ca.log.tail(20))
		}
		checkACMEIssued(t, p, res, "*.wild.acme.test")
	})
}
