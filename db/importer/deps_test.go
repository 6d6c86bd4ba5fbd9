package importer

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOldBadgerStaysInTheImporter: Badger v1 and v2 (for reading step-ca's
// directories) are linked only through db/importer, never into the
// storage, authority or server packages.
func TestOldBadgerStaysInTheImporter(t *testing.T) {
	t.Parallel()
	const module = "github.com/mayfly-pki/mayfly/"
	out, err := exec.Command("go", "list", "-deps",
		module+"db", module+"db/badger", module+"authority/...", module+"ca/...", module+"api/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "github.com/dgraph-io/badger" || pkg == "github.com/dgraph-io/badger/v2" ||
			strings.HasPrefix(pkg, module+"db/importer") {
			t.Errorf("%s is a dependency of Mayfly's storage or server packages: only db/importer may use it", pkg)
		}
	}
}
