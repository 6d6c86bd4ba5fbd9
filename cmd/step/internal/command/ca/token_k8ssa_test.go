package ca

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func k8ssaContext(t *testing.T, args ...string) *cli.Context {
	t.Helper()
	set := flag.NewFlagSet("test", flag.ContinueOnError)
	for _, f := range append(k8ssaFlags(), &cli.StringFlag{Name: "provisioner"}) {
		if err := f.Apply(set); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cli.NewContext(cli.NewApp(), set, nil)
}

// TestSelectK8sSAProvisioner: the K8sSA provisioner is used when
// --provisioner names it, or when it is the only one and either
// --k8ssa-token-path was given or the CA has no JWK provisioner.
func TestSelectK8sSAProvisioner(t *testing.T) {
	jwk := json.RawMessage(`{"type":"JWK","name":"admin","key":{"kid":"k"}}`)
	k8s := json.RawMessage(`{"type":"K8SSA","name":"k8s","publicKeys":"eA=="}`)
	tests := []struct {
		name string
		list []json.RawMessage
		args []string
		want bool
	}{
		{"named", []json.RawMessage{jwk, k8s}, []string{"--provisioner", "k8s"}, true},
		{"other named", []json.RawMessage{jwk, k8s}, []string{"--provisioner", "admin"}, false},
		{"JWK too, no flag", []json.RawMessage{jwk, k8s}, nil, false},
		{"JWK too, token path", []json.RawMessage{jwk, k8s}, []string{"--k8ssa-token-path", "/t"}, true},
		{"only K8sSA", []json.RawMessage{k8s}, nil, true},
		{"none", []json.RawMessage{jwk}, []string{"--k8ssa-token-path", "/t"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := selectK8sSAProvisioner(k8ssaContext(t, tt.args...), tt.list)
			if ok != tt.want || (ok && p.Name != "k8s") {
				t.Fatalf("selected %v, %v; want %v", p, ok, tt.want)
			}
		})
	}
}

// TestReadK8sSAToken: the file's token without surrounding white space; a
// missing or empty file is an error naming it.
func TestReadK8sSAToken(t *testing.T) {
	dir := t.TempDir()
	tok, empty := filepath.Join(dir, "token"), filepath.Join(dir, "empty")
	if err := os.WriteFile(tok, []byte("a.b.c\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := readK8sSAToken(k8ssaContext(t, "--k8ssa-token-path", tok)); err != nil || got != "a.b.c" {
		t.Fatalf("got %q, %v", got, err)
	}
	for _, f := range []string{empty, filepath.Join(dir, "missing")} {
		if _, err := readK8sSAToken(k8ssaContext(t, "--k8ssa-token-path", f)); err == nil || !strings.Contains(err.Error(), "error reading kubernetes service account token") {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if c := k8ssaContext(t); c.String("k8ssa-token-path") != "/var/run/secrets/kubernetes.io/serviceaccount/token" {
		t.Fatalf("default path %q", c.String("k8ssa-token-path"))
	}
}
