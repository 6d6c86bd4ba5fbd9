package policy

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"net/url"
	"testing"
)

func mustNew(t testing.TB, o *X509Options) *Engine {
	t.Helper()
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestNoPolicyIsNil(t *testing.T) {
	for _, o := range []*X509Options{nil, {}, {Allow: &Names{}, Deny: &Names{}}, {AllowWildcardNames: true}} {
		e := mustNew(t, o)
		if e != nil {
			t.Fatalf("%+v: engine = %+v, want nil", o, e)
		}
		if err := e.CheckCertificate(&x509.Certificate{Subject: pkix.Name{CommonName: "x"}, DNSNames: []string{"*.a"}}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDNS(t *testing.T) {
	tests := []struct {
		name string
		o    X509Options
		in   string
		ok   bool
	}{
		{"exact", X509Options{Allow: &Names{DNSDomains: []string{"example.com"}}}, "example.com", true},
		{"exact no subdomain", X509Options{Allow: &Names{DNSDomains: []string{"example.com"}}}, "a.example.com", false},
		{"case", X509Options{Allow: &Names{DNSDomains: []string{"Example.COM"}}}, "EXAMPLE.com", true},
		{"trailing dot name", X509Options{Allow: &Names{DNSDomains: []string{"example.com"}}}, "example.com.", true},
		{"trailing dot rule", X509Options{Allow: &Names{DNSDomains: []string{"example.com."}}}, "example.com", true},
		{"wildcard one label", X509Options{Allow: &Names{DNSDomains: []string{"*.example.com"}}}, "a.example.com", true},
		{"wildcard not apex", X509Options{Allow: &Names{DNSDomains: []string{"*.example.com"}}}, "example.com", false},
		{"wildcard not two labels", X509Options{Allow: &Names{DNSDomains: []string{"*.example.com"}}}, "a.b.example.com", false},
		{"dot rule is wildcard", X509Options{Allow: &Names{DNSDomains: []string{".example.com"}}}, "a.example.com", true},
		{"other domain", X509Options{Allow: &Names{DNSDomains: []string{"*.example.com"}}}, "a.example.org", false},
		{"suffix trick", X509Options{Allow: &Names{DNSDomains: []string{"*.example.com"}}}, "aexample.com", false},
		{"deny wins", X509Options{Allow: &Names{DNSDomains: []string{"*.example.com"}}, Deny: &Names{DNSDomains: []string{"bad.example.com"}}}, "bad.example.com", false},
		{"deny only other ok", X509Options{Deny: &Names{DNSDomains: []string{"bad.example.com"}}}, "good.example.com", true},
		{"deny only denied", X509Options{Deny: &Names{DNSDomains: []string{"*.example.com"}}}, "bad.example.com", false},
		{"type without allow refused", X509Options{Allow: &Names{IPRanges: []string{"10.0.0.0/8"}}}, "a.example.com", false},
		{"idna", X509Options{Allow: &Names{DNSDomains: []string{"*.bücher.example"}}}, "a.xn--bcher-kva.example", true},
		{"idna name", X509Options{Allow: &Names{DNSDomains: []string{"*.xn--bcher-kva.example"}}}, "a.BÜCHER.example", true},
		{"wildcard name refused", X509Options{Allow: &Names{DNSDomains: []string{"*.example.com"}}}, "*.example.com", false},
		{"wildcard name allowed", X509Options{Allow: &Names{DNSDomains: []string{"*.example.com"}}, AllowWildcardNames: true}, "*.example.com", true},
		{"wildcard name deny only", X509Options{Deny: &Names{DNSDomains: []string{"*.example.com"}}}, "*.example.com", true},
		{"wildcard name denied when allowed", X509Options{Deny: &Names{DNSDomains: []string{"*.example.com"}}, AllowWildcardNames: true}, "*.example.com", false},
		{"bad name", X509Options{Deny: &Names{DNSDomains: []string{"x.com"}}}, "a..b", false},
		{"star inside", X509Options{Deny: &Names{DNSDomains: []string{"x.com"}}}, "a.*.b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustNew(t, &tt.o)
			err := e.CheckDNS(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckDNS(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}

func TestIP(t *testing.T) {
	tests := []struct {
		name string
		o    X509Options
		in   string
		ok   bool
	}{
		{"cidr", X509Options{Allow: &Names{IPRanges: []string{"10.0.0.0/8"}}}, "10.1.2.3", true},
		{"cidr out", X509Options{Allow: &Names{IPRanges: []string{"10.0.0.0/8"}}}, "11.1.2.3", false},
		{"address", X509Options{Allow: &Names{IPRanges: []string{"192.168.1.1"}}}, "192.168.1.1", true},
		{"address other", X509Options{Allow: &Names{IPRanges: []string{"192.168.1.1"}}}, "192.168.1.2", false},
		{"unaligned cidr", X509Options{Allow: &Names{IPRanges: []string{"10.1.2.3/16"}}}, "10.1.200.1", true},
		{"v6", X509Options{Allow: &Names{IPRanges: []string{"2001:db8::/32"}}}, "2001:db8::1", true},
		{"v6 out", X509Options{Allow: &Names{IPRanges: []string{"2001:db8::/32"}}}, "2001:db9::1", false},
		{"v4 not in v6 rule", X509Options{Allow: &Names{IPRanges: []string{"::/0"}}}, "10.0.0.1", false},
		{"deny wins", X509Options{Allow: &Names{IPRanges: []string{"10.0.0.0/8"}}, Deny: &Names{IPRanges: []string{"10.0.0.0/24"}}}, "10.0.0.5", false},
		{"deny other ok", X509Options{Allow: &Names{IPRanges: []string{"10.0.0.0/8"}}, Deny: &Names{IPRanges: []string{"10.0.0.0/24"}}}, "10.0.1.5", true},
		{"no ip allow", X509Options{Allow: &Names{DNSDomains: []string{"x.com"}}}, "10.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustNew(t, &tt.o)
			err := e.CheckIP(net.ParseIP(tt.in))
			if (err == nil) != tt.ok {
				t.Fatalf("CheckIP(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}

func TestEmail(t *testing.T) {
	tests := []struct {
		name string
		o    X509Options
		in   string
		ok   bool
	}{
		{"mailbox", X509Options{Allow: &Names{Emails: []string{"jane@example.com"}}}, "jane@example.com", true},
		{"mailbox other", X509Options{Allow: &Names{Emails: []string{"jane@example.com"}}}, "joe@example.com", false},
		{"at domain", X509Options{Allow: &Names{Emails: []string{"@example.com"}}}, "joe@example.com", true},
		{"bare domain", X509Options{Allow: &Names{Emails: []string{"example.com"}}}, "joe@EXAMPLE.com", true},
		{"domain not sub", X509Options{Allow: &Names{Emails: []string{"example.com"}}}, "joe@a.example.com", false},
		{"dot domain sub", X509Options{Allow: &Names{Emails: []string{".example.com"}}}, "joe@a.b.example.com", true},
		{"dot domain not apex", X509Options{Allow: &Names{Emails: []string{".example.com"}}}, "joe@example.com", false},
		{"deny mailbox", X509Options{Allow: &Names{Emails: []string{"@example.com"}}, Deny: &Names{Emails: []string{"root@example.com"}}}, "root@example.com", false},
		{"unparsable", X509Options{Allow: &Names{Emails: []string{"@example.com"}}}, "example.com", false},
		{"no email allow", X509Options{Allow: &Names{DNSDomains: []string{"example.com"}}}, "a@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustNew(t, &tt.o)
			err := e.CheckEmail(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckEmail(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}

func TestURI(t *testing.T) {
	tests := []struct {
		name string
		o    X509Options
		in   string
		ok   bool
	}{
		{"host", X509Options{Allow: &Names{URIDomains: []string{"example.com"}}}, "https://example.com/x", true},
		{"host port", X509Options{Allow: &Names{URIDomains: []string{"example.com"}}}, "https://example.com:8443/x", true},
		{"wildcard", X509Options{Allow: &Names{URIDomains: []string{"*.example.com"}}}, "spiffe://a.example.com/w", true},
		{"other", X509Options{Allow: &Names{URIDomains: []string{"*.example.com"}}}, "spiffe://example.org/w", false},
		{"no host", X509Options{Deny: &Names{URIDomains: []string{"example.com"}}}, "urn:x:y", false},
		{"deny", X509Options{Deny: &Names{URIDomains: []string{"example.com"}}}, "https://example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustNew(t, &tt.o)
			u, err := url.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			err = e.CheckURI(u)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckURI(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}

func TestCommonName(t *testing.T) {
	tests := []struct {
		name string
		o    X509Options
		in   string
		ok   bool
	}{
		{"cn rule", X509Options{Allow: &Names{CommonNames: []string{"My Service"}}}, "My Service", true},
		{"cn rule other", X509Options{Allow: &Names{CommonNames: []string{"My Service"}}}, "Other", false},
		{"cn as dns", X509Options{Allow: &Names{DNSDomains: []string{"*.example.com"}}}, "a.example.com", true},
		{"cn as dns refused", X509Options{Allow: &Names{DNSDomains: []string{"*.example.com"}}}, "a.example.org", false},
		{"cn as ip", X509Options{Allow: &Names{IPRanges: []string{"10.0.0.0/8"}}}, "10.0.0.1", true},
		{"cn as email", X509Options{Allow: &Names{Emails: []string{"@example.com"}}}, "j@example.com", true},
		{"cn denied", X509Options{Deny: &Names{CommonNames: []string{"root"}}}, "root", false},
		{"cn deny dns", X509Options{Deny: &Names{DNSDomains: []string{"bad.example.com"}}}, "bad.example.com", false},
		{"cn empty", X509Options{Allow: &Names{DNSDomains: []string{"x.com"}}}, "", true},
		{"cn free text refused", X509Options{Allow: &Names{DNSDomains: []string{"x.com"}}}, "My Service", false},
		{"cn free text deny only", X509Options{Deny: &Names{DNSDomains: []string{"x.com"}}}, "My Service", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustNew(t, &tt.o)
			err := e.CheckCertificate(&x509.Certificate{Subject: pkix.Name{CommonName: tt.in}})
			if (err == nil) != tt.ok {
				t.Fatalf("CN %q: %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}

func TestRefusalMessage(t *testing.T) {
	e := mustNew(t, &X509Options{Allow: &Names{DNSDomains: []string{"*.example.com"}}, Deny: &Names{DNSDomains: []string{"bad.example.com"}}})
	err := e.CheckCertificate(&x509.Certificate{DNSNames: []string{"ok.example.com", "bad.example.com"}})
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("err = %v", err)
	}
	if got, want := err.Error(), `dns name "bad.example.com" not allowed`; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
	if r.Rule != "dns:bad.example.com" || r.Reason() != "denied by rule dns:bad.example.com" {
		t.Fatalf("rule %q reason %q", r.Rule, r.Reason())
	}
	err = e.CheckDNS("x.example.org")
	if !errors.As(err, &r) || r.Rule != "" || r.Reason() != "no allow rule matches" {
		t.Fatalf("err %v", err)
	}
}

func TestBadRules(t *testing.T) {
	for _, o := range []X509Options{
		{Allow: &Names{IPRanges: []string{"10.0.0.0/33"}}},
		{Allow: &Names{IPRanges: []string{"nope"}}},
		{Deny: &Names{DNSDomains: []string{"a.*.com"}}},
		{Deny: &Names{DNSDomains: []string{"a..com"}}},
		{Deny: &Names{DNSDomains: []string{""}}},
		{Allow: &Names{Emails: []string{"a@b@c"}}},
		{Allow: &Names{Emails: []string{"*@c.com"}}},
		{Allow: &Names{URIDomains: []string{"https://x.com"}}},
		{Allow: &Names{CommonNames: []string{""}}},
	} {
		if _, err := New(&o); err == nil {
			t.Errorf("%+v %+v: no error", o.Allow, o.Deny)
		}
	}
}
