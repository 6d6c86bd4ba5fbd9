package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// editConfig decodes the ca.json at path, lets edit change it, and writes it
// back.
func editConfig(t *testing.T, path string, edit func(cfg map[string]any)) {
	t.Helper()
	var cfg map[string]any
	if err := json.Unmarshal(readFile(t, path), &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	edit(cfg)
	b, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		t.Fatalf("encode %s: %v", path, err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

// addProvisioner appends a provisioner entry to authority.provisioners.
func addProvisioner(cfg map[string]any, entry map[string]any) {
	auth := cfg["authority"].(map[string]any)
	auth["provisioners"] = append(auth["provisioners"].([]any), entry)
}

// TestValidateConfig: `step-ca --validate-config` reports every problem of a
// ca.json in one run, each with its JSON path, and exits 1; it checks the
// files the config names, and unknown provisioner types. Nothing is changed.
func TestValidateConfig(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	orig := readFile(t, p.configPath())
	restore := func(t *testing.T) {
		t.Helper()
		if err := os.WriteFile(p.configPath(), orig, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("valid", func(t *testing.T) {
		r := p.op.stepCA(p.configPath(), "--validate-config")
		if r.code != 0 || !strings.Contains(r.stderr, "is valid") {
			t.Fatalf("want exit code 0 and \"is valid\":\n%s", r)
		}
		r = p.op.stepCA(p.configPath(), "--validate-config", "--password-file", p.pwFile)
		if r.code != 0 {
			t.Fatalf("want exit code 0 with the right password:\n%s", r)
		}
	})

	tests := []struct {
		name  string
		edit  func(cfg map[string]any)
		args  []string
		wants []string // each must be on its own line of stderr
	}{
		{"three problems in one run", func(cfg map[string]any) {
			cfg["tls"].(map[string]any)["minVersion"] = 1.7
			cfg["db"].(map[string]any)["type"] = "mongo"
			cfg["colour"] = "blue"
		}, nil, []string{"tls.minVersion: unsupported TLS version 1.7", `db.type: unknown database type "mongo"`, "colour: unknown key"}},
		{"type error and problems", func(cfg map[string]any) {
			cfg["address"] = 443
			cfg["db"].(map[string]any)["type"] = "mongo"
		}, nil, []string{"address: expected a string", "db.type: unknown database type"}},
		{"missing crt", func(cfg map[string]any) {
			cfg["crt"] = filepath.Join(p.caPath, "certs", "missing.crt")
		}, nil, []string{"crt: ", "missing.crt", "no such file or directory"}},
		{"key is not a key", func(cfg map[string]any) {
			cfg["key"] = filepath.Join(p.caPath, "certs", "intermediate_ca.crt")
		}, nil, []string{"key: ", "intermediate_ca.crt", "private key"}},
		{"wrong password", func(map[string]any) {}, []string{"--password-file", "wrong.txt"},
			[]string{"key: ", "intermediate_ca_key", "password is incorrect"}},
		{"missing federated root", func(cfg map[string]any) {
			cfg["federatedRoots"] = []any{filepath.Join(p.caPath, "certs", "other_root.crt")}
		}, nil, []string{"federatedRoots[0]: ", "other_root.crt", "no such file or directory"}},
		{"unknown provisioner type", func(cfg map[string]any) {
			addProvisioner(cfg, map[string]any{"type": "JWKK", "name": "typo"})
		}, nil, []string{`authority.provisioners[1].type: unknown provisioner type "JWKK"`}},
	}
	p.op.writeFile(t, "wrong.txt", "not-the-password\n", 0o600)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer restore(t)
			editConfig(t, p.configPath(), tt.edit)
			before := snapshot(t, p.caPath)
			r := p.op.stepCA(append([]string{p.configPath(), "--validate-config"}, tt.args...)...)
			if r.code != 1 || r.err != nil {
				t.Fatalf("want exit code 1:\n%s", r)
			}
			lines := r.errorLines()
			for _, w := range tt.wants {
				n := 0
				for _, l := range lines {
					if strings.Contains(l, w) {
						n++
					}
				}
				if n != 1 {
					t.Fatalf("want exactly one stderr line containing %q, got %d:\n%s", w, n, r)
				}
			}
			if len(tt.wants) > 1 && !strings.Contains(r.stderr, p.configPath()) {
				t.Fatalf("the report does not name %s:\n%s", p.configPath(), r)
			}
			if strings.Contains(r.output(), password) {
				t.Fatalf("step-ca printed the password:\n%s", r)
			}
			sameSnapshot(t, "step-ca --validate-config", before, snapshot(t, p.caPath))
		})
	}
}

// TestUnknownProvisionerTypeAtStart: a provisioner of an unknown type does
// not stop step-ca, which logs that it is disabled and why, and keeps serving
// the others.
func TestUnknownProvisionerTypeAtStart(t *testing.T) {
	t.Parallel()
	p := initPKI(t)
	editConfig(t, p.configPath(), func(cfg map[string]any) {
		addProvisioner(cfg, map[string]any{"type": "JWKK", "name": "typo"})
	})
	ca := p.start(t)
	line := ca.waitLog(t, 0, "provisioner is disabled")
	for _, want := range []string{"unknown provisioner type", "provisioner=typo", "type=JWKK"} {
		if !strings.Contains(line, want) {
			t.Fatalf("the log line does not contain %q: %q", want, line)
		}
	}
	u := p.client(t)
	u.ok(t, "ca", "certificate", "svc.example.com", "svc.crt", "svc.key",
		"--provisioner", "admin", "--provisioner-password-file", u.path("password.txt"))
}
