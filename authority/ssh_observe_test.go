package authority_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/mayfly-pki/mayfly/authority"
	"github.com/mayfly-pki/mayfly/authority/authoritytest"
	"github.com/mayfly-pki/mayfly/internal/audit"
)

// TestSSHDecisionsAreMeteredAndAudited: SSH sign (and its replay) and
// revoke are counted by operation, provisioner and result, and each is an
// audit line with the key ID, principals and serial.
func TestSSHDecisionsAreMeteredAndAudited(t *testing.T) {
	m := newCountingMeter()
	var buf bytes.Buffer
	log, err := audit.Open(audit.Options{Out: &buf})
	if err != nil {
		t.Fatal(err)
	}
	e := authoritytest.New(t, authoritytest.Options{AdminExtra: enableSSH, Store: authoritytest.OpenBadger(t), Meter: m, Audit: log,
		SSH: &authority.SSHConfig{UserKey: authoritytest.NewKey(t), HostKey: authoritytest.NewKey(t)}})
	ctx := context.Background()
	ott := sshToken(t, e, "alice@example.com", "user", "alice")
	res, err := e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: sshKey(t), OTT: ott})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Authority.SignSSH(ctx, &authority.SSHSignRequest{PublicKey: sshKey(t), OTT: ott}); err == nil {
		t.Fatal("a replayed token signed")
	}
	serial := fmt.Sprint(res.Cert.Serial)
	revokeTok := e.Admin.Sign(t, e.Admin.Claims(t, authoritytest.CAURL+"/1.0/ssh/revoke", serial, e.Clock.Now()))
	if _, err := e.Authority.RevokeSSH(ctx, &authority.SSHRevokeRequest{Serial: serial, OTT: revokeTok}); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]int{"ssh_sign admin ok": 1, "ssh_sign admin unauthorized": 1, "ssh_revoke admin ok": 1} {
		if m.certs[k] != want {
			t.Errorf("meter %q = %d, want %d (all: %v)", k, m.certs[k], want, m.certs)
		}
	}
	lines := auditLines(t, &buf)
	if len(lines) != 3 {
		t.Fatalf("%d audit lines, want 3:\n%s", len(lines), buf.String())
	}
	want := []struct{ decision, op, subject, serial string }{
		{audit.Issue, "ssh_sign", "alice@example.com", serial},
		{audit.Refuse, "ssh_sign", "", ""},
		{audit.Revoke, "ssh_revoke", "", serial},
	}
	for i, w := range want {
		l := lines[i]
		if l["decision"] != w.decision || l["operation"] != w.op || (w.subject != "" && l["subject"] != w.subject) || (w.serial != "" && l["serial"] != w.serial) {
			t.Errorf("audit line %d: %v, want %+v", i, l, w)
		}
	}
	if s, _ := lines[0]["sans"].([]any); len(s) != 1 || s[0] != "alice" {
		t.Errorf("audit sans %v, want [alice]", lines[0]["sans"])
	}
}
