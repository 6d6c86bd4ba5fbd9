package k8ssa_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/authority"
	at "github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/errs"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/provisioner/k8ssa"
	"github.com/mayfly-pki/mayfly/ssh"
)

// TestSSHSign: a service account token gets the SSH certificate the
// request describes, which must name its type, key ID and principals.
func TestSSHSign(t *testing.T) {
	s := newEC(t)
	e := at.New(t, at.Options{
		Store:            at.OpenBadger(t),
		MoreProvisioners: []json.RawMessage{entry(t, "k8s", s.pem(t), map[string]any{"claims": map[string]any{"enableSSHCA": true}})},
		Registry:         provisioner.Registry{provisioner.TypeK8sSA: k8ssa.New},
		SSH:              &authority.SSHConfig{UserKey: at.NewKey(t), HostKey: at.NewKey(t)},
	})
	key, _ := gossh.NewPublicKey(&at.NewKey(t).PublicKey)
	ctx := context.Background()
	_, err := e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: key, OTT: s.mint(t, legacy()), Options: ssh.Options{CertType: "host", KeyID: "pod-1"}})
	if !errs.Is(err, errs.Forbidden) || !strings.Contains(err.Error(), "principals cannot be empty") {
		t.Fatalf("without principals: %v", err)
	}
	res, err := e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: key, OTT: s.mint(t, legacy()),
		Options: ssh.Options{CertType: "host", KeyID: "pod-1", Principals: []string{"pod-1.svc.cluster.local"}}})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.Cert; c.CertType != gossh.HostCert || c.KeyId != "pod-1" || !slices.Equal(c.ValidPrincipals, []string{"pod-1.svc.cluster.local"}) {
		t.Fatalf("certificate: type %d key ID %q principals %v", c.CertType, c.KeyId, c.ValidPrincipals)
	}
}
