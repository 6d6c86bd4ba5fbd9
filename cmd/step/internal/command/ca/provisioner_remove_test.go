package ca

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/config"
)

func TestProvisionerRemove(t *testing.T) {
	acme := `{"type":"ACME","name":"acme"}`
	path := provTestEnv(t, "", provTestAdmin, acme)
	r := provRun(t, "remove", "admin")
	if r.Code != 0 || r.Stderr != provisionerSuccess+"\n" {
		t.Fatalf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Authority.Provisioners) != 1 {
		t.Fatalf("%d provisioners left, want 1", len(cfg.Authority.Provisioners))
	}
	var b bytes.Buffer
	if err := json.Compact(&b, cfg.Authority.Provisioners[0]); err != nil || b.String() != acme {
		t.Fatalf("remaining provisioner %s (%v), want %s", b.String(), err, acme)
	}
	data, _ := os.ReadFile(path)
	if !bytes.HasSuffix(data, []byte("\n}\n")) || !bytes.Contains(data, []byte(`"commonName": "Step Online CA"`)) {
		t.Fatalf("not rewritten as step does:\n%s", data)
	}
}

func TestProvisionerRemoveErrors(t *testing.T) {
	tests := []struct {
		name    string
		extra   string
		args    []string
		wantErr string
	}{
		{"unknown", "", []string{"nope"}, "provisioner nope not found\n"},
		{"name is case-sensitive", "", []string{"Admin"}, "provisioner Admin not found\n"},
		{"kid mismatch", "", []string{"admin", "--kid", "other"}, "provisioner admin with kid other not found\n"},
		{"enableAdmin without a CA URL", `"enableAdmin":true,`, []string{"admin"}, "flag '--ca-url' is required"},
		{"two names", "", []string{"a", "b"}, "too many positional arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := provTestEnv(t, tt.extra, provTestAdmin)
			before, _ := os.ReadFile(path)
			r := provRun(t, append([]string{"remove"}, tt.args...)...)
			after, _ := os.ReadFile(path)
			if r.Code != 1 || !strings.Contains(r.Stderr, tt.wantErr) || !bytes.Equal(before, after) {
				t.Fatalf("exit %d, stderr %q, changed %v: want exit 1 with %q and the file untouched", r.Code, r.Stderr, !bytes.Equal(before, after), tt.wantErr)
			}
		})
	}
}

// Removing a provisioner can fix a config with duplicate names (the lenient
// load), and --kid selects by key ID.
func TestProvisionerRemoveFixesDuplicate(t *testing.T) {
	dup := strings.Replace(provTestAdmin, `"kid":"q5Y`, `"kid":"zzz`, 1)
	path := provTestEnv(t, "", provTestAdmin, dup)
	if r := provRun(t, "add", "x", "--type", "ACME"); r.Code != 1 || !strings.Contains(r.Stderr, `duplicate provisioner name "admin"`) {
		t.Fatalf("add to a config with duplicates: exit %d, stderr %q", r.Code, r.Stderr)
	}
	r := provRun(t, "remove", "admin", "--kid", "zzztl5bwdAq2GVjrExT0nbkbvS0EqZrg5dldF0ohMjA")
	if r.Code != 0 {
		t.Fatalf("exit %d: %s", r.Code, r.Stderr)
	}
	if got := provEntry(t, path, "admin"); got != provTestAdmin {
		t.Fatalf("left %s, want %s", got, provTestAdmin)
	}
}
