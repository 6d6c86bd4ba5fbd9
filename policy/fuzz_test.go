package policy

import (
	"net"
	"net/url"
	"strings"
	"testing"
)

// FuzzMatch feeds arbitrary names (network input: CSR and template SANs)
// to every matcher: no panic, and a name equal to an exact allow rule that
// normalizes is allowed unless denied.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"a.example.com", "*.example.com", "EXAMPLE.com.", "bücher.example", "a..b", "", ".", "*", "j@example.com", "@", "10.0.0.1", "::1", "https://a.example.com:80/x", "xn--", "a.*.b"} {
		f.Add(s)
	}
	e, err := New(&X509Options{
		Allow: &Names{
			CommonNames: []string{"svc"}, DNSDomains: []string{"*.example.com", "example.com", "bücher.example"},
			IPRanges: []string{"10.0.0.0/8", "::1"}, Emails: []string{"@example.com", ".example.org", "j@x.com"},
			URIDomains: []string{"*.example.com"},
		},
		Deny: &Names{DNSDomains: []string{"bad.example.com"}, IPRanges: []string{"10.9.0.0/16"}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = e.CheckDNS(s)
		_ = e.CheckEmail(s)
		if ip := net.ParseIP(s); ip != nil {
			_ = e.CheckIP(ip)
		}
		if u, err := url.Parse(s); err == nil {
			_ = e.CheckURI(u)
		}
		_ = e.checkCN(s)
		// A rule built from s never panics either, and when it compiles
		// as an exact DNS rule, s itself is allowed by it.
		if !strings.HasPrefix(s, "*") && !strings.HasPrefix(s, ".") {
			if e2, err := New(&X509Options{Allow: &Names{DNSDomains: []string{s}}}); err == nil && e2 != nil {
				if err := e2.CheckDNS(s); err != nil {
					t.Fatalf("rule %q refuses its own name: %v", s, err)
				}
			}
		}
		_, _ = New(&X509Options{Deny: &Names{IPRanges: []string{s}, Emails: []string{s}, URIDomains: []string{s}, DNSDomains: []string{s}}})
	})
}
