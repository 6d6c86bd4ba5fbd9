package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/steptest"
)

// flagsOf returns every flag name (aliases included) of the command at path
// ("certificate", "p12").
func flagsOf(t *testing.T, path []string) map[string]bool {
	t.Helper()
	cmds := commands()
	var cmd *cli.Command
	for _, name := range path {
		cmd = nil
		for _, c := range cmds {
			if c.HasName(name) {
				cmd = c
				break
			}
		}
		if cmd == nil {
			t.Fatalf("no command %q in %q", name, path)
		}
		cmds = cmd.Subcommands
	}
	out := map[string]bool{}
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			out[n] = true
		}
	}
	return out
}

var flagInMessage = regexp.MustCompile(`--([a-z0-9][a-z0-9-]*)`)

// checkFlagsExist fails t unless every --flag named in msg is a flag of the
// command at path.
func checkFlagsExist(t *testing.T, path []string, msg string) {
	t.Helper()
	have := flagsOf(t, path)
	for _, m := range flagInMessage.FindAllStringSubmatch(msg, -1) {
		if !have[m[1]] {
			t.Errorf("step %s: the message names --%s, which the command does not have: %q", strings.Join(path, " "), m[1], msg)
		}
	}
}

// TestPasswordErrorsNameRealFlags: without a terminal, a command that needs
// a password says which of its own flags gives it (or none), never a flag it
// does not have.
func TestPasswordErrorsNameRealFlags(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("STEPPATH", filepath.Join(dir, "step"))
	t.Setenv("HOME", dir)
	at := func(name string) string { return filepath.Join(dir, name) }
	pw := at("pw.txt")
	write(t, pw, "fixture-password\n")
	for _, args := range [][]string{
		{"certificate", "create", "Root", at("root.crt"), at("root.key"), "--profile", "root-ca", "--password-file", pw},
		{"certificate", "create", "leaf", at("leaf.crt"), at("leaf.key"), "--ca", at("root.crt"), "--ca-key", at("root.key"),
			"--ca-password-file", pw, "--password-file", pw},
		{"certificate", "create", "leaf", at("leaf.csr"), at("plain.key"), "--csr", "--no-password", "--insecure"},
		{"crypto", "jwk", "create", at("jwk.pub.json"), at("jwk.json"), "--password-file", pw},
		{"crypto", "jwk", "keyset", "add", at("keyset.json"), "--password-file", pw},
	} {
		stdin := []byte(nil)
		if args[1] == "jwk" && args[2] == "keyset" {
			b, err := os.ReadFile(at("jwk.json"))
			if err != nil {
				t.Fatal(err)
			}
			stdin = b
		}
		if r := steptest.Run(t, commands, stdin, args...); r.Code != 0 {
			t.Fatalf("fixture step %s: exit %d: %s", strings.Join(args, " "), r.Code, r.Stderr)
		}
	}
	encJWK, err := os.ReadFile(at("jwk.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cmd   int // how many leading args name the command
		args  []string
		stdin []byte
		want  string // the flag the message must name, "" for none
	}{
		{2, []string{"certificate", "p12", at("a.p12"), at("leaf.crt"), at("leaf.key"), "--no-password", "--insecure"}, nil, "--key-password-file"},
		{2, []string{"certificate", "p12", at("b.p12"), "--ca", at("root.crt")}, nil, "--password-file"},
		{2, []string{"certificate", "create", "x", at("x.crt"), at("x.key"), "--ca", at("root.crt"), "--ca-key", at("root.key"), "--no-password", "--insecure"}, nil, "--ca-password-file"},
		{2, []string{"certificate", "create", "x", at("x.crt"), at("x.key"), "--profile", "root-ca"}, nil, "--password-file"},
		{2, []string{"certificate", "create", "x", at("x.crt"), at("x.key"), "--key", at("leaf.key"), "--profile", "root-ca", "--no-password", "--insecure"}, nil, "--password-file"},
		{2, []string{"certificate", "sign", at("leaf.csr"), at("root.crt"), at("root.key")}, nil, "--password-file"},
		{2, []string{"crypto", "change-pass", at("root.key"), "--out", at("c.key")}, nil, "--password-file"},
		{2, []string{"crypto", "keypair", at("k.pub"), at("k.key"), "--from-jwk", at("jwk.json"), "--no-password", "--insecure"}, nil, ""},
		{2, []string{"crypto", "keypair", at("k.pub"), at("k.key")}, nil, "--password-file"},
		{3, []string{"crypto", "jwk", "create", at("j.pub"), at("j.json"), "--from-pem", at("root.key"), "--no-password", "--insecure"}, nil, ""},
		{3, []string{"crypto", "jwk", "public"}, encJWK, "--password-file"},
		{4, []string{"crypto", "jwk", "keyset", "add", at("keyset2.json")}, encJWK, "--password-file"},
		{3, []string{"crypto", "key", "format", at("root.key"), "--pem", "--no-password", "--insecure"}, nil, "--password-file"},
		{3, []string{"crypto", "key", "public", at("root.key")}, nil, "--password-file"},
		{3, []string{"crypto", "jwt", "sign", "--key", at("jwk.json"), "--subtle"}, nil, "--password-file"},
		{3, []string{"crypto", "jwe", "decrypt", "--key", at("jwk.json")}, []byte("x.y.z.w.v"), "--password-file"},
		{3, []string{"ca", "provisioner", "add", "dev", "--create", "--ca-config", at("ca.json")}, nil, "--password-file"},
	}
	write(t, at("ca.json"), `{"root":"`+at("root.crt")+`","crt":"`+at("leaf.crt")+`","key":"`+at("leaf.key")+
		`","address":":443","dnsNames":["localhost"],"authority":{"provisioners":[]}}`)
	for _, tt := range tests {
		name := strings.Join(tt.args[:tt.cmd], " ")
		stdin := tt.stdin
		if stdin == nil {
			stdin = []byte{}
		}
		r := steptest.Run(t, commands, stdin, tt.args...)
		if r.Code == 0 {
			t.Errorf("step %s: exit 0 without a password", strings.Join(tt.args, " "))
			continue
		}
		if !strings.Contains(r.Stderr, "password") {
			t.Errorf("step %s: the error is not about the password: %q", name, r.Stderr)
			continue
		}
		checkFlagsExist(t, tt.args[:tt.cmd], r.Stderr)
		if tt.want != "" && !strings.Contains(r.Stderr, tt.want) {
			t.Errorf("step %s: the error does not name %s: %q", name, tt.want, r.Stderr)
		}
		if tt.want == "" && flagInMessage.MatchString(r.Stderr) {
			t.Errorf("step %s: the error names a flag, but none gives this password: %q", name, r.Stderr)
		}
	}
}
