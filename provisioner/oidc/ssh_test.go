package oidc

import (
	"slices"
	"testing"
)

func TestSSHPrincipals(t *testing.T) {
	for email, want := range map[string][]string{
		"alice@example.com":      {"alice", "alice@example.com"},
		"Alice.Smith+x@Corp.com": {"alice.smith_x", "Alice.Smith+x", "Alice.Smith+x@Corp.com"},
		"bob":                    {"bob"},
	} {
		got, err := SSHPrincipals(email)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("SSHPrincipals(%q) = %v, %v; want %v", email, got, err, want)
		}
	}
	if _, err := SSHPrincipals("@example.com"); err == nil {
		t.Error("SSHPrincipals accepted an empty local part")
	}
}
