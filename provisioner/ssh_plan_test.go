package provisioner

import (
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner/token"
	"github.com/mayfly-pki/mayfly/ssh"
)

func TestSSHTokenAllowed(t *testing.T) {
	for _, c := range []*token.Claims{{}, {Step: &token.StepClaims{}}} {
		c.Subject = "alice"
		_, err := SSHTokenAllowed(c, "jwk")
		if errs.KindOf(err) != errs.Unauthorized || !strings.Contains(err.Error(), "jwk.AuthorizeSSHSign; jwk token must be an SSH provisioning token") {
			t.Errorf("a token without step.ssh: got %v, want Unauthorized naming jwk", err)
		}
	}
	c := &token.Claims{Step: &token.StepClaims{SSH: &token.SSHOptions{}}}
	c.Subject = "alice"
	got, err := SSHTokenAllowed(c, "x5c")
	if err != nil {
		t.Fatal(err)
	}
	if got.CertType != ssh.UserCert || got.KeyID != "alice" || len(got.Principals) != 1 || got.Principals[0] != "alice" {
		t.Errorf("SSHTokenAllowed = %+v, want step-ca's defaults for alice", got)
	}
}

func TestInstanceHostSSHPlan(t *testing.T) {
	info := Info{Name: "aws"}
	p := InstanceHostSSHPlan(info, Resolved{}, "i-123", false, []string{"a", "b"})
	if p.Allowed.CertType != ssh.HostCert || p.Allowed.KeyID != "i-123" || p.Allowed.Principals != nil || p.Info != info {
		t.Errorf("custom SANs allowed: plan %+v, want a host certificate of i-123 with principals left to the request", p.Allowed)
	}
	p = InstanceHostSSHPlan(info, Resolved{}, "i-123", true, []string{"a", "b"})
	if len(p.Allowed.Principals) != 2 || p.Allowed.Principals[0] != "a" || p.Allowed.Principals[1] != "b" {
		t.Errorf("disableCustomSANs: principals %v, want [a b]", p.Allowed.Principals)
	}
}
