package e2e

import (
	"bufio"
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unitCommands reads the Exec lines of a unit file, joined over continuations.
func unitCommands(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, path)))
	var cur strings.Builder
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		cont := strings.HasSuffix(line, "\\")
		cur.WriteString(strings.TrimSuffix(line, "\\"))
		if cont {
			cur.WriteString(" ")
			continue
		}
		if k, v, ok := strings.Cut(cur.String(), "="); ok && strings.HasPrefix(k, "Exec") {
			out[k] = v
		}
		cur.Reset()
	}
	return out
}

// TestRenewerUnitCommands runs the command lines of
// systemd/cert-renewer@.service, as systemd would, against a live CA: the
// condition skips a fresh certificate, lets one past 2/3 of its life through,
// and the renewal command renews it in place (issue 5).
func TestRenewerUnitCommands(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	p.start(t)
	u := p.client(t)
	cmds := unitCommands(t, filepath.Join("..", "..", "systemd", "cert-renewer@.service"))
	cond, start := cmds["ExecCondition"], cmds["ExecStart"]
	if cond == "" || start == "" {
		t.Fatalf("cert-renewer@.service lacks ExecCondition/ExecStart: %v", cmds)
	}
	crt, key := u.path("svc.crt"), u.path("svc.key")
	expand := func(line string) []string {
		line = strings.NewReplacer("${CERT_LOCATION}", crt, "${KEY_LOCATION}", key, "/usr/bin/step ", stepBin()+" ").Replace(line)
		f := strings.Fields(line)
		if f[0] != stepBin() {
			t.Fatalf("unexpected command %q in the unit", line)
		}
		return f[1:]
	}
	// A certificate 25 minutes long with 5 left: past 2/3 of its life.
	now := time.Now().UTC()
	u.ok(t, "ca", "certificate", "svc.example.com", crt, key, "--provisioner-password-file", u.path("password.txt"),
		"--not-before", now.Add(-20*time.Minute).Format(time.RFC3339), "--not-after", now.Add(5*time.Minute).Format(time.RFC3339))
	old := readCerts(t, crt)[0]
	if r := u.run(expand(cond)...); r.code != 0 {
		t.Fatalf("ExecCondition should let an old certificate through (exit 0): %s", r)
	}
	u.ok(t, expand(start)...)
	renewed := readCerts(t, crt)[0]
	if renewed.SerialNumber.Cmp(old.SerialNumber) == 0 || !renewed.NotAfter.After(old.NotAfter) {
		t.Fatalf("ExecStart did not renew: serial %s → %s, NotAfter %s → %s", old.SerialNumber, renewed.SerialNumber, old.NotAfter, renewed.NotAfter)
	}
	// The renewed certificate is fresh: the condition now skips (exit 1..254; systemd treats it as "skip").
	if r := u.run(expand(cond)...); r.code < 1 || r.code > 254 {
		t.Fatalf("ExecCondition should skip a fresh certificate with an exit code in 1..254: %s", r)
	}
}
