package provisioner

import "testing"

func TestAudiencesMatch(t *testing.T) {
	t.Parallel()
	a := NewAudiences([]string{"ca.example.com", "10.0.0.1", "::1", "[fe80::1]"})
	tests := []struct {
		name     string
		purpose  Purpose
		auds     []string
		fragment string
		want     bool
	}{
		{"sign 1.0", PurposeSign, []string{"https://ca.example.com/1.0/sign"}, "", true},
		{"sign port ignored", PurposeSign, []string{"https://ca.example.com:9443/1.0/sign"}, "", true},
		{"sign port 443 ignored", PurposeSign, []string{"https://ca.example.com:443/sign"}, "", true},
		{"sign without 1.0", PurposeSign, []string{"https://ca.example.com/sign"}, "", true},
		{"ssh sign path accepted for sign", PurposeSign, []string{"https://ca.example.com/1.0/ssh/sign"}, "", true},
		{"sign legacy", PurposeSign, []string{LegacyAudience}, "", true},
		{"sign IPv4", PurposeSign, []string{"https://10.0.0.1:9000/1.0/sign"}, "", true},
		{"sign IPv6 with port", PurposeSign, []string{"https://[::1]:9443/1.0/sign"}, "", true},
		{"sign IPv6 without port", PurposeSign, []string{"https://[::1]/1.0/sign"}, "", true},
		{"sign bracketed dnsName", PurposeSign, []string{"https://[fe80::1]:1/1.0/sign"}, "", true},
		{"sign http scheme", PurposeSign, []string{"http://ca.example.com/1.0/sign"}, "", false},
		{"sign trailing slash", PurposeSign, []string{"https://ca.example.com/1.0/sign/"}, "", false},
		{"sign other path", PurposeSign, []string{"https://ca.example.com/1.0/renew"}, "", false},
		{"sign other host", PurposeSign, []string{"https://evil.example.com/1.0/sign"}, "", false},
		{"sign query", PurposeSign, []string{"https://ca.example.com/1.0/sign?x=1"}, "", false},
		{"sign empty", PurposeSign, nil, "", false},
		{"sign empty string", PurposeSign, []string{""}, "", false},
		{"sign any of several", PurposeSign, []string{"x", "https://ca.example.com/1.0/sign"}, "", true},
		{"renew", PurposeRenew, []string{"https://ca.example.com:9443/renew"}, "", true},
		{"renew 1.0", PurposeRenew, []string{"https://ca.example.com/1.0/renew"}, "", true},
		{"renew legacy refused", PurposeRenew, []string{LegacyAudience}, "", false},
		{"renew sign refused", PurposeRenew, []string{"https://ca.example.com/1.0/sign"}, "", false},
		{"revoke", PurposeRevoke, []string{"https://ca.example.com/1.0/revoke"}, "", true},
		{"revoke legacy", PurposeRevoke, []string{LegacyAudience}, "", true},
		{"revoke sign refused", PurposeRevoke, []string{"https://ca.example.com/1.0/sign"}, "", false},
		{"ssh sign", PurposeSSHSign, []string{"https://ca.example.com/1.0/ssh/sign"}, "", true},
		{"ssh sign accepts x509 sign", PurposeSSHSign, []string{"https://ca.example.com/sign"}, "", true},
		{"ssh sign legacy refused", PurposeSSHSign, []string{LegacyAudience}, "", false},
		{"ssh renew", PurposeSSHRenew, []string{"https://ca.example.com/ssh/renew"}, "", true},
		{"ssh rekey", PurposeSSHRekey, []string{"https://ca.example.com/1.0/ssh/rekey"}, "", true},
		{"ssh revoke", PurposeSSHRevoke, []string{"https://ca.example.com/1.0/ssh/revoke"}, "", true},
		{"ssh revoke legacy refused", PurposeSSHRevoke, []string{LegacyAudience}, "", false},
		{"admin", PurposeAdmin, []string{"https://ca.example.com:9443/admin/certificates"}, "", true},
		{"admin 1.0 refused", PurposeAdmin, []string{"https://ca.example.com/1.0/admin/certificates"}, "", false},
		{"admin legacy refused", PurposeAdmin, []string{LegacyAudience}, "", false},
		{"admin sign refused", PurposeAdmin, []string{"https://ca.example.com/1.0/sign"}, "", false},
		{"admin other host", PurposeAdmin, []string{"https://evil.example.com/admin/certificates"}, "", false},
		{"sign refuses admin", PurposeSign, []string{"https://ca.example.com/admin/certificates"}, "", false},
		{"revoke refuses admin", PurposeRevoke, []string{"https://ca.example.com/admin/certificates"}, "", false},
		{"fragment", PurposeSign, []string{"https://ca.example.com:9443/1.0/sign#x5c/p"}, "x5c/p", true},
		{"fragment required", PurposeSign, []string{"https://ca.example.com/1.0/sign"}, "x5c/p", false},
		{"fragment unexpected", PurposeSign, []string{"https://ca.example.com/1.0/sign#x5c/p"}, "", false},
		{"fragment other", PurposeSign, []string{"https://ca.example.com/1.0/sign#x5c/q"}, "x5c/p", false},
		{"fragment legacy", PurposeSign, []string{LegacyAudience + "#x5c/p"}, "x5c/p", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := a.Match(tc.purpose, tc.auds, tc.fragment); got != tc.want {
				t.Fatalf("Match(%d, %q, %q) = %v, want %v", tc.purpose, tc.auds, tc.fragment, got, tc.want)
			}
		})
	}
}

func TestAudiencesMatchAny(t *testing.T) {
	t.Parallel()
	a := NewAudiences([]string{"ca.example.com"})
	tests := []struct {
		auds []string
		frag string
		ok   bool
	}{
		{[]string{"https://ca.example.com:1/1.0/sign"}, "", true},
		{[]string{"https://ca.example.com/1.0/ssh/revoke"}, "", true},
		{[]string{"https://ca.example.com/renew#sshpop/p"}, "sshpop/p", true},
		{[]string{LegacyAudience}, "", true},
		{[]string{"nope", "https://ca.example.com/revoke#x"}, "x", true},
		{[]string{"https://ca.example.com/1.0/health"}, "", false},
		{[]string{"https://other/1.0/sign#x"}, "", false},
		{nil, "", false},
	}
	for _, tc := range tests {
		frag, ok := a.MatchAny(tc.auds)
		if frag != tc.frag || ok != tc.ok {
			t.Fatalf("MatchAny(%q) = %q, %v; want %q, %v", tc.auds, frag, ok, tc.frag, tc.ok)
		}
	}
	// A CA without DNS names still accepts the legacy audience, nothing else.
	none := NewAudiences(nil)
	if !none.Match(PurposeSign, []string{LegacyAudience}, "") || none.Match(PurposeRenew, []string{"https://x/renew"}, "") {
		t.Fatal("audiences without DNS names")
	}
}

func TestStripPort(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://ca:9443/1.0/sign", "https://ca/1.0/sign"},
		{"https://ca/1.0/sign", "https://ca/1.0/sign"},
		{"https://[::1]:9443/x", "https://[::1]/x"},
		{"https://[::1]/x", "https://[::1]/x"},
		{"https://ca:/x", "https://ca/x"},
		{LegacyAudience, LegacyAudience},
		{"not a url", "not a url"},
		{"https://%zz/x", "https://%zz/x"},
	}
	for _, tc := range tests {
		if got := stripPort(tc.in); got != tc.want {
			t.Fatalf("stripPort(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
