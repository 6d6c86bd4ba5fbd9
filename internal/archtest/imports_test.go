// Package archtest checks the import direction of ARCHITECTURE.md:
// cmd → ca → api → authority/* → provisioner → ssh → {policy, templates, kms} → internal.
package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/mayfly-pki/mayfly"

// layer returns the position of a package in the chain (lower may import
// higher), or -1 for packages with their own rule.
func layer(rel string) int {
	top, _, _ := strings.Cut(rel, "/")
	switch {
	case top == "cmd" || top == "examples":
		return 0
	case rel == "ca/client" || strings.HasPrefix(rel, "ca/client/"), top == "db", rel == "api/wire":
		return -1
	case top == "ca":
		return 1
	case top == "api":
		return 2
	case top == "authority":
		return 3
	case top == "provisioner":
		return 4
	case top == "ssh":
		return 5
	case top == "policy" || top == "templates" || top == "kms":
		return 6
	case top == "internal":
		return 7
	}
	return -1
}

// goList returns, for every package of the module, its imports within the
// module (direct, or with deps=true all transitive ones).
func goList(t *testing.T, deps bool) map[string][]string {
	t.Helper()
	format := `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`
	if deps {
		format = `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`
	}
	out, err := exec.Command("go", "list", "-f", format, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	res := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		pkg := strings.TrimPrefix(strings.TrimPrefix(f[0], module), "/")
		res[pkg] = nil
		for _, imp := range f[1:] {
			if imp == module || strings.HasPrefix(imp, module+"/") {
				res[pkg] = append(res[pkg], strings.TrimPrefix(strings.TrimPrefix(imp, module), "/"))
			}
		}
	}
	return res
}

// isTestHelper reports whether pkg is a test-helper package (dbtest,
// authoritytest, ...): those are tests' code and may wire real backends.
func isTestHelper(pkg string) bool {
	base := pkg[strings.LastIndex(pkg, "/")+1:]
	return strings.HasSuffix(base, "test") && base != "test"
}

func TestImportDirection(t *testing.T) {
	for pkg, imps := range goList(t, false) {
		lp := layer(pkg)
		for _, imp := range imps {
			li := layer(imp)
			if strings.HasPrefix(imp, "db") && !strings.HasPrefix(pkg, "cmd/") && !strings.HasPrefix(pkg, "db") && !isTestHelper(pkg) {
				t.Errorf("%s imports %s: only cmd/* (and tests) may import db/*", pkg, imp)
			}
			if lp >= 0 && li >= 0 && li < lp {
				t.Errorf("%s imports %s against the layer direction", pkg, imp)
			}
			if strings.HasPrefix(pkg, "internal/") && !strings.HasPrefix(imp, "internal/") {
				t.Errorf("%s imports %s: internal packages are leaves", pkg, imp)
			}
		}
	}
}

// TestClientIsLowLevel: ca/client and api/wire never reach the server side.
func TestClientIsLowLevel(t *testing.T) {
	allowed := func(p string) bool {
		return p == "api/wire" || p == "provisioner/token" || strings.HasPrefix(p, "kms") || strings.HasPrefix(p, "internal/")
	}
	for pkg, deps := range goList(t, true) {
		if pkg != "ca/client" && pkg != "api/wire" {
			continue
		}
		for _, d := range deps {
			if !allowed(d) {
				t.Errorf("%s depends on %s: the client side may only use api/wire, provisioner/token, kms and internal/*", pkg, d)
			}
		}
	}
}
