package policy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"
)

// Differential tests: the engine's verdict against crypto/x509's own
// name-constraint checking (x509.Verify through a CA carrying the
// constraints), on random names.
//
// Intended differences, which the generators avoid:
//   - DNS: Go's constraint "example.com" matches the name and every
//     subdomain at any depth; step-ca's "example.com" matches the name only
//     and "*.example.com" exactly one more label. The Go constraint is
//     compared with our pair {"example.com", "*.example.com"} on names at
//     most one label below the constraint, where both agree.
//   - a name type with no permitted constraint is unconstrained in Go; in
//     step-ca it is refused when any allow rule exists. Each test uses one
//     name type only.
//   - literal wildcard names are not generated (Go treats "*" as a label).
//   - email: Go's bare-domain constraint "example.com" also matches
//     mailboxes at subdomains; step-ca's matches that host only. The Go
//     constraint is compared with our pair {"example.com", ".example.com"}.

type constraints struct {
	permDNS, exclDNS     []string
	permIP, exclIP       []*net.IPNet
	permEmail, exclEmail []string
}

type diffEnv struct {
	t   *testing.T
	key *ecdsa.PrivateKey
}

func newDiffEnv(t *testing.T) *diffEnv {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &diffEnv{t: t, key: k}
}

// goVerdict reports whether x509.Verify accepts a leaf with the given SANs
// under a root carrying c.
func (d *diffEnv) goVerdict(c constraints, leaf *x509.Certificate) bool {
	t := d.t
	now := time.Now()
	root := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		PermittedDNSDomains: c.permDNS, ExcludedDNSDomains: c.exclDNS,
		PermittedIPRanges: c.permIP, ExcludedIPRanges: c.exclIP,
		PermittedEmailAddresses: c.permEmail, ExcludedEmailAddresses: c.exclEmail,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, root, root, &d.key.PublicKey, d.key)
	if err != nil {
		t.Fatal(err)
	}
	rootCert, _ := x509.ParseCertificate(rootDER)
	leaf.SerialNumber = big.NewInt(2)
	leaf.NotBefore, leaf.NotAfter = now.Add(-time.Minute), now.Add(time.Minute)
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, rootCert, &d.key.PublicKey, d.key)
	if err != nil {
		t.Fatal(err)
	}
	leafCert, err := x509.ParseCertificate(leafDER)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(rootCert)
	_, err = leafCert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, CurrentTime: now})
	return err == nil
}

func pick[T any](r *mrand.Rand, s []T) T { return s[r.IntN(len(s))] }

func subset(r *mrand.Rand, s []string) []string {
	var out []string
	for _, x := range s {
		if r.IntN(3) == 0 {
			out = append(out, x)
		}
	}
	return out
}

func TestDifferentialDNS(t *testing.T) {
	d := newDiffEnv(t)
	r := mrand.New(mrand.NewPCG(1, 2))
	bases := []string{"example.com", "a.example.com", "example.org", "b.example.org", "com"}
	labels := []string{"a", "b", "x"}
	for i := 0; i < 200; i++ {
		perm, excl := subset(r, bases), subset(r, bases)
		var o X509Options
		expand := func(ds []string) *Names {
			if len(ds) == 0 {
				return nil
			}
			n := &Names{}
			for _, x := range ds {
				n.DNSDomains = append(n.DNSDomains, x, "*."+x)
			}
			return n
		}
		o.Allow, o.Deny = expand(perm), expand(excl)
		e := mustNew(t, &o)
		base := pick(r, bases)
		name := base
		if r.IntN(2) == 0 {
			name = pick(r, labels) + "." + base
		}
		// Names more than one label below a constraint are where the
		// semantics differ; skip them.
		deep := false
		for _, c := range append(append([]string{}, perm...), excl...) {
			if len(name) > len(c) && name[len(name)-len(c)-1:] == "."+c {
				rest := name[:len(name)-len(c)-1]
				for _, ch := range rest {
					if ch == '.' {
						deep = true
					}
				}
			}
		}
		if deep {
			continue
		}
		want := d.goVerdict(constraints{permDNS: perm, exclDNS: excl}, &x509.Certificate{DNSNames: []string{name}})
		got := e.CheckDNS(name) == nil
		if got != want {
			t.Fatalf("dns %q permit %v exclude %v: engine %v, x509 %v", name, perm, excl, got, want)
		}
	}
}

func TestDifferentialIP(t *testing.T) {
	d := newDiffEnv(t)
	r := mrand.New(mrand.NewPCG(3, 4))
	ranges := []string{"10.0.0.0/8", "10.1.0.0/16", "192.168.1.0/24", "192.168.1.7/32", "2001:db8::/32", "2001:db8:1::/48"}
	for i := 0; i < 200; i++ {
		perm, excl := subset(r, ranges), subset(r, ranges)
		var c constraints
		var o X509Options
		for _, p := range perm {
			_, n, _ := net.ParseCIDR(p)
			c.permIP = append(c.permIP, n)
		}
		for _, p := range excl {
			_, n, _ := net.ParseCIDR(p)
			c.exclIP = append(c.exclIP, n)
		}
		if len(perm) > 0 {
			o.Allow = &Names{IPRanges: perm}
		}
		if len(excl) > 0 {
			o.Deny = &Names{IPRanges: excl}
		}
		e := mustNew(t, &o)
		var ip net.IP
		switch r.IntN(4) {
		case 0:
			ip = net.IPv4(10, byte(r.IntN(3)), byte(r.IntN(3)), byte(r.IntN(3)))
		case 1:
			ip = net.IPv4(192, 168, byte(r.IntN(3)), byte(r.IntN(9)))
		case 2:
			ip = net.ParseIP("2001:db8::1")
			ip[5] = byte(r.IntN(3))
			ip[3] = 0xb8 + byte(r.IntN(2))
		default:
			ip = net.IPv4(byte(r.IntN(256)), byte(r.IntN(256)), 0, 1)
		}
		want := d.goVerdict(c, &x509.Certificate{IPAddresses: []net.IP{ip}})
		got := e.CheckIP(ip) == nil
		if got != want {
			t.Fatalf("ip %v permit %v exclude %v: engine %v, x509 %v", ip, perm, excl, got, want)
		}
	}
}

func TestDifferentialEmail(t *testing.T) {
	d := newDiffEnv(t)
	r := mrand.New(mrand.NewPCG(5, 6))
	rules := []string{"example.com", ".example.com", "jane@example.com", "example.org", "joe@a.example.org"}
	locals := []string{"jane", "joe", "x"}
	hosts := []string{"example.com", "a.example.com", "b.a.example.com", "example.org", "a.example.org"}
	for i := 0; i < 200; i++ {
		perm, excl := subset(r, rules), subset(r, rules)
		var o X509Options
		ours := func(rs []string) *Names {
			if len(rs) == 0 {
				return nil
			}
			n := &Names{}
			for _, x := range rs {
				n.Emails = append(n.Emails, x)
				if x[0] != '.' && !strings.Contains(x, "@") {
					n.Emails = append(n.Emails, "."+x)
				}
			}
			return n
		}
		o.Allow, o.Deny = ours(perm), ours(excl)
		e := mustNew(t, &o)
		m := pick(r, locals) + "@" + pick(r, hosts)
		want := d.goVerdict(constraints{permEmail: perm, exclEmail: excl}, &x509.Certificate{EmailAddresses: []string{m}})
		got := e.CheckEmail(m) == nil
		if got != want {
			t.Fatalf("email %q permit %v exclude %v: engine %v, x509 %v", m, perm, excl, got, want)
		}
	}
}
