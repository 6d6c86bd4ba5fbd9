package policy

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"
	"testing"
)

func bigPolicy(n int) *X509Options {
	o := &X509Options{Allow: &Names{}, Deny: &Names{}}
	for i := 0; i < n; i++ {
		o.Allow.DNSDomains = append(o.Allow.DNSDomains, fmt.Sprintf("*.svc%d.example.com", i))
		o.Allow.IPRanges = append(o.Allow.IPRanges, fmt.Sprintf("10.%d.%d.0/%d", i/256%256, i%256, 24+i%9))
		o.Allow.Emails = append(o.Allow.Emails, fmt.Sprintf("@team%d.example.com", i))
		o.Deny.DNSDomains = append(o.Deny.DNSDomains, fmt.Sprintf("bad%d.svc%d.example.com", i, i))
	}
	return o
}

func BenchmarkCheck10kRules(b *testing.B) {
	e := mustNew(b, bigPolicy(10000))
	cert := &x509.Certificate{
		Subject:        pkix.Name{CommonName: "a.svc9999.example.com"},
		DNSNames:       []string{"a.svc9999.example.com", "b.svc5000.example.com"},
		IPAddresses:    []net.IP{net.ParseIP("10.39.15.1")},
		EmailAddresses: []string{"x@team4242.example.com"},
	}
	if err := e.CheckCertificate(cert); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := e.CheckCertificate(cert); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNoPolicy(b *testing.B) {
	e := mustNew(b, nil)
	cert := &x509.Certificate{DNSNames: []string{"a.example.com"}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := e.CheckCertificate(cert); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNoPolicyAllocatesNothing: a CA without a policy pays nothing per
// certificate. The cost with 10,000 rules is measured by
// BenchmarkCheck10kRules (go test -bench Check10k ./policy), not asserted
// here: a timed assertion fails on a loaded machine.
func TestNoPolicyAllocatesNothing(t *testing.T) {
	cert := &x509.Certificate{
		DNSNames:       []string{"a.svc9999.example.com"},
		IPAddresses:    []net.IP{net.ParseIP("10.39.15.1")},
		EmailAddresses: []string{"x@team4242.example.com"},
	}
	if n := testing.AllocsPerRun(100, func() { _ = mustNew(t, nil).CheckCertificate(cert) }); n != 0 {
		t.Fatalf("no policy: %v allocations", n)
	}
}
